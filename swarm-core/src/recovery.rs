//! Recovery of chunks no node has (feature `recovery`): Reed–Solomon over a sibling group's
//! parity chunks (`../shared/spec/chunks.md` §3.6, §7, §8 point 3) and the root chunk's
//! dispersed replicas (§5).
//!
//! The [`Joiner`](crate::Joiner) drives both; this module holds the pieces:
//!
//! - a sibling group: the `n` data and `p` parity references of one intermediate chunk, and
//!   the shards fetched for it. Each shard is the chunk as stored (`span || payload`, the
//!   ciphertext in encrypted trees) zero-padded to [`SHARD_LEN`] bytes; a parity chunk is
//!   accepted only as a 4104-byte chunk at its address. Once `n` shards are in, the missing
//!   data shards are rebuilt (GF(2^8), klauspost/reedsolomon's matrix, which
//!   `reed-solomon-erasure`'s `galois_8` shares) and a rebuilt chunk is used **only if it
//!   hashes to the reference that names it**.
//! - [`replica_ids`]: the byte-0 values of the root's dispersed replicas, in Bee's order.
//!
//! # Memory
//! One sibling group at a time, on the heap: at most `(n + p)·4104` bytes of shards
//! ([`MAX_GROUP_BYTES`] = 128·4104 = 525 312 bytes, for a full unencrypted group), plus
//! `(n + p)·33` bytes of addresses and states, and the codec's matrices (`(n+p)·n` bytes,
//! a few of them), and the codec of the last group shape (`(n+p)·n` bytes and at most
//! [`MAX_CODEC_USES`] decoding matrices of `n²` bytes: under 300 KB). Nothing is allocated
//! while no chunk is missing. The joiner keeps the last
//! group it rebuilt (so the group's other lost children need no second fetch) only until it
//! starts the next one: never two groups at once.

use alloc::vec;
use alloc::vec::Vec;

use crate::gf256::ReedSolomon;
use swarm_bmt::{ChunkAddress, MAX_CHUNK_LEN};

use crate::chunk::VerifiedChunk;
use crate::soc::{soc_address, REPLICAS_OWNER};
use crate::Error;

/// Bytes of one Reed–Solomon shard: a chunk as stored, zero-padded (§3.6).
pub const SHARD_LEN: usize = MAX_CHUNK_LEN;

/// Most shards (data + parity) of one sibling group: every intermediate chunk holds at most
/// 128 references.
pub const MAX_GROUP_SHARDS: usize = 128;

/// Heap bytes of the shards of the largest sibling group.
pub const MAX_GROUP_BYTES: usize = MAX_GROUP_SHARDS * SHARD_LEN;

/// Most dispersed replicas of a root chunk (level PARANOID).
pub const MAX_REPLICAS: usize = 16;

/// What the group knows about one shard.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Shard {
    /// Not asked for (yet).
    Unasked,
    /// Asked for by the group.
    Asked,
    /// Asked for by the joiner's own request, which the group shares.
    Joined,
    /// In the buffer, verified.
    Have,
    /// No node has it.
    Missing,
}

/// One sibling group being rebuilt.
pub(crate) struct Group {
    pub(crate) n: usize,
    pub(crate) p: usize,
    pub(crate) addrs: Vec<ChunkAddress>,
    pub(crate) state: Vec<Shard>,
    /// Requests the group issued itself and are not answered.
    pub(crate) in_flight: usize,
    shards: Vec<u8>,
}

impl Group {
    /// A group over `addrs` (`n` data then `p` parity addresses).
    pub(crate) fn new(n: usize, addrs: Vec<ChunkAddress>) -> Self {
        let total = addrs.len();
        Self {
            n,
            p: total.saturating_sub(n),
            state: vec![Shard::Unasked; total],
            addrs,
            in_flight: 0,
            shards: vec![0; total * SHARD_LEN],
        }
    }

    pub(crate) fn count(&self, s: Shard) -> usize {
        self.state.iter().filter(|&&x| x == s).count()
    }

    /// Hands the group's own request for `address` over to the joiner (which now waits for
    /// the same chunk): returns whether there was one.
    pub(crate) fn share(&mut self, address: &ChunkAddress) -> bool {
        let mut own = false;
        for (a, s) in self.addrs.iter().zip(self.state.iter_mut()) {
            if a == address && *s == Shard::Asked {
                own = true;
                *s = Shard::Joined;
            }
        }
        if own {
            self.in_flight = self.in_flight.saturating_sub(1);
        }
        own
    }

    /// Addresses the group asked for itself and got no answer for yet.
    pub(crate) fn asked(&self) -> impl Iterator<Item = &ChunkAddress> {
        self.addrs
            .iter()
            .zip(&self.state)
            .filter(|(_, s)| **s == Shard::Asked)
            .map(|(a, _)| a)
    }

    /// Whether `address` is a shard the group waits for.
    pub(crate) fn waits_for(&self, address: &ChunkAddress) -> bool {
        self.addrs
            .iter()
            .zip(&self.state)
            .any(|(a, s)| a == address && matches!(s, Shard::Asked | Shard::Joined))
    }

    /// Marks every shard at `address` as missing.
    pub(crate) fn mark_missing(&mut self, address: &ChunkAddress) {
        let mut own = false;
        for (a, s) in self.addrs.iter().zip(self.state.iter_mut()) {
            if a == address && *s != Shard::Have {
                own |= *s == Shard::Asked;
                *s = Shard::Missing;
            }
        }
        if own {
            self.in_flight = self.in_flight.saturating_sub(1);
        }
    }

    /// Whether at least `n` shards can still be had.
    pub(crate) fn viable(&self) -> bool {
        self.count(Shard::Missing) <= self.p
    }

    /// Whether `n` shards are in.
    pub(crate) fn complete(&self) -> bool {
        self.count(Shard::Have) >= self.n
    }

    /// Shards still to obtain to reach `n`, beyond those in and asked.
    pub(crate) fn shortfall(&self) -> usize {
        self.n.saturating_sub(
            self.count(Shard::Have) + self.count(Shard::Asked) + self.count(Shard::Joined),
        )
    }

    /// Takes a verified chunk for every waiting shard at its address. A parity shard must be
    /// exactly 4104 bytes (its first 8 bytes are codec output, not a span).
    pub(crate) fn accept(&mut self, chunk: &VerifiedChunk<'_>) -> Result<(), Error> {
        let n = self.n;
        let len = 8 + chunk.payload().len();
        let mut bytes = [0u8; SHARD_LEN];
        let span = chunk.span().get().to_le_bytes();
        let (head, tail) = bytes.split_at_mut(8);
        head.copy_from_slice(&span);
        let payload = chunk.payload();
        tail.get_mut(..payload.len())
            .ok_or(Error::ChunkLength { len })?
            .copy_from_slice(payload);
        let parity = self
            .addrs
            .iter()
            .zip(&self.state)
            .skip(n)
            .any(|(a, s)| a == chunk.address() && matches!(s, Shard::Asked | Shard::Joined));
        if parity && len != SHARD_LEN {
            return Err(Error::ChunkLength { len });
        }
        let mut own = false;
        for (i, (a, s)) in self.addrs.iter().zip(self.state.iter_mut()).enumerate() {
            if a != chunk.address() || !matches!(s, Shard::Asked | Shard::Joined) {
                continue;
            }
            if let Some(dst) = self.shards.get_mut(i * SHARD_LEN..(i + 1) * SHARD_LEN) {
                dst.copy_from_slice(&bytes);
                own |= *s == Shard::Asked;
                *s = Shard::Have;
            }
        }
        if own {
            self.in_flight = self.in_flight.saturating_sub(1);
        }
        Ok(())
    }

    /// Rebuilds every data shard not in ([`Group::shard`]). The caller checks each rebuilt
    /// chunk against its address.
    pub(crate) fn reconstruct(&mut self, codecs: &mut Codec) -> Result<(), Error> {
        let rs = codecs.get(self.n, self.p)?;
        let mut parts: Vec<(&mut [u8], bool)> = self
            .shards
            .chunks_mut(SHARD_LEN)
            .zip(&self.state)
            .map(|(c, s)| (c, *s == Shard::Have))
            .collect();
        rs.reconstruct_data(&mut parts)
            .map_err(|_| Error::ChunkNotFound)
    }

    /// Shard `i` (all [`SHARD_LEN`] bytes).
    pub(crate) fn shard(&self, i: usize) -> &[u8] {
        self.shards
            .get(i * SHARD_LEN..(i + 1) * SHARD_LEN)
            .unwrap_or_default()
    }
}

/// Uses of one codec before it is built afresh: its cache of decoding matrices (one per
/// pattern of missing shards, up to `n²` bytes each) stays within `MAX_CODEC_USES·128²` bytes.
pub const MAX_CODEC_USES: u32 = 16;

/// The Reed–Solomon codec of the last group shape, kept across groups: building one costs
/// an `n×n` matrix inversion (about 3.5 ms for 119 + 9 on a desktop core), more than
/// rebuilding a group's missing shards.
#[derive(Default)]
pub(crate) struct Codec {
    shape: (usize, usize),
    uses: u32,
    rs: Option<ReedSolomon>,
}

impl Codec {
    /// The codec for `n` data and `p` parity shards.
    pub(crate) fn get(&mut self, n: usize, p: usize) -> Result<&ReedSolomon, Error> {
        if self.shape != (n, p) || self.uses >= MAX_CODEC_USES || self.rs.is_none() {
            self.rs = Some(ReedSolomon::new(n, p).map_err(|_| Error::ChunkNotFound)?);
            self.shape = (n, p);
            self.uses = 0;
        }
        self.uses += 1;
        self.rs.as_ref().ok_or(Error::ChunkNotFound)
    }
}

/// The identifiers' byte 0 of the dispersed replicas of the chunk at `address`, in the order
/// Bee's replicator emits them: the PARANOID list (16 values); level `L`'s list is its first
/// `2^L` values (`../vectors/bee-go/README.md`, redundancy section).
///
/// Candidates `i = 0..=254` are tried in turn: the SOC address of `address` with byte 0 set
/// to `i` is accepted iff its first 4 bits are new among the accepted; it joins group `k`,
/// the smallest `k` whose first `k` bits are new (group 1 holds 2, group `k >= 2` holds
/// `2^(k-1)`); the groups are emitted in order, each in acceptance order.
#[must_use]
pub fn replica_ids(address: &ChunkAddress) -> [u8; MAX_REPLICAS] {
    const L: u32 = 4;
    // Accepted candidates per group (1..=4), in acceptance order.
    let mut groups = [[0u8; 8]; L as usize];
    let mut lens = [0usize; L as usize];
    let mut seen = [[false; 16]; L as usize + 1];
    let mut total = 0;
    for i in 0..=254u8 {
        if total == MAX_REPLICAS {
            break;
        }
        let mut id = address.0;
        id[0] = i;
        let soc = soc_address(&id, &REPLICAS_OWNER);
        let top = soc.0[0];
        let prefix = |k: u32| usize::from(top >> (8 - k));
        let full_new = seen
            .get(L as usize)
            .and_then(|s| s.get(prefix(L)))
            .is_some_and(|s| !s);
        if !full_new {
            continue;
        }
        let Some(k) = (1..=L).find(|&k| {
            seen.get(k as usize)
                .and_then(|s| s.get(prefix(k)))
                .is_some_and(|s| !s)
        }) else {
            continue;
        };
        for kk in 1..=L {
            if let Some(s) = seen
                .get_mut(kk as usize)
                .and_then(|s| s.get_mut(prefix(kk)))
            {
                *s = true;
            }
        }
        let g = (k - 1) as usize;
        if let (Some(group), Some(len)) = (groups.get_mut(g), lens.get_mut(g)) {
            if let Some(slot) = group.get_mut(*len) {
                *slot = i;
                *len += 1;
            }
        }
        total += 1;
    }
    let mut out = [0u8; MAX_REPLICAS];
    let mut at = 0;
    for (group, &len) in groups.iter().zip(&lens) {
        for &id in group.iter().take(len) {
            if let Some(o) = out.get_mut(at) {
                *o = id;
            }
            at += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_order_of_bees_replicator() {
        // replicas.json, replicator_order_for_root_of_L1-MEDIUM-len-10x4096.
        let a: ChunkAddress = "67f8543aa2ac37c7c38b79a5cff85ee9b5f919c295c61520a007c245602d69ff"
            .parse()
            .unwrap();
        assert_eq!(
            replica_ids(&a),
            [0, 1, 4, 15, 2, 3, 5, 29, 7, 8, 9, 11, 12, 16, 26, 30]
        );
    }
}
