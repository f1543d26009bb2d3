//! Recovery (feature `recovery`) on trees our writer builds (whose bytes match Bee's, see
//! `tests/conformance/redundancy.rs`): at every level, up to `p` data chunks of a sibling
//! group deleted → the file still joins byte-exact; `p + 1` → `ChunkNotFound` naming a
//! deleted chunk, with nothing output past the verified bytes; forged parity chunks never make
//! the joiner accept a wrong data chunk. `PROPTEST_CASES` raises the case count (default 32).
#![cfg(feature = "recovery")]
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

mod joiner_support;

use std::collections::{HashMap, HashSet, VecDeque};

use proptest::prelude::*;
use swarm_bmt::{chunk_address_of, ChunkAddress};
use swarm_core::redundancy::Level;
use swarm_core::redundant::RedundantSplitter;
use swarm_core::{Error, Joiner, Retrieval};

use joiner_support::{cases, content, memory, Store};

fn build(level: Level, data: &[u8]) -> (ChunkAddress, Store, Vec<ChunkAddress>) {
    let mut store = HashMap::new();
    let mut order = Vec::new();
    let mut s = RedundantSplitter::new(level, |a: &ChunkAddress, c: &[u8]| {
        store.insert(*a, c.to_vec());
        order.push(*a);
        Ok(())
    });
    s.write(data).unwrap();
    let root = s.finish().unwrap();
    (root, store, order)
}

struct Run {
    out: Vec<u8>,
    result: Result<(), Error>,
    recovered: u64,
    unrecoverable: Option<ChunkAddress>,
}

/// Drives a joiner over `store` without `deleted`; `forged` chunks are served first for their
/// address (the joiner must refuse them as peer faults), then the real ones.
fn run(
    root: ChunkAddress,
    store: &Store,
    deleted: &HashSet<ChunkAddress>,
    forged: &HashMap<ChunkAddress, Vec<u8>>,
    window: usize,
) -> Run {
    let (mut slots, mut levels) = memory(window, 3);
    let mut j = Joiner::new(root.into(), None, &mut slots, &mut levels).unwrap();
    let (mut out, mut buf, mut wanted) = (Vec::new(), [0u8; 5000], VecDeque::new());
    let result = loop {
        // Poll, read out (which frees room), poll again.
        for _ in 0..2 {
            while let Some(a) = j.poll_request() {
                assert!(!wanted.contains(&a), "asked twice for {a}");
                wanted.push_back(a);
            }
            // The window, and as many again for one sibling group.
            assert!(wanted.len() <= 2 * window);
            while let Ok(n @ 1..) = j.read(&mut buf) {
                out.extend_from_slice(&buf[..n]);
            }
        }
        if let Some(e) = j.error() {
            break Err(e);
        }
        if j.is_finished() {
            break Ok(());
        }
        let a = wanted.pop_front().expect("the joiner stalled");
        if let Some(bad) = forged.get(&a) {
            let e = j.handle_chunk(&a, bad).unwrap_err();
            assert!(e.is_peer_fault(), "{e:?}");
        }
        let r = match store.get(&a) {
            Some(c) if !deleted.contains(&a) => j.handle_chunk(&a, c),
            _ => j.handle_not_found(&a),
        };
        if let Err(e) = r {
            break Err(e);
        }
    };
    Run {
        out,
        result,
        recovered: j.recovered(),
        unrecoverable: j.unrecoverable(),
    }
}

fn level() -> impl Strategy<Value = Level> {
    prop_oneof![
        Just(Level::Medium),
        Just(Level::Strong),
        Just(Level::Insane),
        Just(Level::Paranoid)
    ]
}

/// A one-group tree: `n` leaves under the root (the last one `last` bytes long), the shards
/// to delete (`extra` = 0: recoverable, 1: one more than the parities allow), a window.
fn group_case(
    extra: usize,
) -> impl Strategy<Value = (Level, usize, usize, u64, Vec<usize>, usize)> {
    (
        level(),
        2usize..=40,
        1usize..=4096,
        any::<u64>(),
        1usize..=8,
    )
        .prop_flat_map(move |(level, n, last, seed, window)| {
            let n = n.min(level.max_data_refs(false));
            let p = level.parities(n, false);
            // Recoverable: 1..=p of the data chunks. Not: p + 1 of the n + p shards (data
            // first in creation order, then parity), at least one of them data.
            let (pool, k) = if extra == 0 {
                (n, 1..=p.min(n))
            } else {
                (n + p, p + 1..=p + 1)
            };
            (
                Just(level),
                Just(n),
                Just(last),
                Just(seed),
                proptest::sample::subsequence((0..pool).collect::<Vec<_>>(), k),
                Just(window),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn up_to_p_deleted_data_chunks_of_a_group_are_rebuilt(
        (level, n, last, seed, gone, window) in group_case(0)
    ) {
        let data = content((n - 1) * 4096 + last, seed);
        let (root, store, order) = build(level, &data);
        // The leaves come first in creation order, in file order.
        let deleted: HashSet<_> = gone.iter().map(|&i| order[i]).collect();
        let r = run(root, &store, &deleted, &HashMap::new(), window);
        prop_assert_eq!(r.result, Ok(()));
        prop_assert!(r.out == data);
        prop_assert!(r.recovered >= deleted.len() as u64);
    }

    #[test]
    fn one_more_than_p_is_a_clear_error_with_no_byte_past_the_verified(
        (level, n, last, seed, gone, window) in group_case(1)
    ) {
        prop_assume!(gone[0] < n);
        let data = content((n - 1) * 4096 + last, seed);
        let (root, store, order) = build(level, &data);
        let deleted: HashSet<_> = gone.iter().map(|&i| order[i]).collect();
        let r = run(root, &store, &deleted, &HashMap::new(), window);
        prop_assert_eq!(r.result, Err(Error::ChunkNotFound));
        prop_assert!(deleted.contains(&r.unrecoverable.unwrap()));
        // Only verified bytes, and none from the first deleted leaf on.
        prop_assert!(r.out.len() <= gone[0] * 4096);
        prop_assert!(data.starts_with(&r.out));
    }

    #[test]
    fn forged_parity_chunks_are_refused(
        (level, n, last, seed, gone, window) in group_case(0)
    ) {
        let data = content((n - 1) * 4096 + last, seed);
        let (root, store, order) = build(level, &data);
        let deleted: HashSet<_> = gone.iter().map(|&i| order[i]).collect();
        // Every parity chunk is first served with one byte flipped.
        let p = level.parities(n, false);
        let forged: HashMap<_, _> = order[n..n + p]
            .iter()
            .map(|a| {
                let mut bad = store[a].clone();
                bad[100] ^= 1;
                (*a, bad)
            })
            .collect();
        let r = run(root, &store, &deleted, &forged, window);
        prop_assert_eq!(r.result, Ok(()));
        prop_assert!(r.out == data);
    }
}

/// An uploader that names a parity chunk which is a valid chunk but not the group's parity:
/// the rebuilt bytes do not hash to the lost leaf's address, so the joiner refuses them.
#[test]
fn a_parity_reference_to_a_foreign_chunk_rebuilds_nothing() {
    let data = content(10 * 4096, 7);
    let (_, mut store, order) = build(Level::Medium, &data);
    let (n, p) = (10, 4);
    // Leaves, parities, the root, its 2 replicas.
    assert_eq!(order.len(), n + p + 1 + 2);
    let root_chunk = store[&order[n + p]].clone();
    // A foreign 4104-byte chunk in place of every parity reference.
    let mut forged_root = root_chunk.clone();
    for j in 0..p {
        let mut foreign = vec![0u8; 4104];
        foreign[..8].copy_from_slice(&4096u64.to_le_bytes());
        foreign[8 + j] = 1;
        let a = chunk_address_of(&foreign).unwrap();
        store.insert(a, foreign);
        let at = 8 + (n + j) * 32;
        forged_root[at..at + 32].copy_from_slice(&a.0);
    }
    let root = chunk_address_of(&forged_root).unwrap();
    store.insert(root, forged_root);
    let deleted: HashSet<_> = [order[3]].into_iter().collect();
    let r = run(root, &store, &deleted, &HashMap::new(), 4);
    assert_eq!(r.result, Err(Error::ChunkNotFound));
    assert_eq!(r.unrecoverable, Some(order[3]));
    assert!(r.out.len() <= 3 * 4096 && data.starts_with(&r.out));
    assert_eq!(r.recovered, 0);
}

/// A missing intermediate chunk and leaves below it, in a two-level tree: the intermediate
/// chunk is rebuilt from the root's group, then its leaves from its own group.
#[test]
fn an_intermediate_chunk_and_its_leaves() {
    let data = content(130 * 4096 + 5, 9);
    let (root, store, order) = build(Level::Medium, &data);
    // Creation order: 119 leaves, 9 parities, the first intermediate chunk, ...
    let first_intermediate = order[119 + 9];
    let deleted: HashSet<_> = [order[0], order[50], order[118], first_intermediate]
        .into_iter()
        .collect();
    for window in [1, 3, 16, 64] {
        let r = run(root, &store, &deleted, &HashMap::new(), window);
        assert_eq!(r.result, Ok(()), "window {window}");
        assert!(r.out == data, "window {window}");
        assert_eq!(r.recovered, 4, "window {window}");
    }
}
