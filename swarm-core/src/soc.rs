//! Single-owner chunks: `identifier(32) || signature(65) || span(8) || payload`
//! (`../shared/spec/chunks.md` §5).
//!
//! The owner signs `keccak256(identifier || W)`, where `W` is the address of the wrapped
//! content-addressed chunk, as an Ethereum personal message; the chunk lives at
//! `keccak256(identifier || owner)`. Verification recovers the owner from the signature (never
//! compares signature bytes: they are not unique) and checks the address.

use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use swarm_bmt::{chunk_address, keccak256, ChunkAddress, Keccak256, Span, MAX_PAYLOAD_LEN};

use crate::chunk::split_cac;
use crate::Error;

/// Bytes of a SOC identifier.
pub const ID_SIZE: usize = 32;
/// Bytes of a SOC signature: `r(32) || s(32) || v(1)`.
pub const SIGNATURE_SIZE: usize = 65;
/// Smallest single-owner chunk: identifier, signature and span.
pub const MIN_SOC_LEN: usize = ID_SIZE + SIGNATURE_SIZE + 8;
/// Largest single-owner chunk: with a full 4096-byte payload.
pub const MAX_SOC_LEN: usize = MIN_SOC_LEN + MAX_PAYLOAD_LEN;
/// Owner of Bee's dispersed root replicas (private key `0x01 || 0^31`).
pub const REPLICAS_OWNER: Owner = Owner([
    0xdc, 0x5b, 0x20, 0x84, 0x7f, 0x43, 0xd6, 0x79, 0x28, 0xf4, 0x9c, 0xd4, 0xf8, 0x5d, 0x69, 0x6b,
    0x5a, 0x76, 0x17, 0xb5,
]);

/// A 20-byte Ethereum address: the owner of a single-owner chunk or feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Owner(pub [u8; 20]);

/// A single-owner chunk whose signature, owner and address were checked.
///
/// ```
/// use swarm_core::soc::{soc_address, Owner, Soc};
/// // A SOC from Bee's tests (pkg/soc/soc_test.go).
/// let data = hex::decode(concat!(
///     "0000000000000000000000000000000000000000000000000000000000000000",
///     "5acd384febc133b7b245e5ddc62d82d2cded9182d2716126cd8844509af65a05",
///     "3deb418208027f548e3e88343af6f84a8772fb3cebc0a1833a0ea7ec0c134831",
///     "1b", "0300000000000000", "666f6f")).unwrap();
/// let owner = Owner(hex::decode("8d3766440f0d7b949a5e32995d09619a7f86e632").unwrap().try_into().unwrap());
/// let address = soc_address(&[0; 32], &owner);
/// let soc = Soc::verify(&address, &data)?;
/// assert_eq!(soc.owner(), &owner);
/// assert_eq!(soc.payload(), b"foo");
/// # Ok::<(), swarm_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Soc<'a> {
    address: ChunkAddress,
    identifier: [u8; ID_SIZE],
    owner: Owner,
    wrapped_address: ChunkAddress,
    span: Span,
    payload: &'a [u8],
}

impl<'a> Soc<'a> {
    /// Verifies `data` as the single-owner chunk at `address`, signed by whoever owns it.
    ///
    /// # Errors
    /// [`Error::SocLength`], [`Error::BadSignature`], [`Error::ReplicaIdentifier`] (a replica
    /// of [`REPLICAS_OWNER`] whose identifier does not match the wrapped chunk) or
    /// [`Error::AddressMismatch`].
    pub fn verify(address: &ChunkAddress, data: &'a [u8]) -> Result<Self, Error> {
        if !(MIN_SOC_LEN..=MAX_SOC_LEN).contains(&data.len()) {
            return Err(Error::SocLength { len: data.len() });
        }
        let (identifier, rest) = data
            .split_first_chunk::<ID_SIZE>()
            .ok_or(Error::SocLength { len: data.len() })?;
        let (signature, wrapped) = rest
            .split_first_chunk::<SIGNATURE_SIZE>()
            .ok_or(Error::SocLength { len: data.len() })?;
        let (span, payload) = split_cac(wrapped)?;
        let wrapped_address = chunk_address(&span.to_bytes(), payload)?;
        let owner = recover_owner(signature, identifier, &wrapped_address)?;
        if owner == REPLICAS_OWNER && identifier.get(1..) != wrapped_address.as_bytes().get(1..) {
            return Err(Error::ReplicaIdentifier);
        }
        if soc_address(identifier, &owner) != *address {
            return Err(Error::AddressMismatch);
        }
        Ok(Self {
            address: *address,
            identifier: *identifier,
            owner,
            wrapped_address,
            span,
            payload,
        })
    }

    /// Verifies `data` as the single-owner chunk at `address` and that `owner` signed it.
    ///
    /// # Errors
    /// As [`Soc::verify`], and [`Error::WrongOwner`] if someone else signed it.
    pub fn verify_owned_by(
        address: &ChunkAddress,
        data: &'a [u8],
        owner: &Owner,
    ) -> Result<Self, Error> {
        let soc = Self::verify(address, data)?;
        if soc.owner != *owner {
            return Err(Error::WrongOwner);
        }
        Ok(soc)
    }

    /// The address the chunk was verified against.
    #[must_use]
    pub const fn address(&self) -> &ChunkAddress {
        &self.address
    }

    /// The identifier chosen by the owner (for feeds: derived from topic and index).
    #[must_use]
    pub const fn identifier(&self) -> &[u8; ID_SIZE] {
        &self.identifier
    }

    /// The owner recovered from the signature.
    #[must_use]
    pub const fn owner(&self) -> &Owner {
        &self.owner
    }

    /// Address of the wrapped content-addressed chunk.
    #[must_use]
    pub const fn wrapped_address(&self) -> &ChunkAddress {
        &self.wrapped_address
    }

    /// Span of the wrapped chunk, as stored.
    #[must_use]
    pub const fn span(&self) -> Span {
        self.span
    }

    /// Payload of the wrapped chunk.
    #[must_use]
    pub const fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// The address of the single-owner chunk of `owner` under `identifier`:
/// `keccak256(identifier || owner)`.
#[must_use]
pub fn soc_address(identifier: &[u8; ID_SIZE], owner: &Owner) -> ChunkAddress {
    let mut k = Keccak256::new();
    k.update(identifier);
    k.update(&owner.0);
    ChunkAddress(k.finalize())
}

/// Recovers the owner that signed `identifier || wrapped_address` (Bee's rules: `v` in 27..=34,
/// high-S accepted).
///
/// # Errors
/// [`Error::BadSignature`] if the signature is malformed or no key recovers from it.
pub fn recover_owner(
    signature: &[u8; SIGNATURE_SIZE],
    identifier: &[u8; ID_SIZE],
    wrapped_address: &ChunkAddress,
) -> Result<Owner, Error> {
    let (rs, v) = signature
        .split_first_chunk::<64>()
        .ok_or(Error::BadSignature)?;
    let v = *v.first().ok_or(Error::BadSignature)?;
    if !(27..=34).contains(&v) {
        return Err(Error::BadSignature);
    }
    // Bit 2 of `v - 27` is the "compressed key" flag; it does not change the key.
    let mut recid = (v - 27) & 3;
    let mut sig = Signature::from_slice(rs).map_err(|_| Error::BadSignature)?;
    // k256 refuses high-S; `(r, n - s)` with the y-parity flipped recovers the same key.
    if let Some(low) = sig.normalize_s() {
        sig = low;
        recid ^= 1;
    }
    let recid = RecoveryId::from_byte(recid).ok_or(Error::BadSignature)?;
    let digest = signed_digest(identifier, wrapped_address);
    let key = VerifyingKey::recover_from_prehash(&digest, &sig, recid)
        .map_err(|_| Error::BadSignature)?;
    Ok(owner_of(&key))
}

/// The Ethereum address of a public key: the last 20 bytes of `keccak256(X || Y)`.
#[must_use]
pub fn owner_of(key: &VerifyingKey) -> Owner {
    let point = key.to_encoded_point(false);
    let xy = point.as_bytes().get(1..).unwrap_or_default();
    let h = keccak256(xy);
    let mut out = [0u8; 20];
    out.copy_from_slice(h.get(12..).unwrap_or(&[0; 20]));
    Owner(out)
}

/// Signs a single-owner chunk for `identifier` wrapping `span || payload`, writing the whole
/// chunk into `out`; returns the chunk's address and the written bytes.
///
/// Deterministic (RFC 6979), low-S, `v = 27 + recovery id`, as Bee's signer.
///
/// # Errors
/// [`Error::Bmt`] for a payload over 4096 bytes; [`Error::SocLength`] if `out` is too short;
/// [`Error::BadSignature`] if signing fails.
pub fn sign<'o>(
    key: &SigningKey,
    identifier: &[u8; ID_SIZE],
    span: Span,
    payload: &[u8],
    out: &'o mut [u8],
) -> Result<(ChunkAddress, &'o [u8]), Error> {
    let wrapped = chunk_address(&span.to_bytes(), payload)?;
    let digest = signed_digest(identifier, &wrapped);
    let (sig, recid) = key
        .sign_prehash_recoverable(&digest)
        .map_err(|_| Error::BadSignature)?;
    let len = MIN_SOC_LEN + payload.len();
    let dst = out.get_mut(..len).ok_or(Error::SocLength { len })?;
    let (id_dst, rest) = dst.split_at_mut(ID_SIZE);
    id_dst.copy_from_slice(identifier);
    let (sig_dst, rest) = rest.split_at_mut(SIGNATURE_SIZE);
    let (rs_dst, v_dst) = sig_dst.split_at_mut(64);
    rs_dst.copy_from_slice(&sig.to_bytes());
    if let Some(v) = v_dst.first_mut() {
        *v = 27 + recid.to_byte();
    }
    let (span_dst, pay_dst) = rest.split_at_mut(8);
    span_dst.copy_from_slice(&span.to_bytes());
    pay_dst.copy_from_slice(payload);
    let owner = owner_of(key.verifying_key());
    Ok((soc_address(identifier, &owner), dst))
}

/// `keccak256("\x19Ethereum Signed Message:\n32" || keccak256(identifier || wrapped))`.
fn signed_digest(identifier: &[u8; ID_SIZE], wrapped: &ChunkAddress) -> [u8; 32] {
    let mut k = Keccak256::new();
    k.update(identifier);
    k.update(wrapped.as_bytes());
    let inner = k.finalize();
    let mut k = Keccak256::new();
    k.update(b"\x19Ethereum Signed Message:\n32");
    k.update(&inner);
    k.finalize()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The signing key `0^31 || byte` (the feed tests sign with it too).
    pub(crate) fn key(byte: u8) -> SigningKey {
        let mut sk = [0u8; 32];
        sk[31] = byte;
        SigningKey::from_bytes(&sk.into()).unwrap()
    }

    #[test]
    fn sign_then_verify_round_trips() {
        let k = key(7);
        let mut buf = [0u8; MAX_SOC_LEN];
        let (addr, data) = sign(&k, &[9; 32], Span(3), b"abc", &mut buf).unwrap();
        let soc = Soc::verify_owned_by(&addr, data, &owner_of(k.verifying_key())).unwrap();
        assert_eq!(soc.payload(), b"abc");
        assert_eq!(
            Soc::verify_owned_by(&addr, data, &owner_of(key(8).verifying_key())),
            Err(Error::WrongOwner)
        );
    }

    #[test]
    fn high_s_signature_recovers_the_same_owner() {
        let k = key(5);
        let mut buf = [0u8; MAX_SOC_LEN];
        let (addr, data) = sign(&k, &[1; 32], Span(0), b"", &mut buf).unwrap();
        let mut high = data.to_vec();
        // s' = n - s, v' = v ^ 1.
        let sig = Signature::from_slice(&high[32..96]).unwrap();
        let (r, s) = sig.split_scalars();
        let neg = Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
        high[32..96].copy_from_slice(&neg.to_bytes());
        high[96] = 27 + ((high[96] - 27) ^ 1);
        assert_eq!(
            Soc::verify(&addr, &high).unwrap().owner(),
            &owner_of(k.verifying_key())
        );
    }

    #[test]
    fn rejects_v_outside_27_to_34() {
        let k = key(5);
        let mut buf = [0u8; MAX_SOC_LEN];
        let (addr, data) = sign(&k, &[1; 32], Span(0), b"", &mut buf).unwrap();
        let mut bad = data.to_vec();
        for v in [0u8, 1, 26, 35, 255] {
            bad[96] = v;
            assert_eq!(
                Soc::verify(&addr, &bad),
                Err(Error::BadSignature),
                "v = {v}"
            );
        }
        bad[96] = data[96] + 4; // compressed-key flag set: same key
        assert!(Soc::verify(&addr, &bad).is_ok());
    }

    #[test]
    fn rejects_lengths_outside_bounds() {
        let a = ChunkAddress([0; 32]);
        assert_eq!(
            Soc::verify(&a, &[0; 104]),
            Err(Error::SocLength { len: 104 })
        );
        assert_eq!(
            Soc::verify(&a, &[0; 4202]),
            Err(Error::SocLength { len: 4202 })
        );
    }
}
