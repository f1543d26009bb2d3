//! 8 lanes in 512-bit AVX-512F registers: `vprolq` rotates, `vpternlogq` computes θ's
//! five-way `xor` in two instructions and χ in one.
//!
//! A one-chunk tree is hashed level by level 8 nodes at a time down to 8 nodes; its last three
//! levels and the span hash run on the 4-lane AVX-512VL kernel, which costs about half as much
//! per call.

use core::arch::x86_64::{
    __m256i, __m512i, _mm512_castsi512_si256, _mm512_extracti64x4_epi64, _mm512_loadu_si512,
    _mm512_permutex2var_epi64, _mm512_permutexvar_epi64, _mm512_rol_epi64, _mm512_set1_epi64,
    _mm512_set_epi64, _mm512_shuffle_i64x2, _mm512_storeu_si512, _mm512_ternarylogic_epi64,
    _mm512_unpackhi_epi64, _mm512_unpacklo_epi64, _mm512_xor_si512,
};

use super::avx512vl;

/// One 64-bit word of 8 lanes.
type V = __m512i;

#[inline]
#[target_feature(enable = "avx512f")]
fn xor(a: V, b: V) -> V {
    _mm512_xor_si512(a, b)
}

#[inline]
#[target_feature(enable = "avx512f")]
fn xor5(a: V, b: V, c: V, d: V, e: V) -> V {
    _mm512_ternarylogic_epi64::<0x96>(_mm512_ternarylogic_epi64::<0x96>(a, b, c), d, e)
}

#[inline]
#[target_feature(enable = "avx512f")]
fn rol<const L: i32, const R: i32>(x: V) -> V {
    _mm512_rol_epi64::<L>(x)
}

/// `a ^ (!b & c)`: truth table 0xD2 for (a, b, c).
#[inline]
#[target_feature(enable = "avx512f")]
fn chi(a: V, b: V, c: V) -> V {
    _mm512_ternarylogic_epi64::<0xD2>(a, b, c)
}

#[inline]
#[target_feature(enable = "avx512f")]
fn splat(w: u64) -> V {
    _mm512_set1_epi64(w.cast_signed())
}

#[inline]
#[target_feature(enable = "avx512f")]
fn lanes_of(w: [u64; 8]) -> V {
    let [a, b, c, d, e, f, g, h] = w.map(u64::cast_signed);
    _mm512_set_epi64(h, g, f, e, d, c, b, a)
}

#[inline]
#[target_feature(enable = "avx512f")]
fn to_lanes(v: V) -> [u64; 8] {
    let mut out = [0u64; 8];
    // SAFETY: `out` is 64 writable bytes; `storeu` has no alignment requirement.
    unsafe { _mm512_storeu_si512(out.as_mut_ptr().cast::<__m512i>(), v) };
    out
}

#[inline]
#[target_feature(enable = "avx512f")]
fn load_row(row: &[u8; 64]) -> V {
    // SAFETY: `row` is 64 readable bytes; `loadu` has no alignment requirement.
    unsafe { _mm512_loadu_si512(row.as_ptr().cast::<__m512i>()) }
}

/// Loads 8 rows and transposes the 8×8 matrix of u64: 8 `unpack`s, then two rounds of
/// 128-bit lane shuffles.
#[inline]
#[target_feature(enable = "avx512f")]
fn load_rows(rows: [&[u8; 64]; 8]) -> [V; 8] {
    let [r0, r1, r2, r3, r4, r5, r6, r7] = rows;
    let (r0, r1, r2, r3) = (load_row(r0), load_row(r1), load_row(r2), load_row(r3));
    let (r4, r5, r6, r7) = (load_row(r4), load_row(r5), load_row(r6), load_row(r7));
    // t0 = r0[0] r1[0] r0[2] r1[2] r0[4] r1[4] r0[6] r1[6]; t1 the odd words.
    let t0 = _mm512_unpacklo_epi64(r0, r1);
    let t1 = _mm512_unpackhi_epi64(r0, r1);
    let t2 = _mm512_unpacklo_epi64(r2, r3);
    let t3 = _mm512_unpackhi_epi64(r2, r3);
    let t4 = _mm512_unpacklo_epi64(r4, r5);
    let t5 = _mm512_unpackhi_epi64(r4, r5);
    let t6 = _mm512_unpacklo_epi64(r6, r7);
    let t7 = _mm512_unpackhi_epi64(r6, r7);
    // 128-bit lanes (0, 2) of a then (0, 2) of b, or (1, 3) and (1, 3).
    const LO: i32 = 0b10_00_10_00;
    const HI: i32 = 0b11_01_11_01;
    // u0 = words 0 and 4 of rows 0..3: r0[0] r1[0] r0[4] r1[4] r2[0] r3[0] r2[4] r3[4].
    let u0 = _mm512_shuffle_i64x2::<LO>(t0, t2);
    let u1 = _mm512_shuffle_i64x2::<HI>(t0, t2); // words 2 and 6
    let u2 = _mm512_shuffle_i64x2::<LO>(t1, t3); // words 1 and 5
    let u3 = _mm512_shuffle_i64x2::<HI>(t1, t3); // words 3 and 7
    let u4 = _mm512_shuffle_i64x2::<LO>(t4, t6);
    let u5 = _mm512_shuffle_i64x2::<HI>(t4, t6);
    let u6 = _mm512_shuffle_i64x2::<LO>(t5, t7);
    let u7 = _mm512_shuffle_i64x2::<HI>(t5, t7);
    [
        _mm512_shuffle_i64x2::<LO>(u0, u4),
        _mm512_shuffle_i64x2::<LO>(u2, u6),
        _mm512_shuffle_i64x2::<LO>(u1, u5),
        _mm512_shuffle_i64x2::<LO>(u3, u7),
        _mm512_shuffle_i64x2::<HI>(u0, u4),
        _mm512_shuffle_i64x2::<HI>(u2, u6),
        _mm512_shuffle_i64x2::<HI>(u1, u5),
        _mm512_shuffle_i64x2::<HI>(u3, u7),
    ]
}

#[inline]
#[target_feature(enable = "avx512f")]
fn pairs(a: &[V; 4], b: &[V; 4]) -> [V; 8] {
    let even_idx = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);
    let odd_idx = _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1);
    let [a0, a1, a2, a3] = *a;
    let [b0, b1, b2, b3] = *b;
    [
        _mm512_permutex2var_epi64(a0, even_idx, b0),
        _mm512_permutex2var_epi64(a1, even_idx, b1),
        _mm512_permutex2var_epi64(a2, even_idx, b2),
        _mm512_permutex2var_epi64(a3, even_idx, b3),
        _mm512_permutex2var_epi64(a0, odd_idx, b0),
        _mm512_permutex2var_epi64(a1, odd_idx, b1),
        _mm512_permutex2var_epi64(a2, odd_idx, b2),
        _mm512_permutex2var_epi64(a3, odd_idx, b3),
    ]
}

kernel!("avx512f", 8);

/// The 8 depth-4 nodes of a chunk (lane = node) as the 4-lane message of their 4 pairs.
#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn narrow_pairs(nodes: &[V; 4]) -> [__m256i; 8] {
    // Even lanes to the low half, odd lanes to the high half.
    let idx = _mm512_set_epi64(7, 5, 3, 1, 6, 4, 2, 0);
    let [p0, p1, p2, p3] = nodes.map(|w| _mm512_permutexvar_epi64(idx, w));
    [
        _mm512_castsi512_si256(p0),
        _mm512_castsi512_si256(p1),
        _mm512_castsi512_si256(p2),
        _mm512_castsi512_si256(p3),
        _mm512_extracti64x4_epi64::<1>(p0),
        _mm512_extracti64x4_epi64::<1>(p1),
        _mm512_extracti64x4_epi64::<1>(p2),
        _mm512_extracti64x4_epi64::<1>(p3),
    ]
}

/// The BMT root of one zero-padded payload.
#[target_feature(enable = "avx512f,avx512vl")]
pub(super) fn bmt_root(payload: &[u8; 4096], live: usize) -> [u8; 32] {
    let root = avx512vl::root_from_pairs(&narrow_pairs(&levels(payload, live)));
    let [out, ..] = avx512vl::store_words(&root);
    out
}

/// The chunk address of `span || payload` (payload zero-padded).
#[target_feature(enable = "avx512f,avx512vl")]
pub(super) fn chunk_address(payload: &[u8; 4096], live: usize, span: u64) -> [u8; 32] {
    let root = avx512vl::root_from_pairs(&narrow_pairs(&levels(payload, live)));
    avx512vl::address_lane0(&root, span)
}
