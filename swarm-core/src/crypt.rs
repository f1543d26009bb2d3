//! Swarm's chunk encryption (`../shared/spec/chunks.md` §3.4, §4).
//!
//! Every chunk of an encrypted tree is encrypted with its own 32-byte key; its parent names it
//! by a 64-byte reference, `address || key`. The cipher XORs 32-byte block `i` of the input
//! with `keccak256(keccak256(key || u32le(ctr + i)))`: the span with counter 128, the payload
//! from counter 0. The payload is padded to exactly 4096 bytes (random bytes in Bee) *after*
//! encryption, so every encrypted chunk is 4104 bytes and its address is the BMT address of the
//! ciphertext.
//!
//! The address does not authenticate the key: a wrong key decrypts to garbage that passed
//! hashing. A reader must therefore apply every span and tree check to the decrypted chunk,
//! as the joiner does.
//!
//! Decryption needs no allocator. Encryption (`encrypt_chunk`, `EncryptingSplitter`) is
//! behind the `alloc` feature: it builds test data and the relay's store, with the key and
//! padding supplied by the caller (deterministic in tests).
//!
//! ```
//! use swarm_core::crypt::{keystream_xor, SPAN_COUNTER};
//! let key = [7u8; 32];
//! let mut data = *b"hello world";
//! keystream_xor(&key, 0, &mut data);
//! assert_ne!(&data, b"hello world");
//! keystream_xor(&key, 0, &mut data); // the same XOR decrypts
//! assert_eq!(&data, b"hello world");
//! # let _ = SPAN_COUNTER;
//! ```

use swarm_bmt::{keccak256, Keccak256, Span, MAX_CHUNK_LEN, MAX_PAYLOAD_LEN, SPAN_SIZE};

use crate::chunk::VerifiedChunk;
use crate::redundancy::{decode_span, reference_count};
use crate::Error;

/// Bytes of a chunk key.
pub const KEY_LEN: usize = 32;
/// Bytes of an encrypted reference: chunk address and key.
pub const ENCRYPTED_REF_LEN: usize = 64;
/// Keystream counter of the span's 8 bytes: `4096 / 32`.
pub const SPAN_COUNTER: u32 = (MAX_PAYLOAD_LEN / KEY_LEN) as u32;

/// Keystream block `counter` of `key`: `keccak256(keccak256(key || u32le(counter)))`.
#[must_use]
pub fn keystream_block(key: &[u8; KEY_LEN], counter: u32) -> [u8; 32] {
    let mut k = Keccak256::new();
    k.update(key);
    k.update(&counter.to_le_bytes());
    keccak256(&k.finalize())
}

/// XORs `data` in place with the keystream of `key` from block `init_counter` on (the last
/// block may be partial). Encrypts and decrypts alike.
pub fn keystream_xor(key: &[u8; KEY_LEN], init_counter: u32, data: &mut [u8]) {
    let mut counter = init_counter;
    for block in data.chunks_mut(KEY_LEN) {
        let ks = keystream_block(key, counter);
        for (b, k) in block.iter_mut().zip(ks) {
            *b ^= k;
        }
        counter = counter.wrapping_add(1);
    }
}

/// Writes `input` XOR the keystream of `key` (from block `init_counter`) into the start of
/// `out`, which must be at least as long as `input`.
///
/// # Errors
/// [`Error::Truncated`] if `out` is shorter than `input`.
pub fn keystream_xor_into(
    key: &[u8; KEY_LEN],
    init_counter: u32,
    input: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    let len = out.len();
    let dst = out.get_mut(..input.len()).ok_or(Error::Truncated {
        len,
        expected: input.len(),
    })?;
    dst.copy_from_slice(input);
    keystream_xor(key, init_counter, dst);
    Ok(())
}

/// Decrypts a stored span (keystream block [`SPAN_COUNTER`]). The result keeps its redundancy
/// marker, if any.
#[must_use]
pub fn decrypt_span(key: &[u8; KEY_LEN], span: Span) -> Span {
    let mut bytes = span.to_bytes();
    keystream_xor(key, SPAN_COUNTER, &mut bytes);
    Span::from_bytes(bytes)
}

/// Decrypts a verified encrypted chunk with `key` into `out` and returns the plaintext chunk
/// `span || payload`, trimmed as Bee's `DecryptChunkData` trims it: a leaf keeps `span`
/// payload bytes, an intermediate chunk its `64·n + 32·p` reference bytes (§4); the rest of
/// the 4096 bytes is padding. The span keeps its redundancy marker.
///
/// Only lengths are checked here; the tree checks (span against the parent's section) are the
/// joiner's.
///
/// # Errors
/// [`Error::Truncated`] if the chunk is not 4104 bytes (an encrypted payload is always
/// exactly 4096), [`Error::RedundancyLevel`] for an unknown level marker.
///
/// ```
/// use swarm_core::{chunk::VerifiedChunk, crypt::decrypt_chunk};
/// # #[cfg(feature = "alloc")] {
/// let key = [1u8; 32];
/// let mut stored = [0u8; 4104];
/// let pad = &mut |p: &mut [u8]| p.fill(0);
/// let addr = swarm_core::crypt::encrypt_chunk(&key, swarm_bmt::Span(5), b"hello", pad, &mut stored)?;
/// let chunk = VerifiedChunk::verify(&addr, &stored)?;
/// let mut out = [0u8; 4104];
/// let plain = decrypt_chunk(&chunk, &key, &mut out)?;
/// assert_eq!(plain, b"\x05\0\0\0\0\0\0\0hello");
/// # }
/// # Ok::<(), swarm_core::Error>(())
/// ```
pub fn decrypt_chunk<'o>(
    chunk: &VerifiedChunk<'_>,
    key: &[u8; KEY_LEN],
    out: &'o mut [u8; MAX_CHUNK_LEN],
) -> Result<&'o [u8], Error> {
    let payload = chunk.payload();
    if payload.len() != MAX_PAYLOAD_LEN {
        return Err(Error::Truncated {
            len: payload.len(),
            expected: MAX_PAYLOAD_LEN,
        });
    }
    let span = decrypt_span(key, chunk.span());
    let (level, real) = decode_span(span)?;
    let keep = if real <= MAX_PAYLOAD_LEN as u64 {
        real as usize
    } else {
        let (n, p) = reference_count(real, level, true);
        (ENCRYPTED_REF_LEN * n + 32 * p).min(MAX_PAYLOAD_LEN)
    };
    let (span_dst, pay_dst) = out.split_at_mut(SPAN_SIZE);
    span_dst.copy_from_slice(&span.to_bytes());
    keystream_xor_into(key, 0, payload.get(..keep).unwrap_or_default(), pay_dst)?;
    Ok(out.get(..SPAN_SIZE + keep).unwrap_or_default())
}

#[cfg(feature = "alloc")]
mod encrypt;
#[cfg(feature = "alloc")]
pub use encrypt::{encrypt_chunk, EncryptingSplitter};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_uses_counter_128() {
        let key = [9u8; 32];
        let ks = keystream_block(&key, 128);
        let enc = decrypt_span(&key, Span(0));
        assert_eq!(enc.to_bytes(), ks[..8]);
        assert_eq!(decrypt_span(&key, enc), Span(0));
    }

    #[test]
    fn xor_is_blockwise_with_a_partial_tail() {
        let key = [3u8; 32];
        let mut data = [0u8; 70];
        keystream_xor(&key, 5, &mut data);
        assert_eq!(data[..32], keystream_block(&key, 5));
        assert_eq!(data[32..64], keystream_block(&key, 6));
        assert_eq!(data[64..], keystream_block(&key, 7)[..6]);
        let mut out = [0u8; 10];
        assert!(keystream_xor_into(&key, 0, &[0; 11], &mut out).is_err());
    }
}
