//! Checking chunk bytes against the address they are named by.

use swarm_bmt::{ChunkAddress, MAX_CHUNK_LEN};
use swarm_core::chunk::VerifiedChunk;
use swarm_core::soc::{Soc, MIN_SOC_LEN};

use crate::Error;

/// Checks that `data` is the chunk at `address`: a content-addressed chunk (`span || payload`
/// hashing to `address`), else a single-owner chunk whose signature recovers an owner with
/// `address = keccak256(id || owner)`.
///
/// # Errors
/// [`Error::Verification`] with the content-addressed error when `data` can only be a
/// content-addressed chunk by its length, else with the single-owner error.
pub fn verify_chunk(address: &ChunkAddress, data: &[u8]) -> Result<(), Error> {
    let cac = if data.len() <= MAX_CHUNK_LEN {
        match VerifiedChunk::verify(address, data) {
            Ok(_) => return Ok(()),
            Err(e) => Some(e),
        }
    } else {
        None
    };
    if data.len() >= MIN_SOC_LEN {
        match Soc::verify(address, data) {
            Ok(_) => return Ok(()),
            // A chunk of CAC length that is not a SOC either: the CAC error is the useful one.
            Err(e) => {
                return Err(Error::Verification {
                    address: *address,
                    source: cac.unwrap_or(e),
                })
            }
        }
    }
    Err(Error::Verification {
        address: *address,
        source: cac.unwrap_or(swarm_core::Error::ChunkLength { len: data.len() }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_cac_and_rejects_a_flipped_byte() {
        let mut data = vec![3, 0, 0, 0, 0, 0, 0, 0, b'f', b'o', b'o'];
        let addr = swarm_bmt::chunk_address_of(&data).unwrap();
        verify_chunk(&addr, &data).unwrap();
        data[9] ^= 1;
        assert!(matches!(
            verify_chunk(&addr, &data),
            Err(Error::Verification { .. })
        ));
    }

    #[test]
    fn rejects_lengths_no_chunk_can_have() {
        let addr = ChunkAddress([0; 32]);
        assert!(verify_chunk(&addr, &[0; 7]).is_err());
        assert!(verify_chunk(&addr, &[0; swarm_core::soc::MAX_SOC_LEN + 1]).is_err());
    }
}
