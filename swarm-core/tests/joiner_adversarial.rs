//! Adversarial: corrupted, unrequested, truncated and forged chunks, trees whose spans lie,
//! trees too deep, references back up the tree. Each is a typed error (a peer fault that leaves
//! the joiner unchanged, or a final error), never a panic, and no byte that was not verified
//! ever reaches the reader: the output is always a prefix of the true content.
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

use joiner_support::*;
use swarm_bmt::{chunk_address, ChunkAddress, Reference};
use swarm_core::joiner::Joiner;
use swarm_core::redundancy::max_span;
use swarm_core::{Error, Retrieval};

/// A content-addressed chunk with any span: `(address, stored bytes)`.
fn cac(span: u64, payload: &[u8]) -> (ChunkAddress, Vec<u8>) {
    let a = chunk_address(&span.to_le_bytes(), payload).unwrap();
    let mut c = span.to_le_bytes().to_vec();
    c.extend_from_slice(payload);
    (a, c)
}

fn refs(addrs: &[ChunkAddress]) -> Vec<u8> {
    addrs.iter().flat_map(|a| a.0).collect()
}

/// Joins `root` from `store`, returning the run; asserts the output is a prefix of `truth`.
fn attempt(root: Reference, store: &Store, window: usize, truth: &[u8]) -> Run {
    let run = join(root, store, window, None, Order::Fifo);
    assert!(
        truth.starts_with(&run.output),
        "output is not a prefix of the content"
    );
    run
}

#[test]
fn a_corrupted_byte_anywhere_is_refused_and_changes_nothing() {
    for encrypted in [false, true] {
        let data = content(129 * 4096 + 100, 1);
        let (root, store) = if encrypted {
            tree(&data, swarm_core::redundancy::Level::None, true)
        } else {
            split(&data)
        };
        let (mut slots, mut levels) = memory(4, 3);
        let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
        let mut rng = Rng::new(9);
        let (mut out, mut buf) = (Vec::new(), vec![0u8; 8192]);
        let mut pending = Vec::new();
        let mut refused = 0;
        while !j.is_finished() {
            while let Some(a) = j.poll_request() {
                pending.push(a);
            }
            let a = pending.remove(rng.below(pending.len()));
            let good = &store[&a];
            for _ in 0..3 {
                let mut bad = good.clone();
                let at = rng.below(bad.len());
                bad[at] ^= 1 << rng.below(8);
                let outstanding = j.outstanding();
                let e = j.handle_chunk(&a, &bad).unwrap_err();
                assert_eq!(e, Error::AddressMismatch);
                assert!(e.is_peer_fault());
                assert_eq!(j.outstanding(), outstanding, "unchanged");
                assert_eq!(j.read(&mut buf), Ok(0), "nothing new to read");
                refused += 1;
            }
            j.handle_chunk(&a, good).unwrap();
            loop {
                let n = j.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
                assert!(data.starts_with(&out));
            }
        }
        assert!(out == data);
        assert_eq!(refused, 3 * store.len());
    }
}

#[test]
fn unrequested_and_repeated_chunks_are_refused() {
    let data = content(3 * 4096, 2);
    let (root, store) = split(&data);
    let (mut slots, mut levels) = memory(8, 2);
    let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
    // Not even the root was asked for yet.
    assert_eq!(
        j.handle_chunk(root.address(), &store[root.address()]),
        Err(Error::UnexpectedChunk)
    );
    let r = j.poll_request().unwrap();
    let leaf = swarm_bmt::chunk_address(&4096u64.to_le_bytes(), &data[..4096]).unwrap();
    assert_eq!(
        j.handle_chunk(&leaf, &store[&leaf]),
        Err(Error::UnexpectedChunk)
    );
    assert_eq!(
        j.handle_chunk(&ChunkAddress([7; 32]), &[0; 8]),
        Err(Error::UnexpectedChunk)
    );
    assert_eq!(j.handle_not_found(&leaf), Err(Error::UnexpectedChunk));
    assert!(Error::UnexpectedChunk.is_peer_fault());
    j.handle_chunk(&r, &store[&r]).unwrap();
    assert_eq!(
        j.handle_chunk(&r, &store[&r]),
        Err(Error::UnexpectedChunk),
        "twice"
    );
    // Nothing of that changed the joiner: it completes.
    let run = drive(&mut j, &store, Order::Fifo);
    assert!(run.output == data);
}

#[test]
fn truncated_chunks_are_peer_faults() {
    // A leaf whose content ends in zeros verifies without them (the BMT pads with zeros), but
    // its span says more: a node truncated it.
    let mut data = content(6000, 3);
    data[5000..].fill(0);
    let (root, store) = split(&data);
    let (mut slots, mut levels) = memory(4, 1);
    let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
    let r = j.poll_request().unwrap();
    j.handle_chunk(&r, &store[&r]).unwrap();
    let l0 = j.poll_request().unwrap();
    let l1 = j.poll_request().unwrap();
    let full = &store[&l1];
    assert_eq!(full.len(), 8 + 6000 - 4096);
    let cut = &full[..8 + 1000 - 96];
    assert_eq!(
        j.handle_chunk(&l1, cut),
        Err(Error::Truncated {
            len: 1000 - 96,
            expected: 6000 - 4096
        })
    );
    assert!(Error::Truncated {
        len: 0,
        expected: 1
    }
    .is_peer_fault());
    // Cut inside the content: the address no longer matches.
    assert_eq!(
        j.handle_chunk(&l0, &store[&l0][..100]),
        Err(Error::AddressMismatch)
    );
    assert_eq!(
        j.handle_chunk(&l0, &store[&l0][..7]),
        Err(Error::ChunkLength { len: 7 })
    );
    let mut too_long = store[&l0].clone();
    too_long.push(0);
    assert_eq!(
        j.handle_chunk(&l0, &too_long),
        Err(Error::ChunkLength { len: 4105 })
    );
    j.handle_chunk(&l1, full).unwrap();
    j.handle_chunk(&l0, &store[&l0]).unwrap();
    let mut out = vec![0u8; 7000];
    let n = j.read(&mut out).unwrap();
    assert!(out[..n] == data[..]);
    assert!(j.is_finished());

    // An encrypted chunk is always 4104 bytes; zero padding cut off still verifies.
    let data = content(10, 4);
    let (root, store) = tree(&data, swarm_core::redundancy::Level::None, true);
    let (mut slots, mut levels) = memory(1, 1);
    let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
    let r = j.poll_request().unwrap();
    assert_eq!(
        j.handle_chunk(&r, &store[&r][..4000]),
        Err(Error::Truncated {
            len: 3992,
            expected: 4096
        })
    );
    j.handle_chunk(&r, &store[&r]).unwrap();

    // An intermediate chunk missing the trailing zero byte of its last reference.
    let (data, root, store) = (0..)
        .map(|seed| {
            let data = content(8193, seed);
            let (root, store) = split(&data);
            (data, root, store)
        })
        .find(|(_, root, store)| store[root.address()].last() == Some(&0))
        .unwrap();
    let (mut slots, mut levels) = memory(2, 1);
    let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
    let r = j.poll_request().unwrap();
    let stored = &store[&r];
    assert_eq!(
        j.handle_chunk(&r, &stored[..stored.len() - 1]),
        Err(Error::Truncated {
            len: 95,
            expected: 96
        })
    );
    j.handle_chunk(&r, stored).unwrap();
    assert!(drive(&mut j, &store, Order::Lifo).output == data);
}

#[test]
fn intermediate_spans_that_lie_are_final_errors() {
    // The true tree of 130 leaves: root [I0 (128 leaves), I1 (2 leaves)].
    let data = content(130 * 4096, 5);
    let leaves: Vec<(ChunkAddress, Vec<u8>)> =
        data.chunks(4096).map(|c| cac(c.len() as u64, c)).collect();
    let addrs: Vec<ChunkAddress> = leaves.iter().map(|(a, _)| *a).collect();
    let base: Store = leaves.into_iter().collect();
    let full = 128 * 4096u64;
    for (i0_span, expected) in [
        (
            full + 1,
            Error::SpanMismatch {
                span: full + 1,
                expected: full,
            },
        ),
        (
            full - 1,
            Error::SpanMismatch {
                span: full - 1,
                expected: full,
            },
        ),
    ] {
        let mut store = base.clone();
        let (i0, c0) = cac(i0_span, &refs(&addrs[..128]));
        let (i1, c1) = cac(2 * 4096, &refs(&addrs[128..]));
        // The root adds up the lie, so only the child's span disagrees with its section.
        let (r, cr) = cac(i0_span + 2 * 4096, &refs(&[i0, i1]));
        store.extend([(i0, c0), (i1, c1), (r, cr)]);
        let run = attempt(Reference::plain(r), &store, 8, &data);
        assert_eq!(run.error, Some(expected));
        assert!(!expected.is_peer_fault());
    }

    // A root whose span says less than its children hold: the last leaf is too long.
    let mut store = base.clone();
    let (r, cr) = cac(5000, &refs(&addrs[..2]));
    store.insert(r, cr);
    let run = attempt(Reference::plain(r), &store, 2, &data);
    assert_eq!(
        run.error,
        Some(Error::SpanMismatch {
            span: 4096,
            expected: 904
        })
    );
    // ... or more (with as many references).
    let (last, cl) = cac(100, &data[4096..4196]);
    store.insert(last, cl);
    let (r, cr) = cac(8000, &refs(&[addrs[0], last]));
    store.insert(r, cr);
    let run = attempt(Reference::plain(r), &store, 2, &data);
    assert_eq!(
        run.error,
        Some(Error::SpanMismatch {
            span: 100,
            expected: 8000 - 4096
        })
    );
    // Children in the wrong order: the short leaf first.
    let (r, cr) = cac(4196, &refs(&[last, addrs[0]]));
    store.insert(r, cr);
    let run = attempt(Reference::plain(r), &store, 2, &[]);
    assert_eq!(
        run.error,
        Some(Error::SpanMismatch {
            span: 100,
            expected: 4096
        })
    );
    // More references than the span needs (non-zero bytes after them) ...
    let (r, cr) = cac(8192, &refs(&addrs[..3]));
    store.insert(r, cr);
    let run = attempt(Reference::plain(r), &store, 2, &data);
    assert_eq!(run.error, Some(Error::TrailingBytes { offset: 64 }));
    // ... but zero padding after them is fine.
    let mut padded = refs(&addrs[..2]);
    padded.resize(4096, 0);
    let (r, cr) = cac(8192, &padded);
    store.insert(r, cr);
    let run = attempt(Reference::plain(r), &store, 2, &data);
    assert_eq!(run.error, None);
    assert!(run.output == data[..8192]);
}

#[test]
fn redundancy_markers_that_do_not_fit_are_final_errors() {
    let data = content(3 * 4096, 6);
    let leaves: Vec<(ChunkAddress, Vec<u8>)> =
        data.chunks(4096).map(|c| cac(c.len() as u64, c)).collect();
    let addrs: Vec<ChunkAddress> = leaves.iter().map(|(a, _)| *a).collect();
    let mut store: Store = leaves.into_iter().collect();
    let marked = |span: u64, top: u8| span | (u64::from(top) << 56);
    // Unknown level.
    let (r, cr) = cac(marked(3 * 4096, 0x85), &refs(&addrs));
    store.insert(r, cr);
    let run = attempt(Reference::plain(r), &store, 2, &data);
    assert_eq!(run.error, Some(Error::RedundancyLevel { byte: 0x85 }));
    // 0x80 is no marker: a plain span of 2^63 + ..., beyond any tree.
    let (r, cr) = cac(marked(3 * 4096, 0x80), &refs(&addrs));
    store.insert(r, cr);
    let run = attempt(Reference::plain(r), &store, 2, &data);
    assert!(matches!(run.error, Some(Error::SpanTooLarge { .. })));
    // A marked span that decodes to a leaf's.
    let (r, cr) = cac(marked(100, 0x81), &data[..100]);
    store.insert(r, cr);
    let run = attempt(Reference::plain(r), &store, 2, &data);
    assert_eq!(
        run.error,
        Some(Error::MalformedSpan {
            span: marked(100, 0x81)
        })
    );
    // A MEDIUM root with 3 data references needs parity references (here: none).
    let (r, cr) = cac(marked(3 * 4096, 0x81), &refs(&addrs));
    store.insert(r, cr);
    let run = attempt(Reference::plain(r), &store, 2, &data);
    assert_eq!(
        run.error,
        Some(Error::Truncated {
            len: 96,
            expected: 96 + 3 * 32
        })
    );
}

#[test]
fn level_mismatch_is_reported() {
    // Root MEDIUM over two children of 119 leaves' worth; the first child is marked STRONG.
    let c = 119 * 4096u64;
    let leaf = cac(4096, &[1; 4096]);
    let mut store: Store = [leaf.clone()].into_iter().collect();
    let level1 = |top: u8| {
        let mut payload = refs(&vec![leaf.0; 119]);
        let parities = if top == 0x81 { 9 } else { 21 };
        payload.extend(std::iter::repeat_n(7u8, 32 * parities).take(4096 - payload.len()));
        let (a, ch) = cac(c | (u64::from(top) << 56), &payload);
        (a, ch)
    };
    let (bad, cb) = level1(0x82);
    let (good, cg) = level1(0x81);
    let mut payload = refs(&[bad, good]);
    payload.extend([5u8; 3 * 32]);
    let (r, cr) = cac((2 * c) | (0x81 << 56), &payload);
    store.extend([(bad, cb), (good, cg), (r, cr)]);
    let run = attempt(Reference::plain(r), &store, 4, &[]);
    assert_eq!(
        run.error,
        Some(Error::LevelMismatch {
            level: 2,
            expected: 1
        })
    );
}

#[test]
fn spans_beyond_the_deepest_tree_and_trees_beyond_the_lent_levels() {
    // The all-zero file of exactly 4096·128^7 bytes: 8 chunk levels, the most there is.
    let top = max_span(128);
    let mut store = Store::new();
    let (mut addr, c) = cac(4096, &[0; 4096]);
    store.insert(addr, c);
    let mut span = 4096u64;
    let mut roots = Vec::new();
    while span < top {
        span *= 128;
        let (a, c) = cac(span, &refs(&vec![addr; 128]));
        store.insert(a, c);
        addr = a;
        roots.push((span, a));
    }
    let root = Reference::plain(addr);
    // Its last 4096 bytes, with 7 levels lent: fine.
    let (mut slots, mut levels) = memory(2, 7);
    let mut j = Joiner::new(root, Some((top - 4096, top)), &mut slots, &mut levels).unwrap();
    let run = drive(&mut j, &store, Order::Fifo);
    assert_eq!(run.error, None);
    assert!(run.output == [0; 4096]);
    assert_eq!(run.requested.len(), 8, "one chunk per level");
    // With 6 levels: too deep for this joiner.
    let (mut slots, mut levels) = memory(2, 6);
    let mut j = Joiner::new(root, Some((top - 1, top)), &mut slots, &mut levels).unwrap();
    let run = drive(&mut j, &store, Order::Fifo);
    assert_eq!(run.error, Some(Error::TreeTooDeep { levels: 7, max: 6 }));
    // One byte more than the deepest tree: refused whatever the memory.
    let (r, cr) = cac(
        top + 1,
        &refs(&[addr, store.keys().next().copied().unwrap()]),
    );
    store.insert(r, cr);
    let run = attempt(Reference::plain(r), &store, 2, &[0; 10]);
    assert_eq!(
        run.error,
        Some(Error::SpanTooLarge {
            span: top + 1,
            max: top
        })
    );
    // Encrypted trees stop at 4096·64^7.
    assert_eq!(max_span(64), 1 << 54);
    // N and N+1 for the lent levels: a 2-level file needs L = 2.
    let data = content(128 * 4096 + 1, 8);
    let (root, store) = split(&data);
    let (mut slots, mut levels) = memory(3, 2);
    let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
    assert!(drive(&mut j, &store, Order::Fifo).output == data);
    let (mut slots, mut levels) = memory(3, 1);
    let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
    let run = drive(&mut j, &store, Order::Fifo);
    assert_eq!(run.error, Some(Error::TreeTooDeep { levels: 2, max: 1 }));
    assert!(run.output.is_empty());
}

#[test]
fn references_back_up_the_tree_are_refused() {
    // A chunk cannot name itself (its address would be a fixed point of keccak), but it can
    // name an ancestor-sized chunk: the spans give it away.
    let data = content(2 * 4096, 10);
    let (root, mut store) = split(&data);
    let r = *root.address();
    // A parent whose first child is the whole file where one leaf is due.
    let (up, cu) = cac(3 * 4096, &refs(&[r, r, r]));
    store.insert(up, cu);
    let run = attempt(Reference::plain(up), &store, 4, &[]);
    assert_eq!(
        run.error,
        Some(Error::SpanMismatch {
            span: 8192,
            expected: 4096
        })
    );
    // A node serving the root's bytes for a child's address: they do not hash to it.
    let (mut slots, mut levels) = memory(2, 1);
    let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
    j.poll_request();
    j.handle_chunk(&r, &store[&r]).unwrap();
    let child = j.poll_request().unwrap();
    assert_eq!(
        j.handle_chunk(&child, &store[&r]),
        Err(Error::AddressMismatch)
    );
}

#[test]
fn not_found_is_final_and_sticky() {
    let data = content(3 * 4096, 11);
    let (root, mut store) = split(&data);
    let missing = swarm_bmt::chunk_address(&4096u64.to_le_bytes(), &data[4096..8192]).unwrap();
    store.remove(&missing);
    let run = attempt(root, &store, 8, &data);
    assert_eq!(run.error, Some(Error::ChunkNotFound));
    assert!(!Error::ChunkNotFound.is_peer_fault());
    // The first leaf may have been read; nothing past the missing one.
    assert!(run.output.len() <= 4096);

    let (mut slots, mut levels) = memory(1, 1);
    let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
    let r = j.poll_request().unwrap();
    #[cfg(not(feature = "recovery"))]
    assert_eq!(j.handle_not_found(&r), Err(Error::ChunkNotFound));
    #[cfg(feature = "recovery")]
    {
        // A missing root is looked for among its 16 dispersed replicas first.
        assert_eq!(j.handle_not_found(&r), Ok(()));
        for k in 0..16 {
            let replica = j.poll_request().unwrap();
            let last = if k == 15 {
                Err(Error::ChunkNotFound)
            } else {
                Ok(())
            };
            assert_eq!(j.handle_not_found(&replica), last);
        }
        assert_eq!(j.unrecoverable(), Some(r));
    }
    assert_eq!(j.poll_request(), None);
    assert_eq!(j.handle_chunk(&r, &store[&r]), Err(Error::ChunkNotFound));
    assert_eq!(j.read(&mut [0; 8]), Err(Error::ChunkNotFound));
    assert!(!j.is_finished());
    assert_eq!(j.error(), Some(Error::ChunkNotFound));
}

#[test]
fn a_reader_that_does_not_read_stops_the_requests() {
    let data = content(100 * 4096, 12);
    let (root, store) = split(&data);
    let (mut slots, mut levels) = memory(5, 1);
    let mut j = Joiner::new(root, None, &mut slots, &mut levels).unwrap();
    let mut delivered = 0;
    while let Some(a) = j.poll_request() {
        j.handle_chunk(&a, &store[&a]).unwrap();
        delivered += 1;
    }
    assert_eq!(
        delivered,
        1 + 5,
        "the root, then one slot per leaf until they are read"
    );
    let mut buf = vec![0u8; 3 * 4096];
    assert_eq!(j.read(&mut buf).unwrap(), 3 * 4096);
    assert!(buf == data[..3 * 4096]);
    assert!(j.poll_request().is_some(), "reading freed slots");
}

#[test]
fn a_leaf_longer_than_its_span_gives_span_bytes() {
    // Bee stores a recovered leaf zero-padded to 4104 bytes; bee-js pads directory leaves.
    let data = content(4096 + 10, 13);
    let (l0, c0) = cac(4096, &data[..4096]);
    let mut padded = data[4096..].to_vec();
    padded.resize(4096, 0);
    let (l1, c1) = cac(10, &padded);
    assert_eq!(l1, cac(10, &data[4096..]).0, "same address");
    let (r, cr) = cac(4106, &refs(&[l0, l1]));
    let store: Store = [(l0, c0), (l1, c1), (r, cr)].into_iter().collect();
    let run = attempt(Reference::plain(r), &store, 2, &data);
    assert_eq!(run.error, None);
    assert!(run.output == data);
}

#[test]
fn a_wrong_key_decrypts_to_garbage_that_the_span_checks_catch() {
    let data = content(3 * 4096, 14);
    let (root, store) = tree(&data, swarm_core::redundancy::Level::None, true);
    let wrong = Reference::encrypted(*root.address(), [0x55; 32]);
    let run = attempt(wrong, &store, 2, &data);
    // Garbage spans fail the tree checks, or garbage references name chunks nobody has.
    assert!(run.error.is_some());
    assert!(run.output.is_empty());
}
