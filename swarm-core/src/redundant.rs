//! The writer of erasure-coded (redundancy) trees, byte-identical to Bee's `/bytes` pipeline
//! (`../shared/spec/chunks.md` §3.1, §3.6; feature `recovery`).
//!
//! [`RedundantSplitter`] cuts content into leaves, groups up to `B` references per
//! intermediate chunk (`B` = [`Level::max_data_refs`]), and for each group stores its `p`
//! parity chunks (Reed–Solomon over the children's stored bytes zero-padded to 4104, §8
//! point 3) before the intermediate chunk that names them (`span[7] = 0x80 + level`). The
//! chunks reach the sink in Bee's creation order; at a level other than NONE the root's
//! dispersed replicas (SOCs of [`REPLICAS_OWNER`](crate::soc::REPLICAS_OWNER)) follow it.
//!
//! [`RedundantSplitter::encrypted`] builds Bee's encrypted + redundancy trees (`Swarm-Encrypt`
//! with a level): every leaf and intermediate chunk encrypted with its own key (64-byte data
//! references, `B` = [`Level::max_data_refs`]`(true)`), the Reed–Solomon code over the stored
//! ciphertexts, parity chunks unencrypted with 32-byte references. Bee draws its keys and
//! padding at random, so its roots are reproducible only with the same keys (the vectors' key
//! hook); the reader does not depend on them.
//!
//! ```
//! use std::collections::HashMap;
//! use swarm_bmt::ChunkAddress;
//! use swarm_core::redundancy::Level;
//! use swarm_core::redundant::RedundantSplitter;
//!
//! let mut store = HashMap::new();
//! let mut s = RedundantSplitter::new(Level::Medium, |a: &ChunkAddress, c: &[u8]| {
//!     store.insert(*a, c.to_vec());
//!     Ok(())
//! });
//! let content: Vec<u8> = (0..10 * 4096u32).map(|i| (i % 251) as u8).collect();
//! s.write(&content)?;
//! let root = s.finish()?;
//! // 10 leaves, 4 parity chunks, the root, 2 replicas.
//! assert_eq!(store.len(), 17);
//! assert!(store.contains_key(&root));
//! # Ok::<(), swarm_core::Error>(())
//! ```

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use k256::ecdsa::SigningKey;
use swarm_bmt::{
    chunk_address, ChunkAddress, ChunkSink, Reference, Span, MAX_CHUNK_LEN, MAX_PAYLOAD_LEN,
    SEGMENT_SIZE,
};

use crate::crypt::{encrypt_chunk, ENCRYPTED_REF_LEN, KEY_LEN};

use crate::gf256::ReedSolomon;
use crate::recovery::{replica_ids, SHARD_LEN};
use crate::redundancy::{Level, MAX_TREE_LEVELS};
use crate::soc::{sign, MAX_SOC_LEN};
use crate::Error;

/// One buffered reference: the child's span, address, key (encrypted trees) and stored bytes
/// (for the parity).
struct Entry {
    span: u64,
    address: ChunkAddress,
    key: Option<[u8; KEY_LEN]>,
    chunk: Vec<u8>,
}

/// Where an encrypted tree's chunk keys come from.
type KeySource<'k> = Box<dyn FnMut() -> [u8; KEY_LEN] + 'k>;
/// What fills an encrypted chunk's ciphertext up to 4096 bytes.
type Padding<'k> = Box<dyn FnMut(&mut [u8]) + 'k>;

/// The key and padding sources of an encrypted tree.
struct Encryption<'k> {
    keys: KeySource<'k>,
    padding: Padding<'k>,
}

/// A streaming writer of redundancy trees; see the [module docs](self).
pub struct RedundantSplitter<'k, S: ChunkSink> {
    level: Level,
    branching: usize,
    sink: S,
    leaf: Vec<u8>,
    written: u64,
    levels: Vec<Vec<Entry>>,
    /// The codec of the last group shape (full groups share one).
    codec: Option<((usize, usize), ReedSolomon)>,
    encryption: Option<Encryption<'k>>,
}

impl<'k, S: ChunkSink> RedundantSplitter<'k, S> {
    /// A writer at `level` handing every chunk to `sink`.
    pub fn new(level: Level, sink: S) -> Self {
        Self {
            level,
            branching: level.max_data_refs(false),
            sink,
            leaf: Vec::with_capacity(MAX_PAYLOAD_LEN),
            written: 0,
            levels: (0..=MAX_TREE_LEVELS).map(|_| Vec::new()).collect(),
            codec: None,
            encryption: None,
        }
    }

    /// A writer of an encrypted tree at `level` (Bee's `Swarm-Encrypt: true` with that
    /// `Swarm-Redundancy-Level`): one key from `keys` per leaf and intermediate chunk, in
    /// creation order, immediately before the chunk is encrypted (parity chunks draw none, as
    /// in Bee); `padding` fills each ciphertext up to 4096 bytes (Bee: random bytes). Finish
    /// it with [`finish_reference`](Self::finish_reference) to get the root's key too.
    ///
    /// ```
    /// use swarm_bmt::ChunkAddress;
    /// use swarm_core::redundancy::Level;
    /// use swarm_core::redundant::RedundantSplitter;
    ///
    /// let mut k = 0u8;
    /// let keys = move || { k += 1; [k; 32] };
    /// let mut chunks = 0;
    /// let sink = |_: &ChunkAddress, _: &[u8]| { chunks += 1; Ok(()) };
    /// let mut s = RedundantSplitter::encrypted(Level::Medium, keys, |p: &mut [u8]| p.fill(0), sink);
    /// s.write(&[7u8; 5000])?;
    /// let root = s.finish_reference()?;
    /// assert!(root.is_encrypted());
    /// // 2 leaves, 3 parity chunks, the root, 2 replicas.
    /// assert_eq!(chunks, 8);
    /// # Ok::<(), swarm_core::Error>(())
    /// ```
    pub fn encrypted<K, P>(level: Level, keys: K, padding: P, sink: S) -> Self
    where
        K: FnMut() -> [u8; KEY_LEN] + 'k,
        P: FnMut(&mut [u8]) + 'k,
    {
        Self {
            branching: level.max_data_refs(true),
            encryption: Some(Encryption {
                keys: Box::new(keys),
                padding: Box::new(padding),
            }),
            ..Self::new(level, sink)
        }
    }

    /// Appends content.
    ///
    /// # Errors
    /// [`Error::Bmt`] with [`swarm_bmt::Error::Sink`] if the sink refuses a chunk;
    /// [`Error::SpanTooLarge`] past the largest tree.
    pub fn write(&mut self, mut data: &[u8]) -> Result<(), Error> {
        while !data.is_empty() {
            let room = MAX_PAYLOAD_LEN - self.leaf.len();
            let (head, rest) = data.split_at(room.min(data.len()));
            self.leaf.extend_from_slice(head);
            self.written += head.len() as u64;
            data = rest;
            if self.leaf.len() == MAX_PAYLOAD_LEN && !data.is_empty() {
                self.flush_leaf()?;
            }
        }
        Ok(())
    }

    /// Stores the last leaf and every pending level; returns the root address (of an
    /// encrypted tree: without its key, see [`finish_reference`](Self::finish_reference)).
    ///
    /// # Errors
    /// As [`write`](Self::write).
    pub fn finish(self) -> Result<ChunkAddress, Error> {
        self.finish_reference().map(|r| *r.address())
    }

    /// As [`finish`](Self::finish), returning the root reference: 64 bytes (address and key)
    /// for an encrypted tree.
    ///
    /// # Errors
    /// As [`write`](Self::write).
    pub fn finish_reference(mut self) -> Result<Reference, Error> {
        if !self.leaf.is_empty() || self.written == 0 {
            self.flush_leaf()?;
        }
        // Bottom-up: a level with one entry is carried, one with more is wrapped.
        for l in 0..MAX_TREE_LEVELS {
            let len = self.levels.get(l).map_or(0, Vec::len);
            let above = self.levels.iter().skip(l + 1).any(|v| !v.is_empty());
            if len == 1 && !above {
                break;
            }
            if len == 1 {
                let e = self.levels.get_mut(l).and_then(Vec::pop);
                if let (Some(e), Some(next)) = (e, self.levels.get_mut(l + 1)) {
                    next.push(e);
                }
            } else if len > 1 {
                self.wrap(l)?;
            }
        }
        let root = self
            .levels
            .iter_mut()
            .find_map(Vec::pop)
            .ok_or(Error::ChunkNotFound)?;
        if self.level != Level::None {
            self.replicate(&root)?;
        }
        Ok(match root.key {
            Some(key) => Reference::encrypted(root.address, key),
            None => Reference::plain(root.address),
        })
    }

    /// Stores `span || payload` — encrypted with the next key in an encrypted tree — and
    /// returns its entry.
    fn store(&mut self, span: [u8; 8], payload: &[u8], total: u64) -> Result<Entry, Error> {
        let (address, key, chunk) = match self.encryption.as_mut() {
            Some(enc) => {
                let key = (enc.keys)();
                let mut out = [0u8; MAX_CHUNK_LEN];
                let span = Span(u64::from_le_bytes(span));
                let address = encrypt_chunk(&key, span, payload, &mut enc.padding, &mut out)?;
                (address, Some(key), out.to_vec())
            }
            None => {
                let address = chunk_address(&span, payload)?;
                let mut chunk = Vec::with_capacity(8 + payload.len());
                chunk.extend_from_slice(&span);
                chunk.extend_from_slice(payload);
                (address, None, chunk)
            }
        };
        self.put(&address, &chunk)?;
        Ok(Entry {
            span: total,
            address,
            key,
            chunk,
        })
    }

    fn put(&mut self, address: &ChunkAddress, chunk: &[u8]) -> Result<(), Error> {
        self.sink.put(address, chunk).map_err(Error::Bmt)
    }

    fn flush_leaf(&mut self) -> Result<(), Error> {
        let span = self.leaf.len() as u64;
        let leaf = core::mem::take(&mut self.leaf);
        let entry = self.store(span.to_le_bytes(), &leaf, span)?;
        self.leaf = leaf;
        self.leaf.clear();
        self.push(0, entry)
    }

    fn push(&mut self, l: usize, e: Entry) -> Result<(), Error> {
        let level = self.levels.get_mut(l).ok_or(Error::SpanTooLarge {
            span: self.written,
            max: crate::redundancy::max_span(self.branching),
        })?;
        level.push(e);
        if level.len() == self.branching {
            self.wrap(l)?;
        }
        Ok(())
    }

    /// Stores level `l`'s parity chunks, then the intermediate chunk naming its entries.
    fn wrap(&mut self, l: usize) -> Result<(), Error> {
        let entries = core::mem::take(self.levels.get_mut(l).ok_or(Error::ChunkNotFound)?);
        let n = entries.len();
        let encrypted = self.encryption.is_some();
        let p = self.level.parities(n, encrypted);
        let mut parity_refs = Vec::with_capacity(p);
        if p > 0 {
            if self
                .codec
                .as_ref()
                .is_none_or(|(shape, _)| *shape != (n, p))
            {
                let rs = ReedSolomon::new(n, p).map_err(|_| Error::ChunkNotFound)?;
                self.codec = Some(((n, p), rs));
            }
            let (_, rs) = self.codec.as_ref().ok_or(Error::ChunkNotFound)?;
            let mut shards = vec![0u8; (n + p) * SHARD_LEN];
            for (e, shard) in entries.iter().zip(shards.chunks_mut(SHARD_LEN)) {
                if let Some(dst) = shard.get_mut(..e.chunk.len()) {
                    dst.copy_from_slice(&e.chunk);
                }
            }
            let mut parts: Vec<&mut [u8]> = shards.chunks_mut(SHARD_LEN).collect();
            rs.encode(&mut parts).map_err(|_| Error::ChunkNotFound)?;
            for shard in shards.chunks(SHARD_LEN).skip(n) {
                let address = swarm_bmt::chunk_address_of(shard)?;
                self.put(&address, shard)?;
                parity_refs.push(address);
            }
        }
        let span: u64 = entries.iter().map(|e| e.span).sum();
        let mut span_bytes = span.to_le_bytes();
        if self.level != Level::None {
            if let Some(b) = span_bytes.last_mut() {
                *b = 0x80 + self.level.as_u8();
            }
        }
        let mut payload = Vec::with_capacity(n * ENCRYPTED_REF_LEN + p * SEGMENT_SIZE);
        for e in &entries {
            payload.extend_from_slice(&e.address.0);
            if let Some(key) = &e.key {
                payload.extend_from_slice(key);
            }
        }
        for a in &parity_refs {
            payload.extend_from_slice(&a.0);
        }
        let entry = self.store(span_bytes, &payload, span)?;
        self.push(l + 1, entry)
    }

    /// Stores the root's dispersed replicas: SOCs of the replicas owner (private key
    /// `0x01 || 0…`), identifier = root address with byte 0 from [`replica_ids`], wrapping
    /// the root zero-padded to 4104 bytes.
    fn replicate(&mut self, root: &Entry) -> Result<(), Error> {
        let mut secret = [0u8; 32];
        if let Some(b) = secret.first_mut() {
            *b = 1;
        }
        let key = SigningKey::from_slice(&secret).map_err(|_| Error::BadSignature)?;
        let mut padded = [0u8; SHARD_LEN];
        if let Some(dst) = padded.get_mut(..root.chunk.len()) {
            dst.copy_from_slice(&root.chunk);
        }
        let (span, payload) = padded.split_at(8);
        let mut span8 = [0u8; 8];
        span8.copy_from_slice(span);
        let count = 1usize << self.level.as_u8();
        let mut out = [0u8; MAX_SOC_LEN];
        for &byte0 in replica_ids(&root.address).iter().take(count) {
            let mut id = root.address.0;
            if let Some(b) = id.first_mut() {
                *b = byte0;
            }
            let (address, soc) = sign(&key, &id, Span::from_bytes(span8), payload, &mut out)?;
            self.sink.put(&address, soc).map_err(Error::Bmt)?;
        }
        Ok(())
    }
}
