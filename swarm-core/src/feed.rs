//! Feeds: an owner's signed single-owner chunks under a topic, one per index
//! (`../shared/spec/chunks.md` §6).
//!
//! - identity: [`sequence_identifier`] / [`sequence_address`] (and [`epoch_identifier`] for
//!   legacy epoch feeds: identifiers only, no epoch lookup);
//! - payload: [`FeedUpdate`] reads the wrapped chunk of an update, v1 (`timestamp ‖
//!   reference`) or v2 (the content's root chunk itself), with the spec's deterministic rule;
//! - latest: [`FeedLookup`], a sans-IO search for the newest update of a *pinned* owner that
//!   never answers below a caller-supplied minimum index (anti-rollback).
//!
//! ```
//! use swarm_core::feed::{sequence_address, FeedLookup, Topic};
//! use swarm_core::soc::Owner;
//! use swarm_core::Retrieval;
//! let owner = Owner([0x11; 20]);
//! let topic = Topic::from_name("deboot/images");
//! let mut lookup = FeedLookup::new(owner, topic, 0);
//! // The first probe is the minimum index; a node that has nothing ends the search.
//! let first = lookup.poll_request().unwrap();
//! assert_eq!(first, sequence_address(&topic, 0, &owner));
//! lookup.handle_not_found(&first).unwrap_err(); // Error::FeedNotFound
//! ```
//!
//! # Search
//! Galloping, then k-ary search, over indices assumed gap-free (as Bee's finders assume):
//! probe the minimum index (it must exist), then `min + 2^e` for growing `e`, up to
//! [`MAX_FEED_PROBES_IN_FLIGHT`] at a time, until one is absent; then split the interval
//! between the highest present and lowest absent index into equal parts, probing the inner
//! points in parallel, until they are adjacent. That is `O(log n)` rounds of parallel probes
//! — a node may take seconds to answer "absent", so rounds matter more than probe counts —
//! and it is deterministic: the answer depends only on which indices the node serves. Bee's
//! async finder (§6.3) probes fixed levels from 0 with timeouts; ours starts at the minimum and
//! treats only a not-found answer as absence. A verified update above a known absence (a gap)
//! wins: the search continues above it.
//!
//! # Bounds
//! At most [`MAX_FEED_PROBES`] probes per lookup (or fewer, [`FeedLookup::with_max_probes`]),
//! else [`Error::FeedProbeLimit`]; at most [`MAX_FEED_PROBES_IN_FLIGHT`] outstanding.

use core::fmt;
use core::str::FromStr;

use swarm_bmt::{keccak256, ChunkAddress, Keccak256, Reference, Span, MAX_CHUNK_LEN, SPAN_SIZE};

use crate::chunk::split_cac;
use crate::soc::{soc_address, Owner, Soc};
use crate::{Error, Retrieval};

/// Longest topic, in bytes (topics are normally a 32-byte hash; Bee hashes any length).
pub const MAX_TOPIC_LEN: usize = 32;
/// Most probes one [`FeedLookup`] makes: enough for any `u64` index with the full window
/// (64 galloping probes and about 21 rounds of 8).
pub const MAX_FEED_PROBES: u32 = 256;
/// Most probes a [`FeedLookup`] keeps outstanding (one round).
pub const MAX_FEED_PROBES_IN_FLIGHT: usize = 8;

/// A feed topic: 1 to [`MAX_TOPIC_LEN`] bytes, normally a 32-byte hash.
///
/// Text form ([`FromStr`], [`fmt::Display`]): hex, 2 to 64 digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Topic {
    bytes: [u8; MAX_TOPIC_LEN],
    len: u8,
}

/// A feed update read from a verified single-owner chunk: its index and wrapped chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedUpdate<'a> {
    index: u64,
    span: Span,
    payload: &'a [u8],
}

/// The v1 ("legacy") reading of an update: `timestamp (u64 BE) ‖ reference`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyUpdate {
    /// Seconds since the Unix epoch, as the publisher wrote them (Bee never reads it).
    pub timestamp: u64,
    /// The content's reference (32 bytes, or 64 when encrypted).
    pub reference: Reference,
}

/// Sans-IO search for the latest update of a sequence feed; see the [module docs](self).
///
/// Implements [`Retrieval`]: [`Retrieval::poll_request`] names single-owner chunk addresses,
/// [`Retrieval::handle_chunk`] verifies each against the pinned owner and the identifier of
/// the probed index, [`Retrieval::handle_not_found`] marks an index absent. It produces no
/// bytes ([`Retrieval::read`] returns 0); the result is [`FeedLookup::latest`]. About 4.6 KiB
/// (it keeps the newest verified update's wrapped chunk).
#[derive(Clone)]
pub struct FeedLookup {
    owner: Owner,
    topic: Topic,
    min_index: u64,
    max_probes: u32,
    probes: u32,
    window: usize,
    round: [Option<Probe>; MAX_FEED_PROBES_IN_FLIGHT],
    lo: Option<u64>,
    hi: Option<u64>,
    gallop_exp: u32,
    latest: [u8; MAX_CHUNK_LEN],
    latest_len: usize,
    state: LookupState,
}

#[derive(Debug, Clone, Copy)]
struct Probe {
    index: u64,
    address: ChunkAddress,
    sent: bool,
    answered: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LookupState {
    Searching,
    Done,
    Failed(Error),
}

impl Topic {
    /// A 32-byte topic.
    #[must_use]
    pub const fn new(bytes: [u8; 32]) -> Self {
        Self { bytes, len: 32 }
    }

    /// A topic of 1 to [`MAX_TOPIC_LEN`] bytes; `None` otherwise.
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        if bytes.is_empty() {
            return None;
        }
        let mut t = [0u8; MAX_TOPIC_LEN];
        t.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(Self {
            bytes: t,
            len: u8::try_from(bytes.len()).ok()?,
        })
    }

    /// The topic bee-js derives from a name: `keccak256(utf8(name))`.
    #[must_use]
    pub fn from_name(name: &str) -> Self {
        Self::new(keccak256(name.as_bytes()))
    }

    /// The topic's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

/// The identifier of update `index` of a sequence feed: `keccak256(topic ‖ u64be(index))`.
#[must_use]
pub fn sequence_identifier(topic: &Topic, index: u64) -> [u8; 32] {
    let mut k = Keccak256::new();
    k.update(topic.as_bytes());
    k.update(&index.to_be_bytes());
    k.finalize()
}

/// The address of update `index` of the sequence feed `(topic, owner)`.
#[must_use]
pub fn sequence_address(topic: &Topic, index: u64, owner: &Owner) -> ChunkAddress {
    soc_address(&sequence_identifier(topic, index), owner)
}

/// The identifier of an epoch-feed update (legacy, never looked up by Bee's API):
/// `keccak256(topic ‖ keccak256(u64be(start) ‖ level))`.
#[must_use]
pub fn epoch_identifier(topic: &Topic, start: u64, level: u8) -> [u8; 32] {
    let mut k = Keccak256::new();
    k.update(&start.to_be_bytes());
    k.update(&[level]);
    let index = k.finalize();
    let mut k = Keccak256::new();
    k.update(topic.as_bytes());
    k.update(&index);
    k.finalize()
}

impl<'a> FeedUpdate<'a> {
    /// Reads update `index` from `soc`, checking that it is the update of `(topic, owner)`
    /// at that index.
    ///
    /// # Errors
    /// [`Error::WrongOwner`] or [`Error::FeedIdentifier`] if it is another feed's chunk.
    pub fn from_soc(
        soc: &Soc<'a>,
        topic: &Topic,
        owner: &Owner,
        index: u64,
    ) -> Result<Self, Error> {
        if soc.owner() != owner {
            return Err(Error::WrongOwner);
        }
        if soc.identifier() != &sequence_identifier(topic, index) {
            return Err(Error::FeedIdentifier);
        }
        Ok(Self {
            index,
            span: soc.span(),
            payload: soc.payload(),
        })
    }

    /// Reads an update from its wrapped chunk (`span ‖ payload`, 8..=4104 bytes), already
    /// verified by whoever holds it.
    ///
    /// # Errors
    /// [`Error::ChunkLength`] outside 8..=4104 bytes.
    pub fn parse(index: u64, wrapped: &'a [u8]) -> Result<Self, Error> {
        let (span, payload) = split_cac(wrapped)?;
        Ok(Self {
            index,
            span,
            payload,
        })
    }

    /// The update's index.
    #[must_use]
    pub const fn index(&self) -> u64 {
        self.index
    }

    /// The wrapped chunk's span, as stored.
    #[must_use]
    pub const fn span(&self) -> Span {
        self.span
    }

    /// The wrapped chunk's payload.
    #[must_use]
    pub const fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The v1 reading, when the wrapped chunk has the v1 shape (48 or 80 bytes:
    /// `span ‖ timestamp ‖ reference`).
    ///
    /// The spec's deterministic rule (§6.2): the update is v1 when this is `Some` **and**
    /// the reference's root chunk can be fetched and verified; otherwise it is v2 and the
    /// wrapped chunk itself is the content's root ([`FeedUpdate::wrapped_root`]).
    #[must_use]
    pub fn legacy(&self) -> Option<LegacyUpdate> {
        if !matches!(self.payload.len(), 40 | 72) {
            return None;
        }
        let (ts, reference) = self.payload.split_first_chunk::<8>()?;
        Some(LegacyUpdate {
            timestamp: u64::from_be_bytes(*ts),
            reference: Reference::from_slice(reference).ok()?,
        })
    }

    /// The v2 reading: the content's root chunk (`span ‖ payload`) and its address.
    ///
    /// # Errors
    /// Never for an update taken from a verified chunk (the payload is at most 4096 bytes).
    pub fn wrapped_root(&self) -> Result<(ChunkAddress, Span, &'a [u8]), Error> {
        let address = swarm_bmt::chunk_address(&self.span.to_bytes(), self.payload)?;
        Ok((address, self.span, self.payload))
    }
}

impl FeedLookup {
    /// Starts a search for the latest update of `(topic, owner)` at or above `min_index`.
    ///
    /// `min_index` is the anti-rollback floor (e.g. the index of the update the device last
    /// booted): the update at `min_index` must be served and the result is never below it.
    #[must_use]
    pub fn new(owner: Owner, topic: Topic, min_index: u64) -> Self {
        let mut lookup = Self {
            owner,
            topic,
            min_index,
            max_probes: MAX_FEED_PROBES,
            probes: 0,
            window: MAX_FEED_PROBES_IN_FLIGHT,
            round: [None; MAX_FEED_PROBES_IN_FLIGHT],
            lo: None,
            hi: None,
            gallop_exp: 0,
            latest: [0; MAX_CHUNK_LEN],
            latest_len: 0,
            state: LookupState::Searching,
        };
        lookup.plan_indices(&[min_index]);
        lookup
    }

    /// Lowers the probe bound below [`MAX_FEED_PROBES`] (values above it are capped).
    #[must_use]
    pub fn with_max_probes(mut self, max_probes: u32) -> Self {
        self.max_probes = max_probes.min(MAX_FEED_PROBES);
        self
    }

    /// Sets how many probes run in parallel, 1..=[`MAX_FEED_PROBES_IN_FLIGHT`] (clamped).
    /// One gives a plain sequential gallop and binary search.
    #[must_use]
    pub fn with_window(mut self, window: usize) -> Self {
        self.window = window.clamp(1, MAX_FEED_PROBES_IN_FLIGHT);
        self
    }

    /// The feed's owner.
    #[must_use]
    pub const fn owner(&self) -> &Owner {
        &self.owner
    }

    /// The feed's topic.
    #[must_use]
    pub const fn topic(&self) -> &Topic {
        &self.topic
    }

    /// Probes made so far.
    #[must_use]
    pub const fn probes(&self) -> u32 {
        self.probes
    }

    /// The feed index an outstanding probe stands for (for logs, and for test nodes).
    #[must_use]
    pub fn probe_index(&self, address: &ChunkAddress) -> Option<u64> {
        self.round
            .iter()
            .flatten()
            .find(|p| p.sent && !p.answered && p.address == *address)
            .map(|p| p.index)
    }

    /// The latest update, once the search is finished.
    #[must_use]
    pub fn latest(&self) -> Option<FeedUpdate<'_>> {
        if self.state != LookupState::Done {
            return None;
        }
        let index = self.lo?;
        FeedUpdate::parse(index, self.latest.get(..self.latest_len)?).ok()
    }

    /// The error the search ended with, if it failed.
    #[must_use]
    pub const fn error(&self) -> Option<Error> {
        match self.state {
            LookupState::Failed(e) => Some(e),
            _ => None,
        }
    }

    fn probe_mut(&mut self, address: &ChunkAddress) -> Option<&mut Probe> {
        self.round
            .iter_mut()
            .flatten()
            .find(|p| p.sent && !p.answered && p.address == *address)
    }

    /// Replaces the round with probes at `indices` (already filtered and de-duplicated).
    fn plan_indices(&mut self, indices: &[u64]) {
        self.round = [None; MAX_FEED_PROBES_IN_FLIGHT];
        let budget = self.max_probes.saturating_sub(self.probes);
        if u32::try_from(indices.len()).map_or(true, |n| n > budget) {
            self.state = LookupState::Failed(Error::FeedProbeLimit {
                max: self.max_probes,
            });
            return;
        }
        for (slot, &index) in self.round.iter_mut().zip(indices) {
            *slot = Some(Probe {
                index,
                address: sequence_address(&self.topic, index, &self.owner),
                sent: false,
                answered: false,
            });
            self.probes += 1;
        }
    }

    /// Called when every probe of the round is answered: decides the next round or the end.
    fn next_round(&mut self) {
        let Some(lo) = self.lo else {
            // Only the first probe (the minimum) can leave `lo` unset.
            self.state = LookupState::Failed(if self.min_index == 0 {
                Error::FeedNotFound
            } else {
                Error::FeedRollback {
                    min_index: self.min_index,
                }
            });
            return;
        };
        let mut next = [0u64; MAX_FEED_PROBES_IN_FLIGHT];
        let mut n = 0usize;
        match self.hi {
            None => {
                // Gallop: min + 2^e for the next exponents, above what is known present.
                while n < self.window && self.gallop_exp < 64 {
                    let step = 1u64 << self.gallop_exp;
                    let index = self.min_index.saturating_add(step);
                    self.gallop_exp += 1;
                    if index > lo {
                        if let Some(slot) = next.get_mut(n) {
                            *slot = index;
                            n += 1;
                        }
                    }
                    if index == u64::MAX {
                        self.gallop_exp = 64;
                    }
                }
                if n == 0 {
                    // Everything up to u64::MAX is present.
                    self.state = LookupState::Done;
                    return;
                }
            }
            Some(hi) if hi <= lo.saturating_add(1) => {
                self.state = LookupState::Done;
                return;
            }
            Some(hi) => {
                // k-ary search strictly inside (lo, hi).
                let (lo128, width) = (u128::from(lo), u128::from(hi - lo));
                let parts = u128::try_from(self.window).unwrap_or(1) + 1;
                for i in 1..parts {
                    let index = u64::try_from(lo128 + width * i / parts).unwrap_or(lo);
                    let fresh = next.get(..n).is_some_and(|seen| !seen.contains(&index));
                    if index > lo && index < hi && fresh {
                        if let Some(slot) = next.get_mut(n) {
                            *slot = index;
                            n += 1;
                        }
                    }
                }
            }
        }
        let indices = next.get(..n).unwrap_or_default();
        let mut copy = [0u64; MAX_FEED_PROBES_IN_FLIGHT];
        if let Some(dst) = copy.get_mut(..n) {
            dst.copy_from_slice(indices);
        }
        self.plan_indices(copy.get(..n).unwrap_or_default());
    }

    fn after_answer(&mut self) {
        if self.state == LookupState::Searching && self.round.iter().flatten().all(|p| p.answered) {
            self.next_round();
        }
    }
}

impl Retrieval for FeedLookup {
    fn poll_request(&mut self) -> Option<ChunkAddress> {
        if self.state != LookupState::Searching {
            return None;
        }
        let probe = self.round.iter_mut().flatten().find(|p| !p.sent)?;
        probe.sent = true;
        Some(probe.address)
    }

    fn handle_chunk(&mut self, address: &ChunkAddress, data: &[u8]) -> Result<(), Error> {
        let owner = self.owner;
        let topic = self.topic;
        let Some(probe) = self.probe_mut(address) else {
            return Err(Error::UnexpectedChunk);
        };
        let index = probe.index;
        // Peer faults leave the probe outstanding (the driver may ask another node).
        let soc = Soc::verify_owned_by(address, data, &owner)?;
        let update = FeedUpdate::from_soc(&soc, &topic, &owner, index)?;
        let wrapped_len = SPAN_SIZE + update.payload().len();
        if let Some(p) = self.probe_mut(address) {
            p.answered = true;
        }
        if self.lo.is_none_or(|lo| index > lo) {
            self.lo = Some(index);
            if let Some(dst) = self.latest.get_mut(..wrapped_len) {
                let (span, payload) = dst.split_at_mut(SPAN_SIZE);
                span.copy_from_slice(&update.span().to_bytes());
                payload.copy_from_slice(update.payload());
                self.latest_len = wrapped_len;
            }
            // A verified update above a known absence: the absence was a gap; search above.
            if self.hi.is_some_and(|hi| hi <= index) {
                self.hi = None;
            }
        }
        self.after_answer();
        Ok(())
    }

    fn handle_not_found(&mut self, address: &ChunkAddress) -> Result<(), Error> {
        let Some(probe) = self.probe_mut(address) else {
            return Err(Error::UnexpectedChunk);
        };
        probe.answered = true;
        let index = probe.index;
        if self.lo.is_none_or(|lo| index > lo) && self.hi.is_none_or(|hi| index < hi) {
            self.hi = Some(index);
        }
        self.after_answer();
        match self.state {
            LookupState::Failed(e) => Err(e),
            _ => Ok(()),
        }
    }

    fn read(&mut self, _buf: &mut [u8]) -> Result<usize, Error> {
        match self.state {
            LookupState::Failed(e) => Err(e),
            _ => Ok(0),
        }
    }

    fn is_finished(&self) -> bool {
        self.state == LookupState::Done
    }
}

impl fmt::Debug for FeedLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeedLookup")
            .field("owner", &self.owner)
            .field("topic", &self.topic)
            .field("min_index", &self.min_index)
            .field("lo", &self.lo)
            .field("hi", &self.hi)
            .field("probes", &self.probes)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Topic({self})")
    }
}

impl FromStr for Topic {
    type Err = Error;

    /// Parses 2 to 64 hex digits (an even number).
    fn from_str(s: &str) -> Result<Self, Error> {
        let len = s.len() / 2;
        if !s.len().is_multiple_of(2) || len == 0 || len > MAX_TOPIC_LEN {
            return Err(Error::Bmt(swarm_bmt::Error::InvalidHex));
        }
        let mut bytes = [0u8; MAX_TOPIC_LEN];
        let dst = bytes
            .get_mut(..len)
            .ok_or(Error::Bmt(swarm_bmt::Error::InvalidHex))?;
        hex::decode_to_slice(s, dst).map_err(|_| Error::Bmt(swarm_bmt::Error::InvalidHex))?;
        Self::from_slice(dst).ok_or(Error::Bmt(swarm_bmt::Error::InvalidHex))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soc::tests::key;
    use crate::soc::{owner_of, sign};
    use k256::ecdsa::SigningKey;

    /// A node serving the updates `present` of a feed signed with `signer`.
    fn drive(
        lookup: &mut FeedLookup,
        signer: &SigningKey,
        topic: &Topic,
        present: impl Fn(u64) -> bool,
    ) {
        for _ in 0..10_000 {
            let mut asked = std::vec::Vec::new();
            while let Some(a) = lookup.poll_request() {
                asked.push(a);
            }
            if asked.is_empty() {
                return;
            }
            for a in asked {
                let index = lookup
                    .round
                    .iter()
                    .flatten()
                    .find(|p| p.address == a)
                    .map(|p| p.index);
                let index = index.unwrap();
                if present(index) {
                    let mut buf = [0u8; 200];
                    let mut payload = [0u8; 40];
                    payload[..8].copy_from_slice(&index.to_be_bytes());
                    let id = sequence_identifier(topic, index);
                    let (addr, data) = sign(signer, &id, Span(40), &payload, &mut buf).unwrap();
                    assert_eq!(addr, a);
                    lookup.handle_chunk(&a, data).unwrap();
                } else {
                    let _ = lookup.handle_not_found(&a);
                }
            }
        }
        panic!("lookup did not finish");
    }

    #[test]
    fn finds_the_last_of_a_gap_free_feed() {
        let k = key(3);
        let owner = owner_of(k.verifying_key());
        let topic = Topic::from_name("t");
        for latest in [0u64, 1, 2, 7, 8, 100, 1000] {
            for window in [1, 3, 8] {
                let mut l = FeedLookup::new(owner, topic, 0).with_window(window);
                drive(&mut l, &k, &topic, |i| i <= latest);
                assert_eq!(l.latest().unwrap().index(), latest, "window {window}");
            }
        }
    }

    #[test]
    fn minimum_index_must_be_served() {
        let k = key(3);
        let owner = owner_of(k.verifying_key());
        let topic = Topic::from_name("t");
        let mut l = FeedLookup::new(owner, topic, 5);
        drive(&mut l, &k, &topic, |i| i <= 4);
        assert_eq!(l.error(), Some(Error::FeedRollback { min_index: 5 }));
        assert!(l.latest().is_none());
        let mut l = FeedLookup::new(owner, topic, 0);
        drive(&mut l, &k, &topic, |_| false);
        assert_eq!(l.error(), Some(Error::FeedNotFound));
    }

    #[test]
    fn sequence_identifier_matches_bee() {
        // bee/derived.json feed-sequence-id-1 (keccak256("testtopic"), index 1).
        let topic = Topic::from_name("testtopic");
        assert_eq!(
            hex::encode(sequence_identifier(&topic, 1)),
            "5e756defc3f5631327eed03099dcf3e6532292483465ca8903a3c528ebd465d3"
        );
        assert_eq!(
            hex::encode(epoch_identifier(&topic, 1_600_000_000, 0)),
            "d3376bdc8a4209d8d1426963b863f6e9fb8261a24b1324876df6c376a0fd692e"
        );
    }
}
