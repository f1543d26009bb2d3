//! `import --redundancy LEVEL` builds Bee's erasure-coded trees (`bee-go/redundancy/trees.json`):
//! the same reference and every chunk of Bee's upload, replicas included; a file imported so
//! joins back with chunks withheld.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;

use swarm_bmt::ChunkAddress;
use swarm_core::redundancy::Level;
use swarm_core::source::{drive, ChunkSource};
use swarm_core::Joiner;
use swarm_relay::Store;

use crate::support::{printed_references, xorshift_bytes, TempDir};

fn trees() -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/vectors/bee-go/redundancy/trees.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn import_at_each_level_gives_bees_reference_and_chunks() {
    let doc = trees();
    let mut ran = 0;
    for v in doc["vectors"].as_array().unwrap() {
        if v["encrypted"].as_bool().unwrap() || !v["chunks_stored"].as_bool().unwrap() {
            continue;
        }
        let name = v["name"].as_str().unwrap();
        let dir = TempDir::new("import-redundancy");
        let store = Store::open(dir.path()).unwrap();
        let level = Level::from_u8(v["level"].as_u64().unwrap() as u8).unwrap();
        let data = xorshift_bytes(
            v["seed"].as_u64().unwrap() as u32,
            v["length"].as_u64().unwrap() as usize,
        );
        let got = swarm_relay::import::import_bytes_at(&store, &data, level).unwrap();
        assert_eq!(got.to_string(), v["reference"].as_str().unwrap(), "{name}");
        let mut bee: HashSet<ChunkAddress> = HashSet::new();
        for c in v["creation_order"].as_array().unwrap() {
            bee.insert(c["address"].as_str().unwrap().parse().unwrap());
        }
        for r in v["replicas"]["replicas_in_bee_order"].as_array().unwrap() {
            bee.insert(r["address"].as_str().unwrap().parse().unwrap());
        }
        for a in &bee {
            assert!(store.get_verified(a).unwrap().is_some(), "{name} {a}");
        }
        assert_eq!(
            store.len().unwrap(),
            bee.len() as u64,
            "{name}: nothing else"
        );
        ran += 1;
    }
    assert_eq!(ran, 29);
}

/// The store without some chunks, as a chunk source.
struct Withheld<'a> {
    store: &'a Store,
    gone: HashSet<ChunkAddress>,
}

impl ChunkSource for Withheld<'_> {
    fn fetch(&mut self, a: &ChunkAddress, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
        if self.gone.contains(a) {
            return Ok(None);
        }
        let Some(c) = self.store.get_verified(a).unwrap() else {
            return Ok(None);
        };
        buf[..c.len()].copy_from_slice(&c);
        Ok(Some(c.len()))
    }
}

#[test]
fn cli_import_redundancy_then_join_with_the_root_and_leaves_withheld() {
    let dir = TempDir::new("cli-import-redundancy");
    let store_dir = dir.path().join("store");
    let file = dir.path().join("data.bin");
    let data = xorshift_bytes(0x60002, 10 * 4096); // L1-MEDIUM-len-10x4096
    std::fs::write(&file, &data).unwrap();
    let printed = printed_references(
        Command::new(env!("CARGO_BIN_EXE_swarm-relay"))
            .args(["import", "--redundancy", "1", "--store"])
            .arg(&store_dir)
            .arg(&file),
    );
    assert_eq!(
        printed,
        ["67f8543aa2ac37c7c38b79a5cff85ee9b5f919c295c61520a007c245602d69ff"]
    );
    let reference = &printed[0];
    let bad = Command::new(env!("CARGO_BIN_EXE_swarm-relay"))
        .args(["import", "--redundancy", "5", "--store"])
        .arg(&store_dir)
        .arg(&file)
        .output()
        .unwrap();
    assert!(!bad.status.success());

    let store = Store::open(&store_dir).unwrap();
    let root: swarm_bmt::Reference = reference.parse().unwrap();
    // The root and 4 of its 10 leaves (the group's parity count) withheld.
    let root_chunk = store.get_verified(root.address()).unwrap().unwrap();
    let mut gone: HashSet<ChunkAddress> = [0, 3, 6, 9]
        .iter()
        .map(|i| ChunkAddress::from_slice(&root_chunk[8 + 32 * i..8 + 32 * (i + 1)]).unwrap())
        .collect();
    gone.insert(*root.address());
    let mut slots = vec![swarm_core::joiner::Slot::EMPTY; 4];
    let mut levels = vec![swarm_core::joiner::TreeLevel::EMPTY; 2];
    let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
    let mut joined = Vec::new();
    drive(
        &mut j,
        &mut Withheld {
            store: &store,
            gone,
        },
        &mut joined,
    )
    .unwrap();
    assert!(joined == data);
    assert_eq!(
        j.recovered(),
        5,
        "the root from a replica and 4 leaves from parity"
    );
}

/// Resolves `target` from `store` with swarm-core's blocking driver.
fn resolve(store: &Store, target: &str) -> Vec<u8> {
    use swarm_core::joiner::Buffers;
    use swarm_core::target::{Resolver, Target};
    let target: Target = target.parse().unwrap();
    let mut memory = Box::new(Buffers::<8, 3>::new());
    let Buffers { slots, levels } = &mut *memory;
    let mut node_buf = vec![0u8; swarm_core::manifest::MAX_NODE_LEN];
    let mut r = Resolver::new(&target, 0, &mut node_buf, slots, levels).unwrap();
    let mut out = Vec::new();
    drive(&mut r, &mut &*store, &mut out).unwrap();
    out
}

/// Every chunk `build_collection` stores for `entries` at level 0: (address, bytes).
fn plain_manifest(
    entries: &[(&str, swarm_bmt::Reference, &str)],
    index: Option<&str>,
) -> (swarm_bmt::Reference, Vec<(ChunkAddress, Vec<u8>)>) {
    let mut chunks = Vec::new();
    let root =
        swarm_core::manifest::build_collection(entries, index, |a: &ChunkAddress, c: &[u8]| {
            chunks.push((*a, c.to_vec()));
            Ok(())
        })
        .unwrap();
    (root, chunks)
}

/// Bee's `storeDir` saves manifest nodes through the request's pipeline (`loadsave` with the
/// redundancy level), so at MEDIUM a node of at most 4096 bytes keeps its address and gains its
/// 2 replicas, and a longer node becomes an erasure-coded tree with another reference. No Bee
/// vector has a collection above level 0: this checks the writer's rule, not Bee's bytes.
#[test]
fn a_collection_at_medium_splits_its_manifest_nodes_at_medium() {
    let level = Level::Medium;
    // Small: three files, every node one chunk.
    let small: Vec<(String, Vec<u8>)> = vec![
        ("index.html".into(), b"<h1>hi</h1>".to_vec()),
        ("boot/kernel.img".into(), xorshift_bytes(7, 130 * 4096 + 5)),
        ("boot/cmdline.txt".into(), b"console=ttyS0\n".to_vec()),
    ];
    // Large: 60 names with distinct first bytes, so the root node holds 60 forks with
    // metadata (over 4096 bytes).
    let large: Vec<(String, Vec<u8>)> = (0..60u8)
        .map(|i| {
            let first = if i < 26 {
                b'a' + i
            } else if i < 52 {
                b'A' + i - 26
            } else {
                b'0' + i - 52
            };
            (
                format!("{}-file.txt", first as char),
                vec![i; 100 + usize::from(i)],
            )
        })
        .collect();
    for (case, files) in [("small", &small), ("large", &large)] {
        let dir = TempDir::new("collection-medium");
        let store = Store::open(dir.path()).unwrap();
        let borrowed: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_slice()))
            .collect();
        let (root, refs) =
            swarm_relay::import::import_collection_at(&store, &borrowed, level).unwrap();
        // Files: exactly their MEDIUM trees.
        let mut file_chunks = 0;
        for ((_, content), r) in files.iter().zip(&refs) {
            let scratch = TempDir::new("collection-medium-file");
            let alone = Store::open(scratch.path()).unwrap();
            assert_eq!(
                swarm_relay::import::import_bytes_at(&alone, content, level).unwrap(),
                *r,
                "{case}"
            );
            file_chunks += alone.len().unwrap();
        }
        let entries: Vec<(&str, swarm_bmt::Reference, &str)> = files
            .iter()
            .zip(&refs)
            .map(|((p, _), r)| (p.as_str(), *r, swarm_core::manifest::content_type_for(p)))
            .collect();
        let index = files
            .iter()
            .any(|(p, _)| p == "index.html")
            .then_some("index.html");
        let (plain_root, plain_chunks) = plain_manifest(&entries, index);
        let nodes = store.len().unwrap() - file_chunks;
        if case == "small" {
            assert!(plain_chunks.iter().all(|(_, c)| c.len() <= 4104));
            assert_eq!(root, plain_root, "one-chunk nodes keep their addresses");
            assert_eq!(
                nodes,
                3 * plain_chunks.len() as u64,
                "each node + 2 replicas"
            );
            for (a, _) in &plain_chunks {
                assert!(store.get_verified(a).unwrap().is_some());
            }
        } else {
            let root_node = plain_chunks.last().unwrap();
            assert!(u64::from_le_bytes(root_node.1[..8].try_into().unwrap()) > 4096);
            assert_ne!(
                root, plain_root,
                "a multi-chunk node is an erasure-coded tree"
            );
            let root_chunk = store.get_verified(root.address()).unwrap().unwrap();
            assert_eq!(root_chunk[7], 0x81, "the root node's tree is marked MEDIUM");
        }
        for ((path, content), r) in files.iter().zip(&refs) {
            assert_eq!(
                resolve(&store, &format!("bzz://{root}/{path}")),
                *content,
                "{case}"
            );
            assert_eq!(resolve(&store, &format!("bytes://{r}")), *content);
        }
    }
}
