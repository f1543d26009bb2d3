//! Shared by the joiner's integration tests: tree builders (plain, encrypted, redundancy-marked),
//! lent memory and a driver with a chosen delivery order.
#![allow(dead_code)]

use std::collections::HashMap;

use swarm_bmt::{chunk_address, keccak256, ChunkAddress, Reference, Span, Splitter};
use swarm_core::crypt::encrypt_chunk;
use swarm_core::joiner::{Joiner, Slot, TreeLevel};
use swarm_core::redundancy::Level;
use swarm_core::{Error, Retrieval};

/// Chunks by address, as a node stores them.
pub type Store = HashMap<ChunkAddress, Vec<u8>>;

/// A small deterministic PRNG (xorshift64*).
#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Proptest cases per property: `PROPTEST_CASES`, or 32.
pub fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(32)
}

/// Content of `len` bytes that differs in every leaf.
pub fn content(len: usize, seed: u64) -> Vec<u8> {
    Rng::new(seed).bytes(len)
}

/// Splits `data` with swarm-bmt's splitter, keeping every chunk.
pub fn split(data: &[u8]) -> (Reference, Store) {
    let mut store = Store::new();
    let mut s = Splitter::with_sink(|a: &ChunkAddress, c: &[u8]| {
        store.insert(*a, c.to_vec());
        Ok(())
    });
    s.write(data).unwrap();
    let root = s.finish().unwrap();
    (Reference::plain(root), store)
}

/// Deterministic chunk keys for test trees.
pub fn test_key(k: u32) -> [u8; 32] {
    let mut m = b"joiner-test-key".to_vec();
    m.extend_from_slice(&k.to_be_bytes());
    keccak256(&m)
}

/// Builds a tree as Bee's pipeline does (§3.1, §3.6): 4096-byte leaves, groups of `B` data
/// references (the level's branching), a lone last entry promoted, intermediate spans marked
/// with `0x80 + level` and followed by `parities(n)` parity references. The parity references
/// are made up (the joiner reads data references only). Encrypted: every chunk under its own
/// key, 64-byte references, zero padding.
pub fn tree(data: &[u8], level: Level, encrypted: bool) -> (Reference, Store) {
    let mut store = Store::new();
    let mut keys = 0u32;
    let mut put = |span: [u8; 8], payload: &[u8], store: &mut Store| -> Reference {
        if encrypted {
            let key = test_key(keys);
            keys += 1;
            let mut out = [0u8; 4104];
            let a = encrypt_chunk(
                &key,
                Span::from_bytes(span),
                payload,
                &mut |p: &mut [u8]| p.fill(0),
                &mut out,
            )
            .unwrap();
            store.insert(a, out.to_vec());
            Reference::encrypted(a, key)
        } else {
            let a = chunk_address(&span, payload).unwrap();
            let mut c = span.to_vec();
            c.extend_from_slice(payload);
            store.insert(a, c);
            Reference::plain(a)
        }
    };
    let mut level_refs: Vec<(u64, Reference)> = Vec::new();
    if data.is_empty() {
        level_refs.push((0, put(0u64.to_le_bytes(), &[], &mut store)));
    }
    for leaf in data.chunks(4096) {
        let span = leaf.len() as u64;
        level_refs.push((span, put(span.to_le_bytes(), leaf, &mut store)));
    }
    let b = level.max_data_refs(encrypted);
    while level_refs.len() > 1 {
        let mut next = Vec::new();
        for g in level_refs.chunks(b) {
            if g.len() == 1 {
                next.push(g[0]);
                continue;
            }
            let span: u64 = g.iter().map(|(s, _)| s).sum();
            let mut payload = Vec::new();
            for (_, r) in g {
                let mut buf = [0u8; 64];
                payload.extend_from_slice(r.write_to(&mut buf).unwrap());
            }
            for j in 0..level.parities(g.len(), encrypted) {
                let mut m = payload.clone();
                m.extend_from_slice(&(j as u32).to_le_bytes());
                payload.extend_from_slice(&keccak256(&m));
            }
            let mut span_bytes = span.to_le_bytes();
            if level != Level::None {
                span_bytes[7] = 0x80 + level.as_u8();
            }
            next.push((span, put(span_bytes, &payload, &mut store)));
        }
        level_refs = next;
    }
    (level_refs[0].1, store)
}

/// Memory for a joiner of `window` slots and `levels` levels.
pub fn memory(window: usize, levels: usize) -> (Vec<Slot>, Vec<TreeLevel>) {
    (vec![Slot::EMPTY; window], vec![TreeLevel::EMPTY; levels])
}

/// How a run went.
#[derive(Debug, Default)]
pub struct Run {
    /// Everything `read` returned, in order.
    pub output: Vec<u8>,
    /// Every address requested, in order.
    pub requested: Vec<ChunkAddress>,
    /// The error that ended the run, if any.
    pub error: Option<Error>,
    /// Most requests outstanding at once.
    pub max_outstanding: usize,
    pub finished: bool,
}

/// Delivery policy of [`drive`].
#[derive(Clone, Copy, Debug)]
pub enum Order {
    /// Oldest request first.
    Fifo,
    /// Newest request first.
    Lifo,
    /// A random outstanding request each time.
    Random(u64),
}

/// Drives `m` against `store`: fills the window, delivers one chunk by `order`, reads with
/// buffers of varying size; missing chunks are reported not found. Stops at the first error,
/// at the end, or after a step bound.
pub fn drive<R: Retrieval>(m: &mut R, store: &Store, order: Order) -> Run {
    let mut run = Run::default();
    let mut rng = Rng::new(match order {
        Order::Random(s) => s,
        _ => 7,
    });
    let mut pending: Vec<ChunkAddress> = Vec::new();
    let mut buf = vec![0u8; 10_000];
    let steps = 4 * store.len() + 1000;
    for _ in 0..steps {
        // Poll, read (which frees slots), poll again.
        for _ in 0..2 {
            while let Some(a) = m.poll_request() {
                assert!(!pending.contains(&a), "address {a} requested twice");
                pending.push(a);
                run.requested.push(a);
            }
            run.max_outstanding = run.max_outstanding.max(pending.len());
            loop {
                let want = 1 + rng.below(buf.len());
                match m.read(&mut buf[..want]) {
                    Ok(0) => break,
                    Ok(n) => run.output.extend_from_slice(&buf[..n]),
                    Err(e) => {
                        run.error = Some(e);
                        return run;
                    }
                }
            }
        }
        if m.is_finished() {
            run.finished = true;
            assert!(pending.is_empty(), "finished with requests outstanding");
            return run;
        }
        if pending.is_empty() {
            panic!("stalled: nothing requested, nothing to read");
        }
        let i = match order {
            Order::Fifo => 0,
            Order::Lifo => pending.len() - 1,
            Order::Random(_) => rng.below(pending.len()),
        };
        let a = pending.remove(i);
        let r = match store.get(&a) {
            Some(c) => m.handle_chunk(&a, c),
            None => m.handle_not_found(&a),
        };
        if let Err(e) = r {
            run.error = Some(e);
            return run;
        }
    }
    panic!("no end after {steps} steps");
}

/// Joins `root` from `store` with the given window, order and range.
pub fn join(
    root: Reference,
    store: &Store,
    window: usize,
    range: Option<(u64, u64)>,
    order: Order,
) -> Run {
    let (mut slots, mut levels) = memory(window, 7);
    let mut j = Joiner::new(root, range, &mut slots, &mut levels).unwrap();
    let run = drive(&mut j, store, order);
    assert!(run.max_outstanding <= window);
    run
}
