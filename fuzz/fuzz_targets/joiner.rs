//! The joiner on address-consistent trees built from the input: content, shape, spans, lies
//! (spans off by a little, markers changed, references dropped, swapped or duplicated, trailing
//! bytes), redundancy markers and encryption are taken from the input, and every address is
//! recomputed so each chunk verifies. The chunks are then delivered in an input-chosen order
//! with input-chosen corruptions (flipped bytes, cuts, wrong chunks, not found).
//!
//! Checked against a plain recursive reader written from the spec (§3.3, §3.6, §7): the joiner
//! succeeds exactly when it does and outputs the same bytes; when the tree is bad the joiner
//! fails and whatever it output is a prefix of what the reader got before the bad chunk; a
//! corrupted delivery is a peer fault that changes nothing. Never a panic, never a stall.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use swarm_bmt::{chunk_address, keccak256, ChunkAddress, Reference, Span};
use swarm_core::crypt::{decrypt_span, encrypt_chunk, keystream_xor};
use swarm_core::joiner::{Joiner, Slot, TreeLevel};
use swarm_core::redundancy::{child_size, max_span, Level};
use swarm_core::{Error, Retrieval};

type Store = HashMap<ChunkAddress, Vec<u8>>;

/// The input as a stream of bytes; once it runs out, a PRNG seeded by it carries on, so that
/// short inputs reach lies and corruptions too.
struct Input<'a> {
    data: &'a [u8],
    rng: u64,
}

impl<'a> Input<'a> {
    fn new(data: &'a [u8]) -> Self {
        let h = keccak256(data);
        Self {
            data,
            rng: u64::from_le_bytes(h[..8].try_into().unwrap()) | 1,
        }
    }

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
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
}

struct Builder {
    store: Store,
    encrypted: bool,
    keys: u32,
    lies: bool,
}

impl Builder {
    fn put(&mut self, span: u64, payload: &[u8]) -> Reference {
        if self.encrypted {
            self.keys += 1;
            let key = keccak256(&self.keys.to_le_bytes());
            let mut out = [0u8; 4104];
            let a = encrypt_chunk(&key, Span(span), payload, &mut |p| p.fill(0), &mut out).unwrap();
            self.store.insert(a, out.to_vec());
            Reference::encrypted(a, key)
        } else {
            let a = chunk_address(&span.to_le_bytes(), payload).unwrap();
            let mut c = span.to_le_bytes().to_vec();
            c.extend_from_slice(payload);
            self.store.insert(a, c);
            Reference::plain(a)
        }
    }

    /// Wraps a group into an intermediate chunk, maybe lying about it.
    fn wrap(
        &mut self,
        g: &[(u64, Reference)],
        marker: u8,
        level: Level,
        inp: &mut Input,
    ) -> (u64, Reference) {
        let mut span: u64 = g.iter().map(|(s, _)| s).sum();
        let mut group: Vec<Reference> = g.iter().map(|(_, r)| *r).collect();
        let mut marker = marker;
        let mut trailing = None;
        if self.lies {
            let delta = u64::from(inp.u16() % 4097);
            match inp.u8() % 16 {
                1 => span += delta.max(1),
                2 => span = span.saturating_sub(delta.max(1)),
                3 if group.len() > 2 => drop(group.pop()),
                4 => trailing = Some(inp.u8() | 1),
                5 => marker = if marker == 0 { 0x81 } else { 0 },
                6 => {
                    let last = group.len() - 1;
                    group.swap(0, last);
                }
                7 => group[1] = group[0],
                _ => {}
            }
        }
        let mut payload = Vec::new();
        for r in &group {
            let mut b = [0u8; 64];
            payload.extend_from_slice(r.write_to(&mut b).unwrap());
        }
        let n = g.len();
        for j in 0..level.parities(n, self.encrypted) {
            payload.extend_from_slice(&keccak256(&(j as u64 ^ span).to_le_bytes()));
        }
        if let Some(t) = trailing {
            if payload.len() < 4096 {
                payload.push(t);
            }
        }
        payload.truncate(4096);
        let stored = if marker == 0 {
            span
        } else {
            (span & 0x00ff_ffff_ffff_ffff) | (u64::from(marker) << 56)
        };
        (span, self.put(stored, &payload))
    }
}

/// The spec's reader: the whole content, or an error with the content read before it.
struct Model<'a> {
    store: &'a Store,
    level: Level,
    branching: usize,
    out: Vec<u8>,
    depth: usize,
}

impl Model<'_> {
    fn fetch(&self, r: &Reference) -> Result<(u64, Vec<u8>), ()> {
        let c = self.store.get(r.address()).ok_or(())?;
        let (span, payload) = c.split_first_chunk::<8>().ok_or(())?;
        match r.key() {
            None => Ok((u64::from_le_bytes(*span), payload.to_vec())),
            Some(key) => {
                if payload.len() != 4096 {
                    return Err(());
                }
                let span = decrypt_span(key, Span::from_bytes(*span)).get();
                let mut p = payload.to_vec();
                keystream_xor(key, 0, &mut p);
                Ok((span, p))
            }
        }
    }

    fn decode(raw: u64) -> Result<(Level, u64), ()> {
        let top = (raw >> 56) as u8;
        if top <= 0x80 {
            return Ok((Level::None, raw));
        }
        Level::from_u8(top & 0x7f)
            .map(|l| (l, raw & 0x00ff_ffff_ffff_ffff))
            .ok_or(())
    }

    fn read(&mut self, r: &Reference, section: Option<u64>) -> Result<(), ()> {
        self.depth += 1;
        if self.depth > 9 {
            return Err(());
        }
        let (raw, payload) = self.fetch(r)?;
        let leaf = match section {
            None => raw <= 4096,
            Some(s) => s <= 4096,
        };
        if leaf {
            if section.is_some_and(|s| s != raw) || (payload.len() as u64) < raw {
                return Err(());
            }
            self.out.extend_from_slice(&payload[..raw as usize]);
            self.depth -= 1;
            return Ok(());
        }
        let (level, span) = Self::decode(raw)?;
        if span <= 4096 {
            return Err(());
        }
        match section {
            None => {
                self.level = level;
                self.branching = level.max_data_refs(r.is_encrypted());
                if span > max_span(self.branching) {
                    return Err(());
                }
            }
            Some(s) => {
                if s != span || level != self.level {
                    return Err(());
                }
            }
        }
        let c = child_size(span, self.branching);
        let n = span.div_ceil(c) as usize;
        let ref_len = if r.is_encrypted() { 64 } else { 32 };
        let need = n * ref_len + level.parities(n, r.is_encrypted()) * 32;
        if payload.len() < need || (!r.is_encrypted() && payload[need..].iter().any(|&b| b != 0)) {
            return Err(());
        }
        for i in 0..n {
            let child = Reference::from_slice(&payload[i * ref_len..(i + 1) * ref_len]).unwrap();
            let sec = if i + 1 < n {
                c
            } else {
                span - c * (n as u64 - 1)
            };
            self.read(&child, Some(sec))?;
        }
        self.depth -= 1;
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input::new(data);
    let flags = inp.u8();
    let encrypted = flags & 1 == 1;
    let marker_level = (flags >> 1) & 7; // 5..=7: unknown levels
    let lies = flags & 0x10 != 0;
    let not_found = flags & 0x20 != 0;
    // Mostly small trees (fast runs); large ones (two levels of 128) when bit 6 says so.
    let leaves = usize::from(inp.u16() % if flags & 0x40 != 0 { 200 } else { 24 });
    let last = 1 + usize::from(inp.u16() % 4096);
    let seed = inp.u16();
    let window = 1 + usize::from(inp.u8() % 16);
    let range = (inp.u8() & 1 == 1).then(|| (u64::from(inp.u16()) * 64, u64::from(inp.u16()) * 64));

    // Content and leaves.
    let len = if leaves == 0 {
        0
    } else {
        (leaves - 1) * 4096 + last
    };
    let mut content = vec![0u8; len];
    for (i, b) in content.iter_mut().enumerate() {
        *b = (i as u16 ^ seed).wrapping_mul(31) as u8 ^ (i >> 12) as u8;
    }
    let level = Level::from_u8(marker_level).unwrap_or(Level::Medium);
    let marker = if marker_level == 0 {
        0
    } else {
        0x80 + marker_level
    };
    let mut b = Builder {
        store: Store::new(),
        encrypted,
        keys: 0,
        lies,
    };
    let mut level_refs: Vec<(u64, Reference)> = Vec::new();
    if content.is_empty() {
        level_refs.push((0, b.put(0, &[])));
    }
    for leaf in content.chunks(4096) {
        level_refs.push((leaf.len() as u64, b.put(leaf.len() as u64, leaf)));
    }
    let branching = level.max_data_refs(encrypted);
    while level_refs.len() > 1 {
        let mut next = Vec::new();
        for g in level_refs.chunks(branching) {
            if g.len() == 1 {
                next.push(g[0]);
            } else {
                next.push(b.wrap(g, marker, level, &mut inp));
            }
        }
        level_refs = next;
    }
    let root = level_refs[0].1;
    let store = b.store;

    let mut model = Model {
        store: &store,
        level: Level::None,
        branching: 128,
        out: Vec::new(),
        depth: 0,
    };
    let expected = model.read(&root, None).map(|()| model.out.clone());
    if !lies && marker_level <= 4 {
        assert_eq!(
            expected.as_deref(),
            Ok(&content[..]),
            "honest trees read back"
        );
    }

    // Deliver.
    let (mut slots, mut levels) = (vec![Slot::EMPTY; window], vec![TreeLevel::EMPTY; 7]);
    let mut j = Joiner::new(root, range, &mut slots, &mut levels).unwrap();
    let addresses: Vec<ChunkAddress> = store.keys().copied().collect();
    let (mut out, mut buf) = (Vec::new(), vec![0u8; 5000]);
    let mut pending: Vec<ChunkAddress> = Vec::new();
    let mut failed = None;
    let (mut chose_not_found, mut forced_not_found) = (false, false);
    for _ in 0..100_000 {
        if failed.is_some() {
            break;
        }
        for _ in 0..2 {
            while let Some(a) = j.poll_request() {
                assert!(!pending.contains(&a));
                pending.push(a);
            }
            // The window, and with `recovery` as many again for one sibling group plus a
            // root replica.
            assert!(pending.len() <= 2 * window + 1);
            loop {
                match j.read(&mut buf[..1 + usize::from(inp.u8()) * 19]) {
                    Ok(0) => break,
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                    Err(e) => panic!("read failed without a failed call first: {e}"),
                }
            }
        }
        if j.is_finished() {
            break;
        }
        assert!(!pending.is_empty(), "stalled");
        let i = usize::from(inp.u8()) % pending.len();
        let a = pending[i];
        let good = store.get(&a);
        let result = match (inp.u8() % 8, good) {
            (5, Some(c)) => {
                let mut bad = c.clone();
                let at = usize::from(inp.u16()) % bad.len();
                bad[at] ^= inp.u8().max(1);
                let e = j.handle_chunk(&a, &bad).unwrap_err();
                assert_eq!(e, Error::AddressMismatch);
                continue;
            }
            (6, Some(c)) => {
                // A cut that still verifies only lost zeros: the same chunk, or a peer fault
                // if the span says more bytes are due; a final error is the tree's own.
                let cut = usize::from(inp.u16()) % c.len();
                match j.handle_chunk(&a, &c[..cut]) {
                    Err(e) if e.is_peer_fault() => continue,
                    r => r,
                }
            }
            (7, _) => {
                let other = addresses[usize::from(inp.u16()) % addresses.len()];
                if other == a || pending.contains(&other) {
                    continue;
                }
                let e = j.handle_chunk(&other, &store[&other]).unwrap_err();
                assert!(e.is_peer_fault());
                continue;
            }
            (0, _) if not_found => {
                chose_not_found = true;
                j.handle_not_found(&a)
            }
            (_, Some(c)) => match j.handle_chunk(&a, c) {
                // The true bytes can be "truncated" only in a lying tree: no node has more.
                Err(e) if e.is_peer_fault() => {
                    forced_not_found = true;
                    j.handle_not_found(&a)
                }
                r => r,
            },
            (_, None) => j.handle_not_found(&a),
        };
        match result {
            Ok(()) => {
                pending.remove(i);
            }
            Err(e) => {
                assert!(!e.is_peer_fault());
                assert_eq!(j.read(&mut buf), Err(e));
                failed = Some(e);
            }
        }
    }
    let (a, z) = match (range, &expected) {
        (Some((a, z)), _) => (a, z),
        (None, Ok(c)) => (0, c.len() as u64),
        (None, Err(())) => (0, u64::MAX),
    };
    match (&expected, failed) {
        (Ok(c), None) => {
            assert!(j.is_finished(), "neither finished nor failed");
            let z = z.min(c.len() as u64);
            if range.is_none_or(|(a, z)| a <= z && a <= c.len() as u64) {
                assert!(
                    out == c[a.min(z) as usize..z as usize],
                    "output differs from the reader's"
                );
            }
        }
        (Ok(c), Some(e)) => {
            // Only a range outside the file or a chunk withheld on purpose stops a good tree.
            assert!(!forced_not_found, "true bytes of a good tree refused");
            match e {
                Error::ChunkNotFound => assert!(chose_not_found),
                Error::RangeOutOfBounds { .. } => assert!(range.is_some()),
                e => panic!("a good tree failed: {e}"),
            }
            let from = a.min(c.len() as u64) as usize;
            assert!(c[from..].starts_with(&out));
        }
        (Err(()), None) => {
            // A bad tree can still serve a range that avoids the bad chunks.
            assert!(range.is_some(), "the joiner read a tree the spec rejects");
        }
        (Err(()), Some(_)) => {
            if range.is_none() {
                assert!(
                    model.out.starts_with(&out),
                    "output past the first bad chunk"
                );
            }
        }
    }
});
