//! Single-owner chunk parsing and verification: never a panic on any bytes; and a SOC signed
//! from the input (key, identifier, payload) verifies at its address, with its owner, and
//! still names the same owner and address after any change it survives.
#![no_main]

use k256::ecdsa::SigningKey;
use libfuzzer_sys::fuzz_target;
use swarm_bmt::{ChunkAddress, Span};
use swarm_core::soc::{owner_of, sign, soc_address, Soc, MAX_SOC_LEN};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        // Arbitrary bytes at an arbitrary (or matching) address.
        let Some((addr, chunk)) = rest.split_first_chunk::<32>() else {
            return;
        };
        let addr = ChunkAddress(*addr);
        if let Ok(soc) = Soc::verify(&addr, chunk) {
            assert_eq!(soc_address(soc.identifier(), soc.owner()), addr);
        }
        return;
    }
    // Sign, verify, then change one byte.
    let Some((key, rest)) = rest.split_first_chunk::<32>() else {
        return;
    };
    let Some((id, rest)) = rest.split_first_chunk::<32>() else {
        return;
    };
    let Some((&[at_hi, at_lo, flip], payload)) = rest.split_first_chunk::<3>() else {
        return;
    };
    let Ok(key) = SigningKey::from_slice(key) else {
        return;
    };
    let payload = &payload[..payload.len().min(4096)];
    let mut out = [0u8; MAX_SOC_LEN];
    let span = Span(payload.len() as u64 ^ u64::from(mode >> 1));
    let (addr, bytes) = sign(&key, id, span, payload, &mut out).unwrap();
    let owner = owner_of(key.verifying_key());
    let soc = Soc::verify_owned_by(&addr, bytes, &owner).unwrap();
    assert_eq!(soc.payload(), payload);
    assert_eq!(soc.span(), span);
    let mut changed = bytes.to_vec();
    let at = usize::from(u16::from_be_bytes([at_hi, at_lo])) % changed.len();
    changed[at] ^= flip.max(1);
    if let Ok(soc) = Soc::verify(&addr, &changed) {
        // Only a change the signature does not cover can pass (v's "compressed" bit).
        assert_eq!(soc.owner(), &owner);
        assert_eq!(at, 96, "changed byte {at} still verified");
    }
});
