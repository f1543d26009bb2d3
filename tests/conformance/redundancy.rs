//! Recovery (feature `recovery`) against what Bee's own joiner recovered — or refused — from
//! erasure-coded trees Bee built (`bee-go/redundancy/recovery.json`), and the root's dispersed
//! replicas as Bee's replicator stored them (`bee-go/redundancy/replicas.json`).
//!
//! Each scenario serves every chunk of its upload (`bee-go/redundancy/chunks/`, replica SOCs
//! included) except the deleted ones, joins the reference and compares the bytes with the
//! vector's sha256 and with the xorshift32 content — or expects the failure Bee had.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};
use swarm_bmt::{ChunkAddress, Reference};
use swarm_core::joiner::{Slot, TreeLevel};
use swarm_core::recovery::replica_ids;
use swarm_core::soc::{Soc, REPLICAS_OWNER};
use swarm_core::source::{drive, ChunkSource, DirSource};
use swarm_core::{Error, Joiner};

use crate::common::*;

/// The vector chunk directory without the deleted chunks.
struct Without {
    inner: DirSource,
    deleted: HashSet<ChunkAddress>,
}

impl ChunkSource for Without {
    fn fetch(&mut self, address: &ChunkAddress, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
        if self.deleted.contains(address) {
            return Ok(None);
        }
        self.inner.fetch(address, buf)
    }
}

#[test]
fn gobee_recovery_scenarios() {
    let doc = load_json("bee-go/redundancy/recovery.json");
    let trees = load_json("bee-go/redundancy/trees.json");
    let lengths: HashMap<&str, (u64, u32)> = vectors(&trees)
        .iter()
        .map(|v| {
            (
                str_of(v, "name"),
                (u64_of(v, "length"), u64_of(v, "seed") as u32),
            )
        })
        .collect();
    let (mut recovered, mut failed) = (0, 0);
    for s in doc["scenarios"].as_array().unwrap() {
        let name = str_of(s, "name");
        let deleted: HashSet<ChunkAddress> = s["deleted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| str_of(d, "address").parse().unwrap())
            .collect();
        let root: Reference = str_of(s, "reference").parse().unwrap();
        for window in [1, 8, 64] {
            let (mut slots, mut levels) = (vec![Slot::EMPTY; window], vec![TreeLevel::EMPTY; 7]);
            let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
            let mut source = Without {
                inner: DirSource::new(vector_path("bee-go/redundancy/chunks")),
                deleted: deleted.clone(),
            };
            let mut out = Vec::new();
            let result = drive(&mut j, &mut source, &mut out);
            match str_of(s, "expect") {
                "recovered" => {
                    result.unwrap_or_else(|e| panic!("{name} (window {window}): {e}"));
                    assert_eq!(
                        hex::encode(Sha256::digest(&out)),
                        str_of(s, "read_sha256"),
                        "{name}"
                    );
                    let (len, seed) = lengths[str_of(s, "vector")];
                    assert!(out == xorshift32(seed, len as usize), "{name}");
                    assert!(j.recovered() >= 1, "{name}: nothing was recovered");
                    if window == 8 {
                        recovered += 1;
                    }
                }
                "fails" => {
                    let e = result.expect_err(name);
                    let core = e.get_ref().unwrap().downcast_ref::<Error>().unwrap();
                    assert_eq!(*core, Error::ChunkNotFound, "{name}");
                    let lost = j.unrecoverable().unwrap();
                    assert!(deleted.contains(&lost), "{name}: names {lost}");
                    // Nothing past the verified bytes: the output is a prefix of the file.
                    let (len, seed) = lengths[str_of(s, "vector")];
                    let data = xorshift32(seed, len as usize);
                    assert!(out.len() < data.len() && data.starts_with(&out), "{name}");
                    if window == 8 {
                        failed += 1;
                    }
                }
                other => panic!("{name}: unknown expectation {other}"),
            }
        }
    }
    assert_eq!((recovered, failed), (11, 3));
}

#[test]
fn gobee_replica_order_and_socs() {
    let doc = load_json("bee-go/redundancy/replicas.json");
    let order = &doc["replicator_order_for_root_of_L1-MEDIUM-len-10x4096"];
    let root: ChunkAddress = str_of(order, "root_address").parse().unwrap();
    let ids = replica_ids(&root);
    let mut levels = 0;
    for (level, list) in order["id_byte0_by_level"].as_object().unwrap() {
        let list: Vec<u8> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap() as u8)
            .collect();
        assert_eq!(list.len(), 1 << level.parse::<u32>().unwrap());
        assert_eq!(&ids[..list.len()], &list[..], "level {level}");
        levels += 1;
    }
    assert_eq!(levels, 4);
    let mut socs = 0;
    for v in vectors(&doc) {
        let reference: ChunkAddress = str_of(v, "reference").parse().unwrap();
        let ids = replica_ids(&reference);
        let list = v["socs_in_bee_order"].as_array().unwrap();
        assert_eq!(list.len(), 1 << u64_of(v, "level"));
        for (k, soc) in list.iter().enumerate() {
            assert_eq!(
                u64_of(soc, "id_byte0") as u8,
                ids[k],
                "{}",
                str_of(v, "vector")
            );
            let address: ChunkAddress = str_of(soc, "address").parse().unwrap();
            let bytes = load_bytes(&format!("bee-go/redundancy/{}", str_of(soc, "file")));
            let soc = Soc::verify(&address, &bytes).unwrap();
            assert_eq!(*soc.owner(), REPLICAS_OWNER);
            assert_eq!(*soc.wrapped_address(), reference);
            assert_eq!(soc.payload().len(), 4096, "zero-padded root");
            socs += 1;
        }
    }
    assert_eq!(socs, 32);
}

/// Every replica alone brings the root back: the original root and every other replica are
/// withheld.
#[test]
fn gobee_root_from_each_replica() {
    let doc = load_json("bee-go/redundancy/replicas.json");
    let trees = load_json("bee-go/redundancy/trees.json");
    let mut joins = 0;
    for v in vectors(&doc) {
        let name = str_of(v, "vector");
        let tree = vectors(&trees)
            .iter()
            .find(|t| str_of(t, "name") == name)
            .unwrap();
        let data = xorshift32(u64_of(tree, "seed") as u32, u64_of(tree, "length") as usize);
        let reference: Reference = str_of(v, "reference").parse().unwrap();
        let list = v["socs_in_bee_order"].as_array().unwrap();
        for keep in 0..list.len() {
            let mut deleted: HashSet<ChunkAddress> = list
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != keep)
                .map(|(_, s)| str_of(s, "address").parse().unwrap())
                .collect();
            deleted.insert(*reference.address());
            let (mut slots, mut levels) = (vec![Slot::EMPTY; 4], vec![TreeLevel::EMPTY; 7]);
            let mut j = Joiner::new(reference, None, &mut slots, &mut levels).unwrap();
            let mut source = Without {
                inner: DirSource::new(vector_path("bee-go/redundancy/chunks")),
                deleted,
            };
            let mut out = Vec::new();
            drive(&mut j, &mut source, &mut out).unwrap();
            assert!(out == data, "{name} replica {keep}");
            joins += 1;
        }
    }
    assert_eq!(joins, 32);
}

/// Our writer rebuilds every unencrypted tree of `trees.json` exactly: the same root, every
/// CAC in Bee's creation order with Bee's bytes (leaves, parity chunks, intermediate chunks),
/// and the root's replica SOCs.
#[test]
fn writer_builds_bees_redundancy_trees() {
    use swarm_core::redundancy::Level;
    use swarm_core::redundant::RedundantSplitter;
    let doc = load_json("bee-go/redundancy/trees.json");
    let (mut trees, mut chunks, mut replicas) = (0, 0, 0);
    for v in vectors(&doc)
        .iter()
        .filter(|v| !v["encrypted"].as_bool().unwrap())
    {
        let name = str_of(v, "name");
        let level = Level::from_u8(u64_of(v, "level") as u8).unwrap();
        let data = xorshift32(u64_of(v, "seed") as u32, u64_of(v, "length") as usize);
        let mut puts: Vec<(ChunkAddress, Vec<u8>)> = Vec::new();
        let mut s = RedundantSplitter::new(level, |a: &ChunkAddress, c: &[u8]| {
            puts.push((*a, c.to_vec()));
            Ok(())
        });
        // Uneven writes: the cut must not depend on them.
        for part in data.chunks(1000) {
            s.write(part).unwrap();
        }
        let root = s.finish().unwrap();
        assert_eq!(root.to_string(), str_of(v, "reference"), "{name}");
        let order = v["creation_order"].as_array().unwrap();
        let count = 1usize << level.as_u8();
        assert_eq!(puts.len(), order.len() + count, "{name}");
        let stored = v["chunks_stored"].as_bool().unwrap();
        for (k, c) in order.iter().enumerate() {
            assert_eq!(puts[k].0.to_string(), str_of(c, "address"), "{name} #{k}");
            if stored {
                let bee = load_bytes(&format!("bee-go/redundancy/chunks/{}", puts[k].0));
                assert!(puts[k].1 == bee, "{name} #{k} bytes");
            }
            chunks += 1;
        }
        let mut ours: Vec<String> = puts[order.len()..]
            .iter()
            .map(|(a, _)| a.to_string())
            .collect();
        let mut bee: Vec<String> = v["replicas"]["replicas_in_bee_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| str_of(r, "address").to_string())
            .collect();
        assert_eq!(ours, bee, "{name}: replicas in Bee's order");
        ours.sort();
        bee.sort();
        for (a, bytes) in &puts[order.len()..] {
            let soc = Soc::verify(a, bytes).unwrap();
            assert_eq!(*soc.owner(), REPLICAS_OWNER);
            if stored {
                let path = vector_path(&format!("bee-go/redundancy/chunks/{a}"));
                if path.exists() {
                    assert!(*bytes == std::fs::read(path).unwrap(), "{name} replica {a}");
                }
            }
            replicas += 1;
        }
        trees += 1;
    }
    assert_eq!(trees, 30);
    assert!(chunks > 3000, "{chunks}");
    assert!(replicas >= 2 * 30, "{replicas}");
}

/// Our writer rebuilds every encrypted tree of `trees.json` exactly, given Bee's keys (the
/// vectors' key hook `keccak256("deboot-key" || u32be(k))`, zero padding): the 64-byte root
/// reference, every CAC in Bee's creation order with Bee's bytes, and the replica addresses
/// (their SOC bytes are not shipped for these vectors).
#[test]
fn writer_builds_bees_encrypted_redundancy_trees() {
    use swarm_core::redundancy::Level;
    use swarm_core::redundant::RedundantSplitter;
    let doc = load_json("bee-go/redundancy/trees.json");
    let (mut trees, mut chunks) = (0, 0);
    for v in vectors(&doc)
        .iter()
        .filter(|v| v["encrypted"].as_bool().unwrap())
    {
        let name = str_of(v, "name");
        let level = Level::from_u8(u64_of(v, "level") as u8).unwrap();
        let data = xorshift32(u64_of(v, "seed") as u32, u64_of(v, "length") as usize);
        let mut puts: Vec<(ChunkAddress, Vec<u8>)> = Vec::new();
        let mut k = 0u32;
        let keys = move || {
            let mut m = b"deboot-key".to_vec();
            m.extend_from_slice(&k.to_be_bytes());
            k += 1;
            swarm_bmt::keccak256(&m)
        };
        let mut s = RedundantSplitter::encrypted(
            level,
            keys,
            |p: &mut [u8]| p.fill(0),
            |a: &ChunkAddress, c: &[u8]| {
                puts.push((*a, c.to_vec()));
                Ok(())
            },
        );
        for part in data.chunks(3000) {
            s.write(part).unwrap();
        }
        let root = s.finish_reference().unwrap();
        assert!(root.is_encrypted());
        assert_eq!(root.to_string(), str_of(v, "reference"), "{name}");
        let order = v["creation_order"].as_array().unwrap();
        let count = 1usize << level.as_u8();
        assert_eq!(puts.len(), order.len() + count, "{name}");
        for (i, c) in order.iter().enumerate() {
            assert_eq!(puts[i].0.to_string(), str_of(c, "address"), "{name} #{i}");
            let bee = load_bytes(&format!("bee-go/redundancy/chunks/{}", puts[i].0));
            assert!(puts[i].1 == bee, "{name} #{i} bytes");
            chunks += 1;
        }
        let ours: Vec<String> = puts[order.len()..]
            .iter()
            .map(|(a, _)| a.to_string())
            .collect();
        let bee: Vec<String> = v["replicas"]["replicas_in_bee_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| str_of(r, "address").to_string())
            .collect();
        assert_eq!(ours, bee, "{name}: replicas in Bee's order");
        for (a, bytes) in &puts[order.len()..] {
            assert_eq!(*Soc::verify(a, bytes).unwrap().owner(), REPLICAS_OWNER);
        }
        trees += 1;
    }
    assert_eq!(trees, 4);
    assert!(chunks > 400, "{chunks}");
}

/// The resolver (what `fetch` drives) counts the chunks its joiners rebuilt.
#[test]
fn resolver_counts_recovered_chunks() {
    use swarm_core::target::{Resolver, Target};
    let doc = load_json("bee-go/redundancy/recovery.json");
    let s = doc["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| str_of(s, "name") == "medium-10-delete-root-and-4-leaves")
        .unwrap();
    let deleted: HashSet<ChunkAddress> = s["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| str_of(d, "address").parse().unwrap())
        .collect();
    assert_eq!(deleted.len(), 5);
    let target: Target = format!("bytes://{}", str_of(s, "reference"))
        .parse()
        .unwrap();
    let (mut slots, mut levels) = (vec![Slot::EMPTY; 8], vec![TreeLevel::EMPTY; 3]);
    let mut node_buf = vec![0u8; 8192];
    let mut r = Resolver::new(&target, 0, &mut node_buf, &mut slots, &mut levels).unwrap();
    let mut source = Without {
        inner: DirSource::new(vector_path("bee-go/redundancy/chunks")),
        deleted,
    };
    let mut out = Vec::new();
    drive(&mut r, &mut source, &mut out).unwrap();
    assert_eq!(hex::encode(Sha256::digest(&out)), str_of(s, "read_sha256"));
    assert_eq!(
        r.recovered(),
        5,
        "the root from a replica, 4 leaves from parity"
    );
    assert_eq!(r.unrecoverable(), None);
}
