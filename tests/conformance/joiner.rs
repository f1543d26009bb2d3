//! The joiner against trees made by Bee and bee-js: plain files (bee-js and Go Bee chunk sets,
//! Bee's hard-coded file roots), encrypted files (Go Bee with a key hook), erasure-coded trees at
//! every redundancy level (Go Bee), and the malformed tree Bee's joiner must reject.
//!
//! Where a vector gives the chunks, they are read from `tests/vectors/.../chunks/` (or the JSON)
//! exactly as a node serves them; where it gives only a root reference, the content is split
//! with swarm-bmt and the root must equal the vector's, which pins every chunk of the tree (each
//! address commits to its bytes), before the joiner reads it back.

use std::collections::HashMap;
use std::io;

use serde_json::Value;
use swarm_bmt::{ChunkAddress, Reference, Splitter};
use swarm_core::joiner::{Slot, TreeLevel};
use swarm_core::redundancy::{reference_count, Level};
use swarm_core::source::{drive, ChunkSource, DirSource};
use swarm_core::{Error, Joiner, Retrieval};

use crate::common::*;

/// A chunk source that remembers what it was asked for.
struct Recording<S> {
    inner: S,
    asked: Vec<ChunkAddress>,
}

impl<S: ChunkSource> ChunkSource for Recording<S> {
    fn fetch(&mut self, address: &ChunkAddress, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.asked.push(*address);
        self.inner.fetch(address, buf)
    }
}

/// Joins `root` (bytes `range` of it) from `source` with `window` slots; returns the content
/// and the addresses fetched.
fn join<S: ChunkSource>(
    root: Reference,
    range: Option<(u64, u64)>,
    source: S,
    window: usize,
) -> Result<(Vec<u8>, Vec<ChunkAddress>), io::Error> {
    let (mut slots, mut levels) = (vec![Slot::EMPTY; window], vec![TreeLevel::EMPTY; 7]);
    let mut joiner = Joiner::new(root, range, &mut slots, &mut levels).unwrap();
    let mut source = Recording {
        inner: source,
        asked: Vec::new(),
    };
    let mut out = Vec::new();
    let n = drive(&mut joiner, &mut source, &mut out)?;
    assert_eq!(n as usize, out.len());
    Ok((out, source.asked))
}

/// Splits `data` with swarm-bmt, keeping the chunks.
fn split(data: &[u8]) -> (ChunkAddress, HashMap<ChunkAddress, Vec<u8>>) {
    let mut store = HashMap::new();
    let mut s = Splitter::with_sink(|a: &ChunkAddress, c: &[u8]| {
        store.insert(*a, c.to_vec());
        Ok(())
    });
    s.write(data).unwrap();
    (s.finish().unwrap(), store)
}

fn reference(hex_ref: &str) -> Reference {
    hex_ref.parse().unwrap()
}

#[test]
fn beejs_file_trees() {
    let doc = load_json("beejs/vectors/files.json");
    let mut n = 0;
    for v in vectors(&doc) {
        let name = str_of(v, "name");
        let data = load_bytes(&format!("beejs/{}", str_of(v, "data_file")));
        assert_eq!(data.len() as u64, u64_of(v, "length"));
        let root = reference(str_of(v, "reference"));
        let chunks = DirSource::new(vector_path("beejs/chunks"));
        let (out, asked) = join(root, None, chunks.clone(), 8).unwrap();
        assert!(out == data, "{name}");
        // Every chunk of the listed tree, and nothing else, was fetched.
        let listed =
            std::fs::read_to_string(vector_path(&format!("beejs/{}", str_of(v, "chunk_list"))))
                .unwrap();
        let mut listed: Vec<&str> = listed.split_whitespace().collect();
        let mut asked: Vec<String> = asked.iter().map(ToString::to_string).collect();
        listed.sort_unstable();
        listed.dedup();
        asked.sort_unstable();
        assert_eq!(asked, listed, "{name}");
        // A range across the middle, with a window of one.
        let (a, b) = (data.len() as u64 / 3, data.len() as u64 * 2 / 3 + 1);
        let b = b.min(data.len() as u64);
        let (out, _) = join(root, Some((a, b)), chunks, 1).unwrap();
        assert!(out == data[a as usize..b as usize], "{name} range");
        n += 1;
    }
    assert_eq!(n, 9);
}

#[test]
fn gobee_file_trees() {
    let doc = load_json("bee-go/files.json");
    let (mut stored, mut split_only) = (0, 0);
    for v in vectors(&doc) {
        let name = str_of(v, "name");
        let len = u64_of(v, "length") as usize;
        let data = xorshift32(u64_of(v, "seed") as u32, len);
        let root = reference(str_of(v, "reference"));
        let chunks = v["chunks"].as_array().map_or(&[][..], Vec::as_slice);
        if chunks.is_empty() {
            // The 64 MiB vector lists no chunks: build them, the root pins them.
            let (got, store) = split(&data);
            assert_eq!(got, *root.address(), "{name}");
            assert_eq!(store.len() as u64, u64_of(v, "chunk_count"));
            let (out, asked) = join(root, None, store, 64).unwrap();
            assert!(out == data, "{name}");
            assert_eq!(asked.len() as u64, u64_of(v, "chunk_count"));
            split_only += 1;
        } else {
            // Go Bee's trees are bee-js's, chunk for chunk: their files are in beejs/chunks.
            let (out, asked) =
                join(root, None, DirSource::new(vector_path("beejs/chunks")), 16).unwrap();
            assert!(out == data, "{name}");
            assert_eq!(asked.len(), chunks.len(), "{name}");
            stored += 1;
        }
    }
    assert_eq!((stored, split_only), (9, 1));
}

#[test]
fn bee_file_roots_and_the_malformed_tree() {
    let mut docs = load_json("bee/file.json")["vectors"]
        .as_array()
        .unwrap()
        .clone();
    docs.extend(
        load_json("bee/derived.json")["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| str_of(v, "kind") == "file_root")
            .cloned(),
    );
    let (mut roots, mut malformed) = (0, 0);
    for v in &docs {
        let input = &v["input"];
        match str_of(v, "kind") {
            "file_root" => {
                let len = u64_of(input, "length") as usize;
                let data = match (input.get("data"), input.get("generator")) {
                    (Some(Value::String(d)), _) => unhex(d),
                    (_, Some(_)) => seq_mod255(len),
                    _ => Vec::new(),
                };
                assert_eq!(data.len(), len);
                let (root, store) = split(&data);
                assert_eq!(
                    root.to_string(),
                    str_of(&v["expected"], "root"),
                    "{}",
                    v["name"]
                );
                let window = if len > 1 << 20 { 64 } else { 4 };
                let (out, _) = join(root.into(), None, store, window).unwrap();
                assert!(out == data, "{}", v["name"]);
                roots += 1;
            }
            "join_must_fail" => {
                let chunks: HashMap<ChunkAddress, Vec<u8>> = input["chunks"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(a, c)| (a.parse().unwrap(), unhex(c.as_str().unwrap())))
                    .collect();
                let root = reference(str_of(input, "root"));
                let (mut slots, mut levels) = (vec![Slot::EMPTY; 8], vec![TreeLevel::EMPTY; 7]);
                let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
                let mut out = Vec::new();
                let mut chunks = chunks;
                let e = drive(&mut j, &mut chunks, &mut out).unwrap_err();
                let e = *e.get_ref().unwrap().downcast_ref::<Error>().unwrap();
                // Root span 0x82 (STRONG): 2 data + 5 parity refs are due, 128 are there.
                assert_eq!(e, Error::TrailingBytes { offset: 224 });
                assert!(!e.is_peer_fault());
                assert!(out.is_empty(), "no byte of a malformed tree is output");
                assert_eq!(j.read(&mut [0; 16]), Err(e));
                malformed += 1;
            }
            kind => panic!("unexpected kind {kind}"),
        }
    }
    assert_eq!((roots, malformed), (27, 1));
}

#[test]
fn derived_encrypted_file() {
    let doc = load_json("bee/derived.json");
    let v = vectors(&doc)
        .iter()
        .find(|v| str_of(v, "kind") == "encrypted_file")
        .unwrap();
    let input = &v["input"];
    let chunks: HashMap<ChunkAddress, Vec<u8>> = input["chunks"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(a, c)| (a.parse().unwrap(), unhex(c.as_str().unwrap())))
        .collect();
    let root = reference(str_of(input, "reference"));
    let (out, asked) = join(root, None, chunks, 2).unwrap();
    assert!(out == seq_mod255(u64_of(input, "length") as usize));
    assert_eq!(asked.len(), 3);
}

#[test]
fn gobee_encrypted_files() {
    let doc = load_json("bee-go/encrypted.json");
    let mut n = 0;
    for v in vectors(&doc) {
        let name = str_of(v, "name");
        let data = xorshift32(u64_of(v, "seed") as u32, u64_of(v, "length") as usize);
        let root = reference(str_of(v, "reference"));
        assert!(root.is_encrypted());
        for window in [1, 16] {
            let (out, asked) = join(
                root,
                None,
                DirSource::new(vector_path("bee-go/chunks")),
                window,
            )
            .unwrap();
            assert!(out == data, "{name}");
            assert_eq!(asked.len() as u64, u64_of(v, "chunk_count"), "{name}");
        }
        let len = data.len() as u64;
        if len > 2 {
            let (out, _) = join(
                root,
                Some((1, len - 1)),
                DirSource::new(vector_path("bee-go/chunks")),
                4,
            )
            .unwrap();
            assert!(out == data[1..len as usize - 1], "{name} range");
        }
        n += 1;
    }
    assert_eq!(n, 6);
}

#[test]
fn gobee_redundancy_trees_at_every_level() {
    let doc = load_json("bee-go/redundancy/trees.json");
    let (mut joined, mut skipped, mut intermediates) = (0, 0, 0);
    for v in vectors(&doc) {
        let name = str_of(v, "name");
        let encrypted = v["encrypted"].as_bool().unwrap();
        let level = Level::from_u8(u64_of(v, "level") as u8).unwrap();
        assert_eq!(
            level.max_data_refs(encrypted) as u64,
            u64_of(v, "max_data_refs_per_chunk"),
            "{name}"
        );
        // The spec's tables give every intermediate chunk's data and parity counts.
        for i in v["intermediates"].as_array().unwrap() {
            let span = u64_of(i, "span");
            let (n, p) = reference_count(span, level, encrypted);
            assert_eq!(
                n as u64,
                u64_of(i, "n_data_refs"),
                "{name} {}",
                i["address"]
            );
            assert_eq!(
                p as u64,
                u64_of(i, "p_parity_refs"),
                "{name} {}",
                i["address"]
            );
            intermediates += 1;
        }
        if !v["chunks_stored"].as_bool().unwrap() {
            skipped += 1;
            continue;
        }
        let len = u64_of(v, "length");
        let data = xorshift32(u64_of(v, "seed") as u32, len as usize);
        let root = reference(str_of(v, "reference"));
        let parity: Vec<String> = v["intermediates"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|i| i["parity_refs"].as_array().unwrap().iter())
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        let source = || DirSource::new(vector_path("bee-go/redundancy/chunks"));
        let (out, asked) = join(root, None, source(), 8).unwrap();
        assert!(out == data, "{name}");
        let expected = v["counts"]["leaves"].as_u64().unwrap()
            + v["counts"]["intermediates"].as_u64().unwrap();
        assert_eq!(asked.len() as u64, expected, "{name}: data chunks only");
        assert!(
            asked.iter().all(|a| !parity.contains(&a.to_string())),
            "{name}: a parity chunk was fetched"
        );
        // A range, and the level the joiner decoded.
        let (a, b) = (len / 2, (len / 2 + 5000).min(len));
        let (mut slots, mut levels) = (vec![Slot::EMPTY; 3], vec![TreeLevel::EMPTY; 2]);
        let mut j = Joiner::new(root, Some((a, b)), &mut slots, &mut levels).unwrap();
        let mut out = Vec::new();
        drive(&mut j, &mut source(), &mut out).unwrap();
        assert!(out == data[a as usize..b as usize], "{name} range");
        let decoded = if len > 4096 { level } else { Level::None };
        assert_eq!(j.redundancy_level(), Some(decoded), "{name}");
        joined += 1;
    }
    assert_eq!(
        (joined, skipped),
        (33, 1),
        "only the PARANOID 2 MiB chunks are absent"
    );
    assert!(intermediates >= 80);
}
