//! The BMT chunk hash: one-shot and incremental (`../shared/spec/chunks.md` §2).
//!
//! The payload is zero-padded to 4096 bytes, cut into 128 segments of 32 bytes, and hashed
//! pairwise up a binary tree of depth 7; the chunk address is `keccak256(span || root)`.
//! Subtrees that lie wholly in the zero padding are not hashed: their roots come from the
//! table of all-zero subtree hashes ([`ZERO_HASHES`]).

use crate::keccak::{hash_pair, hash_section, hash_span_root};
use crate::lanes::{self, Backend};
use crate::{ChunkAddress, Error, Span, MAX_PAYLOAD_LEN, SEGMENT_SIZE};

/// Number of 64-byte sections (BMT leaves' parents) in a full chunk.
const SECTIONS: usize = MAX_PAYLOAD_LEN / (2 * SEGMENT_SIZE);
/// Size of one section: two segments.
const SECTION_SIZE: usize = 2 * SEGMENT_SIZE;

/// `ZERO_HASHES[d]` is the BMT root of `32·2^d` zero bytes: `Z[0] = 0^32`,
/// `Z[d+1] = keccak256(Z[d] || Z[d])`. `ZERO_HASHES[7]` is the root of an all-zero payload.
pub const ZERO_HASHES: [[u8; 32]; 8] = zero_hashes();

/// The BMT root of `payload` (zero-padded to 4096 bytes).
///
/// On x86_64 with AVX-512 or AVX2 the tree is hashed level by level, 8 (or 4) nodes per
/// permutation ([`backend`](crate::backend)); elsewhere one node at a time. Same result.
///
/// # Errors
/// [`Error::PayloadTooLong`] if `payload` is longer than 4096 bytes.
///
/// ```
/// assert_eq!(swarm_bmt::bmt_root(&[])?, swarm_bmt::ZERO_HASHES[7]);
/// # Ok::<(), swarm_bmt::Error>(())
/// ```
pub fn bmt_root(payload: &[u8]) -> Result<[u8; 32], Error> {
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(Error::PayloadTooLong { len: payload.len() });
    }
    let b = lanes::backend();
    // An empty payload's root is a constant: only the span hash is left to do.
    if b != Backend::Portable && !payload.is_empty() {
        let live = payload.len().div_ceil(SECTION_SIZE);
        if let Some(root) = with_padded(payload, |p| lanes::bmt_root(b, p, live)) {
            return Ok(root);
        }
    }
    Ok(portable_root(payload))
}

/// The address of the content-addressed chunk `span || payload`.
///
/// The span is hashed as given; it is not checked against the payload (Bee does not either:
/// intermediate chunks carry the span of their subtree).
///
/// # Errors
/// [`Error::PayloadTooLong`] if `payload` is longer than 4096 bytes.
pub fn chunk_address(span: &[u8; 8], payload: &[u8]) -> Result<ChunkAddress, Error> {
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(Error::PayloadTooLong { len: payload.len() });
    }
    let b = lanes::backend();
    // An empty payload's root is a constant: only the span hash is left to do.
    if b != Backend::Portable && !payload.is_empty() {
        let live = payload.len().div_ceil(SECTION_SIZE);
        let span = u64::from_le_bytes(*span);
        if let Some(addr) = with_padded(payload, |p| lanes::chunk_address(b, p, live, span)) {
            return Ok(ChunkAddress(addr));
        }
    }
    Ok(portable_address(span, payload))
}

/// The address of a chunk given as stored, `span || payload` (8 to 4104 bytes).
///
/// # Errors
/// [`Error::ChunkTooShort`] below 8 bytes, [`Error::PayloadTooLong`] above 4104.
///
/// ```
/// let mut chunk = [0u8; 8 + 3];
/// chunk[0] = 3;
/// chunk[8..].copy_from_slice(b"abc");
/// let a = swarm_bmt::chunk_address_of(&chunk)?;
/// assert_eq!(a, swarm_bmt::chunk_address(&3u64.to_le_bytes(), b"abc")?);
/// # Ok::<(), swarm_bmt::Error>(())
/// ```
pub fn chunk_address_of(chunk: &[u8]) -> Result<ChunkAddress, Error> {
    let (span, payload) = split_chunk(chunk)?;
    chunk_address(span, payload)
}

/// The addresses of several chunks at once: `out[i]` = [`chunk_address_of`]`(chunks[i])`.
///
/// Each chunk is given as stored, `span || payload` (8 to 4104 bytes). On x86_64 with
/// AVX-512 the chunks go through the 8 SIMD lanes side by side, one chunk per lane, 8 at a
/// time (then 4, then one by one), which is about 1.3x faster per chunk than
/// [`chunk_address`] and close to the 8-lane keccak ceiling; with AVX2, 4 at a time. On other
/// targets it is a loop over [`chunk_address`]. Use it to verify or address many chunks
/// (a splitter's leaves, a batch of fetched chunks); results do not depend on the batching.
/// Stack use is fixed (under 1 KiB), whatever the number of chunks.
///
/// # Errors
/// [`Error::BatchMismatch`] if `out` and `chunks` differ in length; else
/// [`Error::ChunkTooShort`] or [`Error::PayloadTooLong`] for the first malformed chunk.
/// All chunks are checked before any is hashed; on error `out` is left untouched.
///
/// ```
/// use swarm_bmt::{chunk_address_of, chunk_addresses, ChunkAddress};
/// let mut a = [0u8; 8 + 5];
/// a[0] = 5;
/// a[8..].copy_from_slice(b"hello");
/// let b = [0u8; 8];
/// let chunks: [&[u8]; 2] = [&a, &b];
/// let mut out = [ChunkAddress::default(); 2];
/// chunk_addresses(&chunks, &mut out)?;
/// assert_eq!(out, [chunk_address_of(&a)?, chunk_address_of(&b)?]);
/// # Ok::<(), swarm_bmt::Error>(())
/// ```
pub fn chunk_addresses(chunks: &[&[u8]], out: &mut [ChunkAddress]) -> Result<(), Error> {
    if chunks.len() != out.len() {
        return Err(Error::BatchMismatch {
            chunks: chunks.len(),
            addresses: out.len(),
        });
    }
    for chunk in chunks {
        split_chunk(chunk)?;
    }
    for (group, addrs) in chunks.chunks(GROUP).zip(out.chunks_mut(GROUP)) {
        let mut payloads: [&[u8]; GROUP] = [&[]; GROUP];
        let mut spans = [0u64; GROUP];
        for ((p, s), chunk) in payloads.iter_mut().zip(spans.iter_mut()).zip(group) {
            let (span, payload) = split_chunk(chunk)?;
            *p = payload;
            *s = u64::from_le_bytes(*span);
        }
        group_addresses(&payloads, &spans, addrs)?;
    }
    Ok(())
}

/// Addresses of leaves given by their payloads (each at most 4096 bytes, span = its length),
/// through the SIMD lanes 8 side by side where available: the splitters' leaf hashing.
///
/// # Errors
/// [`Error::PayloadTooLong`] for a payload over 4096 bytes (callers never pass one).
pub(crate) fn leaf_addresses(payloads: &[&[u8]], out: &mut [ChunkAddress]) -> Result<(), Error> {
    for (group, addrs) in payloads.chunks(GROUP).zip(out.chunks_mut(GROUP)) {
        let mut p: [&[u8]; GROUP] = [&[]; GROUP];
        let mut spans = [0u64; GROUP];
        for ((p, s), payload) in p.iter_mut().zip(spans.iter_mut()).zip(group) {
            *p = payload;
            *s = payload.len() as u64;
        }
        group_addresses(&p, &spans, addrs)?;
    }
    Ok(())
}

/// Addresses of up to [`GROUP`] chunks: `out[i]` for `payloads[i]` with `spans[i]`, for
/// `i < out.len()`. SIMD lanes for whole groups of 8 or 4, one by one for the rest.
fn group_addresses(
    payloads: &[&[u8]; GROUP],
    spans: &[u64; GROUP],
    out: &mut [ChunkAddress],
) -> Result<(), Error> {
    let n = out.len().min(GROUP);
    let (payloads, spans) = (
        payloads.get(..n).unwrap_or_default(),
        spans.get(..n).unwrap_or_default(),
    );
    if let Some(too_long) = payloads.iter().find(|p| p.len() > MAX_PAYLOAD_LEN) {
        return Err(Error::PayloadTooLong {
            len: too_long.len(),
        });
    }
    let mut hashed = [[0u8; 32]; GROUP];
    let done = hashed.get_mut(..n).map_or(0, |h| {
        lanes::chunk_addresses(lanes::backend(), payloads, spans, h)
    });
    for (i, ((addr, h), (payload, span))) in out
        .iter_mut()
        .zip(hashed)
        .zip(payloads.iter().zip(spans))
        .enumerate()
    {
        *addr = if i < done {
            ChunkAddress(h)
        } else {
            chunk_address(&span.to_le_bytes(), payload)?
        };
    }
    Ok(())
}

/// Hashes one chunk's payload as it arrives, in pieces of any size.
///
/// Every completed 64-byte section is hashed at once, so the work left for
/// [`finalize`](Self::finalize) is the 63 upper nodes. Holds 2 KiB of section hashes plus one
/// partial section; no allocation.
///
/// ```
/// use swarm_bmt::{Hasher, Span};
/// let mut h = Hasher::new();
/// h.update(b"hello ")?;
/// h.update(b"world")?;
/// assert_eq!(h.finalize(Span(11)), swarm_bmt::chunk_address(&11u64.to_le_bytes(), b"hello world")?);
/// # Ok::<(), swarm_bmt::Error>(())
/// ```
#[derive(Clone)]
pub struct Hasher {
    sections: [[u8; 32]; SECTIONS],
    partial: [u8; SECTION_SIZE],
    len: usize,
}

impl Hasher {
    /// A hasher with no payload bytes yet.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            sections: [[0; 32]; SECTIONS],
            partial: [0; SECTION_SIZE],
            len: 0,
        }
    }

    /// Payload bytes written so far.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether no payload byte has been written.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `data` to the payload.
    ///
    /// # Errors
    /// [`Error::PayloadTooLong`] if the payload would grow past 4096 bytes; nothing is written
    /// then (Bee silently truncates; DeBoot refuses).
    pub fn update(&mut self, mut data: &[u8]) -> Result<(), Error> {
        let total = self.len.saturating_add(data.len());
        if total > MAX_PAYLOAD_LEN {
            return Err(Error::PayloadTooLong { len: total });
        }
        while !data.is_empty() {
            let at = self.len % SECTION_SIZE;
            let take = (SECTION_SIZE - at).min(data.len());
            let (head, rest) = data.split_at(take);
            if let Some(dst) = self.partial.get_mut(at..at + take) {
                dst.copy_from_slice(head);
            }
            self.len += take;
            data = rest;
            if self.len.is_multiple_of(SECTION_SIZE) {
                if let Some(node) = self.sections.get_mut(self.len / SECTION_SIZE - 1) {
                    *node = hash_section(&self.partial);
                }
            }
        }
        Ok(())
    }

    /// The BMT root of the payload written so far.
    #[must_use]
    pub fn root(&self) -> [u8; 32] {
        let mut level = self.sections;
        let full = self.len / SECTION_SIZE;
        let rem = self.len % SECTION_SIZE;
        let mut live = full;
        if rem != 0 {
            let mut padded = self.partial;
            if let Some(tail) = padded.get_mut(rem..) {
                tail.fill(0);
            }
            if let Some(node) = level.get_mut(full) {
                *node = hash_section(&padded);
            }
            live += 1;
        }
        reduce(&mut level, live)
    }

    /// The chunk address of `span || payload written so far`.
    #[must_use]
    pub fn finalize(&self, span: Span) -> ChunkAddress {
        ChunkAddress(hash_span_root(&span.to_bytes(), &self.root()))
    }

    /// Forgets the payload, for the next chunk.
    pub fn reset(&mut self) {
        self.len = 0;
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

/// Chunks handed to the SIMD lanes per call of [`chunk_addresses`].
const GROUP: usize = 8;

/// `span` and `payload` of a stored chunk.
fn split_chunk(chunk: &[u8]) -> Result<(&[u8; 8], &[u8]), Error> {
    let (span, payload) = chunk
        .split_first_chunk::<8>()
        .ok_or(Error::ChunkTooShort { len: chunk.len() })?;
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(Error::PayloadTooLong { len: payload.len() });
    }
    Ok((span, payload))
}

/// Runs `f` on `payload` zero-padded to 4096 bytes (copied only if shorter).
#[inline]
fn with_padded<T>(payload: &[u8], f: impl FnOnce(&[u8; MAX_PAYLOAD_LEN]) -> T) -> T {
    match <&[u8; MAX_PAYLOAD_LEN]>::try_from(payload) {
        Ok(full) => f(full),
        Err(_) => {
            let mut padded = [0u8; MAX_PAYLOAD_LEN];
            if let Some(dst) = padded.get_mut(..payload.len()) {
                dst.copy_from_slice(payload);
            }
            f(&padded)
        }
    }
}

/// [`bmt_root`] on the portable path, one permutation at a time; skips subtrees in the zero
/// padding. `payload` is at most 4096 bytes.
pub(crate) fn portable_root(payload: &[u8]) -> [u8; 32] {
    let mut level = [[0u8; 32]; SECTIONS];
    let mut live = 0;
    for (node, section) in level.iter_mut().zip(payload.chunks(SECTION_SIZE)) {
        *node = match <&[u8; SECTION_SIZE]>::try_from(section) {
            Ok(full) => hash_section(full),
            Err(_) => {
                let mut padded = [0u8; SECTION_SIZE];
                if let Some(dst) = padded.get_mut(..section.len()) {
                    dst.copy_from_slice(section);
                }
                hash_section(&padded)
            }
        };
        live += 1;
    }
    reduce(&mut level, live)
}

/// [`chunk_address`] on the portable path. `payload` is at most 4096 bytes.
pub(crate) fn portable_address(span: &[u8; 8], payload: &[u8]) -> ChunkAddress {
    ChunkAddress(hash_span_root(span, &portable_root(payload)))
}

/// Reduces 64 section hashes, of which the first `live` are real and the rest lie in the zero
/// padding, to the BMT root.
fn reduce(level: &mut [[u8; 32]; SECTIONS], mut live: usize) -> [u8; 32] {
    let mut width = SECTIONS;
    // Depth of the nodes held in `level` (sections are the roots of 64-byte subtrees).
    let mut depth = 1;
    while width > 1 {
        width /= 2;
        let zero = ZERO_HASHES.get(depth).copied().unwrap_or_default();
        for j in 0..width {
            let node = if 2 * j >= live {
                ZERO_HASHES.get(depth + 1).copied().unwrap_or_default()
            } else {
                let left = level.get(2 * j).copied().unwrap_or_default();
                let right = if 2 * j + 1 < live {
                    level.get(2 * j + 1).copied().unwrap_or_default()
                } else {
                    zero
                };
                hash_pair(&left, &right)
            };
            if let Some(slot) = level.get_mut(j) {
                *slot = node;
            }
        }
        live = live.div_ceil(2);
        depth += 1;
    }
    if live == 0 {
        return ZERO_HASHES[7];
    }
    level[0]
}

#[allow(clippy::indexing_slicing)] // const context: fixed table, loop bounds match it.
const fn zero_hashes() -> [[u8; 32]; 8] {
    // Precomputed: Z[0] = 0^32, Z[d+1] = keccak256(Z[d] || Z[d]). Checked by a test.
    const Z: [&str; 8] = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "ad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5",
        "b4c11951957c6f8f642c4af61cd6b24640fec6dc7fc607ee8206a99e92410d30",
        "21ddb9a356815c3fac1026b6dec5df3124afbadb485c9ba5a3e3398a04b7ba85",
        "e58769b32a1beaf1ea27375a44095a0d1fb664ce2dd358e7fcbfb78c26a19344",
        "0eb01ebfc9ed27500cd4dfc979272d1f0913cc9f66540d7e8005811109e1cf2d",
        "887c22bd8750d34016ac3c66b5ff102dacdd73f6b014e710b51e8022af9a1968",
        "ffd70157e48063fc33c97a050f7f640233bf646cc98d9524c6b92bcf3ab56f83",
    ];
    let mut out = [[0u8; 32]; 8];
    let mut d = 0;
    while d < 8 {
        let s = Z[d].as_bytes();
        let mut i = 0;
        while i < 32 {
            out[d][i] = (nibble(s[2 * i]) << 4) | nibble(s[2 * i + 1]);
            i += 1;
        }
        d += 1;
    }
    out
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keccak256;

    /// Straight from the spec: pad to 4096, hash 128 segments pairwise, 7 rounds.
    fn reference_root(payload: &[u8]) -> [u8; 32] {
        let mut buf = [0u8; 4096];
        buf[..payload.len()].copy_from_slice(payload);
        let mut level: std::vec::Vec<[u8; 32]> =
            buf.chunks(32).map(|c| c.try_into().unwrap()).collect();
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|p| {
                    let mut m = [0u8; 64];
                    m[..32].copy_from_slice(&p[0]);
                    m[32..].copy_from_slice(&p[1]);
                    keccak256(&m)
                })
                .collect();
        }
        level[0]
    }

    #[test]
    fn zero_table_is_the_hash_chain() {
        let mut z = [0u8; 32];
        for (d, expected) in ZERO_HASHES.iter().enumerate() {
            assert_eq!(&z, expected, "depth {d}");
            let mut m = [0u8; 64];
            m[..32].copy_from_slice(&z);
            m[32..].copy_from_slice(&z);
            z = keccak256(&m);
        }
    }

    #[test]
    fn root_equals_plain_reference_for_edge_lengths() {
        let data: std::vec::Vec<u8> = (0..4096u32).map(|i| (i * 31 % 253) as u8 + 1).collect();
        for len in [
            0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 2047, 2048, 2049, 4095, 4096,
        ] {
            assert_eq!(
                bmt_root(&data[..len]).unwrap(),
                reference_root(&data[..len]),
                "len {len}"
            );
        }
    }

    #[test]
    fn rejects_payload_over_4096() {
        let big = [0u8; 4097];
        assert_eq!(bmt_root(&big), Err(Error::PayloadTooLong { len: 4097 }));
        assert!(bmt_root(&big[..4096]).is_ok());
        let chunk = [0u8; 4105];
        assert_eq!(
            chunk_address_of(&chunk),
            Err(Error::PayloadTooLong { len: 4097 })
        );
        assert!(chunk_address_of(&chunk[..4104]).is_ok());
        assert_eq!(
            chunk_address_of(&chunk[..7]),
            Err(Error::ChunkTooShort { len: 7 })
        );
        let mut h = Hasher::new();
        h.update(&chunk[..4096]).unwrap();
        assert_eq!(
            h.update(&chunk[..1]),
            Err(Error::PayloadTooLong { len: 4097 })
        );
    }

    #[test]
    fn zero_padding_does_not_change_the_root() {
        let mut data = [0u8; 100];
        data[..10].copy_from_slice(b"0123456789");
        assert_eq!(bmt_root(&data[..10]).unwrap(), bmt_root(&data).unwrap());
    }
}
