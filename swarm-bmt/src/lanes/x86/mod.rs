//! x86_64 kernels and their runtime dispatch.
//!
//! Three kernels share the drivers of [`drivers`]: `avx512` (8 lanes, `__m512i`), `avx512vl`
//! (4 lanes, `__m256i`, with `vprolq`/`vpternlogq`; the last levels of a one-chunk tree on an
//! AVX-512 machine) and `avx2` (4 lanes, `__m256i`, shifts and `andnot`).

use core::sync::atomic::{AtomicU8, Ordering};

use super::Backend;

#[macro_use]
mod rounds;
#[macro_use]
mod drivers;
mod avx2;
mod avx512;
mod avx512vl;

cpufeatures::new!(cpuid_avx512, "avx512f", "avx512vl");
cpufeatures::new!(cpuid_avx2, "avx2");

/// The detected backend: 0 = not detected yet, else `1 + Backend as index`.
static CHOSEN: AtomicU8 = AtomicU8::new(0);

pub(super) fn backend() -> Backend {
    match CHOSEN.load(Ordering::Relaxed) {
        1 => Backend::Portable,
        2 => Backend::Avx2,
        3 => Backend::Avx512,
        _ => detect(),
    }
}

/// `wanted` if this machine can run it, else the portable backend. AVX-512F implies AVX2.
fn usable(wanted: Backend) -> Backend {
    match (wanted, backend()) {
        (Backend::Avx512, Backend::Avx512) => Backend::Avx512,
        (Backend::Avx2, Backend::Avx512 | Backend::Avx2) => Backend::Avx2,
        _ => Backend::Portable,
    }
}

#[cold]
fn detect() -> Backend {
    // `cpufeatures` checks CPUID and that the OS saves the wide registers (XGETBV).
    let (b, code) = if cpuid_avx512::get() {
        (Backend::Avx512, 3)
    } else if cpuid_avx2::get() {
        (Backend::Avx2, 2)
    } else {
        (Backend::Portable, 1)
    };
    CHOSEN.store(code, Ordering::Relaxed);
    b
}

pub(super) fn bmt_root(b: Backend, payload: &[u8; 4096], live: usize) -> Option<[u8; 32]> {
    match usable(b) {
        // SAFETY: `usable` gives Avx512 only if CPUID and XCR0 report AVX-512F and AVX-512VL.
        Backend::Avx512 => Some(unsafe { avx512::bmt_root(payload, live) }),
        // SAFETY: `usable` gives Avx2 only if CPUID and XCR0 report AVX2.
        Backend::Avx2 => Some(unsafe { avx2::bmt_root(payload, live) }),
        Backend::Portable => None,
    }
}

pub(super) fn chunk_address(
    b: Backend,
    payload: &[u8; 4096],
    live: usize,
    span: u64,
) -> Option<[u8; 32]> {
    match usable(b) {
        // SAFETY: `usable` gives Avx512 only if CPUID and XCR0 report AVX-512F and AVX-512VL.
        Backend::Avx512 => Some(unsafe { avx512::chunk_address(payload, live, span) }),
        // SAFETY: `usable` gives Avx2 only if CPUID and XCR0 report AVX2.
        Backend::Avx2 => Some(unsafe { avx2::chunk_address(payload, live, span) }),
        Backend::Portable => None,
    }
}

pub(super) fn chunk_addresses(
    b: Backend,
    payloads: &[&[u8]],
    spans: &[u64],
    out: &mut [[u8; 32]],
) -> usize {
    match usable(b) {
        Backend::Avx512 => {
            let wide = batches::<8>(payloads, spans, out, |p, s| {
                // SAFETY: `usable` gives Avx512 only if CPUID and XCR0 report AVX-512F.
                unsafe { avx512::side_by_side(p, s) }
            });
            let narrow = batches::<4>(
                payloads.get(wide..).unwrap_or_default(),
                spans.get(wide..).unwrap_or_default(),
                out.get_mut(wide..).unwrap_or_default(),
                |p, s| {
                    // SAFETY: `usable` gives Avx512 only if CPUID and XCR0 report AVX-512F
                    // and AVX-512VL.
                    unsafe { avx512vl::side_by_side(p, s) }
                },
            );
            wide + narrow
        }
        Backend::Avx2 => batches::<4>(payloads, spans, out, |p, s| {
            // SAFETY: `usable` gives Avx2 only if CPUID and XCR0 report AVX2.
            unsafe { avx2::side_by_side(p, s) }
        }),
        Backend::Portable => 0,
    }
}

/// Runs `hash` over every whole group of `W` chunks; returns how many chunks it hashed.
#[inline]
fn batches<const W: usize>(
    payloads: &[&[u8]],
    spans: &[u64],
    out: &mut [[u8; 32]],
    hash: impl Fn(&[&[u8]; W], &[u64; W]) -> [[u8; 32]; W],
) -> usize {
    let mut done = 0;
    let groups = payloads
        .chunks_exact(W)
        .zip(spans.chunks_exact(W))
        .zip(out.chunks_exact_mut(W));
    for ((p, s), o) in groups {
        if let (Ok(p), Ok(s)) = (<&[&[u8]; W]>::try_from(p), <&[u64; W]>::try_from(s)) {
            o.copy_from_slice(&hash(p, s));
            done += W;
        }
    }
    done
}

pub(super) fn f1600_lanes(b: Backend, states: &mut [[u64; 25]], narrow: bool) -> bool {
    match (usable(b), states.len(), narrow) {
        (Backend::Avx512, 8, false) => {
            if let Ok(st) = <&mut [[u64; 25]; 8]>::try_from(states) {
                // SAFETY: `usable` gives Avx512 only if CPUID and XCR0 report AVX-512F.
                unsafe { avx512::f1600_states(st) };
                return true;
            }
            false
        }
        (Backend::Avx512, 4, true) => {
            if let Ok(st) = <&mut [[u64; 25]; 4]>::try_from(states) {
                // SAFETY: `usable` gives Avx512 only if CPUID and XCR0 report AVX-512F+VL.
                unsafe { avx512vl::f1600_states(st) };
                return true;
            }
            false
        }
        (Backend::Avx512 | Backend::Avx2, 4, false) => {
            if let Ok(st) = <&mut [[u64; 25]; 4]>::try_from(states) {
                // SAFETY: `usable` gives these only if CPUID and XCR0 report AVX2 or AVX-512F, which
                // implies AVX2 (AVX-512F implies it too).
                unsafe { avx2::f1600_states(st) };
                return true;
            }
            false
        }
        _ => false,
    }
}

pub(super) fn permute_interleaved(b: Backend, n: u64) -> Option<(usize, u64)> {
    match usable(b) {
        // SAFETY: `usable` gives Avx512 only if CPUID and XCR0 report AVX-512F.
        Backend::Avx512 => Some((8, unsafe { avx512::permute_n(n) })),
        // SAFETY: `usable` gives Avx2 only if CPUID and XCR0 report AVX2.
        Backend::Avx2 => Some((4, unsafe { avx2::permute_n(n) })),
        Backend::Portable => None,
    }
}
