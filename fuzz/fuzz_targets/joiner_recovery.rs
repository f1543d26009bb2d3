//! Recovery (swarm-core feature `recovery`) on erasure-coded trees our writer builds (Bee's
//! bytes, see tests/conformance/redundancy.rs) at an input-chosen level and size, with an
//! input-chosen set of chunks withheld (leaves, parity chunks, intermediate chunks, the root,
//! its replicas) and input-chosen forged deliveries.
//!
//! Checked against the rule Bee's joiner follows (recovery.json): the file joins iff the root
//! or one of its replicas is there and every sibling group reached keeps at least `n` of its
//! `n + p` chunks; then the bytes are exact. Otherwise the joiner fails with `ChunkNotFound`,
//! names a withheld chunk, and has output only a prefix of the file. Forged bytes are peer
//! faults. Never a panic, never a stall, never two requests for one address.
#![no_main]

use std::collections::{HashMap, HashSet};

use libfuzzer_sys::fuzz_target;
use swarm_bmt::{keccak256, ChunkAddress, Reference};
use swarm_core::joiner::{Slot, TreeLevel};
use swarm_core::redundancy::{decode_span, Level};
use swarm_core::redundant::RedundantSplitter;
use swarm_core::{Error, Joiner, Retrieval};

type Store = HashMap<ChunkAddress, Vec<u8>>;

struct Input<'a> {
    data: &'a [u8],
    rng: u64,
}

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => {
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 7;
                self.rng ^= self.rng << 17;
                (self.rng >> 24) as u8
            }
        }
    }
}

/// Whether the tree below `a` can be read: every group keeps `n` of `n + p` chunks.
fn readable(a: &ChunkAddress, store: &Store, gone: &HashSet<ChunkAddress>) -> bool {
    let c = &store[a];
    let span = u64::from_le_bytes(c[..8].try_into().unwrap());
    let Ok((level, real)) = decode_span(swarm_bmt::Span(span)) else {
        return false;
    };
    if real <= 4096 {
        return true;
    }
    let (n, p) = swarm_core::redundancy::reference_count(real, level, false);
    let refs: Vec<ChunkAddress> = c[8..8 + 32 * (n + p)]
        .chunks(32)
        .map(|r| ChunkAddress::from_slice(r).unwrap())
        .collect();
    let missing = refs.iter().filter(|r| gone.contains(r)).count();
    missing <= p && refs[..n].iter().all(|r| readable(r, store, gone))
}

fuzz_target!(|data: &[u8]| {
    let h = keccak256(data);
    let mut inp = Input {
        data,
        rng: u64::from_le_bytes(h[..8].try_into().unwrap()) | 1,
    };
    let level = Level::from_u8(1 + inp.u8() % 4).unwrap();
    let leaves = 1 + usize::from(inp.u8()) % 140;
    let len = (leaves - 1) * 4096 + 1 + usize::from(inp.u8()) * 16;
    let seed = u64::from(inp.u8()) << 8 | 1;
    let content: Vec<u8> = {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    };
    let mut store = Store::new();
    let mut order = Vec::new();
    let mut s = RedundantSplitter::new(level, |a: &ChunkAddress, c: &[u8]| {
        store.insert(*a, c.to_vec());
        order.push(*a);
        Ok(())
    });
    s.write(&content).unwrap();
    let root = s.finish().unwrap();
    let replicas = 1usize << level.as_u8();
    // Withhold each chunk with an input-chosen chance (none at all for 1/8 of the inputs).
    let rate = inp.u8() % 8;
    let mut gone = HashSet::new();
    for a in &order {
        if rate > 0 && inp.u8() % 64 < rate {
            gone.insert(*a);
        }
    }
    let root_there =
        !gone.contains(&root) || order[order.len() - replicas..].iter().any(|r| !gone.contains(r));
    let expect_ok = root_there && readable(&root, &store, &gone);
    let window = 1 + usize::from(inp.u8()) % 16;

    let (mut slots, mut levels) = (vec![Slot::EMPTY; window], vec![TreeLevel::EMPTY; 3]);
    let mut j = Joiner::new(Reference::plain(root), None, &mut slots, &mut levels).unwrap();
    let (mut out, mut buf, mut pending) = (Vec::new(), vec![0u8; 5000], Vec::new());
    let mut result = Ok(());
    for _ in 0..1_000_000 {
        for _ in 0..2 {
            while let Some(a) = j.poll_request() {
                assert!(!pending.contains(&a), "asked twice");
                pending.push(a);
            }
            assert!(pending.len() <= 2 * window + 1);
            while let Ok(n @ 1..) = j.read(&mut buf[..1 + usize::from(inp.u8()) * 19]) {
                out.extend_from_slice(&buf[..n]);
            }
        }
        if let Some(e) = j.error() {
            result = Err(e);
            break;
        }
        if j.is_finished() {
            break;
        }
        assert!(!pending.is_empty(), "stalled");
        let i = usize::from(inp.u8()) % pending.len();
        let a = pending[i];
        let r = match store.get(&a) {
            Some(c) if !gone.contains(&a) => {
                if inp.u8() % 8 == 0 {
                    let mut bad = c.clone();
                    let at = usize::from(inp.u8()) * 16 % bad.len();
                    bad[at] ^= 1 + inp.u8() % 255;
                    let e = j.handle_chunk(&a, &bad).unwrap_err();
                    assert!(e.is_peer_fault(), "{e:?}");
                }
                j.handle_chunk(&a, c)
            }
            _ => j.handle_not_found(&a),
        };
        match r {
            Ok(()) => {
                pending.remove(i);
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    match result {
        Ok(()) => {
            assert!(j.is_finished(), "neither finished nor failed");
            assert!(expect_ok, "joined a file Bee's rule says is lost");
            assert!(out == content, "wrong bytes");
        }
        Err(e) => {
            assert_eq!(e, Error::ChunkNotFound);
            assert!(!expect_ok, "refused a recoverable file");
            assert!(gone.contains(&j.unrecoverable().unwrap()));
            assert!(content.starts_with(&out), "output past the verified bytes");
        }
    }
});
