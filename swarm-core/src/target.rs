//! What a device fetches, as one string, and the sans-IO machine that fetches it.
//!
//! ```text
//! bzz://<ref>[/<path>]              a file in a manifest (Bee's /bzz/<ref>/<path>)
//! bytes://<ref>                     a file by its reference (Bee's /bytes/<ref>)
//! feed://<owner>/<topic>[/<path>]   the newest update of a feed: its file, or with a path
//!                                   a file in the manifest it points at
//! ```
//!
//! `<ref>` is 64 or 128 hex digits (plain or encrypted reference), `<owner>` 40 hex digits,
//! `<topic>` 64 hex digits (the topic hash, as Bee's `/feeds` API takes it; tools may hash a
//! name with [`Topic::from_name`]). Hex is read in either case. `<path>` is taken byte for
//! byte after `%XX` escapes are decoded; `bzz://<ref>` and `bzz://<ref>/` both ask for the
//! index document.
//!
//! [`Resolver`] composes the machines: the feed lookup (verified against the pinned owner,
//! never below the caller's anti-rollback minimum), the manifest lookup (each node joined and
//! verified by a [`Joiner`] into a buffer the caller lends), and the joiner of the final file,
//! behind one [`Retrieval`] so one driver loop fetches any target:
//!
//! ```text
//!   feed://  ─▶ FeedLookup ─▶ update v1 (root probed) / v2 ─┬─▶ Joiner ─▶ bytes
//!                                                           └─▶ manifest ─┐
//!   bzz://   ─────────────────────────────────▶ Lookup ◀─ Joiner (nodes) ─┘─▶ Joiner ─▶ bytes
//!                      (a feed manifest goes back to FeedLookup, once)
//!   bytes:// ───────────────────────────────────────────────────────────────▶ Joiner ─▶ bytes
//! ```
//!
//! ```
//! use swarm_core::target::Target;
//! let t: Target = "bzz://b34ca8c22b9e982354f9c7f50b470d66db428d880c8a904d5fe4ec9713171526/EFI/BOOT/BOOTX64.EFI"
//!     .parse()?;
//! assert_eq!(t.path(), Some(&b"EFI/BOOT/BOOTX64.EFI"[..]));
//! assert!("feed://00/11".parse::<Target>().is_err());
//! # Ok::<(), swarm_core::Error>(())
//! ```

use core::fmt;
use core::str::FromStr;

use swarm_bmt::{ChunkAddress, Reference, MAX_CHUNK_LEN};

use crate::chunk::VerifiedChunk;
use crate::feed::{FeedLookup, Topic};
use crate::joiner::{Joiner, Slot, TreeLevel};
use crate::manifest::{Entry, Lookup, LookupMode, MAX_PATH_LEN};
use crate::soc::Owner;
use crate::{Error, Retrieval};

/// The part of a target string that is malformed ([`Error::InvalidTarget`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TargetPart {
    /// Not `bzz://`, `bytes://` or `feed://`.
    Scheme,
    /// Not 64 or 128 hex digits.
    Reference,
    /// Not 40 hex digits.
    Owner,
    /// Not 64 hex digits.
    Topic,
    /// A bad `%` escape, or a path where none is allowed (`bytes://`).
    Path,
}

/// What to fetch; see the [module docs](self) for the grammar.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Target {
    kind: TargetKind,
    path: [u8; MAX_PATH_LEN],
    path_len: usize,
    has_path: bool,
}

/// The kind of a [`Target`] with its identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// `bzz://<ref>`: a manifest.
    Bzz(Reference),
    /// `bytes://<ref>`: a file.
    Bytes(Reference),
    /// `feed://<owner>/<topic>`: a sequence feed.
    Feed {
        /// The owner every update must be signed by.
        owner: Owner,
        /// The topic.
        topic: Topic,
    },
}

/// Sans-IO fetch of a [`Target`]: one [`Retrieval`] whose output is the target file's verified
/// bytes; see the [module docs](self).
///
/// The caller lends two memories: `node_buf` for manifest nodes (the largest node it accepts
/// plus the final entry's metadata, capped at [`crate::manifest::MAX_NODE_LEN`]) and the
/// joiner's slots and levels (used for each manifest node in turn, then for the file).
/// The resolver itself is about 11.5 KiB on 64-bit targets (a [`Lookup`], a [`FeedLookup`]
/// and the target); [`Resolver::new`] does no I/O.
pub struct Resolver<'m> {
    target: Target,
    min_index: u64,
    stage: Stage,
    feed: Option<FeedLookup>,
    feed_index: Option<u64>,
    followed_feed: bool,
    node_buf: Option<&'m mut [u8]>,
    lookup: Option<Lookup<'m>>,
    memory: Option<(&'m mut [Slot], &'m mut [TreeLevel])>,
    joiner: Option<Joiner<'m>>,
    node_len: usize,
    /// The v1 reference whose root chunk decides between v1 and v2 (§6.2).
    probe: Option<(Reference, bool)>,
    failed: Option<Error>,
    /// Chunks the finished joiners rebuilt (feature `recovery`).
    #[cfg(feature = "recovery")]
    recovered: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Feed,
    Probe,
    Node,
    File,
}

impl Target {
    /// The kind and identifiers.
    #[must_use]
    pub const fn kind(&self) -> TargetKind {
        self.kind
    }

    /// The path after the identifiers (decoded); `None` when the target has none
    /// (`bytes://`, `feed://` without `/`). `bzz://<ref>` has the empty path.
    #[must_use]
    pub fn path(&self) -> Option<&[u8]> {
        if self.has_path {
            self.path.get(..self.path_len)
        } else {
            None
        }
    }

    fn new(kind: TargetKind, path: Option<&str>) -> Result<Self, Error> {
        let mut t = Self {
            kind,
            path: [0; MAX_PATH_LEN],
            path_len: 0,
            has_path: path.is_some(),
        };
        let mut bytes = path.unwrap_or_default().bytes();
        while let Some(b) = bytes.next() {
            let b = if b == b'%' {
                let hi = bytes.next().and_then(|c| char::from(c).to_digit(16));
                let lo = bytes.next().and_then(|c| char::from(c).to_digit(16));
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(Error::InvalidTarget {
                        part: TargetPart::Path,
                    });
                };
                u8::try_from(hi << 4 | lo).unwrap_or_default()
            } else {
                b
            };
            let slot = t.path.get_mut(t.path_len).ok_or(Error::PathTooLong {
                len: t.path_len + 1,
            })?;
            *slot = b;
            t.path_len += 1;
        }
        Ok(t)
    }
}

impl<'m> Resolver<'m> {
    /// Starts fetching `target`. `min_index` is the anti-rollback floor for the feed the
    /// target goes through (`feed://`, or a feed manifest reached by `bzz://`): the update at
    /// that index must be served and none below is accepted (0 accepts any).
    ///
    /// # Errors
    /// [`Error::EmptyWindow`] if `slots` is empty; [`Error::PathTooLong`].
    pub fn new(
        target: &Target,
        min_index: u64,
        node_buf: &'m mut [u8],
        slots: &'m mut [Slot],
        levels: &'m mut [TreeLevel],
    ) -> Result<Self, Error> {
        if slots.is_empty() {
            return Err(Error::EmptyWindow);
        }
        let mut r = Self {
            target: *target,
            min_index,
            stage: Stage::Feed,
            feed: None,
            feed_index: None,
            followed_feed: false,
            node_buf: Some(node_buf),
            lookup: None,
            memory: Some((slots, levels)),
            joiner: None,
            node_len: 0,
            probe: None,
            failed: None,
            #[cfg(feature = "recovery")]
            recovered: 0,
        };
        match target.kind {
            TargetKind::Bytes(reference) => r.start_file(reference)?,
            TargetKind::Bzz(reference) => r.start_manifest(reference, None)?,
            TargetKind::Feed { owner, topic } => r.start_feed(owner, topic),
        }
        Ok(r)
    }

    /// The feed update index the content came from, once known (a device may persist it as
    /// its next anti-rollback minimum after a successful boot).
    #[must_use]
    pub const fn feed_index(&self) -> Option<u64> {
        self.feed_index
    }

    /// The manifest entry being fetched (its metadata: `Content-Type`, `Filename`), once the
    /// path has been resolved.
    #[must_use]
    pub fn entry(&self) -> Option<Entry<'_>> {
        self.lookup.as_ref().and_then(Lookup::entry)
    }

    /// The file's size, once its root chunk has been verified.
    #[must_use]
    pub fn size(&self) -> Option<u64> {
        match self.stage {
            Stage::File => self.joiner.as_ref().and_then(Joiner::size),
            _ => None,
        }
    }

    /// Chunks rebuilt from parity or taken from a root's replica so far, over every tree the
    /// resolution read (manifest nodes and the file); feature `recovery`.
    #[cfg(feature = "recovery")]
    #[must_use]
    pub fn recovered(&self) -> u64 {
        self.recovered + self.joiner.as_ref().map_or(0, Joiner::recovered)
    }

    /// The chunk no node had and that could not be rebuilt, once the resolution failed with
    /// [`Error::ChunkNotFound`] in a tree (feature `recovery`).
    #[cfg(feature = "recovery")]
    #[must_use]
    pub fn unrecoverable(&self) -> Option<swarm_bmt::ChunkAddress> {
        self.joiner.as_ref().and_then(Joiner::unrecoverable)
    }

    /// The final error, if the resolution failed.
    #[must_use]
    pub const fn error(&self) -> Option<Error> {
        self.failed
    }

    fn fail(&mut self, e: Error) -> Error {
        self.failed = Some(e);
        e
    }

    /// Keeps everything unchanged for a peer fault, stops for anything else.
    fn settle(&mut self, result: Result<(), Error>) -> Result<(), Error> {
        match result {
            Err(e) if !e.is_peer_fault() => Err(self.fail(e)),
            other => other,
        }
    }

    fn take_memory(&mut self) -> Result<(&'m mut [Slot], &'m mut [TreeLevel]), Error> {
        if let Some(j) = self.joiner.take() {
            #[cfg(feature = "recovery")]
            {
                self.recovered += j.recovered();
            }
            return Ok(j.into_memory());
        }
        self.memory.take().ok_or(Error::EmptyWindow)
    }

    fn start_feed(&mut self, owner: Owner, topic: Topic) {
        // Bee follows one feed per request: a manifest reached through it is read plainly.
        self.followed_feed = true;
        self.stage = Stage::Feed;
        self.feed = Some(FeedLookup::new(owner, topic, self.min_index));
    }

    fn start_file(&mut self, reference: Reference) -> Result<(), Error> {
        let (slots, levels) = self.take_memory()?;
        self.joiner = Some(Joiner::new(reference, None, slots, levels)?);
        self.stage = Stage::File;
        Ok(())
    }

    /// Starts the manifest at `root`, optionally with its root chunk already in hand.
    fn start_manifest(
        &mut self,
        root: Reference,
        first: Option<(&ChunkAddress, &[u8])>,
    ) -> Result<(), Error> {
        let buf = match self.lookup.take() {
            Some(l) => l.into_buffer(),
            None => self.node_buf.take().ok_or(Error::EmptyWindow)?,
        };
        let mode = LookupMode::Website {
            follow_feed: !self.followed_feed,
        };
        let path = self.target.path().unwrap_or_default();
        self.lookup = Some(Lookup::new(root, path, mode, buf)?);
        self.start_node(root, first)
    }

    fn start_node(
        &mut self,
        reference: Reference,
        first: Option<(&ChunkAddress, &[u8])>,
    ) -> Result<(), Error> {
        let (slots, levels) = self.take_memory()?;
        let mut joiner = Joiner::new(reference, None, slots, levels)?;
        self.node_len = 0;
        self.stage = Stage::Node;
        if let Some((address, data)) = first {
            if joiner.poll_request() != Some(*address) {
                return Err(Error::UnexpectedChunk);
            }
            joiner.handle_chunk(address, data)?;
        }
        self.joiner = Some(joiner);
        if first.is_some() {
            self.pump_node()?;
        }
        Ok(())
    }

    /// Starts the content of the feed update: a file, or a manifest when the target has a
    /// path (`feed://…/path`, or `bzz://` through a feed manifest).
    fn start_content(
        &mut self,
        root: Reference,
        first: Option<(&ChunkAddress, &[u8])>,
    ) -> Result<(), Error> {
        if self.target.path().is_some() {
            return self.start_manifest(root, first);
        }
        let (slots, levels) = self.take_memory()?;
        let mut joiner = Joiner::new(root, None, slots, levels)?;
        if let Some((address, data)) = first {
            if joiner.poll_request() != Some(*address) {
                return Err(Error::UnexpectedChunk);
            }
            joiner.handle_chunk(address, data)?;
        }
        self.joiner = Some(joiner);
        self.stage = Stage::File;
        Ok(())
    }

    /// The feed lookup has finished: decide v1 or v2 (§6.2).
    fn feed_done(&mut self) -> Result<(), Error> {
        let mut wrapped = [0u8; MAX_CHUNK_LEN];
        let (index, legacy, len) = {
            let update = self
                .feed
                .as_ref()
                .and_then(FeedLookup::latest)
                .ok_or(Error::FeedNotFound)?;
            let span = update.span().to_bytes();
            let len = span.len() + update.payload().len();
            let dst = wrapped.get_mut(..len).ok_or(Error::ChunkLength { len })?;
            let (s, p) = dst.split_at_mut(span.len());
            s.copy_from_slice(&span);
            p.copy_from_slice(update.payload());
            (update.index(), update.legacy(), len)
        };
        self.feed_index = Some(index);
        if let Some(legacy) = legacy {
            // v1 if the reference's root chunk is served and verifies; v2 otherwise.
            self.probe = Some((legacy.reference, false));
            self.stage = Stage::Probe;
            return Ok(());
        }
        self.start_v2(wrapped.get(..len).unwrap_or_default())
    }

    fn start_v2(&mut self, wrapped: &[u8]) -> Result<(), Error> {
        let address = swarm_bmt::chunk_address_of(wrapped)?;
        self.start_content(Reference::plain(address), Some((&address, wrapped)))
    }

    /// Moves joined node bytes into the lookup's buffer; when the node is complete, hands it
    /// to the lookup and starts whatever comes next.
    fn pump_node(&mut self) -> Result<(), Error> {
        loop {
            let (Some(joiner), Some(lookup)) = (self.joiner.as_mut(), self.lookup.as_mut()) else {
                return Err(Error::UnexpectedChunk);
            };
            let buf = lookup.node_buffer();
            let max = buf.len();
            if let Some(size) = joiner.size() {
                if size > max as u64 {
                    return Err(Error::NodeTooLarge {
                        len: usize::try_from(size).unwrap_or(usize::MAX),
                        max,
                    });
                }
            }
            let dst = buf.get_mut(self.node_len..).unwrap_or_default();
            let n = joiner.read(dst)?;
            self.node_len += n;
            if joiner.is_finished() {
                lookup.handle_node(self.node_len)?;
                return self.after_node();
            }
            if n == 0 {
                return Ok(());
            }
        }
    }

    fn after_node(&mut self) -> Result<(), Error> {
        let lookup = self.lookup.as_ref().ok_or(Error::UnexpectedChunk)?;
        if let Some(next) = lookup.wanted() {
            return self.start_node(next, None);
        }
        if let Some(pointer) = lookup.feed() {
            self.start_feed(pointer.owner, pointer.topic);
            return Ok(());
        }
        match lookup.entry() {
            Some(entry) => {
                let reference = entry.reference();
                self.start_file(reference)
            }
            None => Err(lookup.error().unwrap_or(Error::NotFound)),
        }
    }

    fn feed_step(&mut self, result: Result<(), Error>) -> Result<(), Error> {
        self.settle(result)?;
        let finished = self.feed.as_ref().is_some_and(FeedLookup::is_finished);
        if finished {
            let r = self.feed_done();
            return self.settle(r);
        }
        Ok(())
    }

    /// Hands an answer to the joiner of the current tree ([`Error::UnexpectedChunk`] without
    /// one), then settles its result.
    #[inline]
    fn answer_joiner(
        &mut self,
        answer: impl FnOnce(&mut Joiner<'m>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let r = match self.joiner.as_mut() {
            Some(j) => answer(j),
            None => Err(Error::UnexpectedChunk),
        };
        self.settle(r)
    }

    /// The reference of the v1 probe, if it was sent and `address` is its chunk; else
    /// [`Error::UnexpectedChunk`].
    #[inline]
    fn probed(&self, address: &ChunkAddress) -> Result<Reference, Error> {
        match self.probe {
            Some((reference, true)) if reference.address() == address => Ok(reference),
            _ => Err(Error::UnexpectedChunk),
        }
    }
}

impl Retrieval for Resolver<'_> {
    fn poll_request(&mut self) -> Option<ChunkAddress> {
        if self.failed.is_some() {
            return None;
        }
        match self.stage {
            Stage::Feed => self.feed.as_mut()?.poll_request(),
            Stage::Probe => {
                let (reference, sent) = self.probe.as_mut()?;
                if *sent {
                    return None;
                }
                *sent = true;
                Some(*reference.address())
            }
            Stage::Node | Stage::File => self.joiner.as_mut()?.poll_request(),
        }
    }

    fn handle_chunk(&mut self, address: &ChunkAddress, data: &[u8]) -> Result<(), Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        match self.stage {
            Stage::Feed => {
                let r = match self.feed.as_mut() {
                    Some(f) => f.handle_chunk(address, data),
                    None => Err(Error::UnexpectedChunk),
                };
                self.feed_step(r)
            }
            Stage::Probe => {
                let reference = self.probed(address)?;
                VerifiedChunk::verify(address, data)?;
                self.probe = None;
                let r = self.start_content(reference, Some((address, data)));
                self.settle(r)
            }
            Stage::Node => {
                self.answer_joiner(|j| j.handle_chunk(address, data))?;
                let r = self.pump_node();
                self.settle(r)
            }
            Stage::File => self.answer_joiner(|j| j.handle_chunk(address, data)),
        }
    }

    fn handle_not_found(&mut self, address: &ChunkAddress) -> Result<(), Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        match self.stage {
            Stage::Feed => {
                let r = match self.feed.as_mut() {
                    Some(f) => f.handle_not_found(address),
                    None => Err(Error::UnexpectedChunk),
                };
                self.feed_step(r)
            }
            Stage::Probe => {
                self.probed(address)?;
                self.probe = None;
                // The reference is not served: the update is v2, its wrapped chunk the root.
                let mut wrapped = [0u8; MAX_CHUNK_LEN];
                let len = {
                    let update = self.feed.as_ref().and_then(FeedLookup::latest);
                    let update = update.ok_or(Error::FeedNotFound)?;
                    let span = update.span().to_bytes();
                    let len = span.len() + update.payload().len();
                    if let Some(dst) = wrapped.get_mut(..len) {
                        let (s, p) = dst.split_at_mut(span.len());
                        s.copy_from_slice(&span);
                        p.copy_from_slice(update.payload());
                    }
                    len
                };
                let r = self.start_v2(wrapped.get(..len).unwrap_or_default());
                self.settle(r)
            }
            Stage::Node | Stage::File => self.answer_joiner(|j| j.handle_not_found(address)),
        }
    }

    /// In a tree (a manifest node or the file): the joiner's recovery, as for a chunk no node
    /// has. A feed update or the v1 probe that no node served verified is final
    /// ([`Error::ChunkNotFound`]): it says nothing about which update is the latest.
    fn handle_unavailable(&mut self, address: &ChunkAddress) -> Result<(), Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        match self.stage {
            Stage::Node | Stage::File => self.answer_joiner(|j| j.handle_unavailable(address)),
            Stage::Feed | Stage::Probe => Err(self.fail(Error::ChunkNotFound)),
        }
    }

    #[cfg(feature = "recovery")]
    fn unrecoverable(&self) -> Option<ChunkAddress> {
        Resolver::unrecoverable(self)
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        match self.stage {
            Stage::File => {
                let r = match self.joiner.as_mut() {
                    Some(j) => j.read(buf),
                    None => Ok(0),
                };
                if let Err(e) = r {
                    return Err(self.fail(e));
                }
                r
            }
            _ => Ok(0),
        }
    }

    fn is_finished(&self) -> bool {
        self.failed.is_none()
            && self.stage == Stage::File
            && self.joiner.as_ref().is_some_and(Joiner::is_finished)
    }
}

impl FromStr for Target {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |part| Error::InvalidTarget { part };
        if let Some(rest) = s.strip_prefix("bzz://") {
            let (r, path) = rest.split_once('/').unwrap_or((rest, ""));
            let reference = parse_reference(r)?;
            return Self::new(TargetKind::Bzz(reference), Some(path));
        }
        if let Some(rest) = s.strip_prefix("bytes://") {
            if rest.contains('/') {
                return Err(bad(TargetPart::Path));
            }
            return Self::new(TargetKind::Bytes(parse_reference(rest)?), None);
        }
        if let Some(rest) = s.strip_prefix("feed://") {
            let (owner_hex, rest) = rest.split_once('/').ok_or(bad(TargetPart::Topic))?;
            let (topic_hex, path) = match rest.split_once('/') {
                Some((t, p)) => (t, Some(p)),
                None => (rest, None),
            };
            let mut owner = [0u8; 20];
            if owner_hex.len() != 40 || hex::decode_to_slice(owner_hex, &mut owner).is_err() {
                return Err(bad(TargetPart::Owner));
            }
            let mut topic = [0u8; 32];
            if topic_hex.len() != 64 || hex::decode_to_slice(topic_hex, &mut topic).is_err() {
                return Err(bad(TargetPart::Topic));
            }
            let kind = TargetKind::Feed {
                owner: Owner(owner),
                topic: Topic::new(topic),
            };
            return Self::new(kind, path);
        }
        Err(bad(TargetPart::Scheme))
    }
}

fn parse_reference(s: &str) -> Result<Reference, Error> {
    if !matches!(s.len(), 64 | 128) {
        return Err(Error::InvalidTarget {
            part: TargetPart::Reference,
        });
    }
    s.parse().map_err(|_| Error::InvalidTarget {
        part: TargetPart::Reference,
    })
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TargetKind::Bzz(r) => write!(f, "bzz://{r}")?,
            TargetKind::Bytes(r) => write!(f, "bytes://{r}")?,
            TargetKind::Feed { owner, topic } => {
                f.write_str("feed://")?;
                for b in owner.0 {
                    write!(f, "{b:02x}")?;
                }
                write!(f, "/{topic}")?;
            }
        }
        if let Some(path) = self.path() {
            if path.is_empty() && matches!(self.kind, TargetKind::Bzz(_)) {
                return Ok(());
            }
            f.write_str("/")?;
            for &b in path {
                if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
                    write!(f, "{}", char::from(b))?;
                } else {
                    write!(f, "%{b:02X}")?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    const REF: &str = "b34ca8c22b9e982354f9c7f50b470d66db428d880c8a904d5fe4ec9713171526";
    const OWNER: &str = "4ab6878cc0ad0c58f780c15828e10b877164aeda";
    const TOPIC: &str = "02c4f864b39e419f26081c841bd56e4772eb744fce326ddda45b4b885ce6063c";

    fn part(s: &str) -> Option<TargetPart> {
        match s.parse::<Target>() {
            Err(Error::InvalidTarget { part }) => Some(part),
            _ => None,
        }
    }

    #[test]
    fn parses_every_form_and_prints_it_back() {
        for text in [
            std::format!("bzz://{REF}"),
            std::format!("bzz://{REF}/EFI/BOOT/BOOTX64.EFI"),
            std::format!("bzz://{REF}/dir/"),
            std::format!("bytes://{REF}"),
            std::format!("bytes://{REF}{REF}"),
            std::format!("feed://{OWNER}/{TOPIC}"),
            std::format!("feed://{OWNER}/{TOPIC}/"),
            std::format!("feed://{OWNER}/{TOPIC}/vmlinuz"),
            std::format!("bzz://{REF}/space%20name%25.txt"),
        ] {
            let t: Target = text.parse().unwrap();
            assert_eq!(t.to_string(), text);
        }
        let t: Target = std::format!("bzz://{REF}/a%2Fb%C3%A9").parse().unwrap();
        assert_eq!(t.path(), Some("a/bé".as_bytes()));
        let t: Target = std::format!("feed://{}/{TOPIC}", OWNER.to_uppercase())
            .parse()
            .unwrap();
        assert!(matches!(t.kind(), TargetKind::Feed { .. }));
        assert_eq!(t.path(), None);
        let t: Target = std::format!("bzz://{REF}").parse().unwrap();
        assert_eq!(t.path(), Some(&b""[..]));
    }

    #[test]
    fn names_the_malformed_part() {
        for (text, want) in [
            ("http://x".into(), TargetPart::Scheme),
            ("bzz:/x".into(), TargetPart::Scheme),
            (std::format!("bzz://{}", &REF[..62]), TargetPart::Reference),
            (std::format!("bzz://{REF}0"), TargetPart::Reference),
            (
                std::format!("bzz://{}zz/x", &REF[..62]),
                TargetPart::Reference,
            ),
            (std::format!("bytes://{REF}/x"), TargetPart::Path),
            (
                std::format!("feed://{}/{TOPIC}", &OWNER[..38]),
                TargetPart::Owner,
            ),
            (std::format!("feed://{OWNER}"), TargetPart::Topic),
            (std::format!("feed://{OWNER}/aabbcc"), TargetPart::Topic),
            (std::format!("feed://{OWNER}/{TOPIC}/%zz"), TargetPart::Path),
            (std::format!("bzz://{REF}/%4"), TargetPart::Path),
        ] {
            assert_eq!(part(&text), Some(want), "{text}");
        }
        let long = "a".repeat(MAX_PATH_LEN);
        assert!(std::format!("bzz://{REF}/{long}").parse::<Target>().is_ok());
        assert_eq!(
            std::format!("bzz://{REF}/{long}a").parse::<Target>(),
            Err(Error::PathTooLong {
                len: MAX_PATH_LEN + 1
            })
        );
    }
}
