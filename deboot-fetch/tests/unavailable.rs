//! Chunks no node serves *verified* (issue 8: "NotFound, timeout, every copy fails
//! verification") are rebuilt from parity like chunks no node has: a MEDIUM tree imported into
//! real `swarm-relay`s whose copies of chosen data chunks are all corrupt still fetches
//! byte-exact, with the rebuilt chunks counted; one chunk too many for its group's parity
//! ends in a clear error naming a chunk, and no output file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(
    unreachable_pub,
    clippy::std_instead_of_core,
    clippy::alloc_instead_of_core
)]

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use deboot_fetch::{fetch_with, Request};
use swarm_bmt::{ChunkAddress, Splitter};
use swarm_core::redundancy::Level;
use swarm_relay::{import, Faults, RelayHandle, Store};

use support::*;

/// The file's data chunks (leaves) in file order: the same at every redundancy level.
fn leaves(data: &[u8]) -> Vec<ChunkAddress> {
    let mut out = Vec::new();
    let mut splitter = Splitter::with_sink(|a: &ChunkAddress, c: &[u8]| {
        let span = u64::from_le_bytes(c[..8].try_into().unwrap());
        if span <= 4096 {
            out.push(*a);
        }
        Ok(())
    });
    splitter.write(data).unwrap();
    splitter.finish().unwrap();
    out
}

/// A relay whose copies of the `corrupt` chunks are all corrupt.
fn corrupting(store: &Arc<Store>, corrupt: &HashSet<ChunkAddress>) -> RelayHandle {
    relay(
        store,
        Faults {
            corrupt: corrupt.clone(),
            ..Faults::default()
        },
    )
}

/// Two groups of MEDIUM leaves and a bit: 2·119 + 1 data chunks under a root.
fn medium_file(dir: &TempDir) -> (Vec<u8>, Arc<Store>, String, Vec<ChunkAddress>) {
    let n = Level::Medium.max_data_refs(false);
    let data = content(2 * n * 4096 + 1000, 0x5eed_0008);
    let store = Store::open(dir.join("store")).unwrap();
    let reference = import::import_bytes_at(&store, &data, Level::Medium).unwrap();
    let leaves = leaves(&data);
    assert_eq!(leaves.len(), 2 * n + 1);
    (
        data,
        Arc::new(store),
        format!("bytes://{reference}"),
        leaves,
    )
}

#[test]
fn chunks_every_node_corrupts_are_rebuilt_from_parity() {
    let dir = TempDir::new("unavailable-ok");
    let (data, store, target, leaves) = medium_file(&dir);
    let n = Level::Medium.max_data_refs(false);
    let p = Level::Medium.parities(n, false);
    // As many as the first group's parities, two in the second group, and the last leaf.
    let mut bad: HashSet<ChunkAddress> = leaves[..p].iter().copied().collect();
    bad.extend([leaves[n + 3], leaves[2 * n - 1], leaves[2 * n]]);
    let mut ran = 0;
    for (a, b) in [("tcp", "http"), ("http", "tcp"), ("tcp", "tcp")] {
        // Both nodes hold only corrupt copies of those chunks.
        let (ra, rb) = (corrupting(&store, &bad), corrupting(&store, &bad));
        let nodes = vec![
            format!("{a}://{}", ra.local_addr()),
            format!("{b}://{}", rb.local_addr()),
        ];
        let mut req = Request::new(nodes, target.parse().unwrap());
        req.window = 32;
        let mut out = Vec::new();
        let report = fetch_with(&req, |b| {
            out.extend_from_slice(b);
            Ok(())
        })
        .unwrap();
        assert!(out == data, "{a}+{b}: bytes differ");
        assert!(report.recovered >= bad.len() as u64, "{a}+{b}: {report:?}");
        assert!(report.refused >= 2 * bad.len() as u64, "{report:?}");
        ran += 1;
    }
    assert_eq!(ran, 3);
}

#[test]
fn one_chunk_too_many_fails_clearly_and_writes_nothing() {
    let dir = TempDir::new("unavailable-fail");
    let (_data, store, target, leaves) = medium_file(&dir);
    let n = Level::Medium.max_data_refs(false);
    let p = Level::Medium.parities(n, false);
    // One more lost chunk than the second group has parities.
    let bad: HashSet<ChunkAddress> = leaves[n..=n + p].iter().copied().collect();
    for proto in ["tcp", "http"] {
        let r = corrupting(&store, &bad);
        let node = format!("{proto}://{}", r.local_addr());
        let out = dir.join_str("out.bin");
        let run = deboot_fetch(&["--node", &node, &target, "-o", &out]);
        let line = run.failed_with(4);
        assert!(
            line.contains("no node supplied it verified") && line.contains("failed verification"),
            "{proto}: {line}"
        );
        let named = bad.iter().any(|a| line.contains(&a.to_string()));
        assert!(named, "{proto}: names one of the lost chunks: {line}");
        assert!(!Path::new(&out).exists(), "{proto}: an output file");
        assert_eq!(dir.entries(), ["store"], "{proto}: nothing left behind");
    }
}
