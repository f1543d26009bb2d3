//! The encrypting side (`alloc`): one chunk, and a whole encrypted tree as Bee's pipeline builds
//! it with `Swarm-Encrypt: true` (`../shared/spec/chunks.md` §3.4, §4).

use alloc::vec::Vec;

use swarm_bmt::{
    chunk_address, ChunkAddress, ChunkSink, Reference, Span, ENCRYPTED_BRANCHES, MAX_CHUNK_LEN,
    MAX_PAYLOAD_LEN, SPAN_SIZE,
};

use super::{keystream_xor, ENCRYPTED_REF_LEN, KEY_LEN, SPAN_COUNTER};
use crate::redundancy::max_span;
use crate::Error;

/// Encrypts the chunk `span || payload` with `key` into `out` (always 4104 bytes: the payload's
/// ciphertext is followed by `padding`'s bytes up to 4096) and returns the chunk's address.
///
/// `padding` fills the bytes after the ciphertext; Bee uses random bytes, tests use zeros.
///
/// # Errors
/// [`Error::Bmt`] ([`swarm_bmt::Error::PayloadTooLong`]) for a payload over 4096 bytes.
pub fn encrypt_chunk(
    key: &[u8; KEY_LEN],
    span: Span,
    payload: &[u8],
    padding: &mut impl FnMut(&mut [u8]),
    out: &mut [u8; MAX_CHUNK_LEN],
) -> Result<ChunkAddress, Error> {
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(swarm_bmt::Error::PayloadTooLong { len: payload.len() }.into());
    }
    let (span_dst, pay_dst) = out.split_at_mut(SPAN_SIZE);
    span_dst.copy_from_slice(&span.to_bytes());
    keystream_xor(key, SPAN_COUNTER, span_dst);
    let (cipher, pad) = pay_dst.split_at_mut(payload.len());
    cipher.copy_from_slice(payload);
    keystream_xor(key, 0, cipher);
    padding(pad);
    let (span_bytes, payload) = out
        .split_first_chunk::<SPAN_SIZE>()
        .ok_or(Error::ChunkLength { len: 0 })?;
    Ok(chunk_address(span_bytes, payload)?)
}

/// Splits content into an encrypted chunk tree, chunk by chunk as it is written, and returns
/// the 64-byte root reference — the tree Bee's `POST /bytes` builds with `Swarm-Encrypt: true`:
/// 4096-byte leaves, 64 references of 64 bytes per intermediate chunk, a lone last reference
/// promoted unchanged, every chunk encrypted with its own key (§3.1, §3.4).
///
/// Keys are drawn from `keys` one per chunk, in creation order (leaves in file order, an
/// intermediate chunk as soon as its 64th child exists, the rest bottom-up at the end), as
/// Bee draws them; `padding` fills each ciphertext up to 4096 bytes. Every chunk goes to the
/// sink as its 4104 stored bytes.
///
/// ```
/// use swarm_core::crypt::EncryptingSplitter;
/// let mut k = 0u8;
/// let keys = move || { k += 1; [k; 32] };
/// let mut chunks = Vec::new();
/// let sink = |a: &swarm_bmt::ChunkAddress, c: &[u8]| { chunks.push((*a, c.to_vec())); Ok(()) };
/// let mut s = EncryptingSplitter::new(keys, |p: &mut [u8]| p.fill(0), sink);
/// s.write(&[7u8; 5000])?;
/// let root = s.finish()?;
/// assert!(root.is_encrypted());
/// assert_eq!(chunks.len(), 3); // two leaves and their parent
/// # Ok::<(), swarm_core::Error>(())
/// ```
pub struct EncryptingSplitter<K, P, S> {
    keys: K,
    padding: P,
    sink: S,
    leaf: Vec<u8>,
    levels: Vec<Level>,
    total: u64,
    chunk: [u8; MAX_CHUNK_LEN],
}

/// References of one level waiting to be wrapped.
#[derive(Default)]
struct Level {
    refs: Vec<u8>,
    span: u64,
}

impl<K, P, S> EncryptingSplitter<K, P, S>
where
    K: FnMut() -> [u8; KEY_LEN],
    P: FnMut(&mut [u8]),
    S: ChunkSink,
{
    /// A splitter drawing chunk keys from `keys`, padding from `padding`, handing every chunk
    /// to `sink`.
    pub fn new(keys: K, padding: P, sink: S) -> Self {
        Self {
            keys,
            padding,
            sink,
            leaf: Vec::with_capacity(MAX_PAYLOAD_LEN),
            levels: Vec::new(),
            total: 0,
            chunk: [0; MAX_CHUNK_LEN],
        }
    }

    /// Content bytes written so far.
    #[must_use]
    pub const fn len(&self) -> u64 {
        self.total
    }

    /// Whether no content has been written.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Appends `data` to the content.
    ///
    /// # Errors
    /// [`swarm_bmt::Error::FileTooLarge`] past `4096·64^7` bytes (nothing of `data` is taken
    /// then), [`swarm_bmt::Error::Sink`] if the sink refused a chunk.
    pub fn write(&mut self, mut data: &[u8]) -> Result<(), Error> {
        let grown = u64::try_from(data.len())
            .ok()
            .and_then(|n| self.total.checked_add(n))
            .filter(|&n| n <= max_span(ENCRYPTED_BRANCHES))
            .ok_or(swarm_bmt::Error::FileTooLarge)?;
        while !data.is_empty() {
            if self.leaf.len() == MAX_PAYLOAD_LEN {
                self.flush_leaf()?;
            }
            let take = (MAX_PAYLOAD_LEN - self.leaf.len()).min(data.len());
            let (head, rest) = data.split_at(take);
            self.leaf.extend_from_slice(head);
            data = rest;
        }
        self.total = grown;
        Ok(())
    }

    /// Ends the content and returns the root reference (address and key of the root chunk).
    /// Empty content gives one encrypted leaf of span 0, as Bee does.
    ///
    /// # Errors
    /// [`swarm_bmt::Error::Sink`] if the sink refused a chunk.
    pub fn finish(mut self) -> Result<Reference, Error> {
        self.flush_leaf()?;
        let mut lvl = 0;
        while lvl < self.levels.len() {
            let count = self
                .levels
                .get(lvl)
                .map_or(0, |l| l.refs.len() / ENCRYPTED_REF_LEN);
            let higher_empty = self
                .levels
                .get(lvl + 1..)
                .is_none_or(|rest| rest.iter().all(|l| l.refs.is_empty()));
            match count {
                0 => {}
                1 => {
                    let level = self.levels.get_mut(lvl).map(core::mem::take);
                    let level = level.unwrap_or_default();
                    let r = Reference::from_slice(&level.refs)?;
                    if higher_empty {
                        return Ok(r);
                    }
                    self.push(lvl + 1, level.span, &r)?;
                }
                _ => self.wrap(lvl)?,
            }
            lvl += 1;
        }
        // INVARIANT: flush_leaf pushed one reference, so some level holds one at the end.
        Err(swarm_bmt::Error::FileTooLarge.into())
    }

    fn flush_leaf(&mut self) -> Result<(), Error> {
        let span = self.leaf.len() as u64;
        let key = (self.keys)();
        let address = encrypt_chunk(
            &key,
            Span(span),
            &self.leaf,
            &mut self.padding,
            &mut self.chunk,
        )?;
        self.sink
            .put(&address, &self.chunk)
            .map_err(|_| swarm_bmt::Error::Sink)?;
        self.leaf.clear();
        self.push(0, span, &Reference::encrypted(address, key))
    }

    fn push(&mut self, lvl: usize, span: u64, r: &Reference) -> Result<(), Error> {
        while self.levels.len() <= lvl {
            self.levels.push(Level::default());
        }
        let level = self
            .levels
            .get_mut(lvl)
            .ok_or(swarm_bmt::Error::FileTooLarge)?;
        let mut bytes = [0u8; ENCRYPTED_REF_LEN];
        level.refs.extend_from_slice(r.write_to(&mut bytes)?);
        level.span = level
            .span
            .checked_add(span)
            .ok_or(swarm_bmt::Error::FileTooLarge)?;
        if level.refs.len() == ENCRYPTED_BRANCHES * ENCRYPTED_REF_LEN {
            self.wrap(lvl)?;
        }
        Ok(())
    }

    fn wrap(&mut self, lvl: usize) -> Result<(), Error> {
        let level = self
            .levels
            .get_mut(lvl)
            .map(core::mem::take)
            .unwrap_or_default();
        let key = (self.keys)();
        let address = encrypt_chunk(
            &key,
            Span(level.span),
            &level.refs,
            &mut self.padding,
            &mut self.chunk,
        )?;
        self.sink
            .put(&address, &self.chunk)
            .map_err(|_| swarm_bmt::Error::Sink)?;
        self.push(lvl + 1, level.span, &Reference::encrypted(address, key))
    }
}
