//! Chunk bytes (address + span + payload) through the BMT: never a panic; a payload over 4096
//! bytes is an error; the incremental hasher agrees with the one-shot hash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarm_bmt::{chunk_address_of, ChunkAddress, Hasher, Span};

fuzz_target!(|data: &[u8]| {
    let Some((addr, chunk)) = data.split_first_chunk::<32>() else { return };
    let claimed = ChunkAddress(*addr);
    match chunk_address_of(chunk) {
        Ok(got) => {
            assert!(chunk.len() >= 8 && chunk.len() <= 4104);
            let (span, payload) = chunk.split_first_chunk::<8>().unwrap();
            let mut h = Hasher::new();
            for piece in payload.chunks(usize::from(addr[0]) + 1) {
                h.update(piece).unwrap();
            }
            assert_eq!(h.finalize(Span::from_bytes(*span)), got);
            let _ = got == claimed;
        }
        Err(_) => assert!(chunk.len() < 8 || chunk.len() > 4104),
    }
});
