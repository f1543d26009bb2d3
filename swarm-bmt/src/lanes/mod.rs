//! Multi-lane Keccak-f[1600]: several independent permutations per SIMD instruction.
//!
//! This is the crate's one module allowed to use `unsafe` (the root has
//! `#![deny(unsafe_code)]`). It holds:
//! - the runtime choice of a [`Backend`], made once with `cpufeatures` (no std needed):
//!   AVX-512F+VL (8 lanes in `__m512i`, the last levels of a tree in `__m256i` with `vprolq` and
//!   `vpternlogq`), else AVX2 (4 lanes in `__m256i`), else the portable path;
//! - the level-batched BMT of one chunk and the BMT of several chunks side by side (one per
//!   lane), both on lane-interleaved states: word `w` of lane `l` is lane `l` of vector `w`, so a
//!   permutation never transposes; only 64-byte message rows are transposed on the way in and
//!   32-byte digests on the way out.
//!
//! Every `unsafe` block is either a call of a `#[target_feature]` function after the backend
//! check, an unaligned SIMD load/store of a fixed-size array (sizes are in the types), or the
//! call of the single-state assembly permutation of the `asm-keccak` feature ([`f1600`]).
//!
//! The portable path is always compiled and is the oracle of the tests. `--cfg deboot_scalar`,
//! `cfg(miri)`, non-x86_64 targets and the firmware targets (`x86_64-unknown-uefi`,
//! `target_os = "none"`, where `cpufeatures` reports no SIMD because the firmware does not
//! enable the AVX register state) compile the SIMD code out and use the portable path.

use core::fmt;

/// Whether the SIMD kernels are compiled in (x86_64 hosts, unless forced off).
macro_rules! if_simd {
    ($simd:block else $portable:block) => {{
        #[cfg(all(
            target_arch = "x86_64",
            not(any(deboot_scalar, miri, target_os = "uefi", target_os = "none"))
        ))]
        $simd
        #[cfg(not(all(
            target_arch = "x86_64",
            not(any(deboot_scalar, miri, target_os = "uefi", target_os = "none"))
        )))]
        $portable
    }};
}

#[cfg(all(
    target_arch = "x86_64",
    not(any(deboot_scalar, miri, target_os = "uefi", target_os = "none"))
))]
mod x86;

#[cfg(all(
    target_arch = "x86_64",
    feature = "asm-keccak",
    not(any(deboot_scalar, miri))
))]
mod asm;

/// Keccak-f[1600] of one state, as the single-permutation paths run it: the `asm-keccak`
/// assembly on x86_64 when that feature is on, else [`keccak::f1600`].
#[inline]
pub(crate) fn f1600(state: &mut [u64; 25]) {
    #[cfg(all(
        target_arch = "x86_64",
        feature = "asm-keccak",
        not(any(deboot_scalar, miri))
    ))]
    asm::f1600(state);
    #[cfg(not(all(
        target_arch = "x86_64",
        feature = "asm-keccak",
        not(any(deboot_scalar, miri))
    )))]
    keccak::f1600(state);
}

/// The keccak implementation this machine's hashing functions use, chosen once at run time.
///
/// ```
/// let b = swarm_bmt::backend();
/// assert!(b.lanes() >= 1);
/// println!("hashing with {b}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Backend {
    /// One permutation at a time: `keccak::f1600`, every target.
    Portable,
    /// Four lanes in 256-bit AVX2 registers (x86_64).
    Avx2,
    /// Eight lanes in 512-bit AVX-512F registers, four in AVX-512VL ones (x86_64).
    Avx512,
}

impl Backend {
    /// Permutations computed per call: 1, 4 or 8.
    #[must_use]
    pub const fn lanes(self) -> usize {
        match self {
            Self::Portable => 1,
            Self::Avx2 => 4,
            Self::Avx512 => 8,
        }
    }

    /// A short lowercase name: `portable`, `avx2` or `avx512`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Portable => "portable",
            Self::Avx2 => "avx2",
            Self::Avx512 => "avx512",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The backend used by [`bmt_root`](crate::bmt_root), [`chunk_address`](crate::chunk_address),
/// [`chunk_addresses`](crate::chunk_addresses) and the splitters on this machine.
///
/// Detected on the first call (CPUID through `cpufeatures`) and cached; every later call is
/// one relaxed atomic load. Always [`Backend::Portable`] off x86_64, on firmware targets, under
/// Miri and when built with `--cfg deboot_scalar`.
#[must_use]
pub fn backend() -> Backend {
    if_simd!({ x86::backend() } else { Backend::Portable })
}

/// The BMT root of a zero-padded payload on backend `b` (or a narrower one this machine has),
/// level by level; `None` on the portable backend. `live` is the number of 64-byte sections
/// holding payload bytes: whole batches of sections past it are not hashed.
#[inline]
pub(crate) fn bmt_root(b: Backend, payload: &[u8; 4096], live: usize) -> Option<[u8; 32]> {
    if_simd!({ x86::bmt_root(b, payload, live) } else {
        let _ = (b, payload, live);
        None
    })
}

/// Like [`bmt_root`], then the chunk address `keccak256(span || root)`.
#[inline]
pub(crate) fn chunk_address(
    b: Backend,
    payload: &[u8; 4096],
    live: usize,
    span: u64,
) -> Option<[u8; 32]> {
    if_simd!({ x86::chunk_address(b, payload, live, span) } else {
        let _ = (b, payload, live, span);
        None
    })
}

/// Chunk addresses of chunks side by side, one per lane, on backend `b`.
///
/// `payloads[i]` (at most 4096 bytes each, checked by the caller) with span `spans[i]` gives
/// `out[i]`. Returns how many chunks, from the start, it hashed: whole groups of 8 (AVX-512)
/// and then of 4, or 0 on the portable backend; the caller hashes the rest one by one.
#[inline]
pub(crate) fn chunk_addresses(
    b: Backend,
    payloads: &[&[u8]],
    spans: &[u64],
    out: &mut [[u8; 32]],
) -> usize {
    if_simd!({ x86::chunk_addresses(b, payloads, spans, out) } else {
        let _ = (b, payloads, spans, out);
        0
    })
}

/// Keccak-f[1600] round constants (FIPS 202 §3.2.5).
#[allow(dead_code)] // Only the SIMD kernels and the assembly use it.
pub(crate) const RC: [u64; 24] = [
    0x0000_0000_0000_0001,
    0x0000_0000_0000_8082,
    0x8000_0000_0000_808a,
    0x8000_0000_8000_8000,
    0x0000_0000_0000_808b,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8009,
    0x0000_0000_0000_008a,
    0x0000_0000_0000_0088,
    0x0000_0000_8000_8009,
    0x0000_0000_8000_000a,
    0x0000_0000_8000_808b,
    0x8000_0000_0000_008b,
    0x8000_0000_0000_8089,
    0x8000_0000_0000_8003,
    0x8000_0000_0000_8002,
    0x8000_0000_0000_0080,
    0x0000_0000_0000_800a,
    0x8000_0000_8000_000a,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8080,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8008,
];

/// Runs Keccak-f[1600] on 8 (AVX-512) or 4 (AVX2; AVX-512VL with `narrow`) states at once,
/// transposing in and out; `false` (states untouched) when backend `b` cannot run that width
/// here. For the tests.
#[allow(dead_code)]
pub(crate) fn f1600_lanes(b: Backend, states: &mut [[u64; 25]], narrow: bool) -> bool {
    if_simd!({ x86::f1600_lanes(b, states, narrow) } else {
        let _ = (b, states, narrow);
        false
    })
}

/// Runs `n` permutations back to back on one lane-interleaved state of backend `b`'s widest
/// kernel; returns (lanes, a word of the state), or `None` on the portable backend. The
/// multi-lane ceiling of the bench.
#[allow(dead_code)]
pub(crate) fn permute_interleaved(b: Backend, n: u64) -> Option<(usize, u64)> {
    if_simd!({ x86::permute_interleaved(b, n) } else {
        let _ = (b, n);
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hasher::{portable_address, portable_root};
    use proptest::prelude::*;
    use std::vec::Vec;

    /// The SIMD backends this machine can run (AVX-512 machines run the AVX2 kernel too).
    fn simd_backends() -> Vec<Backend> {
        match backend() {
            Backend::Avx512 => std::vec![Backend::Avx512, Backend::Avx2],
            Backend::Avx2 => std::vec![Backend::Avx2],
            Backend::Portable => Vec::new(),
        }
    }

    fn padded(payload: &[u8]) -> [u8; 4096] {
        let mut p = [0u8; 4096];
        p[..payload.len()].copy_from_slice(payload);
        p
    }

    fn pattern(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    fn check_permutation(b: Backend, states: &mut [[u64; 25]], narrow: bool) -> bool {
        let mut expected = states.to_vec();
        for s in &mut expected {
            keccak::f1600(s);
        }
        if !f1600_lanes(b, states, narrow) {
            return false;
        }
        assert_eq!(states, &expected[..], "{b} narrow={narrow}");
        true
    }

    #[test]
    fn portable_backend_does_nothing_in_lanes() {
        let mut st = [[1u64; 25]; 8];
        assert!(!f1600_lanes(Backend::Portable, &mut st, false));
        assert_eq!(st, [[1u64; 25]; 8]);
        assert_eq!(bmt_root(Backend::Portable, &[0; 4096], 0), None);
        let mut out = [[0u8; 32]; 8];
        let p: [&[u8]; 8] = [&[]; 8];
        assert_eq!(chunk_addresses(Backend::Portable, &p, &[0; 8], &mut out), 0);
    }

    #[test]
    fn every_bmt_length_matches_the_portable_path() {
        let data = pattern(4096, 7);
        for b in simd_backends() {
            for len in 0..=4096 {
                let p = padded(&data[..len]);
                let live = len.div_ceil(64);
                assert_eq!(
                    bmt_root(b, &p, live),
                    Some(portable_root(&data[..len])),
                    "{b} len {len}"
                );
                let span = (len as u64).wrapping_mul(0x0101_0101_0101_0101);
                assert_eq!(
                    chunk_address(b, &p, live, span),
                    Some(portable_address(&span.to_le_bytes(), &data[..len]).0),
                    "{b} len {len}"
                );
            }
        }
    }

    #[test]
    fn side_by_side_matches_the_portable_path_for_every_length() {
        let data = pattern(4096 + 64, 99);
        for b in simd_backends() {
            // 13 chunks per call: a group of 8, a group of 4 and one left over for the caller.
            for first in (0..=4096).step_by(13) {
                let lens: Vec<usize> = (0..13).map(|i| (first + i * 331) % 4097).collect();
                let payloads: Vec<&[u8]> = lens
                    .iter()
                    .enumerate()
                    .map(|(i, &l)| &data[i..i + l])
                    .collect();
                let spans: Vec<u64> = lens.iter().map(|&l| (l as u64) << (first % 50)).collect();
                let mut out = std::vec![[0u8; 32]; 13];
                let done = chunk_addresses(b, &payloads, &spans, &mut out);
                assert_eq!(done, 12, "groups of 8 then 4, or of 4");
                for i in 0..done {
                    let want = portable_address(&spans[i].to_le_bytes(), payloads[i]).0;
                    assert_eq!(out[i], want, "{b} chunk {i} len {}", lens[i]);
                }
                assert_eq!(out[12], [0; 32], "left for the caller");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn lane_permutations_equal_the_scalar_one(words in proptest::collection::vec(any::<u64>(), 200)) {
            let mut wide = [[0u64; 25]; 8];
            for (i, w) in words.iter().enumerate() {
                wide[i / 25][i % 25] = *w;
            }
            for b in simd_backends() {
                let mut x8 = wide;
                let ran8 = check_permutation(b, &mut x8, false);
                prop_assert_eq!(ran8, b == Backend::Avx512);
                let mut x4: [[u64; 25]; 4] = [wide[0], wide[3], wide[5], wide[7]];
                prop_assert!(check_permutation(b, &mut x4, false));
                let mut n4 = x4;
                prop_assert_eq!(check_permutation(b, &mut n4, true), b == Backend::Avx512);
            }
        }

        #[test]
        fn lane_bmt_equals_portable(payload in proptest::collection::vec(any::<u8>(), 0..=4096), span in any::<u64>()) {
            let p = padded(&payload);
            let live = payload.len().div_ceil(64);
            for b in simd_backends() {
                prop_assert_eq!(bmt_root(b, &p, live), Some(portable_root(&payload)));
                prop_assert_eq!(
                    chunk_address(b, &p, live, span),
                    Some(portable_address(&span.to_le_bytes(), &payload).0)
                );
            }
        }

        #[test]
        fn side_by_side_equals_portable(
            chunks in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 0..=4096), any::<u64>()), 0..=13),
        ) {
            let payloads: Vec<&[u8]> = chunks.iter().map(|(p, _)| p.as_slice()).collect();
            let spans: Vec<u64> = chunks.iter().map(|(_, s)| *s).collect();
            for b in simd_backends() {
                let mut out = std::vec![[0u8; 32]; chunks.len()];
                let done = chunk_addresses(b, &payloads, &spans, &mut out);
                prop_assert_eq!(done, chunks.len() / 4 * 4);
                for i in 0..done {
                    prop_assert_eq!(out[i], portable_address(&spans[i].to_le_bytes(), payloads[i]).0);
                }
            }
        }
    }
}
