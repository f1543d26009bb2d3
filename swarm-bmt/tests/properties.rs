//! Property tests: the incremental hasher equals the one-shot hash for any split, the splitter
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
//! equals a plain level-by-level reference implementation, and one flipped byte changes the
//! address.

use proptest::prelude::*;
use swarm_bmt::splitter::ParallelSplitter;
use swarm_bmt::{
    chunk_address, chunk_address_of, chunk_addresses, keccak256, ChunkAddress, Error, Hasher, Span,
    Splitter,
};

/// The tree rule of `../shared/spec/chunks.md` §3.1, written as plainly as possible: cut leaves,
/// then group each level by 128, wrapping groups of two or more and promoting a lone last one.
fn reference_root(data: &[u8]) -> ChunkAddress {
    let mut level: Vec<(u64, [u8; 32])> = Vec::new();
    if data.is_empty() {
        level.push((0, chunk_address(&0u64.to_le_bytes(), &[]).unwrap().0));
    }
    for leaf in data.chunks(4096) {
        let span = leaf.len() as u64;
        level.push((span, chunk_address(&span.to_le_bytes(), leaf).unwrap().0));
    }
    while level.len() > 1 {
        level = level
            .chunks(128)
            .map(|group| {
                if group.len() == 1 {
                    return group[0];
                }
                let span: u64 = group.iter().map(|(s, _)| s).sum();
                let payload: Vec<u8> = group.iter().flat_map(|(_, r)| *r).collect();
                (
                    span,
                    chunk_address(&span.to_le_bytes(), &payload).unwrap().0,
                )
            })
            .collect();
    }
    ChunkAddress(level[0].1)
}

fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
        .collect()
}

fn split_in_pieces(data: &[u8], piece: usize) -> ChunkAddress {
    let mut s = Splitter::new();
    for p in data.chunks(piece.max(1)) {
        s.write(p).unwrap();
    }
    s.finish().unwrap()
}

/// Every chunk a splitter hands to its sink, in order.
type Emitted = Vec<(ChunkAddress, Vec<u8>)>;

fn collect_sequential(data: &[u8], piece: usize) -> (ChunkAddress, Emitted) {
    let mut out: Emitted = Vec::new();
    let root = {
        let mut s = Splitter::with_sink(|a: &ChunkAddress, c: &[u8]| {
            out.push((*a, c.to_vec()));
            Ok(())
        });
        for p in data.chunks(piece.max(1)) {
            s.write(p).unwrap();
        }
        s.finish().unwrap()
    };
    (root, out)
}

fn collect_parallel(data: &[u8], piece: usize, threads: usize) -> (ChunkAddress, Emitted) {
    let mut out: Emitted = Vec::new();
    let root = {
        let mut s = ParallelSplitter::with_sink(|a: &ChunkAddress, c: &[u8]| {
            out.push((*a, c.to_vec()));
            Ok(())
        })
        .with_threads(threads);
        for p in data.chunks(piece.max(1)) {
            s.write(p).unwrap();
        }
        s.finish().unwrap()
    };
    (root, out)
}

/// The sink saw every chunk of the tree, each at its address, leaves in content order and
/// every intermediate chunk after all of its children, the root last.
fn assert_well_ordered(data: &[u8], root: ChunkAddress, emitted: &Emitted) {
    let mut seen = std::collections::HashSet::new();
    let mut leaf_bytes = Vec::new();
    for (addr, chunk) in emitted {
        assert_eq!(chunk_address_of(chunk).unwrap(), *addr);
        let span = u64::from_le_bytes(chunk[..8].try_into().unwrap());
        if span <= 4096 {
            leaf_bytes.extend_from_slice(&chunk[8..]);
        } else {
            for child in chunk[8..].chunks(32) {
                assert!(seen.contains(child), "child emitted after its parent");
            }
        }
        seen.insert(addr.0.to_vec());
    }
    assert_eq!(leaf_bytes, data, "leaves out of content order");
    assert_eq!(emitted.last().map(|(a, _)| *a), Some(root));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn batch_addresses_equal_one_by_one(
        chunks in proptest::collection::vec(
            (any::<u64>(), proptest::collection::vec(any::<u8>(), 0..=4096)), 0..=20),
    ) {
        let stored: Vec<Vec<u8>> = chunks
            .iter()
            .map(|(span, p)| span.to_le_bytes().iter().chain(p).copied().collect())
            .collect();
        let refs: Vec<&[u8]> = stored.iter().map(Vec::as_slice).collect();
        let mut out = vec![ChunkAddress::default(); refs.len()];
        chunk_addresses(&refs, &mut out).unwrap();
        for (c, a) in refs.iter().zip(&out) {
            prop_assert_eq!(*a, chunk_address_of(c).unwrap());
        }
    }

    #[test]
    fn parallel_splitter_equals_splitter(
        len in prop_oneof![
            0usize..=40 * 4096,
            (255usize * 4096)..=(258usize * 4096),
            (1020usize * 4096)..=(1100usize * 4096),
        ],
        piece in prop_oneof![1usize..200_000, 1_000_000usize..6_000_000],
        threads in 1usize..=4,
        seed in any::<u8>(),
    ) {
        let data = content(len, seed);
        let (root, seq) = collect_sequential(&data, piece);
        let (par_root, par) = collect_parallel(&data, piece, threads);
        prop_assert_eq!(par_root, root);
        prop_assert!(par == seq, "parallel sink order differs");
        assert_well_ordered(&data, root, &seq);
        // Without a sink (leaves hashed in place are then not copied for it).
        let mut quiet = ParallelSplitter::new().with_threads(threads);
        for p in data.chunks(piece) {
            quiet.write(p).unwrap();
        }
        prop_assert_eq!(quiet.finish().unwrap(), root);
        prop_assert_eq!(split_in_pieces(&data, piece), root);
    }

    #[test]
    fn incremental_equals_one_shot_for_any_split(
        payload in proptest::collection::vec(any::<u8>(), 0..=4096),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        span in any::<u64>(),
    ) {
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(payload.len() + 1)).collect();
        points.sort_unstable();
        let mut h = Hasher::new();
        let mut at = 0;
        for p in points.into_iter().chain([payload.len()]) {
            h.update(&payload[at..p]).unwrap();
            at = p;
        }
        prop_assert_eq!(h.finalize(Span(span)), chunk_address(&span.to_le_bytes(), &payload).unwrap());
    }

    #[test]
    fn splitter_equals_reference_for_random_lengths(
        len in prop_oneof![0usize..=3 * 4096, (127usize * 4096)..=(130usize * 4096)],
        piece in 1usize..10_000,
        seed in any::<u8>(),
    ) {
        let data = content(len, seed);
        prop_assert_eq!(split_in_pieces(&data, piece), reference_root(&data));
    }

    #[test]
    fn one_flipped_byte_changes_the_address(
        payload in proptest::collection::vec(any::<u8>(), 1..=4096),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let span = (payload.len() as u64).to_le_bytes();
        let before = chunk_address(&span, &payload).unwrap();
        let mut flipped = payload.clone();
        flipped[at.index(payload.len())] ^= 1 << bit;
        prop_assert_ne!(chunk_address(&span, &flipped).unwrap(), before);
        let mut span2 = span;
        span2[at.index(8)] ^= 1 << bit;
        prop_assert_ne!(chunk_address(&span2, &payload).unwrap(), before);
    }
}

#[test]
fn splitter_equals_reference_at_tree_edges() {
    const C: usize = 4096;
    for len in [
        0,
        1,
        C - 1,
        C,
        C + 1,
        128 * C - 1,
        128 * C,
        128 * C + 1,
        129 * C,
    ] {
        let data = content(len, 7);
        assert_eq!(
            split_in_pieces(&data, 4096),
            reference_root(&data),
            "len {len}"
        );
        assert_eq!(
            split_in_pieces(&data, 1000),
            reference_root(&data),
            "len {len}"
        );
    }
}

#[test]
fn splitter_equals_reference_around_leaf_batches() {
    const C: usize = 4096;
    for len in [
        8 * C - 1,
        8 * C,
        8 * C + 1,
        16 * C,
        136 * C + 7,
        256 * C,
        256 * C + 1,
    ] {
        let data = content(len, 11);
        let (root, seq) = collect_sequential(&data, 3000);
        assert_eq!(root, reference_root(&data), "len {len}");
        assert_well_ordered(&data, root, &seq);
        let (par_root, par) = collect_parallel(&data, 1 << 20, 2);
        assert_eq!(par_root, root, "len {len}");
        assert!(par == seq, "len {len}: parallel sink order differs");
    }
}

#[test]
fn batch_api_rejects_bad_input_before_hashing() {
    let good = [0u8; 8];
    let short = [0u8; 7];
    let long = [0u8; 4105];
    let mut out = [ChunkAddress([9; 32]); 2];
    assert_eq!(
        chunk_addresses(&[&good], &mut out),
        Err(Error::BatchMismatch {
            chunks: 1,
            addresses: 2
        })
    );
    assert_eq!(
        chunk_addresses(&[&good, &short], &mut out),
        Err(Error::ChunkTooShort { len: 7 })
    );
    assert_eq!(
        chunk_addresses(&[&long, &good], &mut out),
        Err(Error::PayloadTooLong { len: 4097 })
    );
    assert_eq!(out, [ChunkAddress([9; 32]); 2], "nothing written on error");
    chunk_addresses(&[&good, &long[..4104]], &mut out).unwrap();
    assert_eq!(out[1], chunk_address_of(&long[..4104]).unwrap());
}

#[test]
fn parallel_splitter_stops_on_a_refusing_sink() {
    let data = content(300 * 4096, 5);
    let mut n = 0;
    let mut s = ParallelSplitter::with_sink(|_: &ChunkAddress, _: &[u8]| {
        n += 1;
        if n == 200 {
            Err(Error::Sink)
        } else {
            Ok(())
        }
    })
    .with_threads(2);
    let result = match s.write(&data) {
        Ok(()) => s.finish().map(|_| ()),
        Err(e) => Err(e),
    };
    assert_eq!(result, Err(Error::Sink));
}

#[test]
fn splitter_equals_reference_past_two_levels() {
    // 128·128·4096 + 1 bytes: the 1-byte leaf is promoted two levels (64 MiB + 1).
    let len = 128 * 128 * 4096 + 1;
    let data = content(len, 3);
    assert_eq!(split_in_pieces(&data, 65_536), reference_root(&data));
}

#[test]
fn keccak_is_not_sha3() {
    // NIST SHA3-256("") starts a7ffc6f8; Keccak-256("") starts c5d24601.
    assert_eq!(keccak256(b"")[..4], [0xc5, 0xd2, 0x46, 0x01]);
}
