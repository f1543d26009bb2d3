//! 4 lanes in 256-bit registers with AVX-512VL's `vprolq` and `vpternlogq`: the levels of a
//! one-chunk tree with fewer than 8 nodes, and groups of 4 chunks side by side, on an AVX-512
//! machine. Loads, stores and shuffles come from the AVX2 kernel.

use core::arch::x86_64::{_mm256_rol_epi64, _mm256_ternarylogic_epi64};

use super::avx2::{lanes_of, load_rows, pairs, splat, to_lanes, xor, V};

#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn xor5(a: V, b: V, c: V, d: V, e: V) -> V {
    _mm256_ternarylogic_epi64::<0x96>(_mm256_ternarylogic_epi64::<0x96>(a, b, c), d, e)
}

#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn rol<const L: i32, const R: i32>(x: V) -> V {
    _mm256_rol_epi64::<L>(x)
}

/// `a ^ (!b & c)`: truth table 0xD2 for (a, b, c).
#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn chi(a: V, b: V, c: V) -> V {
    _mm256_ternarylogic_epi64::<0xD2>(a, b, c)
}

kernel!("avx512f,avx512vl", 4);

/// Finishes a one-chunk tree from the message of its 4 pairs of depth-4 nodes: returns the
/// root, in lane 0.
#[target_feature(enable = "avx512f,avx512vl")]
pub(super) fn root_from_pairs(msg: &[V; 8]) -> [V; 4] {
    reduce(hash_msg(msg), 4)
}
