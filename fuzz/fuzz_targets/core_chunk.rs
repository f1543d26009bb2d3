//! Content-addressed chunk parsing and verification: never a panic; a verified chunk's span and
//! payload are the bytes given; batch verification agrees with one-by-one; decrypting any
//! verified chunk with any key never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarm_bmt::{chunk_address_of, ChunkAddress};
use swarm_core::chunk::{split_cac, VerifiedChunk};
use swarm_core::crypt::decrypt_chunk;

fuzz_target!(|data: &[u8]| {
    let Some((addr, chunk)) = data.split_first_chunk::<32>() else {
        return;
    };
    // Half the time, ask for the chunk's true address, so the verified path is exercised.
    let claimed = match (addr[0] & 1, chunk_address_of(chunk)) {
        (1, Ok(real)) => real,
        _ => ChunkAddress(*addr),
    };
    let one = VerifiedChunk::verify(&claimed, chunk);
    match (&one, split_cac(chunk)) {
        (Ok(c), Ok((span, payload))) => {
            assert_eq!(c.span(), span);
            assert_eq!(c.payload(), payload);
            assert_eq!(c.address(), &claimed);
            let mut out = [0u8; 4104];
            let key = *addr;
            if let Ok(plain) = decrypt_chunk(c, &key, &mut out) {
                assert!(plain.len() >= 8 && plain.len() <= 4104);
            }
        }
        (Ok(_), Err(e)) => panic!("verified but does not split: {e}"),
        (Err(_), _) => {}
    }
    let mut batch = [Err(swarm_core::Error::UnexpectedChunk); 3];
    let pairs = [
        (claimed, chunk),
        (ChunkAddress(*addr), chunk),
        (claimed, &chunk[..chunk.len() / 2]),
    ];
    VerifiedChunk::verify_batch(&pairs, &mut batch).unwrap();
    for ((a, c), got) in pairs.iter().zip(batch) {
        assert_eq!(got, VerifiedChunk::verify(a, c));
    }
});
