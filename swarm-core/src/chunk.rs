//! Content-addressed chunks: `span || payload`, named by `keccak256(span || bmt_root(payload))`
//! (`../shared/spec/chunks.md` §1).
//!
//! [`VerifiedChunk::verify`] is the only way to get a [`VerifiedChunk`], so code that holds one
//! knows its bytes hashed to the address that was asked for.

use swarm_bmt::{chunk_address, ChunkAddress, Span, MAX_CHUNK_LEN, SPAN_SIZE};

use crate::Error;

/// A content-addressed chunk whose bytes were checked against its address.
///
/// ```
/// use swarm_core::chunk::VerifiedChunk;
/// let data = [3, 0, 0, 0, 0, 0, 0, 0, b'f', b'o', b'o'];
/// let addr = swarm_bmt::chunk_address_of(&data)?;
/// let chunk = VerifiedChunk::verify(&addr, &data)?;
/// assert_eq!(chunk.payload(), b"foo");
/// assert!(VerifiedChunk::verify(&addr, &data[..10]).is_err());
/// # Ok::<(), swarm_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedChunk<'a> {
    address: ChunkAddress,
    span: Span,
    payload: &'a [u8],
}

impl<'a> VerifiedChunk<'a> {
    /// Checks that `data` (`span || payload`, 8..=4104 bytes) is the chunk at `address`.
    ///
    /// # Errors
    /// [`Error::ChunkLength`] outside 8..=4104 bytes, [`Error::AddressMismatch`] if the bytes
    /// hash to another address.
    pub fn verify(address: &ChunkAddress, data: &'a [u8]) -> Result<Self, Error> {
        let (span, payload) = split_cac(data)?;
        if chunk_address(&span.to_bytes(), payload)? != *address {
            return Err(Error::AddressMismatch);
        }
        Ok(Self {
            address: *address,
            span,
            payload,
        })
    }

    /// Verifies several chunks at once, `out[i]` receiving the result for `chunks[i]` (as
    /// [`verify`](Self::verify) would give it): the hashing goes through swarm-bmt's
    /// multi-lane [`chunk_addresses`](swarm_bmt::chunk_addresses), eight chunks side by side
    /// where the CPU allows.
    ///
    /// # Errors
    /// [`Error::Bmt`] ([`swarm_bmt::Error::BatchMismatch`]) if `out` and `chunks` differ in
    /// length; nothing is written then.
    ///
    /// ```
    /// use swarm_core::chunk::VerifiedChunk;
    /// let good = [1, 0, 0, 0, 0, 0, 0, 0, b'x'];
    /// let addr = swarm_bmt::chunk_address_of(&good)?;
    /// let mut out = [Err(swarm_core::Error::AddressMismatch); 2];
    /// VerifiedChunk::verify_batch(&[(addr, &good[..]), (addr, &good[..8])], &mut out)?;
    /// assert!(out[0].is_ok());
    /// assert!(out[1].is_err());
    /// # Ok::<(), swarm_core::Error>(())
    /// ```
    pub fn verify_batch(
        chunks: &[(ChunkAddress, &'a [u8])],
        out: &mut [Result<Self, Error>],
    ) -> Result<(), Error> {
        const GROUP: usize = 8;
        if chunks.len() != out.len() {
            return Err(swarm_bmt::Error::BatchMismatch {
                chunks: chunks.len(),
                addresses: out.len(),
            }
            .into());
        }
        for (group, results) in chunks.chunks(GROUP).zip(out.chunks_mut(GROUP)) {
            // Chunks of a valid length are hashed together; the others fail on their own.
            let mut data: [&[u8]; GROUP] = [&[]; GROUP];
            let mut which = [0usize; GROUP];
            let mut n = 0;
            for (i, ((_, chunk), result)) in group.iter().zip(results.iter_mut()).enumerate() {
                match split_cac(chunk) {
                    Ok(_) => {
                        if let (Some(d), Some(w)) = (data.get_mut(n), which.get_mut(n)) {
                            (*d, *w) = (chunk, i);
                            n += 1;
                        }
                    }
                    Err(e) => *result = Err(e),
                }
            }
            let mut addrs = [ChunkAddress::default(); GROUP];
            let (Some(data), Some(addrs)) = (data.get(..n), addrs.get_mut(..n)) else {
                continue;
            };
            swarm_bmt::chunk_addresses(data, addrs)?;
            for (&i, got) in which.iter().zip(addrs.iter()) {
                let (Some((want, chunk)), Some(result)) = (group.get(i), results.get_mut(i)) else {
                    continue;
                };
                *result = match split_cac(chunk) {
                    Ok((span, payload)) if got == want => Ok(Self {
                        address: *want,
                        span,
                        payload,
                    }),
                    Ok(_) => Err(Error::AddressMismatch),
                    Err(e) => Err(e),
                };
            }
        }
        Ok(())
    }

    /// The address the chunk was verified against.
    #[must_use]
    pub const fn address(&self) -> &ChunkAddress {
        &self.address
    }

    /// The span exactly as stored (a redundancy level may sit in its top byte).
    #[must_use]
    pub const fn span(&self) -> Span {
        self.span
    }

    /// The payload (everything after the span).
    #[must_use]
    pub const fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// Splits a stored content-addressed chunk into span and payload, checking only lengths.
///
/// # Errors
/// [`Error::ChunkLength`] outside 8..=4104 bytes.
pub fn split_cac(data: &[u8]) -> Result<(Span, &[u8]), Error> {
    if data.len() > MAX_CHUNK_LEN {
        return Err(Error::ChunkLength { len: data.len() });
    }
    let (span, payload) = data
        .split_first_chunk::<SPAN_SIZE>()
        .ok_or(Error::ChunkLength { len: data.len() })?;
    Ok((Span::from_bytes(*span), payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_lengths_outside_8_to_4104() {
        let a = ChunkAddress([0; 32]);
        assert_eq!(
            VerifiedChunk::verify(&a, &[0; 7]),
            Err(Error::ChunkLength { len: 7 })
        );
        assert_eq!(
            VerifiedChunk::verify(&a, &[0; 4105]),
            Err(Error::ChunkLength { len: 4105 })
        );
        assert_eq!(
            VerifiedChunk::verify(&a, &[0; 4104]),
            Err(Error::AddressMismatch)
        );
    }

    #[test]
    fn batch_verification_equals_one_by_one() {
        let mut chunks = std::vec::Vec::new();
        for len in [0usize, 1, 100, 4096, 7, 4097, 33, 64, 4095, 12] {
            let mut c = std::vec![0u8; 8 + len];
            c[0] = len as u8;
            for (i, b) in c[8..].iter_mut().enumerate() {
                *b = (i * 7 + len) as u8;
            }
            chunks.push(c);
        }
        chunks.push(std::vec![0; 3]);
        let mut pairs: std::vec::Vec<(ChunkAddress, &[u8])> = chunks
            .iter()
            .map(|c| {
                let a = swarm_bmt::chunk_address_of(c).unwrap_or_default();
                (a, &c[..])
            })
            .collect();
        pairs[3].0 .0[5] ^= 1;
        let mut out = std::vec![Err(Error::UnexpectedChunk); pairs.len()];
        VerifiedChunk::verify_batch(&pairs, &mut out).unwrap();
        for ((a, c), got) in pairs.iter().zip(&out) {
            assert_eq!(*got, VerifiedChunk::verify(a, c));
        }
        assert!(out[3].is_err() && out[10].is_err() && out[0].is_ok());
        assert!(VerifiedChunk::verify_batch(&pairs, &mut out[1..]).is_err());
    }

    #[test]
    fn accepts_zero_padded_leaf_at_the_same_address() {
        let mut data = [0u8; 8 + 4096];
        data[0] = 3;
        data[8..11].copy_from_slice(b"foo");
        let a = swarm_bmt::chunk_address_of(&data[..11]).unwrap();
        let c = VerifiedChunk::verify(&a, &data).unwrap();
        assert_eq!(c.span().get(), 3);
        assert_eq!(c.payload().len(), 4096);
    }
}
