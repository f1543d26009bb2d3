//! The joiner: a file's bytes from its root reference, every byte verified, in bounded memory,
//! with many chunk requests in flight (`../shared/spec/chunks.md` §3, §4, §7).
//!
//! A [`Joiner`] is a sans-IO [`Retrieval`] machine. It asks for chunk addresses
//! ([`Retrieval::poll_request`]), keeping up to `W` distinct requests outstanding, where `W`
//! is the number of delivery slots the caller lends it; it accepts chunks in any order
//! ([`Retrieval::handle_chunk`]), verifies each against the reference that named it, decrypts
//! it for 64-byte references, checks it against the tree shape its parent implies, and hands
//! out content strictly in file order ([`Retrieval::read`]).
//!
//! ```text
//!   depth 0   [root]                      one intermediate chunk per level is being handed
//!   depth 1   [I₀ head][I₁ prefetched]    out; the next one at the same level is fetched
//!   depth 2   [J₀ head][J₁][J₂][J₃]…      ahead (the deepest level further, in the frames
//!   leaves    slot ring: L₀ L₁ … L_{W-1}   of unused levels), so leaf requests run on across
//!                                         chunk boundaries; leaves wait in W slots until read
//! ```
//!
//! Requests are issued in file order: for each level top-down, the next intermediate child of
//! the level's head chunk (when the level below has room), then the next leaf. Identical chunks
//! (same reference) that are wanted at the same time are requested once.
//!
//! # Checks (stricter than Bee, §3.3 and §7)
//! - every chunk: its bytes hash to the address asked for (CAC; a SOC is never a tree node);
//! - encrypted chunks: exactly 4104 bytes; all checks below apply to the decrypted chunk;
//! - root: a leaf (span ≤ 4096, unmarked) or an intermediate chunk whose level-decoded span is
//!   over 4096 and at most `4096·B^7` ([`redundancy::max_span`]), needing at most as many
//!   levels as the joiner holds;
//! - intermediate chunk: span equal to the section its parent gives it, the root's redundancy
//!   level, exactly `n` data and `p` parity references for its span (§3.2, §3.6) followed by
//!   nothing or zero bytes (unencrypted), or padding (encrypted);
//! - leaf: span equal to its section and a payload at least that long; only `span` bytes are
//!   output.
//!
//! Range reads (`new(.., Some((start, end)), ..)`) fetch only the chunks that cover the range.
//!
//! # Recovery (feature `recovery`)
//! When [`Retrieval::handle_not_found`] says no node has a chunk of an erasure-coded tree, the
//! joiner asks for that chunk's sibling group — the other data children and the parity chunks
//! its parent names (§3.6), only as many as it needs, data first — rebuilds the missing shards
//! with Reed–Solomon and accepts a rebuilt chunk only if it hashes to its reference
//! (`recovery` module). A missing root is asked for among its dispersed replicas (SOCs of
//! [`REPLICAS_OWNER`](crate::soc::REPLICAS_OWNER) wrapping it, Bee's order). A group that
//! lost more than its parity count ends the join with [`Error::ChunkNotFound`] and
//! `Joiner::unrecoverable` names the chunk; `Joiner::recovered` counts rebuilt chunks.
//! While a group is rebuilt up to `W` more requests are outstanding (`2·W` in all).
//!
//! # Memory
//! Everything lives in memory the caller lends: `W` [`Slot`]s (one leaf each) and `L`
//! [`TreeLevel`]s (two intermediate chunks each: the one being read and the one prefetched
//! after it). The deepest level of intermediate chunks (whose children are leaves) also uses
//! the levels the tree does not need, to fetch up to `2·(⌈W/B⌉ + 1)` of its chunks ahead, so
//! a window wider than one chunk's `B` leaves stays full on a slow link. [`footprint`] gives
//! the exact total; [`Buffers`] holds both in one value.
//!
//! ```
//! use std::collections::HashMap;
//! use swarm_bmt::{ChunkAddress, Splitter};
//! use swarm_core::{joiner::Buffers, Retrieval};
//!
//! let content: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
//! let mut store = HashMap::new();
//! let mut splitter = Splitter::with_sink(|a: &ChunkAddress, c: &[u8]| {
//!     store.insert(*a, c.to_vec());
//!     Ok(())
//! });
//! splitter.write(&content)?;
//! let root = splitter.finish()?;
//!
//! let mut memory = Box::new(Buffers::<4, 2>::new()); // 4 slots, trees of up to 2 levels
//! let mut joiner = memory.joiner(root.into(), None)?;
//! let (mut out, mut buf) = (Vec::new(), [0u8; 4096]);
//! while !joiner.is_finished() {
//!     let mut wanted = Vec::new();
//!     while let Some(addr) = joiner.poll_request() {
//!         wanted.push(addr);
//!     }
//!     for addr in wanted.iter().rev() {
//!         joiner.handle_chunk(addr, &store[addr])?; // any order
//!     }
//!     loop {
//!         let n = joiner.read(&mut buf)?;
//!         if n == 0 { break }
//!         out.extend_from_slice(&buf[..n]);
//!     }
//! }
//! assert_eq!(joiner.size(), Some(10_000));
//! assert_eq!(out, content);
//! # Ok::<(), swarm_core::Error>(())
//! ```

use core::mem::size_of;

use swarm_bmt::{ChunkAddress, Reference, MAX_PAYLOAD_LEN, SEGMENT_SIZE};

use crate::chunk::VerifiedChunk;
use crate::crypt::{decrypt_span, keystream_xor_into};
use crate::redundancy::{self, decode_span, Level, MAX_TREE_LEVELS};
use crate::{Error, Retrieval};

/// Bytes of the memory a joiner with `window` slots and `levels` tree levels occupies: its own
/// size plus the memory lent to it,
/// `size_of::<Joiner>() + window·size_of::<Slot>() + levels·size_of::<TreeLevel>()`.
///
/// On 64-bit targets that is `1272 + 4184·window + 8464·levels` bytes (a slot is one 4096-byte
/// leaf and its reference; a level is two 4096-byte intermediate chunks and their state); with
/// the `recovery` feature `1424 + 4192·window + 12736·levels` (a level keeps a third chunk, as
/// a chunk stays until all its children arrived, its references being the sibling group a
/// lost child is rebuilt from), plus, only while a chunk is being rebuilt, one sibling group
/// on the heap (at most `recovery::MAX_GROUP_BYTES` = 525 312 bytes of shards). It
/// does not depend on the file: a 64 MiB file and a 1 TiB file cost the same. A tree of `h`
/// levels (the root's included; `h = 2` up to 64 MiB, `h = 3` up to 8 GiB, 7 for the largest
/// file) needs `levels >= h`. Levels lent beyond `h` are not wasted: the deepest level of
/// intermediate chunks uses their frames to fetch further ahead (up to `2·(⌈window/B⌉ + 1)`
/// chunks, `B` = 128 references per chunk, 64 encrypted), which a window of more than `B`
/// leaves needs to keep that many requests outstanding across chunk boundaries on a slow
/// link; with `levels = h` it fetches one chunk ahead (two with `recovery`).
#[must_use]
pub const fn footprint(window: usize, levels: usize) -> usize {
    size_of::<Joiner<'static>>() + window * size_of::<Slot>() + levels * size_of::<TreeLevel>()
}

/// A sans-IO file joiner over caller-lent memory; see the [module docs](self).
pub struct Joiner<'m> {
    root: Reference,
    root_state: State,
    range: Option<(u64, u64)>,
    /// Clipped range, once the root is known.
    start: u64,
    end: u64,
    size: Option<u64>,
    level: Level,
    branching: usize,
    /// Levels of intermediate chunks the tree has (the root's included), once it is known.
    depth: usize,
    failed: Option<Error>,
    outstanding: usize,
    /// File offset of the next leaf to request.
    next_leaf: u64,
    /// File offset of the next byte to read out.
    read_pos: u64,
    ring_head: usize,
    ring_len: usize,
    /// Destinations waiting for a chunk (pending or being filled), by address byte 0: the
    /// first of a list linked through the destinations ([`NIL`]: none), so a lookup visits
    /// only the few destinations of one bucket.
    buckets: [u32; 256],
    slots: &'m mut [Slot],
    levels: &'m mut [TreeLevel],
    #[cfg(feature = "recovery")]
    rec: Rec,
}

/// Recovery state (feature `recovery`): the sibling group being rebuilt, the root's replicas.
#[cfg(feature = "recovery")]
struct Rec {
    group: Option<alloc::boxed::Box<crate::recovery::Group>>,
    /// The last group rebuilt, kept until the next one starts: its other lost children are
    /// served from it without fetching the group again.
    solved: Option<alloc::boxed::Box<crate::recovery::Group>>,
    codec: Option<alloc::boxed::Box<crate::recovery::Codec>>,
    recovered: u64,
    unrecoverable: Option<ChunkAddress>,
    /// The root's replica identifiers (byte 0), once the root was not found.
    replica_ids: Option<[u8; crate::recovery::MAX_REPLICAS]>,
    replica_next: usize,
    replica_out: Option<ChunkAddress>,
    /// Requests of a finished group still unanswered: their answers are dropped.
    stale: alloc::vec::Vec<ChunkAddress>,
    /// Whether some destination may be lost (no node had it): only then is there a group
    /// to look for, so the common path does not scan the destinations on every poll.
    lost: bool,
}

#[cfg(feature = "recovery")]
impl Rec {
    const NEW: Self = Self {
        group: None,
        solved: None,
        codec: None,
        recovered: 0,
        unrecoverable: None,
        replica_ids: None,
        replica_next: 0,
        replica_out: None,
        stale: alloc::vec::Vec::new(),
        lost: false,
    };
}

/// Where a destination hangs in the tree (feature `recovery`): its parent frame (tree level,
/// frame) and its index there, and whether no node had it.
#[cfg(feature = "recovery")]
#[derive(Clone, Copy)]
struct Up {
    /// Tree level of the parent plus one (0: none, the root), so that `NONE` is all-zero and
    /// the constant templates of `Slot`/`TreeLevel` stay out of the binary (16 KiB in
    /// deboot.efi).
    level: u16,
    frame: u8,
    index: u8,
    lost: bool,
}

#[cfg(feature = "recovery")]
impl Up {
    const NONE: Self = Self {
        level: 0,
        frame: 0,
        index: 0,
        lost: false,
    };

    /// A child `index` of frame `frame` at tree level `level`.
    fn new(level: usize, frame: usize, index: usize) -> Self {
        match (
            level.checked_add(1).map(u16::try_from),
            u8::try_from(frame),
            u8::try_from(index),
        ) {
            (Some(Ok(level)), Ok(frame), Ok(index)) => Self {
                level,
                frame,
                index,
                lost: false,
            },
            _ => Self::NONE,
        }
    }

    fn parent(self) -> Option<(usize, usize)> {
        let level = self.level.checked_sub(1)?;
        Some((usize::from(level), usize::from(self.frame)))
    }
}

/// Frames per tree level: the chunk being handed out and the one prefetched after it; with
/// `recovery` one more, as a chunk stays until every child it handed out has arrived (its
/// references are the sibling group a lost child is rebuilt from).
const FRAMES: usize = if cfg!(feature = "recovery") { 3 } else { 2 };

/// A delivery slot: one leaf, from its request until it has been read.
#[derive(Clone)]
pub struct Slot {
    state: State,
    reference: Reference,
    offset: u64,
    len: u64,
    /// The next destination of the same bucket.
    link: u32,
    #[cfg(feature = "recovery")]
    up: Up,
    data: [u8; MAX_PAYLOAD_LEN],
}

/// One level of the tree: the intermediate chunk whose children are being requested and the
/// one prefetched after it.
#[derive(Clone)]
pub struct TreeLevel {
    frames: [Frame; FRAMES],
    head: usize,
    len: usize,
}

/// Memory for a joiner with `W` delivery slots and `L` tree levels, in one value
/// ([`footprint`]`(W, L)` bytes with the joiner). Large: box it or give it static storage.
#[derive(Clone)]
pub struct Buffers<const W: usize, const L: usize = MAX_TREE_LEVELS> {
    /// The delivery slots.
    pub slots: [Slot; W],
    /// The tree levels.
    pub levels: [TreeLevel; L],
}

impl<'m> Joiner<'m> {
    /// A joiner for the file at `root` (32-byte reference, or 64-byte encrypted reference),
    /// producing bytes `start..end` of it (`None`: all of it), in the lent memory: `slots`
    /// sets the window (how many chunks may be outstanding), `levels` the deepest tree it
    /// reads. Nothing is requested before [`Retrieval::poll_request`].
    ///
    /// `end` past the file's size is clipped to it; a `start` past the size, or after `end`,
    /// fails once the root is known ([`Error::RangeOutOfBounds`]).
    ///
    /// # Errors
    /// [`Error::EmptyWindow`] if `slots` is empty.
    pub fn new(
        root: Reference,
        range: Option<(u64, u64)>,
        slots: &'m mut [Slot],
        levels: &'m mut [TreeLevel],
    ) -> Result<Self, Error> {
        if slots.is_empty() {
            return Err(Error::EmptyWindow);
        }
        for s in slots.iter_mut() {
            s.state = State::Free;
        }
        for l in levels.iter_mut() {
            l.clear();
        }
        Ok(Self {
            root,
            root_state: State::Free,
            range,
            start: 0,
            end: 0,
            size: None,
            level: Level::None,
            branching: 0,
            depth: 0,
            failed: None,
            outstanding: 0,
            next_leaf: 0,
            read_pos: 0,
            ring_head: 0,
            ring_len: 0,
            buckets: [NIL; 256],
            slots,
            levels,
            #[cfg(feature = "recovery")]
            rec: Rec::NEW,
        })
    }

    /// The file's size (the root's level-decoded span), once the root chunk has been delivered.
    #[must_use]
    pub const fn size(&self) -> Option<u64> {
        self.size
    }

    /// The range being produced, `start..end` clipped to the file, once the root is known.
    #[must_use]
    pub const fn range(&self) -> Option<(u64, u64)> {
        match self.size {
            Some(_) => Some((self.start, self.end)),
            None => None,
        }
    }

    /// File offset of the next byte [`Retrieval::read`] will return.
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.read_pos
    }

    /// The redundancy level of the tree (the root's), once the root is known.
    #[must_use]
    pub const fn redundancy_level(&self) -> Option<Level> {
        match self.size {
            Some(_) => Some(self.level),
            None => None,
        }
    }

    /// Distinct chunk addresses requested and not yet answered.
    #[must_use]
    pub const fn outstanding(&self) -> usize {
        self.outstanding
    }

    /// The window: how many distinct requests may be outstanding (the number of slots).
    #[must_use]
    pub const fn window(&self) -> usize {
        self.slots.len()
    }

    /// The final error that stopped this joiner, if any.
    #[must_use]
    pub const fn error(&self) -> Option<Error> {
        self.failed
    }

    /// Gives back the memory the joiner was lent, to join another file in it with
    /// [`Joiner::new`] (the manifest resolver joins one node after another this way).
    #[must_use]
    pub fn into_memory(self) -> (&'m mut [Slot], &'m mut [TreeLevel]) {
        (self.slots, self.levels)
    }

    fn fail(&mut self, e: Error) -> Error {
        self.failed = Some(e);
        e
    }

    /// Keeps the machine unchanged for a peer fault, stops it for anything else.
    fn settle(&mut self, e: Error) -> Error {
        if e.is_peer_fault() {
            e
        } else {
            self.fail(e)
        }
    }

    fn tree(&self) -> Tree {
        Tree {
            encrypted: self.root.is_encrypted(),
            level: self.level,
            branching: self.branching,
            start: self.start,
            end: self.end,
        }
    }

    fn deliver_root(&mut self, chunk: &VerifiedChunk<'_>) -> Result<(), Error> {
        let encrypted = self.root.is_encrypted();
        let (span, payload) = plain_view(chunk, self.root.key())?;
        if span <= LEAF_MAX {
            if !encrypted && (payload.len() as u64) < span {
                return Err(Error::Truncated {
                    len: payload.len(),
                    expected: span as usize,
                });
            }
            let (start, end) = self.clip(span)?;
            if start < end {
                let slot = self.slots.first_mut().ok_or(Error::EmptyWindow)?;
                slot.reference = self.root;
                slot.offset = 0;
                slot.len = span;
                #[cfg(feature = "recovery")]
                {
                    slot.up = Up::NONE;
                }
                copy_plain(&mut slot.data, chunk, self.root.key(), span as usize)?;
                slot.state = State::Ready;
                self.ring_head = 0;
                self.ring_len = 1;
            }
            self.next_leaf = end;
            self.known(span, start, end);
            return Ok(());
        }
        let (level, real) = decode_span(swarm_bmt::Span(span))?;
        if real <= LEAF_MAX {
            return Err(Error::MalformedSpan { span });
        }
        let branching = level.max_data_refs(encrypted);
        let max = redundancy::max_span(branching);
        if real > max {
            return Err(Error::SpanTooLarge { span: real, max });
        }
        let needed = redundancy::tree_levels(real, branching);
        if needed > self.levels.len() {
            return Err(Error::TreeTooDeep {
                levels: needed,
                max: self.levels.len(),
            });
        }
        let (start, end) = self.clip(real)?;
        self.level = level;
        self.branching = branching;
        self.depth = needed;
        self.start = start;
        self.end = end;
        let tree = self.tree();
        let lvl = self.levels.first_mut().ok_or(Error::TreeTooDeep {
            levels: needed,
            max: 0,
        })?;
        let frame = lvl.frames.first_mut().ok_or(Error::EmptyWindow)?;
        frame.reference = self.root;
        frame.offset = 0;
        frame.span = real;
        #[cfg(feature = "recovery")]
        {
            frame.pending = 0;
            frame.up = Up::NONE;
        }
        frame.fill(chunk, &tree, false)?;
        frame.state = State::Ready;
        lvl.head = 0;
        lvl.len = 1;
        self.next_leaf = start - start % LEAF_MAX;
        self.known(real, start, end);
        Ok(())
    }

    /// The requested range clipped to a file of `size` bytes.
    fn clip(&self, size: u64) -> Result<(u64, u64), Error> {
        let (start, end) = self.range.unwrap_or((0, size));
        if start > end || start > size {
            return Err(Error::RangeOutOfBounds { start, end, size });
        }
        Ok((start, end.min(size)))
    }

    fn known(&mut self, size: u64, start: u64, end: u64) {
        self.size = Some(size);
        self.start = start;
        self.end = end;
        self.read_pos = start;
        self.root_state = State::Ready;
        self.outstanding = self.outstanding.saturating_sub(1);
    }

    /// Whether some destination waits for `address`.
    fn is_wanted(&self, address: &ChunkAddress) -> bool {
        Matches::new(self, address).next(self, address).is_some()
    }

    /// Whether the sibling group being rebuilt waits for `address` (never without the
    /// `recovery` feature).
    fn group_waits_for(&self, address: &ChunkAddress) -> bool {
        #[cfg(feature = "recovery")]
        return self
            .rec
            .group
            .as_ref()
            .is_some_and(|g| g.waits_for(address));
        #[cfg(not(feature = "recovery"))]
        {
            let _ = address;
            false
        }
    }

    /// Hands over several delivered chunks at once: `results[i]` receives what
    /// [`Retrieval::handle_chunk`] would have returned for `chunks[i]`, handed over in order.
    /// The chunks are hashed together, eight side by side on the multi-lane path
    /// ([`VerifiedChunk::verify_batch`]), which is faster per chunk than one at a time.
    ///
    /// # Errors
    /// [`Error::Bmt`] ([`swarm_bmt::Error::BatchMismatch`]) if `results` and `chunks` differ
    /// in length (nothing is handed over then). Each chunk's own outcome is in `results`.
    pub fn handle_chunks(
        &mut self,
        chunks: &[(ChunkAddress, &[u8])],
        results: &mut [Result<(), Error>],
    ) -> Result<(), Error> {
        const GROUP: usize = 8;
        if chunks.len() != results.len() {
            return Err(swarm_bmt::Error::BatchMismatch {
                chunks: chunks.len(),
                addresses: results.len(),
            }
            .into());
        }
        for (group, results) in chunks.chunks(GROUP).zip(results.chunks_mut(GROUP)) {
            let mut verified = [Err(Error::UnexpectedChunk); GROUP];
            let verified = verified.get_mut(..group.len()).unwrap_or_default();
            VerifiedChunk::verify_batch(group, verified)?;
            for (((address, _), result), chunk) in group.iter().zip(results).zip(verified) {
                *result = self.take(address, || *chunk);
            }
        }
        Ok(())
    }

    /// Takes the chunk for `address`, verified by `verify` only if something waits for it.
    fn take<'c>(
        &mut self,
        address: &ChunkAddress,
        verify: impl FnOnce() -> Result<VerifiedChunk<'c>, Error>,
    ) -> Result<(), Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        #[cfg(feature = "recovery")]
        if self.rec.replica_out.as_ref() == Some(address) {
            return Err(Error::UnexpectedChunk);
        }
        #[cfg(feature = "recovery")]
        if !self.is_wanted(address) && self.drop_stale(address) {
            return Ok(());
        }
        let group = self.group_waits_for(address);
        // A chunk no node had is no longer outstanding: it comes back only rebuilt (or, for
        // the root, from a replica).
        #[cfg(feature = "recovery")]
        if !group
            && (self.is_lost(address)
                || (self.rec.replica_ids.is_some() && self.root.address() == address))
        {
            return Err(Error::UnexpectedChunk);
        }
        let result = if self.root_state == State::Pending && self.root.address() == address {
            verify().and_then(|c| self.deliver_root(&c))
        } else if !self.is_wanted(address) {
            if group {
                verify().and_then(|c| self.group_accept(&c))
            } else {
                Err(Error::UnexpectedChunk)
            }
        } else {
            verify().and_then(|c| {
                if group {
                    self.group_accept(&c)?;
                }
                self.deliver(address, &c)
            })
        };
        result.map_err(|e| self.settle(e))
    }

    /// Stores a verified chunk for every destination waiting for it: all or nothing.
    fn deliver(&mut self, address: &ChunkAddress, chunk: &VerifiedChunk<'_>) -> Result<(), Error> {
        let chunk = *chunk;
        let tree = self.tree();
        // Fill and check every destination, marking them filled; then all become ready, or,
        // if one failed, all go back to pending.
        let mut result = Ok(());
        // The destinations found, so the commit below need not search again (it does when
        // more identical chunks wait than this holds).
        let mut found = [None; 8];
        let mut n_found = 0;
        let mut m = Matches::new(self, address);
        while let Some(dest) = m.next(self, address) {
            if let Some(f) = found.get_mut(n_found) {
                *f = Some(dest);
            }
            n_found += 1;
            let filled = match dest {
                Dest::Slot(i) => self
                    .slots
                    .get_mut(i)
                    .map(|s| (s.fill(&chunk), &mut s.state)),
                Dest::Frame(d, k) => self
                    .levels
                    .get_mut(d)
                    .and_then(|l| l.frames.get_mut(k))
                    .map(|f| (f.fill(&chunk, &tree, true), &mut f.state)),
            };
            match filled {
                Some((Ok(()), state)) => *state = State::Filled,
                Some((Err(e), _)) => {
                    result = Err(e);
                    break;
                }
                None => {}
            }
        }
        let mut m = Matches::new(self, address);
        let mut committed = 0;
        let mut i = 0;
        loop {
            let dest = if n_found <= found.len() {
                let Some(Some(dest)) = found.get(i).copied() else {
                    break;
                };
                i += 1;
                dest
            } else {
                let Some(dest) = m.next(self, address) else {
                    break;
                };
                dest
            };
            let state = match dest {
                Dest::Slot(i) => self.slots.get_mut(i).map(|s| &mut s.state),
                Dest::Frame(d, k) => self
                    .levels
                    .get_mut(d)
                    .and_then(|l| l.frames.get_mut(k))
                    .map(|f| &mut f.state),
            };
            if let Some(state) = state.filter(|s| **s == State::Filled) {
                if result.is_ok() {
                    *state = State::Ready;
                    committed += 1;
                    #[cfg(feature = "recovery")]
                    self.release(dest);
                } else {
                    *state = State::Pending;
                }
            }
        }
        result?;
        if committed > 0 {
            self.prune(bucket(address));
        }
        self.outstanding = self.outstanding.saturating_sub(1);
        Ok(())
    }

    /// What to do when no node has `address`, which some destination waits for.
    ///
    /// Hook for recovery (the redundancy issue): a missing chunk of an erasure-coded tree can
    /// be rebuilt from its sibling group — the data and parity references of its parent, which
    /// [`Frame`] keeps (`refs` holds `n` data references then `p` parity references) — and
    /// accepted only if it hashes to `address`. Today the joiner has no parity reader, so a
    /// missing chunk is final.
    #[cfg(not(feature = "recovery"))]
    fn missing(&mut self, _address: &ChunkAddress) -> Result<(), Error> {
        Err(self.fail(Error::ChunkNotFound))
    }

    #[cfg(not(feature = "recovery"))]
    #[allow(clippy::unused_self)]
    fn group_accept(&mut self, _chunk: &VerifiedChunk<'_>) -> Result<(), Error> {
        Ok(())
    }

    /// Frames the deepest level of intermediate chunks may hold: the chunks whose leaves are
    /// outstanding (up to `⌈W/B⌉ + 1` of them) and as many again fetched ahead, so a new one
    /// is requested a whole window of leaves before it is needed and the leaf requests run on
    /// across chunk boundaries at any latency; at least [`FRAMES`], and at most what the
    /// levels the tree does not need add (see [`footprint`]).
    fn prefetch(&self) -> usize {
        let per_chunk = self.branching.max(1);
        let ahead = self.slots.len().div_ceil(per_chunk) + 1;
        (2 * ahead).max(FRAMES)
    }

    /// Creates the next destination, if any can be created now.
    fn hand_out(&mut self) -> Result<HandOut, Error> {
        let tree = self.tree();
        let ref_len = tree.ref_len();
        // Intermediate chunks first, top-down: they keep the leaf requests flowing.
        let depth = self.depth;
        let cap = self.prefetch();
        for d in 0..depth {
            if d + 1 == depth {
                // The deepest ring: its children are leaves; only free what is finished.
                let levels = self.levels.get_mut(d..).unwrap_or_default();
                Ring::new(levels, cap).pop_finished();
                continue;
            }
            let (upper, lower) = self.levels.split_at_mut(d + 1);
            let Some(level) = upper.last_mut() else {
                continue;
            };
            let mut ring = Ring::new(core::slice::from_mut(level), FRAMES);
            ring.pop_finished();
            let Some((_r, head)) = ring.ready_head() else {
                continue;
            };
            let i = head.next;
            let section = head.section(i);
            if section <= LEAF_MAX {
                continue;
            }
            let reference = head.child(i, ref_len)?;
            let offset = head.child_offset(i);
            // The deepest level of intermediate chunks also has the levels the tree does not
            // need: it prefetches that much further ahead.
            let lower = if d + 2 == depth {
                lower
            } else {
                lower.get_mut(..1).unwrap_or_default()
            };
            let lower_cap = if d + 2 == depth { cap } else { FRAMES };
            let mut next_ring = Ring::new(lower, lower_cap);
            if next_ring.levels.is_empty() {
                return Err(Error::TreeTooDeep {
                    levels: d + 2,
                    max: d + 1,
                });
            }
            let Some((at, frame)) = next_ring.push() else {
                continue;
            };
            let dest = Dest::Frame(d + 1 + at / FRAMES, at % FRAMES);
            frame.state = State::Pending;
            frame.reference = reference;
            frame.offset = offset;
            frame.span = section;
            #[cfg(feature = "recovery")]
            {
                frame.pending = 0;
                frame.up = Up::new(d, _r, i);
                head.pending += 1;
            }
            head.next += 1;
            return Ok(self.request_or_join(reference.address(), dest));
        }
        // Then the next leaf in file order, if a slot is free.
        if self.ring_len >= self.slots.len() {
            return Ok(HandOut::Idle);
        }
        for d in (0..depth).rev() {
            let Some(levels) = self.levels.get_mut(d..) else {
                continue;
            };
            let levels = if d + 1 == depth {
                levels
            } else {
                levels.get_mut(..1).unwrap_or_default()
            };
            let mut ring = Ring::new(levels, cap);
            let Some((r, head)) = ring.ready_head() else {
                continue;
            };
            // Storage coordinates of the parent: level `d + r / FRAMES`, frame `r % FRAMES`.
            let (_pd, _pk) = (d + r / FRAMES, r % FRAMES);
            let i = head.next;
            let section = head.section(i);
            let offset = head.child_offset(i);
            if section > LEAF_MAX || offset != self.next_leaf {
                continue;
            }
            let reference = head.child(i, ref_len)?;
            head.next += 1;
            #[cfg(feature = "recovery")]
            {
                head.pending += 1;
            }
            self.next_leaf = offset.saturating_add(section);
            let w = self.slots.len();
            let at = (self.ring_head + self.ring_len) % w;
            // A run of identical leaves (zeros): the previous leaf, if it arrived, is this one.
            let previous = (at + w - 1) % w;
            let twin = (self.ring_len > 0).then_some(previous).filter(|&p| {
                self.slots.get(p).is_some_and(|s| {
                    s.state == State::Ready && s.reference == reference && s.len == section
                })
            });
            self.ring_len += 1;
            let slot = self.slots.get_mut(at).ok_or(Error::EmptyWindow)?;
            slot.state = State::Pending;
            slot.reference = reference;
            slot.offset = offset;
            slot.len = section;
            #[cfg(feature = "recovery")]
            {
                slot.up = Up::new(_pd, _pk, i);
            }
            if let Some(from) = twin {
                // The same leaf already arrived and waits to be read: copy it.
                copy_slot_data(self.slots, from, at);
                if let Some(slot) = self.slots.get_mut(at) {
                    slot.state = State::Ready;
                }
                #[cfg(feature = "recovery")]
                self.release(Dest::Slot(at));
                return Ok(HandOut::Joined);
            }
            return Ok(self.request_or_join(reference.address(), Dest::Slot(at)));
        }
        Ok(HandOut::Idle)
    }

    /// Links a destination just made pending for `address` into its bucket, and says whether
    /// `address` must be requested or is already outstanding.
    fn request_or_join(&mut self, address: &ChunkAddress, dest: Dest) -> HandOut {
        let b = bucket(address);
        let id = self.dest_id(dest);
        let head = self.buckets.get(b).copied().unwrap_or(NIL);
        if let Some(link) = self.link_mut(dest) {
            *link = head;
            if let Some(h) = self.buckets.get_mut(b) {
                *h = id;
            }
        }
        #[cfg(feature = "recovery")]
        if self.rec.group.as_mut().is_some_and(|g| g.share(address)) || self.drop_stale(address) {
            // A recovery request for this chunk is out: it now serves the destination.
            self.outstanding += 1;
            return HandOut::Joined;
        }
        if head != NIL {
            let mut m = Matches::new(self, address);
            if m.next(self, address).is_some() && m.next(self, address).is_some() {
                return HandOut::Joined;
            }
        }
        HandOut::Request(*address)
    }

    /// A destination as a list index plus one (0 is [`NIL`]): slots first, then the frames
    /// level by level.
    fn dest_id(&self, dest: Dest) -> u32 {
        let id = match dest {
            Dest::Slot(i) => i,
            Dest::Frame(d, k) => self.slots.len() + d * FRAMES + k,
        };
        id.checked_add(1)
            .and_then(|id| u32::try_from(id).ok())
            .unwrap_or(NIL)
    }

    fn dest_of(&self, id: u32) -> Option<Dest> {
        let id = usize::try_from(id).ok()?.checked_sub(1)?;
        let w = self.slots.len();
        if id < w {
            return Some(Dest::Slot(id));
        }
        let f = id - w;
        Some(Dest::Frame(f / FRAMES, f % FRAMES))
    }

    fn link_mut(&mut self, dest: Dest) -> Option<&mut u32> {
        match dest {
            Dest::Slot(i) => self.slots.get_mut(i).map(|s| &mut s.link),
            Dest::Frame(d, k) => self
                .levels
                .get_mut(d)
                .and_then(|l| l.frames.get_mut(k))
                .map(|f| &mut f.link),
        }
    }

    /// A destination's state, reference and link.
    fn dest_view(&self, dest: Dest) -> Option<(State, &Reference, u32)> {
        match dest {
            Dest::Slot(i) => self.slots.get(i).map(|s| (s.state, &s.reference, s.link)),
            Dest::Frame(d, k) => self
                .levels
                .get(d)
                .and_then(|l| l.frames.get(k))
                .map(|f| (f.state, &f.reference, f.link)),
        }
    }

    /// Unlinks from bucket `b` every destination no longer waiting (delivered).
    fn prune(&mut self, b: usize) {
        let mut prev: Option<Dest> = None;
        let mut id = self.buckets.get(b).copied().unwrap_or(NIL);
        // At most one visit per destination.
        for _ in 0..=self.slots.len() + FRAMES * self.levels.len() {
            let Some(dest) = self.dest_of(id) else {
                return;
            };
            let Some((state, _, next)) = self.dest_view(dest) else {
                return;
            };
            if matches!(state, State::Pending | State::Filled) {
                prev = Some(dest);
            } else {
                let at = match prev {
                    Some(p) => self.link_mut(p),
                    None => self.buckets.get_mut(b),
                };
                if let Some(at) = at {
                    *at = next;
                }
            }
            id = next;
        }
    }
}

impl Retrieval for Joiner<'_> {
    /// The next chunk to fetch: the root first, then intermediate chunks ahead of the leaves
    /// that need them and leaves in file order, while fewer than [`Joiner::window`] distinct
    /// addresses are outstanding and a slot is free. Poll again after every
    /// [`handle_chunk`](Retrieval::handle_chunk) and [`read`](Retrieval::read).
    fn poll_request(&mut self) -> Option<ChunkAddress> {
        if self.failed.is_some() {
            return None;
        }
        match self.root_state {
            State::Free => {
                self.root_state = State::Pending;
                self.outstanding = 1;
                return Some(*self.root.address());
            }
            #[cfg(feature = "recovery")]
            State::Pending => return self.poll_replica(),
            #[cfg(not(feature = "recovery"))]
            State::Pending => return None,
            State::Filled => return None,
            State::Ready => {}
        }
        #[cfg(feature = "recovery")]
        match self.poll_group() {
            Ok(Some(address)) => return Some(address),
            Ok(None) => {}
            Err(e) => {
                self.fail(e);
                return None;
            }
        }
        // Each pass creates one destination; joined ones need no request, so try again (at
        // most one pass per slot and tree frame).
        for _ in 0..=self.slots.len() + (FRAMES + 1) * self.levels.len() {
            if self.outstanding >= self.slots.len() {
                return None;
            }
            match self.hand_out() {
                Ok(HandOut::Request(address)) => {
                    self.outstanding += 1;
                    return Some(address);
                }
                Ok(HandOut::Joined) => {}
                Ok(HandOut::Idle) => return None,
                Err(e) => {
                    self.fail(e);
                    return None;
                }
            }
        }
        None
    }

    /// Verifies `data` as the chunk at `address` (decrypting it in encrypted trees), checks
    /// it against the tree and stores it for every destination waiting for it.
    ///
    /// # Errors
    /// Peer faults, after which nothing changed (ask another node): [`Error::AddressMismatch`],
    /// [`Error::ChunkLength`], [`Error::Truncated`], [`Error::UnexpectedChunk`]. Final errors
    /// (the tree is malformed or too large for this joiner): [`Error::SpanMismatch`],
    /// [`Error::LevelMismatch`], [`Error::TrailingBytes`], [`Error::RedundancyLevel`],
    /// [`Error::MalformedSpan`], [`Error::SpanTooLarge`], [`Error::TreeTooDeep`],
    /// [`Error::RangeOutOfBounds`].
    fn handle_chunk(&mut self, address: &ChunkAddress, data: &[u8]) -> Result<(), Error> {
        #[cfg(feature = "recovery")]
        if self.failed.is_none() && self.rec.replica_out.as_ref() == Some(address) {
            return self.take_replica(address, data);
        }
        self.take(address, || VerifiedChunk::verify(address, data))
    }

    /// Final for a file: [`Error::ChunkNotFound`] (recovery from parity is the redundancy
    /// issue's). [`Error::UnexpectedChunk`] if nothing waits for `address`.
    fn handle_not_found(&mut self, address: &ChunkAddress) -> Result<(), Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let root = self.root_state == State::Pending && self.root.address() == address;
        #[cfg(feature = "recovery")]
        let root = root && self.rec.replica_ids.is_none();
        let other = self.group_waits_for(address);
        #[cfg(feature = "recovery")]
        let other = other || self.rec.replica_out.as_ref() == Some(address);
        #[cfg(feature = "recovery")]
        if !root && !other && self.is_lost(address) {
            return Err(Error::UnexpectedChunk);
        }
        if !root && !other && !self.is_wanted(address) {
            #[cfg(feature = "recovery")]
            if self.drop_stale(address) {
                return Ok(());
            }
            return Err(Error::UnexpectedChunk);
        }
        self.missing(address)
    }

    /// As [`handle_not_found`](Retrieval::handle_not_found): a chunk no node served verified
    /// is rebuilt from parity (feature `recovery`) exactly like one no node has; without
    /// `recovery`, or when its group cannot be rebuilt, [`Error::ChunkNotFound`] is final and
    /// [`Joiner::unrecoverable`] names the chunk.
    fn handle_unavailable(&mut self, address: &ChunkAddress) -> Result<(), Error> {
        self.handle_not_found(address)
    }

    #[cfg(feature = "recovery")]
    fn unrecoverable(&self) -> Option<ChunkAddress> {
        Joiner::unrecoverable(self)
    }

    /// Copies verified content, in file order from the range's start, into `buf`.
    /// `Ok(0)` with `buf` non-empty and [`is_finished`](Retrieval::is_finished) false means
    /// "deliver more chunks first".
    ///
    /// # Errors
    /// The final error that stopped the joiner.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let w = self.slots.len();
        let mut n = 0;
        while n < buf.len() && self.ring_len > 0 && self.read_pos < self.end {
            let Some(slot) = self.slots.get_mut(self.ring_head) else {
                break;
            };
            if slot.state != State::Ready {
                break;
            }
            let leaf_end = slot.offset.saturating_add(slot.len).min(self.end);
            let from = self.read_pos.saturating_sub(slot.offset);
            let avail = leaf_end.saturating_sub(self.read_pos);
            let room = (buf.len() - n) as u64;
            let take = avail.min(room) as usize;
            let src = slot
                .data
                .get(from as usize..from as usize + take)
                .unwrap_or_default();
            if let Some(dst) = buf.get_mut(n..n + src.len()) {
                dst.copy_from_slice(src);
            }
            n += src.len();
            self.read_pos += src.len() as u64;
            if self.read_pos >= leaf_end || src.len() < take {
                slot.state = State::Free;
                self.ring_head = (self.ring_head + 1) % w;
                self.ring_len -= 1;
            }
        }
        Ok(n)
    }

    fn is_finished(&self) -> bool {
        self.failed.is_none() && self.root_state == State::Ready && self.read_pos >= self.end
    }
}

impl<const W: usize, const L: usize> Buffers<W, L> {
    /// Empty buffers (usable in a `static`).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            slots: [const { Slot::EMPTY }; W],
            levels: [const { TreeLevel::EMPTY }; L],
        }
    }

    /// A joiner for `root` (and `range`, as in [`Joiner::new`]) working in these buffers.
    ///
    /// # Errors
    /// [`Error::EmptyWindow`] if `W` is 0.
    pub fn joiner(
        &mut self,
        root: Reference,
        range: Option<(u64, u64)>,
    ) -> Result<Joiner<'_>, Error> {
        Joiner::new(root, range, &mut self.slots, &mut self.levels)
    }
}

impl<const W: usize, const L: usize> Default for Buffers<W, L> {
    fn default() -> Self {
        Self::new()
    }
}

impl Slot {
    /// A free slot, for building the slots a joiner is lent (`[Slot::EMPTY; W]`,
    /// `vec![Slot::EMPTY; w]`).
    pub const EMPTY: Self = Self {
        state: State::Free,
        reference: NO_REFERENCE,
        offset: 0,
        len: 0,
        link: NIL,
        #[cfg(feature = "recovery")]
        up: Up::NONE,
        data: [0; MAX_PAYLOAD_LEN],
    };

    /// Checks a verified chunk as this leaf and copies its content in (still pending).
    fn fill(&mut self, chunk: &VerifiedChunk<'_>) -> Result<(), Error> {
        let key = self.reference.key();
        let (span, payload) = plain_view(chunk, key)?;
        if span != self.len {
            return Err(Error::SpanMismatch {
                span: decode_span(swarm_bmt::Span(span)).map_or(span, |(_, s)| s),
                expected: self.len,
            });
        }
        if (payload.len() as u64) < span {
            return Err(Error::Truncated {
                len: payload.len(),
                expected: span as usize,
            });
        }
        copy_plain(&mut self.data, chunk, key, span as usize)
    }
}

impl Default for Slot {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl TreeLevel {
    /// An empty level, for building the levels a joiner is lent.
    pub const EMPTY: Self = Self {
        frames: [Frame::EMPTY; FRAMES],
        head: 0,
        len: 0,
    };

    fn clear(&mut self) {
        for f in &mut self.frames {
            f.state = State::Free;
        }
        self.head = 0;
        self.len = 0;
    }
}

/// The frames of one depth of the tree as one ring: the [`TreeLevel`]s lent for that depth
/// (one; for the deepest level of intermediate chunks, every level the tree does not need),
/// whose position and length live in the first of them. Ring position `r` is frame
/// `r % FRAMES` of level `r / FRAMES` of the slice.
struct Ring<'a> {
    levels: &'a mut [TreeLevel],
    /// Frames in use at most (at most `levels.len() * FRAMES`).
    cap: usize,
}

impl<'a> Ring<'a> {
    fn new(levels: &'a mut [TreeLevel], cap: usize) -> Self {
        let cap = cap.clamp(1, levels.len() * FRAMES);
        Self { levels, cap }
    }

    fn size(&self) -> usize {
        self.levels.len() * FRAMES
    }

    fn head(&self) -> (usize, usize) {
        self.levels.first().map_or((0, 0), |l| (l.head, l.len))
    }

    fn set_head(&mut self, head: usize, len: usize) {
        if let Some(l) = self.levels.first_mut() {
            l.head = head;
            l.len = len;
        }
    }

    fn frame(&self, r: usize) -> Option<&Frame> {
        self.levels.get(r / FRAMES)?.frames.get(r % FRAMES)
    }

    fn frame_mut(&mut self, r: usize) -> Option<&mut Frame> {
        self.levels.get_mut(r / FRAMES)?.frames.get_mut(r % FRAMES)
    }

    /// Drops the oldest frame while every child of it has been handed out (and, with
    /// `recovery`, has arrived).
    fn pop_finished(&mut self) {
        let size = self.size();
        let (mut head, mut len) = self.head();
        while len > 0 {
            let Some(f) = self.frame_mut(head) else {
                break;
            };
            if f.state != State::Ready || f.next < f.end {
                break;
            }
            #[cfg(feature = "recovery")]
            if f.pending > 0 {
                break;
            }
            f.state = State::Free;
            head = (head + 1) % size;
            len -= 1;
        }
        self.set_head(head, len);
    }

    /// The first chunk in order that still has children to hand out, with its ring position,
    /// if it has arrived.
    fn ready_head(&mut self) -> Option<(usize, &mut Frame)> {
        let size = self.size();
        let (head, len) = self.head();
        let mut at = None;
        for i in 0..len {
            let r = (head + i) % size;
            let f = self.frame(r)?;
            if f.state == State::Ready && f.next >= f.end {
                continue;
            }
            if f.state == State::Ready {
                at = Some(r);
            }
            break;
        }
        let r = at?;
        self.frame_mut(r).map(|f| (r, f))
    }

    /// Appends a frame after the last one (for the next chunk of this depth), if one is free.
    fn push(&mut self) -> Option<(usize, &mut Frame)> {
        let (head, len) = self.head();
        if len >= self.cap {
            return None;
        }
        let at = (head + len) % self.size();
        self.set_head(head, len + 1);
        self.frame_mut(at).map(|f| (at, f))
    }
}

impl Default for TreeLevel {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// An intermediate chunk on the walk.
#[derive(Clone)]
struct Frame {
    state: State,
    reference: Reference,
    /// The next destination of the same bucket.
    link: u32,
    /// File offset of the subtree's first byte.
    offset: u64,
    /// The subtree's span (level-decoded).
    span: u64,
    /// Section size of every child but the last.
    child_size: u64,
    /// Data references.
    n: usize,
    /// Parity references (kept after the data references, for recovery).
    p: usize,
    /// Next child to hand out, and one past the last child inside the range.
    next: usize,
    end: usize,
    /// Children handed out and not yet arrived.
    #[cfg(feature = "recovery")]
    pending: usize,
    #[cfg(feature = "recovery")]
    up: Up,
    /// `n` data references, then `p` parity references of 32 bytes.
    refs: [u8; MAX_PAYLOAD_LEN],
}

impl Frame {
    const EMPTY: Self = Self {
        state: State::Free,
        reference: NO_REFERENCE,
        link: NIL,
        offset: 0,
        span: 0,
        child_size: 0,
        n: 0,
        p: 0,
        next: 0,
        end: 0,
        #[cfg(feature = "recovery")]
        pending: 0,
        #[cfg(feature = "recovery")]
        up: Up::NONE,
        refs: [0; MAX_PAYLOAD_LEN],
    };

    /// Checks a verified chunk as this intermediate chunk (of span `self.span` when
    /// `check_span`) and takes in its references (still pending).
    fn fill(
        &mut self,
        chunk: &VerifiedChunk<'_>,
        tree: &Tree,
        check_span: bool,
    ) -> Result<(), Error> {
        let key = self.reference.key();
        let (raw, payload) = plain_view(chunk, key)?;
        let (level, span) = decode_span(swarm_bmt::Span(raw))?;
        if check_span && span != self.span {
            return Err(Error::SpanMismatch {
                span,
                expected: self.span,
            });
        }
        if span <= LEAF_MAX || raw <= LEAF_MAX {
            return Err(Error::MalformedSpan { span: raw });
        }
        if level != tree.level {
            return Err(Error::LevelMismatch {
                level: level.as_u8(),
                expected: tree.level.as_u8(),
            });
        }
        let child_size = redundancy::child_size(span, tree.branching);
        let n = span.div_ceil(child_size) as usize;
        let p = level.parities(n, tree.encrypted);
        let data_len = n * tree.ref_len();
        let need = data_len + p * SEGMENT_SIZE;
        if payload.len() < need {
            return Err(Error::Truncated {
                len: payload.len(),
                expected: need,
            });
        }
        if key.is_none() {
            if let Some(pos) = payload
                .get(need..)
                .and_then(|rest| rest.iter().position(|&b| b != 0))
            {
                return Err(Error::TrailingBytes { offset: need + pos });
            }
        }
        copy_plain(&mut self.refs, chunk, key, need)?;
        self.child_size = child_size;
        self.n = n;
        self.p = p;
        // Children inside the range: those overlapping start..end (none for an empty range).
        let rel_start = tree.start.saturating_sub(self.offset);
        let rel_end = tree.end.saturating_sub(self.offset).min(span);
        if rel_start < rel_end {
            self.next = (rel_start / child_size) as usize;
            self.end = (rel_end.div_ceil(child_size) as usize).min(n);
        } else {
            (self.next, self.end) = (0, 0);
        }
        Ok(())
    }

    /// Bytes under child `i`: `child_size`, or what is left for the last child.
    fn section(&self, i: usize) -> u64 {
        if i + 1 < self.n {
            self.child_size
        } else {
            let before = self.child_size.saturating_mul(i as u64);
            self.span.saturating_sub(before)
        }
    }

    fn child_offset(&self, i: usize) -> u64 {
        self.offset
            .saturating_add(self.child_size.saturating_mul(i as u64))
    }

    fn child(&self, i: usize, ref_len: usize) -> Result<Reference, Error> {
        let at = i * ref_len;
        let bytes = self.refs.get(at..at + ref_len).ok_or(Error::Truncated {
            len: at,
            expected: at + ref_len,
        })?;
        Ok(Reference::from_slice(bytes)?)
    }

    /// The parity references of this chunk (32 bytes each), for recovery.
    #[cfg(feature = "recovery")]
    fn parity_refs(&self) -> &[u8] {
        let data = self.n
            * if self.reference.is_encrypted() {
                64
            } else {
                32
            };
        self.refs
            .get(data..data + self.p * SEGMENT_SIZE)
            .unwrap_or_default()
    }
}

/// What the tree's root fixed for every chunk below it.
#[derive(Clone, Copy)]
struct Tree {
    encrypted: bool,
    level: Level,
    branching: usize,
    start: u64,
    end: u64,
}

impl Tree {
    const fn ref_len(&self) -> usize {
        if self.encrypted {
            64
        } else {
            32
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// Unused.
    Free,
    /// Requested (or joined to a request), waiting for the chunk.
    Pending,
    /// Holds the delivered chunk, not yet committed (inside `deliver` only).
    Filled,
    /// Holds a delivered, verified chunk.
    Ready,
}

/// A destination of a chunk: a leaf slot, or frame `k` of tree level `d`.
#[derive(Clone, Copy)]
enum Dest {
    Slot(usize),
    Frame(usize, usize),
}

/// Walks the destinations waiting for chunks in one address bucket (its linked list),
/// yielding those waiting for one address.
struct Matches {
    id: u32,
    steps: usize,
}

impl Matches {
    fn new(j: &Joiner<'_>, address: &ChunkAddress) -> Self {
        Self {
            id: j.buckets.get(bucket(address)).copied().unwrap_or(NIL),
            steps: 0,
        }
    }

    fn next(&mut self, j: &Joiner<'_>, address: &ChunkAddress) -> Option<Dest> {
        // At most one visit per destination.
        let max = j.slots.len() + FRAMES * j.levels.len();
        while self.steps <= max {
            self.steps += 1;
            let dest = j.dest_of(self.id)?;
            let (state, r, next) = j.dest_view(dest)?;
            self.id = next;
            if matches!(state, State::Pending | State::Filled) && r.address() == address {
                return Some(dest);
            }
        }
        None
    }
}

/// The end of a bucket's list. Zero, so that the constant templates of `Slot` and `TreeLevel`
/// (about 4 KiB each) are all-zero and stay out of the binary (deboot.efi's size bar).
const NIL: u32 = 0;

fn bucket(address: &ChunkAddress) -> usize {
    usize::from(address.0[0])
}

enum HandOut {
    /// A destination was created for an address not yet outstanding: request it.
    Request(ChunkAddress),
    /// A destination was created and will be served by an outstanding request or a stored
    /// twin.
    Joined,
    /// Nothing can be requested now.
    Idle,
}

const LEAF_MAX: u64 = MAX_PAYLOAD_LEN as u64;
const NO_REFERENCE: Reference = Reference::plain(ChunkAddress([0; 32]));

/// The plaintext span of a verified chunk and its stored payload; for an encrypted chunk
/// (`key` given) the span is decrypted and the payload must be exactly 4096 bytes.
fn plain_view<'c>(
    chunk: &VerifiedChunk<'c>,
    key: Option<&[u8; 32]>,
) -> Result<(u64, &'c [u8]), Error> {
    let payload = chunk.payload();
    match key {
        None => Ok((chunk.span().get(), payload)),
        Some(key) => {
            if payload.len() != MAX_PAYLOAD_LEN {
                return Err(Error::Truncated {
                    len: payload.len(),
                    expected: MAX_PAYLOAD_LEN,
                });
            }
            Ok((decrypt_span(key, chunk.span()).get(), payload))
        }
    }
}

/// Copies (decrypting with `key`) the first `len` payload bytes of `chunk` into `out`.
fn copy_plain(
    out: &mut [u8; MAX_PAYLOAD_LEN],
    chunk: &VerifiedChunk<'_>,
    key: Option<&[u8; 32]>,
    len: usize,
) -> Result<(), Error> {
    let src = chunk.payload().get(..len).ok_or(Error::Truncated {
        len: chunk.payload().len(),
        expected: len,
    })?;
    match key {
        Some(key) => keystream_xor_into(key, 0, src, out),
        None => {
            let dst = out.get_mut(..len).ok_or(Error::Truncated {
                len: MAX_PAYLOAD_LEN,
                expected: len,
            })?;
            dst.copy_from_slice(src);
            Ok(())
        }
    }
}

fn copy_slot_data(slots: &mut [Slot], from: usize, to: usize) {
    if from == to {
        return;
    }
    let (lo, hi) = (from.min(to), from.max(to));
    let (left, right) = slots.split_at_mut(hi);
    let (Some(a), Some(b)) = (left.get_mut(lo), right.first_mut()) else {
        return;
    };
    let (src, dst) = if from < to { (a, b) } else { (b, a) };
    let len = (src.len as usize).min(MAX_PAYLOAD_LEN);
    if let (Some(s), Some(d)) = (src.data.get(..len), dst.data.get_mut(..len)) {
        d.copy_from_slice(s);
    }
}

#[cfg(feature = "recovery")]
impl Joiner<'_> {
    /// Chunks rebuilt from parity so far (a root taken from a replica counts too).
    #[must_use]
    pub const fn recovered(&self) -> u64 {
        self.rec.recovered
    }

    /// The chunk that could not be had nor rebuilt, once the joiner failed with
    /// [`Error::ChunkNotFound`]: the data chunk (or the root) the file needs.
    #[must_use]
    pub const fn unrecoverable(&self) -> Option<ChunkAddress> {
        self.rec.unrecoverable
    }

    /// Forgets one unanswered request of a finished group; whether there was one.
    fn drop_stale(&mut self, address: &ChunkAddress) -> bool {
        match self.rec.stale.iter().position(|a| a == address) {
            Some(i) => {
                self.rec.stale.swap_remove(i);
                true
            }
            None => false,
        }
    }

    fn give_up(&mut self, address: ChunkAddress) -> Error {
        self.rec.unrecoverable = Some(address);
        self.fail(Error::ChunkNotFound)
    }

    /// The link of a destination to its parent.
    fn up_mut(&mut self, dest: Dest) -> Option<&mut Up> {
        match dest {
            Dest::Slot(i) => self.slots.get_mut(i).map(|s| &mut s.up),
            Dest::Frame(d, k) => self
                .levels
                .get_mut(d)
                .and_then(|l| l.frames.get_mut(k))
                .map(|f| &mut f.up),
        }
    }

    /// A child of a frame arrived: the frame waits for one fewer.
    fn release(&mut self, dest: Dest) {
        let Some(up) = self.up_mut(dest) else {
            return;
        };
        let parent = up.parent();
        *up = Up::NONE;
        let Some((d, k)) = parent else {
            return;
        };
        if let Some(f) = self.levels.get_mut(d).and_then(|l| l.frames.get_mut(k)) {
            f.pending = f.pending.saturating_sub(1);
        }
    }

    /// No node has `address`.
    fn missing(&mut self, address: &ChunkAddress) -> Result<(), Error> {
        if self.root_state == State::Pending && self.root.address() == address {
            // The root: try its dispersed replicas.
            if self.rec.replica_ids.is_none() {
                self.rec.replica_ids = Some(crate::recovery::replica_ids(address));
            }
            return Ok(());
        }
        if self.rec.replica_out.as_ref() == Some(address) {
            self.rec.replica_out = None;
            if self.rec.replica_next >= crate::recovery::MAX_REPLICAS {
                return Err(self.give_up(*self.root.address()));
            }
            return Ok(());
        }
        if let Some(g) = self.rec.group.as_mut() {
            g.mark_missing(address);
        }
        let mut m = Matches::new(self, address);
        while let Some(dest) = m.next(self, address) {
            self.rec.lost = true;
            if let Some(up) = self.up_mut(dest) {
                up.lost = true;
                if up.parent().is_none() {
                    return Err(self.give_up(*address));
                }
            }
        }
        self.check_group()?;
        // Start rebuilding now, so that a file that cannot be rebuilt fails on this call.
        self.start_group()
    }

    /// Fails if the group being rebuilt lost more shards than it has parities.
    fn check_group(&mut self) -> Result<(), Error> {
        let Some(g) = self.rec.group.as_ref() else {
            return Ok(());
        };
        if g.viable() {
            return Ok(());
        }
        // Name the first data chunk the file needs that cannot be rebuilt.
        let lost = g
            .addrs
            .iter()
            .zip(&g.state)
            .take(g.n)
            .find(|(a, s)| **s == crate::recovery::Shard::Missing && self.is_wanted(a))
            .or_else(|| {
                g.addrs
                    .iter()
                    .zip(&g.state)
                    .find(|(_, s)| **s == crate::recovery::Shard::Missing)
            })
            .map(|(a, _)| *a);
        let lost = lost.unwrap_or(*self.root.address());
        Err(self.give_up(lost))
    }

    /// The next replica of the root to ask for, once the root itself was not found.
    fn poll_replica(&mut self) -> Option<ChunkAddress> {
        let ids = self.rec.replica_ids?;
        if self.rec.replica_out.is_some() {
            return None;
        }
        let byte0 = *ids.get(self.rec.replica_next)?;
        self.rec.replica_next += 1;
        let mut id = self.root.address().0;
        if let Some(b) = id.first_mut() {
            *b = byte0;
        }
        let address = crate::soc::soc_address(&id, &crate::soc::REPLICAS_OWNER);
        self.rec.replica_out = Some(address);
        Some(address)
    }

    /// A replica of the root: a SOC of [`REPLICAS_OWNER`](crate::soc::REPLICAS_OWNER) that
    /// wraps the root chunk (zero-padded) at the root's address.
    fn take_replica(&mut self, address: &ChunkAddress, data: &[u8]) -> Result<(), Error> {
        let soc = crate::soc::Soc::verify(address, data)?;
        if *soc.owner() != crate::soc::REPLICAS_OWNER {
            return Err(Error::WrongOwner);
        }
        if soc.wrapped_address() != self.root.address() {
            return Err(Error::AddressMismatch);
        }
        let wrapped = data
            .get(crate::soc::MIN_SOC_LEN - 8..)
            .ok_or(Error::SocLength { len: data.len() })?;
        let chunk = VerifiedChunk::verify(self.root.address(), wrapped)?;
        self.rec.replica_out = None;
        self.deliver_root(&chunk).map_err(|e| self.settle(e))?;
        self.rec.recovered += 1;
        Ok(())
    }

    /// Where every pending destination (ring slot, then level frame) hangs in the tree.
    fn pending_ups(&self) -> impl Iterator<Item = Up> + '_ {
        let w = self.slots.len();
        (0..self.ring_len)
            .filter_map(move |i| self.slots.get((self.ring_head + i) % w))
            .filter(|s| s.state == State::Pending)
            .map(|s| s.up)
            .chain(
                self.levels
                    .iter()
                    .flat_map(|l| l.frames.iter())
                    .filter(|f| f.state == State::Pending)
                    .map(|f| f.up),
            )
    }

    /// A destination that no node had, if any.
    fn first_lost(&self) -> Option<Up> {
        self.pending_ups().find(|u| u.lost)
    }

    /// Whether a destination waiting for `address` was not found.
    fn is_lost(&self, address: &ChunkAddress) -> bool {
        if !self.rec.lost {
            return false;
        }
        let mut m = Matches::new(self, address);
        while let Some(dest) = m.next(self, address) {
            let up = match dest {
                Dest::Slot(i) => self.slots.get(i).map(|s| s.up),
                Dest::Frame(d, k) => self
                    .levels
                    .get(d)
                    .and_then(|l| l.frames.get(k))
                    .map(|f| f.up),
            };
            if up.is_some_and(|u| u.lost) {
                return true;
            }
        }
        false
    }

    /// Starts rebuilding the sibling group of a lost destination, if none is being rebuilt.
    fn start_group(&mut self) -> Result<(), Error> {
        use crate::recovery::{Group, Shard};
        if self.rec.group.is_some() || !self.rec.lost {
            return Ok(());
        }
        let up = loop {
            let Some(up) = self.first_lost() else {
                self.rec.lost = false;
                return Ok(());
            };
            if !self.serve_from_solved(up)? {
                break up;
            }
        };
        // One group in memory at a time.
        self.rec.solved = None;
        let Some((d, k)) = up.parent() else {
            return Ok(());
        };
        let ref_len = self.tree().ref_len();
        let frame = self
            .levels
            .get(d)
            .and_then(|l| l.frames.get(k))
            .ok_or(Error::ChunkNotFound)?;
        let mut addrs = alloc::vec::Vec::with_capacity(frame.n + frame.p);
        for i in 0..frame.n {
            addrs.push(*frame.child(i, ref_len)?.address());
        }
        for p in frame.parity_refs().chunks_exact(SEGMENT_SIZE) {
            addrs.push(ChunkAddress::from_slice(p)?);
        }
        let lost_address = *frame.child(usize::from(up.index), ref_len)?.address();
        if frame.p == 0 {
            return Err(self.give_up(lost_address));
        }
        let mut group = Group::new(frame.n, addrs);
        // Every lost child of that frame is a missing shard.
        let lost = self
            .pending_ups()
            .filter(|u| u.lost && u.parent() == Some((d, k)));
        for u in lost {
            if let Some(s) = group.state.get_mut(usize::from(u.index)) {
                *s = Shard::Missing;
            }
        }
        self.rec.group = Some(alloc::boxed::Box::new(group));
        self.check_group()
    }

    /// The next shard the group being rebuilt asks for.
    fn poll_group(&mut self) -> Result<Option<ChunkAddress>, Error> {
        use crate::recovery::Shard;
        self.start_group()?;
        let Some(mut g) = self.rec.group.take() else {
            return Ok(None);
        };
        let mut out = None;
        while g.in_flight < self.slots.len() && g.shortfall() > 0 {
            let Some(i) = g.state.iter().position(|s| *s == Shard::Unasked) else {
                break;
            };
            let Some(address) = g.addrs.get(i).copied() else {
                break;
            };
            let twin = g
                .addrs
                .iter()
                .zip(&g.state)
                .find(|(a, _)| **a == address)
                .map(|(_, s)| *s)
                .filter(|s| *s != Shard::Unasked);
            let state = if let Some(s) = twin {
                s
            } else if self.is_lost(&address) {
                Shard::Missing
            } else if self.is_wanted(&address) {
                Shard::Joined
            } else if self.drop_stale(&address) {
                // A finished group's request for it is still out: it serves this one.
                g.in_flight += 1;
                Shard::Asked
            } else {
                out = Some(address);
                Shard::Asked
            };
            if let Some(s) = g.state.get_mut(i) {
                *s = state;
            }
            if out.is_some() {
                g.in_flight += 1;
                break;
            }
        }
        self.rec.group = Some(g);
        self.check_group()?;
        Ok(out)
    }

    /// A verified chunk the group being rebuilt waits for; rebuilds once it has `n` shards.
    fn group_accept(&mut self, chunk: &VerifiedChunk<'_>) -> Result<(), Error> {
        let Some(g) = self.rec.group.as_mut() else {
            return Ok(());
        };
        g.accept(chunk)?;
        if !g.complete() {
            return Ok(());
        }
        let Some(mut g) = self.rec.group.take() else {
            return Ok(());
        };
        self.rec.stale.extend(g.asked().copied());
        let codec = self.rec.codec.get_or_insert_with(Default::default);
        if let Err(e) = g.reconstruct(codec) {
            return Err(self.fail(e));
        }
        for (i, (address, state)) in g.addrs.iter().zip(&g.state).enumerate().take(g.n) {
            if *state == crate::recovery::Shard::Have || !self.is_lost(address) {
                continue;
            }
            let bytes = g.shard(i);
            // Accepted only if it hashes to the reference that names it.
            let Ok(rebuilt) = VerifiedChunk::verify(address, bytes) else {
                return Err(self.give_up(*address));
            };
            if let Err(e) = self.deliver(address, &rebuilt) {
                return Err(self.fail(e));
            }
            self.rec.recovered += 1;
        }
        self.rec.solved = Some(g);
        // The next lost chunk's group, if any (errors surface on this call).
        self.start_group()
    }

    /// Serves the lost destination `up` from the last group rebuilt, if that group holds its
    /// chunk (verified against its address again); whether it did.
    fn serve_from_solved(&mut self, up: Up) -> Result<bool, Error> {
        let Some(g) = self.rec.solved.take() else {
            return Ok(false);
        };
        let address = up.parent().and_then(|(d, k)| {
            let f = self.levels.get(d)?.frames.get(k)?;
            f.child(usize::from(up.index), self.tree().ref_len()).ok()
        });
        let found = address.and_then(|r| {
            let address = *r.address();
            let i = g.addrs.iter().take(g.n).position(|a| *a == address)?;
            Some((address, i))
        });
        let mut served = false;
        if let Some((address, i)) = found {
            if let Ok(chunk) = VerifiedChunk::verify(&address, g.shard(i)) {
                if let Err(e) = self.deliver(&address, &chunk) {
                    return Err(self.fail(e));
                }
                self.rec.recovered += 1;
                served = true;
            }
        }
        self.rec.solved = Some(g);
        Ok(served)
    }
}
