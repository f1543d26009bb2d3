//! GF(2^8) for `reed-solomon-erasure`'s codec without its 64 KiB multiplication table
//! (feature `recovery`).
//!
//! The crate's `galois_8::Field` multiplies through `MUL_TABLE`, a `[[u8; 256]; 256]` static
//! that alone is a quarter of deboot.efi's 256 KiB size bar. [`Gf256`] is the same field —
//! polynomial 0x11d (the crate's generating polynomial 29), so the same Vandermonde-derived
//! matrices and byte-identical parity, which `klauspost/reedsolomon` (Bee) also gives — with
//! only the crate's 256-byte log and 510-byte exp tables:
//!
//! - scalar `mul` is `exp[log a + log b]`; `div` and `exp` are the crate's own functions;
//! - `mul_slice`/`mul_slice_add` first build the 256-byte row `c·x` for the one coefficient
//!   `c` (multiplication by `c` is linear over GF(2): the row is XORs of `c·2^k`, 255 XORs),
//!   then look bytes up in it as the crate does in its table row, so a 4104-byte shard costs
//!   the same lookups plus a few hundred operations.
//!
//! The codec itself (matrices, inversion, encode, reconstruct) is the crate's, unchanged.

use reed_solomon_erasure::galois_8::{self, EXP_TABLE, LOG_TABLE};

/// The field GF(2^8) over x^8 + x^4 + x^3 + x^2 + 1, table-light (see the [module docs](self)).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gf256;

/// The Reed–Solomon codec over [`Gf256`].
pub(crate) type ReedSolomon = reed_solomon_erasure::ReedSolomon<Gf256>;

/// `a · b`.
#[inline]
fn mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        return 0;
    }
    let log = |x: u8| {
        LOG_TABLE
            .get(usize::from(x))
            .copied()
            .map_or(0, usize::from)
    };
    // log values are < 255, so the sum is < 510 = EXP_TABLE's length.
    EXP_TABLE.get(log(a) + log(b)).copied().unwrap_or(0)
}

/// `row[x]` (`x` < 256: never out of range).
#[inline(always)]
fn lookup(row: &[u8; 256], x: u8) -> u8 {
    row.get(usize::from(x)).copied().unwrap_or(0)
}

/// The row `c · x` for every byte `x`.
fn row(c: u8) -> [u8; 256] {
    let mut row = [0u8; 256];
    let mut basis = c; // c · 2^k
    let mut half = 1usize;
    while half < 256 {
        let (low, high) = row.split_at_mut(half);
        for (h, l) in high.iter_mut().zip(low.iter()) {
            *h = l ^ basis;
        }
        // xtime: multiply by x modulo 0x11d.
        basis = (basis << 1) ^ if basis & 0x80 != 0 { 0x1d } else { 0 };
        half *= 2;
    }
    row
}

impl reed_solomon_erasure::Field for Gf256 {
    const ORDER: usize = 256;
    type Elem = u8;

    fn add(a: u8, b: u8) -> u8 {
        a ^ b
    }

    fn mul(a: u8, b: u8) -> u8 {
        mul(a, b)
    }

    fn div(a: u8, b: u8) -> u8 {
        galois_8::div(a, b)
    }

    fn exp(a: u8, n: usize) -> u8 {
        galois_8::exp(a, n)
    }

    fn zero() -> u8 {
        0
    }

    fn one() -> u8 {
        1
    }

    fn nth_internal(n: usize) -> u8 {
        // The codec asks only for n < ORDER (its `nth` checks).
        n.to_le_bytes().first().copied().unwrap_or(0)
    }

    fn mul_slice(c: u8, input: &[u8], out: &mut [u8]) {
        let row = row(c);
        for (o, i) in out.iter_mut().zip(input) {
            *o = lookup(&row, *i);
        }
    }

    fn mul_slice_add(c: u8, input: &[u8], out: &mut [u8]) {
        let row = row(c);
        // Eight bytes at a time: one load and one store of a word instead of eight each.
        let mut outs = out.chunks_exact_mut(8);
        let mut ins = input.chunks_exact(8);
        for (o, i) in (&mut outs).zip(&mut ins) {
            let mut word = [0u8; 8];
            for (w, x) in word.iter_mut().zip(i) {
                *w = lookup(&row, *x);
            }
            let mut acc = [0u8; 8];
            acc.copy_from_slice(o);
            let sum = u64::from_ne_bytes(acc) ^ u64::from_ne_bytes(word);
            o.copy_from_slice(&sum.to_ne_bytes());
        }
        for (o, i) in outs.into_remainder().iter_mut().zip(ins.remainder()) {
            *o ^= lookup(&row, *i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reed_solomon_erasure::Field as _;

    type G8 = galois_8::Field;

    #[test]
    fn every_product_quotient_and_power_equals_galois_8() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(Gf256::mul(a, b), G8::mul(a, b), "{a}·{b}");
                if b != 0 {
                    assert_eq!(Gf256::div(a, b), G8::div(a, b), "{a}/{b}");
                }
            }
            for n in 0..300 {
                assert_eq!(Gf256::exp(a, n), G8::exp(a, n));
            }
            assert_eq!(Gf256::nth(usize::from(a)), G8::nth(usize::from(a)));
        }
    }

    #[test]
    fn slice_products_equal_galois_8() {
        // A shard's length, and lengths that leave a remainder after the 8-byte steps.
        for len in [4104u32, 4101, 13, 7, 0] {
            let input: alloc::vec::Vec<u8> = (0..len).map(|i| (i * 7 + i / 256) as u8).collect();
            let n = input.len();
            for c in 0..=255u8 {
                let (mut a, mut b) = (alloc::vec![0u8; n], alloc::vec![0u8; n]);
                Gf256::mul_slice(c, &input, &mut a);
                G8::mul_slice(c, &input, &mut b);
                assert_eq!(a, b, "mul_slice {c} len {len}");
                Gf256::mul_slice_add(c, &input, &mut a);
                G8::mul_slice_add(c, &input, &mut b);
                assert_eq!(a, b, "mul_slice_add {c} len {len}");
            }
        }
    }

    #[test]
    fn the_codec_gives_galois_8_parity_and_rebuilds_like_it() {
        use alloc::vec::Vec;
        // Shapes the issue names, and a full MEDIUM group.
        for (n, p) in [(10, 3), (95, 9), (119, 9), (37, 89), (1, 2), (2, 23)] {
            let mut ours: Vec<Vec<u8>> = (0..n + p)
                .map(|s| {
                    (0..4104u32)
                        .map(|i| {
                            if s < n {
                                (i ^ (s as u32 * 131)) as u8
                            } else {
                                0
                            }
                        })
                        .collect()
                })
                .collect();
            let mut theirs = ours.clone();
            ReedSolomon::new(n, p).unwrap().encode(&mut ours).unwrap();
            galois_8::ReedSolomon::new(n, p)
                .unwrap()
                .encode(&mut theirs)
                .unwrap();
            assert_eq!(ours, theirs, "{n}+{p}");
            let mut holes: Vec<Option<Vec<u8>>> = ours.iter().cloned().map(Some).collect();
            for h in holes.iter_mut().step_by(2).take(p) {
                *h = None;
            }
            ReedSolomon::new(n, p)
                .unwrap()
                .reconstruct_data(&mut holes)
                .unwrap();
            for (got, want) in holes.iter().zip(&ours).take(n) {
                assert_eq!(got.as_deref(), Some(want.as_slice()), "{n}+{p}");
            }
        }
    }
}
