//! Spans, chunk addresses and references, with hex text forms.

use core::fmt;
use core::str::FromStr;

use crate::Error;

/// The 8-byte little-endian length prefix of every content-addressed chunk.
///
/// In a leaf it counts the payload's content bytes; in an intermediate chunk, the content bytes
/// of the whole subtree (`../shared/spec/chunks.md` §1). It is kept exactly as stored: erasure-
/// coded trees put a level marker in its top byte, which `swarm-core` decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Span(pub u64);

impl Span {
    /// The span as it is stored in a chunk (`u64` little-endian).
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0.to_le_bytes()
    }

    /// The span stored in the first 8 bytes of a chunk.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 8]) -> Self {
        Self(u64::from_le_bytes(bytes))
    }

    /// The span's value.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// A 32-byte chunk address: `keccak256(span || bmt_root(payload))` for a content-addressed chunk.
///
/// ```
/// use swarm_bmt::ChunkAddress;
/// let a: ChunkAddress =
///     "b34ca8c22b9e982354f9c7f50b470d66db428d880c8a904d5fe4ec9713171526".parse()?;
/// assert_eq!(a, swarm_bmt::chunk_address(&[0; 8], &[])?);
/// # Ok::<(), swarm_bmt::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChunkAddress(pub [u8; 32]);

impl ChunkAddress {
    /// The address's bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The address held in `bytes`, which must be exactly 32 bytes long.
    ///
    /// # Errors
    /// [`Error::ReferenceLength`] for any other length.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| Error::ReferenceLength { len: bytes.len() })
    }
}

impl From<[u8; 32]> for ChunkAddress {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl AsRef<[u8]> for ChunkAddress {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// What a parent stores to name a child: a chunk address, or for encrypted content the address
/// followed by the 32-byte decryption key (64 bytes in all).
///
/// Text form: 64 or 128 hex digits (either case is accepted, lowercase is printed).
///
/// ```
/// use swarm_bmt::Reference;
/// let r: Reference = "b34ca8c22b9e982354f9c7f50b470d66db428d880c8a904d5fe4ec9713171526".parse()?;
/// assert!(r.key().is_none());
/// assert_eq!(r.to_string().len(), 64);
/// assert!("b34c".parse::<Reference>().is_err());
/// # Ok::<(), swarm_bmt::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Reference {
    address: ChunkAddress,
    key: Option<[u8; 32]>,
}

impl Reference {
    /// A plain (unencrypted) reference.
    #[must_use]
    pub const fn plain(address: ChunkAddress) -> Self {
        Self { address, key: None }
    }

    /// An encrypted reference: `address || key`.
    #[must_use]
    pub const fn encrypted(address: ChunkAddress, key: [u8; 32]) -> Self {
        Self {
            address,
            key: Some(key),
        }
    }

    /// The reference stored in `bytes` (32 or 64 bytes).
    ///
    /// # Errors
    /// [`Error::ReferenceLength`] for any other length.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        match bytes.len() {
            32 => ChunkAddress::from_slice(bytes).map(Self::plain),
            64 => {
                let (addr, key) = bytes.split_at(32);
                let key = <[u8; 32]>::try_from(key)
                    .map_err(|_| Error::ReferenceLength { len: bytes.len() })?;
                Ok(Self::encrypted(ChunkAddress::from_slice(addr)?, key))
            }
            len => Err(Error::ReferenceLength { len }),
        }
    }

    /// The address of the chunk this reference names.
    #[must_use]
    pub const fn address(&self) -> &ChunkAddress {
        &self.address
    }

    /// The decryption key, for an encrypted reference.
    #[must_use]
    pub const fn key(&self) -> Option<&[u8; 32]> {
        self.key.as_ref()
    }

    /// Whether this is a 64-byte encrypted reference.
    #[must_use]
    pub const fn is_encrypted(&self) -> bool {
        self.key.is_some()
    }

    /// The stored length: 32 or 64 bytes.
    #[must_use]
    pub const fn len(&self) -> usize {
        if self.key.is_some() {
            64
        } else {
            32
        }
    }

    /// Always `false`: a reference is never empty (present for API symmetry with `len`).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Writes the stored form into `out` and returns the written part (`out` needs 64 bytes for
    /// an encrypted reference, 32 otherwise).
    ///
    /// # Errors
    /// [`Error::ReferenceLength`] if `out` is too short.
    pub fn write_to<'a>(&self, out: &'a mut [u8]) -> Result<&'a [u8], Error> {
        let len = self.len();
        let dst = out.get_mut(..len).ok_or(Error::ReferenceLength { len })?;
        let (addr, key) = dst.split_at_mut(32);
        addr.copy_from_slice(&self.address.0);
        if let Some(k) = &self.key {
            key.copy_from_slice(k);
        }
        Ok(dst)
    }
}

impl From<ChunkAddress> for Reference {
    fn from(address: ChunkAddress) -> Self {
        Self::plain(address)
    }
}

impl fmt::Display for ChunkAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for ChunkAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChunkAddress({self})")
    }
}

impl FromStr for ChunkAddress {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        if s.len() != 64 {
            return Err(Error::ReferenceLength { len: s.len() / 2 });
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| Error::InvalidHex)?;
        Ok(Self(out))
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.address.0)?;
        if let Some(k) = &self.key {
            write_hex(f, k)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({self})")
    }
}

impl FromStr for Reference {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.len() {
            64 => s.parse().map(Self::plain),
            128 => {
                let (a, k) = s.split_at_checked(64).ok_or(Error::InvalidHex)?;
                let mut key = [0u8; 32];
                hex::decode_to_slice(k, &mut key).map_err(|_| Error::InvalidHex)?;
                Ok(Self::encrypted(a.parse()?, key))
            }
            len => Err(Error::ReferenceLength { len: len / 2 }),
        }
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn reference_text_round_trips_both_lengths() {
        let plain = "00".repeat(31) + "ff";
        let r: Reference = plain.parse().unwrap();
        assert_eq!(r.to_string(), plain);
        let enc = "ab".repeat(64);
        let r: Reference = enc.to_uppercase().parse().unwrap();
        assert!(r.is_encrypted());
        assert_eq!(r.to_string(), enc);
        let mut buf = [0u8; 64];
        assert_eq!(
            Reference::from_slice(r.write_to(&mut buf).unwrap()).unwrap(),
            r
        );
    }

    #[test]
    fn rejects_malformed_hex_references() {
        assert_eq!("zz".repeat(32).parse::<Reference>(), Err(Error::InvalidHex));
        assert_eq!(
            "ab".parse::<Reference>(),
            Err(Error::ReferenceLength { len: 1 })
        );
        assert_eq!(
            "a".repeat(65).parse::<Reference>(),
            Err(Error::ReferenceLength { len: 32 })
        );
        assert!("é".repeat(32).parse::<Reference>().is_err());
        assert_eq!(
            Reference::from_slice(&[0; 33]),
            Err(Error::ReferenceLength { len: 33 })
        );
    }
}
