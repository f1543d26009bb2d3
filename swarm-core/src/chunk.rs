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
