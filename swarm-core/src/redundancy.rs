//! Erasure-coded (redundancy) trees, reading side: the level marker in a span's top byte, each
//! level's branching and the parity tables (`../shared/spec/chunks.md` §3.2, §3.6).
//!
//! An intermediate chunk of a tree uploaded with a redundancy level carries `span[7] = 0x80 +
//! level` and, after its `n` data references, `p = parities(n)` parity references (32 bytes
//! each, also in encrypted trees). A reader that does not recover missing chunks reads the data
//! references and skips the parity ones; [`reference_count`] says how many of each a chunk of a
//! given span holds.
//!
//! ```
//! use swarm_core::redundancy::{decode_span, reference_count, Level};
//! use swarm_bmt::Span;
//! // The root of Bee's MEDIUM 128·4096+1 vector: span 524289, marker 0x81.
//! let (level, span) = decode_span(Span::from_bytes([0x01, 0x00, 0x08, 0, 0, 0, 0, 0x81]))?;
//! assert_eq!((level, span), (Level::Medium, 524_289));
//! assert_eq!(reference_count(span, level, false), (2, 3)); // 2 data refs, 3 parity refs
//! assert_eq!(Level::Medium.max_data_refs(false), 119);
//! # Ok::<(), swarm_core::Error>(())
//! ```

use swarm_bmt::{Span, BRANCHES, ENCRYPTED_BRANCHES, MAX_PAYLOAD_LEN};

use crate::Error;

/// Levels of intermediate chunks above the leaves in the deepest tree a reader accepts: a root
/// span may be at most `4096·B^7` bytes ([`max_span`]).
pub const MAX_TREE_LEVELS: usize = 7;

/// A redundancy level, as carried in the top byte of an intermediate chunk's span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Level {
    /// No parity (the span is not marked).
    #[default]
    None = 0,
    /// Level 1.
    Medium = 1,
    /// Level 2.
    Strong = 2,
    /// Level 3.
    Insane = 3,
    /// Level 4.
    Paranoid = 4,
}

impl Level {
    /// The level numbered `level` (0..=4), if there is one.
    #[must_use]
    pub const fn from_u8(level: u8) -> Option<Self> {
        match level {
            0 => Some(Self::None),
            1 => Some(Self::Medium),
            2 => Some(Self::Strong),
            3 => Some(Self::Insane),
            4 => Some(Self::Paranoid),
            _ => None,
        }
    }

    /// The level's number (0..=4).
    #[must_use]
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// Branching `B`: the most data references an intermediate chunk of this level holds —
    /// `128 - parities(128)` (119, 107, 97, 39), or encrypted `(128 - parities_enc(64)) / 2`
    /// (59, 53, 48, 20); 128 and 64 without redundancy.
    #[must_use]
    pub const fn max_data_refs(self, encrypted: bool) -> usize {
        match (self, encrypted) {
            (Self::None, false) => BRANCHES,
            (Self::None, true) => ENCRYPTED_BRANCHES,
            (_, false) => BRANCHES - self.parities(BRANCHES, false),
            (_, true) => (BRANCHES - self.parities(ENCRYPTED_BRANCHES, true)) / 2,
        }
    }

    /// Parity references that follow `n` data references in an intermediate chunk of this
    /// level: the parity of the first table entry with `n >= shards`, 0 if none (Bee's
    /// `GetParities` / `GetEncParities`).
    #[must_use]
    pub const fn parities(self, n: usize, encrypted: bool) -> usize {
        let (shards, parities): (&[u8], &[u8]) = match (self, encrypted) {
            (Self::None, _) => (&[], &[]),
            (Self::Medium, false) => (&MEDIUM.0, &MEDIUM.1),
            (Self::Strong, false) => (&STRONG.0, &STRONG.1),
            (Self::Insane, false) => (&INSANE.0, &INSANE.1),
            (Self::Paranoid, false) => (&PARANOID.0, &PARANOID.1),
            (Self::Medium, true) => (&ENC_MEDIUM.0, &ENC_MEDIUM.1),
            (Self::Strong, true) => (&ENC_STRONG.0, &ENC_STRONG.1),
            (Self::Insane, true) => (&ENC_INSANE.0, &ENC_INSANE.1),
            (Self::Paranoid, true) => (&ENC_PARANOID.0, &ENC_PARANOID.1),
        };
        let mut i = 0;
        while i < shards.len() && i < parities.len() {
            // INVARIANT: `i` is below both lengths (loop condition).
            #[allow(clippy::indexing_slicing)]
            let (s, p) = (shards[i], parities[i]);
            if n >= s as usize {
                return p as usize;
            }
            i += 1;
        }
        0
    }
}

/// Splits a stored span into its redundancy level and the real span (the span with byte 7
/// zeroed when it is level-encoded, i.e. when `span[7] > 0x80`).
///
/// # Errors
/// [`Error::RedundancyLevel`] for a marker above level 4 (`span[7]` in `0x85..=0xff`).
pub const fn decode_span(span: Span) -> Result<(Level, u64), Error> {
    let bytes = span.to_bytes();
    let top = bytes[7];
    if top <= 0x80 {
        return Ok((Level::None, span.get()));
    }
    match Level::from_u8(top & 0x7f) {
        Some(level) => Ok((level, span.get() & 0x00ff_ffff_ffff_ffff)),
        None => Err(Error::RedundancyLevel { byte: top }),
    }
}

/// The section size `C` of each child of an intermediate chunk of `span` bytes: the smallest
/// `4096·B^m` with `span <= B·C` (§3.2). Every child but the last covers exactly `C` bytes.
#[must_use]
pub const fn child_size(span: u64, branching: usize) -> u64 {
    let b = branching as u64;
    let mut c = MAX_PAYLOAD_LEN as u64;
    while span > c.saturating_mul(b) && b > 1 {
        c = c.saturating_mul(b);
    }
    c
}

/// Levels of intermediate chunks (the root's included) a tree of `span` bytes has: 0 for a
/// single leaf (`span <= 4096`).
#[must_use]
pub const fn tree_levels(span: u64, branching: usize) -> usize {
    let b = branching as u64;
    let mut c = MAX_PAYLOAD_LEN as u64;
    let mut levels = 0;
    while span > c && b > 1 {
        c = c.saturating_mul(b);
        levels += 1;
    }
    levels
}

/// The largest span a tree of this branching may have: `4096·B^7` ([`MAX_TREE_LEVELS`] levels
/// of intermediate chunks above the leaves).
#[must_use]
pub const fn max_span(branching: usize) -> u64 {
    let b = branching as u64;
    let mut c = MAX_PAYLOAD_LEN as u64;
    let mut i = 0;
    while i < MAX_TREE_LEVELS {
        c = c.saturating_mul(b);
        i += 1;
    }
    c
}

/// `(n, p)`: the data and parity references an intermediate chunk of `span` bytes holds at
/// `level` (Bee's `file.ReferenceCount`): `n = ceil(span / child_size(span, B))` with the
/// level's branching `B`, `p = level.parities(n)`.
#[must_use]
pub const fn reference_count(span: u64, level: Level, encrypted: bool) -> (usize, usize) {
    let c = child_size(span, level.max_data_refs(encrypted));
    let n = span.div_ceil(c) as usize;
    (n, level.parities(n, encrypted))
}

/// Parity table of one level: `(shards, parities)`, scanned left to right.
type Table<const N: usize> = ([u8; N], [u8; N]);

const MEDIUM: Table<8> = ([95, 69, 47, 29, 15, 6, 2, 1], [9, 8, 7, 6, 5, 4, 3, 2]);
const STRONG: Table<18> = (
    [
        105, 96, 87, 78, 70, 62, 54, 47, 40, 33, 27, 21, 16, 11, 7, 4, 2, 1,
    ],
    [
        21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4,
    ],
);
const INSANE: Table<27> = (
    [
        93, 88, 83, 78, 74, 69, 64, 60, 55, 51, 46, 42, 38, 34, 30, 27, 23, 20, 17, 14, 11, 9, 6,
        4, 3, 2, 1,
    ],
    [
        31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9,
        8, 7, 6, 5,
    ],
);
const PARANOID: Table<37> = (
    [
        37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15,
        14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1,
    ],
    [
        89, 87, 86, 84, 83, 81, 80, 78, 76, 75, 73, 71, 70, 68, 66, 65, 63, 61, 59, 58, 56, 54, 52,
        50, 48, 47, 45, 43, 40, 38, 36, 34, 31, 29, 26, 23, 19,
    ],
);
const ENC_MEDIUM: Table<7> = ([47, 34, 23, 14, 7, 3, 1], [9, 8, 7, 6, 5, 4, 3]);
const ENC_STRONG: Table<17> = (
    [
        52, 48, 43, 39, 35, 31, 27, 23, 20, 16, 13, 10, 8, 5, 3, 2, 1,
    ],
    [
        21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5,
    ],
);
const ENC_INSANE: Table<25> = (
    [
        46, 44, 41, 39, 37, 34, 32, 30, 27, 25, 23, 21, 19, 17, 15, 13, 11, 10, 8, 7, 5, 4, 3, 2, 1,
    ],
    [
        31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9,
        8, 6,
    ],
);
const ENC_PARANOID: Table<18> = (
    [
        18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1,
    ],
    [
        87, 84, 81, 78, 75, 71, 68, 65, 61, 58, 54, 50, 47, 43, 38, 34, 29, 23,
    ],
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branching_matches_the_spec() {
        let plain = [128, 119, 107, 97, 39];
        let enc = [64, 59, 53, 48, 20];
        for l in 0..=4 {
            let level = Level::from_u8(l).unwrap();
            assert_eq!(level.max_data_refs(false), plain[l as usize]);
            assert_eq!(level.max_data_refs(true), enc[l as usize]);
            assert_eq!(level.as_u8(), l);
        }
        assert_eq!(Level::from_u8(5), None);
    }

    #[test]
    fn a_full_chunk_fills_exactly_128_slots() {
        for l in 1..=4 {
            let level = Level::from_u8(l).unwrap();
            let b = level.max_data_refs(false);
            assert_eq!(b + level.parities(b, false), 128, "level {l}");
            let be = level.max_data_refs(true);
            assert!(64 * be + 32 * level.parities(be, true) <= 4096, "level {l}");
        }
    }

    #[test]
    fn parities_scan_the_table() {
        assert_eq!(Level::Medium.parities(119, false), 9);
        assert_eq!(Level::Medium.parities(95, false), 9);
        assert_eq!(Level::Medium.parities(94, false), 8);
        assert_eq!(Level::Medium.parities(1, false), 2);
        assert_eq!(Level::Medium.parities(0, false), 0);
        assert_eq!(Level::None.parities(100, false), 0);
        assert_eq!(Level::Paranoid.parities(37, false), 89);
        assert_eq!(Level::Paranoid.parities(1, false), 19);
        assert_eq!(Level::Insane.parities(5, true), 11);
        assert_eq!(Level::Insane.parities(2, true), 8);
        assert_eq!(Level::Insane.parities(1, true), 6);
    }

    #[test]
    fn decodes_the_level_marker() {
        let s = |top: u8| Span::from_bytes([1, 0x10, 0, 0, 0, 0, 0, top]);
        assert_eq!(decode_span(s(0)), Ok((Level::None, 0x1001)));
        // 0x80 is not a marker (strictly greater is).
        assert_eq!(decode_span(s(0x80)).unwrap().0, Level::None);
        assert_eq!(decode_span(s(0x81)), Ok((Level::Medium, 0x1001)));
        assert_eq!(decode_span(s(0x84)), Ok((Level::Paranoid, 0x1001)));
        assert_eq!(
            decode_span(s(0x85)),
            Err(Error::RedundancyLevel { byte: 0x85 })
        );
        assert_eq!(
            decode_span(s(0xff)),
            Err(Error::RedundancyLevel { byte: 0xff })
        );
    }

    #[test]
    fn child_sizes_and_counts() {
        assert_eq!(child_size(4097, 128), 4096);
        assert_eq!(child_size(128 * 4096, 128), 4096);
        assert_eq!(child_size(128 * 4096 + 1, 128), 128 * 4096);
        assert_eq!(reference_count(128 * 4096 + 1, Level::None, false), (2, 0));
        assert_eq!(reference_count(524_289, Level::Medium, false), (2, 3));
        assert_eq!(reference_count(10 * 4096, Level::Paranoid, false), (10, 43));
        assert_eq!(tree_levels(4096, 128), 0);
        assert_eq!(tree_levels(4097, 128), 1);
        assert_eq!(tree_levels(128 * 4096, 128), 1);
        assert_eq!(tree_levels(128 * 4096 + 1, 128), 2);
        assert_eq!(max_span(128), 1 << 61);
        assert_eq!(tree_levels(max_span(128), 128), 7);
        assert_eq!(tree_levels(max_span(128) + 1, 128), 8);
        assert_eq!(tree_levels(u64::MAX, 128), 8);
        assert_eq!(child_size(u64::MAX, 2), 1 << 63);
    }
}
