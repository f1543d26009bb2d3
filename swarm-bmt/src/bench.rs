//! Hooks for `cargo bench -p swarm-bmt`, not a stable API: the portable path whatever the
//! machine, and raw permutation loops for the speed ceilings.

use crate::{hasher, lanes, ChunkAddress, Error, MAX_PAYLOAD_LEN};

/// Runs `n` portable permutations (the one the portable path calls: the `asm-keccak`
/// assembly when that feature is on, else `keccak::f1600`) back to back on one state; returns
/// a word of it so the loop cannot be dropped.
#[must_use]
pub fn portable_permutations(n: u64) -> u64 {
    permutations(n, lanes::f1600)
}

/// Like [`portable_permutations`], always with the `keccak` crate's `f1600`.
#[must_use]
pub fn crate_permutations(n: u64) -> u64 {
    permutations(n, keccak::f1600)
}

/// Statically dispatched (generic, not a `fn` pointer), so the loop measures the permutation
/// and not an indirect call.
fn permutations(n: u64, f1600: impl Fn(&mut [u64; 25])) -> u64 {
    let mut state = [0u64; 25];
    for (w, word) in (0u64..).zip(state.iter_mut()) {
        *word = w.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    for _ in 0..n {
        f1600(&mut state);
    }
    state[0]
}

/// Runs `n` calls of the widest multi-lane permutation on one interleaved state; returns
/// (lanes per call, a word of the state), or `None` on the portable backend.
#[must_use]
pub fn lane_permutations(n: u64) -> Option<(usize, u64)> {
    lanes::permute_interleaved(lanes::backend(), n)
}

/// [`chunk_address`](crate::chunk_address) on the portable path, whatever the machine.
///
/// # Errors
/// [`Error::PayloadTooLong`] above 4096 bytes.
pub fn portable_chunk_address(span: &[u8; 8], payload: &[u8]) -> Result<ChunkAddress, Error> {
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(Error::PayloadTooLong { len: payload.len() });
    }
    Ok(hasher::portable_address(span, payload))
}
