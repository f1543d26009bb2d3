//! Keccak-256 (the original padding `0x01`, as Ethereum and Swarm use it; not NIST SHA3-256).
//!
//! BMT nodes hash exactly 64 bytes and the chunk address hashes 40 bytes: both fit in one
//! 136-byte block, so they are written straight into the state and cost one permutation each.
//! That single permutation (`keccak::f1600`, or the assembly one of the `asm-keccak` feature)
//! is what the portable path's speed ceiling is measured against (`cargo bench -p swarm-bmt`).

/// Rate of Keccak-256 in bytes (1600 - 2·256 bits).
const RATE: usize = 136;
/// Rate in 64-bit lanes.
const RATE_WORDS: usize = RATE / 8;

/// Keccak-256 of `data` (any length).
///
/// ```
/// let h = swarm_bmt::keccak256(b"");
/// assert_eq!(h[..4], [0xc5, 0xd2, 0x46, 0x01]);
/// ```
#[must_use]
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    let mut sponge = Keccak256::new();
    sponge.update(data);
    sponge.finalize()
}

/// An incremental Keccak-256 sponge, for messages given in pieces.
///
/// ```
/// let mut k = swarm_bmt::Keccak256::new();
/// k.update(b"hello ");
/// k.update(b"world");
/// assert_eq!(k.finalize(), swarm_bmt::keccak256(b"hello world"));
/// ```
#[derive(Clone)]
pub struct Keccak256 {
    state: [u64; 25],
    block: [u8; RATE],
    filled: usize,
}

impl Keccak256 {
    /// A sponge with nothing absorbed.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            state: [0; 25],
            block: [0; RATE],
            filled: 0,
        }
    }

    /// Absorbs `data`.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = RATE - self.filled;
            let take = room.min(data.len());
            let (head, rest) = data.split_at(take);
            if let Some(dst) = self.block.get_mut(self.filled..self.filled + take) {
                dst.copy_from_slice(head);
            }
            self.filled += take;
            data = rest;
            if self.filled == RATE {
                absorb_block(&mut self.state, &self.block);
                self.filled = 0;
            }
        }
    }

    /// Pads, absorbs the last block and returns the 32-byte digest.
    #[must_use]
    pub fn finalize(mut self) -> [u8; 32] {
        let filled = self.filled;
        if let Some(tail) = self.block.get_mut(filled..) {
            tail.fill(0);
        }
        if let Some(b) = self.block.get_mut(filled) {
            *b ^= 0x01;
        }
        if let Some(b) = self.block.last_mut() {
            *b ^= 0x80;
        }
        absorb_block(&mut self.state, &self.block);
        squeeze(&self.state)
    }
}

impl Default for Keccak256 {
    fn default() -> Self {
        Self::new()
    }
}

/// Keccak-256 of the 64 bytes `left || right`: one BMT node.
#[inline]
#[must_use]
pub(crate) fn hash_pair(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut state = [0u64; 25];
    load4(&mut state, 0, left);
    load4(&mut state, 4, right);
    // Padding of a 64-byte message: 0x01 at byte 64, 0x80 at byte 135.
    state[8] = 0x01;
    state[RATE_WORDS - 1] = 0x8000_0000_0000_0000;
    crate::lanes::f1600(&mut state);
    squeeze(&state)
}

/// Keccak-256 of the 64 bytes of one BMT section (two adjacent 32-byte segments).
#[inline]
#[must_use]
pub(crate) fn hash_section(section: &[u8; 64]) -> [u8; 32] {
    let mut state = [0u64; 25];
    for (word, bytes) in state.iter_mut().zip(section.chunks_exact(8)) {
        *word = le_word(bytes);
    }
    state[8] = 0x01;
    state[RATE_WORDS - 1] = 0x8000_0000_0000_0000;
    crate::lanes::f1600(&mut state);
    squeeze(&state)
}

/// Keccak-256 of the 40 bytes `span || root`: the chunk address.
#[inline]
#[must_use]
pub(crate) fn hash_span_root(span: &[u8; 8], root: &[u8; 32]) -> [u8; 32] {
    let mut state = [0u64; 25];
    state[0] = u64::from_le_bytes(*span);
    load4(&mut state, 1, root);
    state[5] = 0x01;
    state[RATE_WORDS - 1] = 0x8000_0000_0000_0000;
    crate::lanes::f1600(&mut state);
    squeeze(&state)
}

#[inline]
fn load4(state: &mut [u64; 25], at: usize, bytes: &[u8; 32]) {
    for (word, b) in state.iter_mut().skip(at).zip(bytes.chunks_exact(8)) {
        *word = le_word(b);
    }
}

#[inline]
fn le_word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(bytes);
    u64::from_le_bytes(w)
}

fn absorb_block(state: &mut [u64; 25], block: &[u8; RATE]) {
    for (word, bytes) in state.iter_mut().zip(block.chunks_exact(8)) {
        *word ^= le_word(bytes);
    }
    crate::lanes::f1600(state);
}

#[inline]
fn squeeze(state: &[u64; 25]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (dst, word) in out.chunks_exact_mut(8).zip(state.iter()) {
        dst.copy_from_slice(&word.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex32(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).unwrap();
        out
    }

    #[test]
    fn empty_input_matches_known_digest() {
        assert_eq!(
            keccak256(b""),
            hex32("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
        );
    }

    #[test]
    fn fixed_size_helpers_equal_the_sponge() {
        let mut msg = [0u8; 64];
        for (i, b) in msg.iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        let (l, r) = msg.split_at(32);
        let l: [u8; 32] = l.try_into().unwrap();
        let r: [u8; 32] = r.try_into().unwrap();
        assert_eq!(hash_pair(&l, &r), keccak256(&msg));
        assert_eq!(hash_section(&msg), keccak256(&msg));
        let span = [9u8, 8, 7, 6, 5, 4, 3, 2];
        let mut forty = [0u8; 40];
        forty[..8].copy_from_slice(&span);
        forty[8..].copy_from_slice(&l);
        assert_eq!(hash_span_root(&span, &l), keccak256(&forty));
    }

    #[test]
    fn sponge_handles_block_boundaries() {
        let data: std::vec::Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        for len in [0, 1, 135, 136, 137, 271, 272, 273, 1000] {
            let one = keccak256(&data[..len]);
            let mut k = Keccak256::new();
            for piece in data[..len].chunks(17) {
                k.update(piece);
            }
            assert_eq!(k.finalize(), one, "len {len}");
        }
    }
}
