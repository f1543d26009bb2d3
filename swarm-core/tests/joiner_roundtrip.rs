//! Round trips: content split by swarm-bmt's splitter (or the test tree builders) and joined
//! back is the same content, for every tree shape the issue lists, any window and delivery
//! order, encrypted and redundancy-marked trees, and byte ranges; range reads fetch only the
//! chunks that cover the range; memory is exactly the documented footprint.
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

use std::collections::HashSet;

use joiner_support::*;
use swarm_bmt::{ChunkAddress, Reference};
use swarm_core::joiner::{footprint, Buffers, Joiner, Slot, TreeLevel};
use swarm_core::redundancy::Level;
use swarm_core::{Error, Retrieval};

/// The sizes of the issue, but the 64 MiB one (its own test).
const SIZES: [usize; 9] = [
    0,
    1,
    4095,
    4096,
    4097,
    8192,
    128 * 4096,
    128 * 4096 + 1,
    129 * 4096,
];

#[test]
fn splitter_round_trips_at_the_issue_sizes() {
    for (i, &len) in SIZES.iter().enumerate() {
        let data = content(len, i as u64);
        let (root, store) = split(&data);
        for window in [1, 3, 64] {
            for order in [
                Order::Fifo,
                Order::Lifo,
                Order::Random(len as u64 + window as u64),
            ] {
                let run = join(root, &store, window, None, order);
                assert_eq!(run.error, None, "len {len} window {window} {order:?}");
                assert!(run.finished);
                assert!(run.output == data, "len {len} window {window} {order:?}");
            }
        }
    }
}

#[test]
fn splitter_round_trips_64_mib_and_ranges_of_it() {
    let len = 128 * 128 * 4096 + 4096 * 3 + 17;
    let data = content(len, 99);
    let (root, store) = split(&data);
    let run = join(root, &store, 64, None, Order::Random(5));
    assert_eq!(run.error, None);
    assert!(run.output == data);
    // Every chunk requested once: identical leaves do not occur in random content.
    assert_eq!(run.requested.len(), store.len());
    for (start, end) in [
        (0, 1),
        (len as u64 - 17, len as u64),
        (524_287, 524_289 + 4096),
    ] {
        let run = join(root, &store, 16, Some((start, end)), Order::Random(start));
        assert_eq!(run.error, None);
        assert!(run.output == data[start as usize..end as usize]);
        // A leaf is 4096 bytes: a range spanning k leaves needs them plus their parents only.
        assert!(run.requested.len() <= (end - start) as usize / 4096 + 2 + 4);
    }
}

#[test]
fn encrypted_trees_round_trip() {
    for (i, &len) in SIZES
        .iter()
        .chain(&[64 * 4096 + 1, 64 * 64 * 4096 + 5])
        .enumerate()
    {
        let data = content(len, 1000 + i as u64);
        let (root, store) = tree(&data, Level::None, true);
        assert!(root.is_encrypted());
        for window in [1, 8] {
            let run = join(root, &store, window, None, Order::Random(i as u64));
            assert_eq!(run.error, None, "len {len}");
            assert!(run.output == data, "len {len}");
        }
    }
}

#[test]
fn encrypting_splitter_tree_joins_back() {
    for &len in &[
        0usize,
        100,
        4096,
        4097,
        64 * 4096,
        64 * 4096 + 1,
        130 * 4096 + 3,
    ] {
        let data = content(len, len as u64);
        let mut store = Store::new();
        let mut k = 0;
        let keys = || {
            k += 1;
            test_key(k)
        };
        let sink = |a: &ChunkAddress, c: &[u8]| {
            assert_eq!(c.len(), 4104);
            store.insert(*a, c.to_vec());
            Ok(())
        };
        let mut s =
            swarm_core::crypt::EncryptingSplitter::new(keys, |p: &mut [u8]| p.fill(0xee), sink);
        for piece in data.chunks(1000) {
            s.write(piece).unwrap();
        }
        let root = s.finish().unwrap();
        let run = join(root, &store, 4, None, Order::Lifo);
        assert_eq!(run.error, None, "len {len}");
        assert!(run.output == data, "len {len}");
    }
}

#[test]
fn redundancy_marked_trees_read_their_data_refs_at_every_level() {
    for level in [Level::Medium, Level::Strong, Level::Insane, Level::Paranoid] {
        for encrypted in [false, true] {
            let b = level.max_data_refs(encrypted);
            for len in [
                4097,
                10 * 4096,
                b * 4096,
                b * 4096 + 1,
                (b + 1) * 4096,
                3 * b * 4096 + 7,
            ] {
                let data = content(len, len as u64);
                let (root, store) = tree(&data, level, encrypted);
                let run = join(root, &store, 8, None, Order::Random(len as u64));
                assert_eq!(run.error, None, "{level:?} enc {encrypted} len {len}");
                assert!(run.output == data, "{level:?} enc {encrypted} len {len}");
                // Parity chunks are never asked for (they are not even stored here).
                assert!(run.requested.iter().all(|a| store.contains_key(a)));
            }
        }
    }
}

#[test]
fn ranges_give_the_right_slice_and_fetch_only_covering_chunks() {
    let len = 300 * 4096 + 123; // three levels: root, 3 intermediates, leaves
    let data = content(len, 3);
    let (root, store) = split(&data);
    let leaves: Vec<ChunkAddress> = data
        .chunks(4096)
        .map(|c| swarm_bmt::chunk_address(&(c.len() as u64).to_le_bytes(), c).unwrap())
        .collect();
    let mut rng = Rng::new(11);
    for _ in 0..40 {
        let a = rng.below(len + 1) as u64;
        let b = rng.below(len + 1) as u64;
        let (start, end) = (a.min(b), a.max(b));
        let run = join(
            root,
            &store,
            1 + rng.below(9),
            Some((start, end)),
            Order::Random(a),
        );
        assert_eq!(run.error, None);
        assert!(run.output == data[start as usize..end as usize]);
        let requested: HashSet<_> = run.requested.iter().copied().collect();
        for (i, leaf) in leaves.iter().enumerate() {
            let (lo, hi) = (i as u64 * 4096, (i as u64 + 1) * 4096);
            let covers = start < end && lo < end && hi > start;
            assert_eq!(
                requested.contains(leaf),
                covers,
                "leaf {i} for {start}..{end}"
            );
        }
        // The root and at most two of the three intermediate chunks (a range crosses at most
        // one boundary between 128-leaf groups... or two for a range over 128 leaves).
        let leaves_wanted = run.requested.iter().filter(|a| leaves.contains(a)).count();
        assert!(run.requested.len() - leaves_wanted <= 4);
    }
}

#[test]
fn range_edges() {
    let data = content(10_000, 1);
    let (root, store) = split(&data);
    let run = join(root, &store, 2, Some((10_000, 10_000)), Order::Fifo);
    assert!(run.finished && run.output.is_empty());
    assert_eq!(
        run.requested,
        vec![*root.address()],
        "an empty range needs the root only"
    );
    let run = join(root, &store, 2, Some((9_000, 99_999)), Order::Fifo);
    assert!(run.output == data[9_000..], "end is clipped to the size");
    let run = join(root, &store, 2, Some((10_001, 10_002)), Order::Fifo);
    assert_eq!(
        run.error,
        Some(Error::RangeOutOfBounds {
            start: 10_001,
            end: 10_002,
            size: 10_000
        })
    );
    let run = join(root, &store, 2, Some((5, 4)), Order::Fifo);
    assert!(matches!(run.error, Some(Error::RangeOutOfBounds { .. })));
    // A single-leaf file.
    let (root, store) = split(b"hello world");
    let run = join(root, &store, 1, Some((6, 11)), Order::Fifo);
    assert_eq!(run.output, b"world");
}

#[test]
fn identical_leaves_are_requested_once_per_window() {
    let data = vec![0u8; 200 * 4096];
    let (root, store) = split(&data);
    assert_eq!(
        store.len(),
        4,
        "root, a full and a 72-leaf intermediate, the zero leaf"
    );
    let run = join(root, &store, 64, None, Order::Fifo);
    assert_eq!(run.error, None);
    assert!(run.output == data);
    // The zero leaf is wanted 200 times but fetched far fewer: identical leaves pending or
    // waiting in a slot are served by one request.
    let zero_leaf = swarm_bmt::chunk_address(&4096u64.to_le_bytes(), &[0; 4096]).unwrap();
    let fetched = run.requested.iter().filter(|&&a| a == zero_leaf).count();
    assert!(fetched < 10, "zero leaf fetched {fetched} times");
}

#[test]
fn size_is_known_once_the_root_arrived() {
    let data = content(5000, 2);
    let (root, store) = split(&data);
    let (mut slots, mut levels) = memory(2, 1);
    let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
    assert_eq!(j.size(), None);
    let r = j.poll_request().unwrap();
    assert_eq!(r, *root.address());
    assert_eq!(
        j.poll_request(),
        None,
        "nothing but the root before it arrives"
    );
    j.handle_chunk(&r, &store[&r]).unwrap();
    assert_eq!(j.size(), Some(5000));
    assert_eq!(j.range(), Some((0, 5000)));
    assert_eq!(j.redundancy_level(), Some(Level::None));
}

#[test]
fn window_bounds_outstanding_requests() {
    let data = content(40 * 4096, 4);
    let (root, store) = split(&data);
    for window in [1, 2, 5, 39, 41, 100] {
        let (mut slots, mut levels) = memory(window, 2);
        let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
        let run = drive(&mut j, &store, Order::Random(window as u64));
        assert!(run.output == data);
        assert_eq!(run.max_outstanding, window.min(40));
    }
}

#[test]
fn prefetches_across_intermediate_chunk_boundaries() {
    // 3 full groups of 128 leaves: with a window of 64, the pipe never runs dry at a group
    // boundary: once the first group's leaves are all requested, the next group's
    // intermediate chunk is already there.
    let data = content(3 * 128 * 4096, 5);
    let (root, store) = split(&data);
    let (mut slots, mut levels) = memory(64, 2);
    let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
    let mut pending = std::collections::VecDeque::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut min_in_flight_after_warmup = usize::MAX;
    let mut delivered = 0;
    while !j.is_finished() {
        while let Some(a) = j.poll_request() {
            pending.push_back(a);
        }
        if delivered > 70 && delivered < 3 * 128 - 64 {
            min_in_flight_after_warmup = min_in_flight_after_warmup.min(pending.len());
        }
        let a = pending.pop_front().unwrap();
        j.handle_chunk(&a, &store[&a]).unwrap();
        delivered += 1;
        while j.read(&mut buf).unwrap() > 0 {}
    }
    assert_eq!(min_in_flight_after_warmup, 64);
}

/// The fewest requests outstanding, answered oldest first (a link with latency), between the
/// first `W + 8` and the last `W` chunks of a file of `groups` full groups of 128 leaves.
fn min_in_flight(window: usize, levels: usize, groups: usize) -> usize {
    let data = content(groups * 128 * 4096, 6);
    let (root, store) = split(&data);
    let (mut slots, mut levels) = memory(window, levels);
    let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
    let mut pending = std::collections::VecDeque::new();
    let mut buf = vec![0u8; 1 << 20];
    let (mut least, mut delivered, mut out) = (usize::MAX, 0, Vec::new());
    while !j.is_finished() {
        while let Some(a) = j.poll_request() {
            pending.push_back(a);
        }
        if delivered > window + 8 && delivered + window < groups * 129 {
            least = least.min(pending.len());
        }
        let a = pending.pop_front().unwrap();
        j.handle_chunk(&a, &store[&a]).unwrap();
        delivered += 1;
        loop {
            let n = j.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }
    assert!(out == data);
    least
}

#[test]
fn spare_levels_keep_a_window_wider_than_a_chunk_full() {
    // A 64 MiB-class tree needs 2 levels; with 7 lent, the level above the leaves fetches its
    // chunks far enough ahead that 256 requests stay outstanding across chunk boundaries.
    assert_eq!(min_in_flight(256, 7, 8), 256);
    assert_eq!(min_in_flight(200, 4, 6), 200);
    // With exactly the levels the tree needs, only one chunk (two with `recovery`) is
    // fetched ahead: a window of two chunks' leaves runs dry at their boundaries.
    assert!(min_in_flight(256, 2, 8) < 256);
}

#[test]
fn footprint_is_the_size_of_the_joiner_and_its_memory() {
    fn check<const W: usize, const L: usize>() {
        let joiner = std::mem::size_of::<Joiner<'static>>();
        assert_eq!(
            joiner + std::mem::size_of::<Buffers<W, L>>(),
            footprint(W, L),
            "W {W} L {L}"
        );
        let (slots, levels) = memory(W, L);
        assert_eq!(
            joiner + std::mem::size_of_val(&slots[..]) + std::mem::size_of_val(&levels[..]),
            footprint(W, L)
        );
    }
    check::<1, 1>();
    check::<1, 7>();
    check::<64, 2>();
    check::<64, 7>();
    check::<3, 5>();
    if cfg!(target_pointer_width = "64") && !cfg!(feature = "recovery") {
        // The figures the docs state.
        assert_eq!(std::mem::size_of::<Slot>(), 4184);
        assert_eq!(std::mem::size_of::<TreeLevel>(), 8464);
        assert_eq!(std::mem::size_of::<Joiner<'static>>(), 1272);
        assert_eq!(footprint(64, 7), 1272 + 64 * 4184 + 7 * 8464);
    }
    if cfg!(target_pointer_width = "64") && cfg!(feature = "recovery") {
        // With `recovery`: a third frame per level, and the recovery state in the joiner
        // (its sibling group lives on the heap: `swarm_core::recovery::MAX_GROUP_BYTES`).
        assert_eq!(std::mem::size_of::<Slot>(), 4192);
        assert_eq!(std::mem::size_of::<TreeLevel>(), 12736);
        assert_eq!(std::mem::size_of::<Joiner<'static>>(), 1424);
        assert_eq!(footprint(64, 7), 1424 + 64 * 4192 + 7 * 12736);
    }
}

#[test]
fn memory_is_reusable_for_the_next_file() {
    let (mut slots, mut levels) = memory(4, 3);
    for len in [0, 9000, 600_000, 1] {
        let data = content(len, len as u64);
        let (root, store) = split(&data);
        let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
        let run = drive(&mut j, &store, Order::Lifo);
        assert!(run.output == data);
    }
}

#[test]
fn empty_window_is_refused() {
    let (mut slots, mut levels) = memory(0, 1);
    let root = Reference::plain(ChunkAddress([1; 32]));
    assert!(matches!(
        Joiner::new(root, None, &mut slots, &mut levels),
        Err(Error::EmptyWindow)
    ));
}
