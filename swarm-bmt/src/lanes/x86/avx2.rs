//! 4 lanes in 256-bit AVX2 registers. AVX2 has no 64-bit rotate and no ternary logic, so a
//! rotation is two shifts and an `or`, and χ is `andnot` then `xor`.
//!
//! The 256-bit loads, stores and lane shuffles here are also used by the AVX-512VL kernel
//! (AVX-512F implies AVX2).

use core::arch::x86_64::{
    __m256i, _mm256_andnot_si256, _mm256_loadu_si256, _mm256_or_si256, _mm256_permute2x128_si256,
    _mm256_permute4x64_epi64, _mm256_set1_epi64x, _mm256_set_epi64x, _mm256_slli_epi64,
    _mm256_srli_epi64, _mm256_storeu_si256, _mm256_unpackhi_epi64, _mm256_unpacklo_epi64,
    _mm256_xor_si256,
};

/// One 64-bit word of 4 lanes.
pub(super) type V = __m256i;

#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn xor(a: V, b: V) -> V {
    _mm256_xor_si256(a, b)
}

#[inline]
#[target_feature(enable = "avx2")]
fn xor5(a: V, b: V, c: V, d: V, e: V) -> V {
    xor(xor(xor(a, b), xor(c, d)), e)
}

#[inline]
#[target_feature(enable = "avx2")]
fn rol<const L: i32, const R: i32>(x: V) -> V {
    _mm256_or_si256(_mm256_slli_epi64::<L>(x), _mm256_srli_epi64::<R>(x))
}

#[inline]
#[target_feature(enable = "avx2")]
fn chi(a: V, b: V, c: V) -> V {
    _mm256_xor_si256(a, _mm256_andnot_si256(b, c))
}

#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn splat(w: u64) -> V {
    _mm256_set1_epi64x(w.cast_signed())
}

#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn lanes_of(w: [u64; 4]) -> V {
    let [a, b, c, d] = w;
    _mm256_set_epi64x(
        d.cast_signed(),
        c.cast_signed(),
        b.cast_signed(),
        a.cast_signed(),
    )
}

#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn to_lanes(v: V) -> [u64; 4] {
    let mut out = [0u64; 4];
    // SAFETY: `out` is 32 writable bytes; `storeu` has no alignment requirement.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast::<__m256i>(), v) };
    out
}

/// Transposes a 4×4 matrix of u64 held in 4 rows.
#[inline]
#[target_feature(enable = "avx2")]
fn transpose4(r0: V, r1: V, r2: V, r3: V) -> [V; 4] {
    let t0 = _mm256_unpacklo_epi64(r0, r1); // r0[0] r1[0] r0[2] r1[2]
    let t1 = _mm256_unpackhi_epi64(r0, r1); // r0[1] r1[1] r0[3] r1[3]
    let t2 = _mm256_unpacklo_epi64(r2, r3);
    let t3 = _mm256_unpackhi_epi64(r2, r3);
    [
        _mm256_permute2x128_si256::<0x20>(t0, t2),
        _mm256_permute2x128_si256::<0x20>(t1, t3),
        _mm256_permute2x128_si256::<0x31>(t0, t2),
        _mm256_permute2x128_si256::<0x31>(t1, t3),
    ]
}

/// Both 32-byte halves of a 64-byte row.
#[inline]
#[target_feature(enable = "avx2")]
fn load_row(row: &[u8; 64]) -> (V, V) {
    let p = row.as_ptr().cast::<__m256i>();
    // SAFETY: `row` is 64 readable bytes, so `p` and `p + 1` (32 bytes on) each start 32 of
    // them; `loadu` has no alignment requirement.
    unsafe { (_mm256_loadu_si256(p), _mm256_loadu_si256(p.add(1))) }
}

#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn load_rows(rows: [&[u8; 64]; 4]) -> [V; 8] {
    let [a, b, c, d] = rows;
    let (a0, a1) = load_row(a);
    let (b0, b1) = load_row(b);
    let (c0, c1) = load_row(c);
    let (d0, d1) = load_row(d);
    let [w0, w1, w2, w3] = transpose4(a0, b0, c0, d0);
    let [w4, w5, w6, w7] = transpose4(a1, b1, c1, d1);
    [w0, w1, w2, w3, w4, w5, w6, w7]
}

#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn pairs(a: &[V; 4], b: &[V; 4]) -> [V; 8] {
    // unpacklo(a, b) = a0 b0 a2 b2; lanes 0 2 1 3 of it = a0 a2 b0 b2 (the left nodes).
    let even = |x: V, y: V| _mm256_permute4x64_epi64::<0xD8>(_mm256_unpacklo_epi64(x, y));
    let odd = |x: V, y: V| _mm256_permute4x64_epi64::<0xD8>(_mm256_unpackhi_epi64(x, y));
    let [a0, a1, a2, a3] = *a;
    let [b0, b1, b2, b3] = *b;
    [
        even(a0, b0),
        even(a1, b1),
        even(a2, b2),
        even(a3, b3),
        odd(a0, b0),
        odd(a1, b1),
        odd(a2, b2),
        odd(a3, b3),
    ]
}

kernel!("avx2", 4);

/// The BMT root of one zero-padded payload.
#[target_feature(enable = "avx2")]
pub(super) fn bmt_root(payload: &[u8; 4096], live: usize) -> [u8; 32] {
    let [root, ..] = store_words(&reduce(levels(payload, live), 4));
    root
}

/// The chunk address of `span || payload` (payload zero-padded).
#[target_feature(enable = "avx2")]
pub(super) fn chunk_address(payload: &[u8; 4096], live: usize, span: u64) -> [u8; 32] {
    address_lane0(&reduce(levels(payload, live), 4), span)
}
