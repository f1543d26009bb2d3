//! The file splitter: any byte stream → the root reference Bee gives it (`POST /bytes` with
//! `Swarm-Redundancy-Level: 0`), `../shared/spec/chunks.md` §3.1.
//!
//! Content is cut into 4096-byte leaves; every [`BRANCHES`] references of one level are wrapped
//! into an intermediate chunk whose span is the sum of its children's spans. At the end, a level
//! left holding a single reference promotes it unchanged to the level above (Bee never wraps a
//! lone reference). One buffer per tree level is kept, so memory is fixed by the tree depth
//! ([`MAX_TREE_LEVELS`]), whatever the file size.

use crate::hasher::leaf_addresses;
use crate::{chunk_address, ChunkAddress, Error, BRANCHES, MAX_PAYLOAD_LEN, SPAN_SIZE};

#[cfg(feature = "std")]
mod parallel;
#[cfg(feature = "std")]
pub use parallel::{ParallelSplitter, LEAVES_PER_THREAD, MAX_THREADS};

/// Number of levels of intermediate chunks the splitter can build above the leaves.
///
/// Bee's hashtrie keeps 8 level buffers; with 128 references per chunk that addresses files of
/// up to `4096·128^7 = 2^61` bytes ([`MAX_FILE_LEN`]).
pub const MAX_TREE_LEVELS: usize = 7;

/// Largest content the splitter accepts: `4096·128^7` bytes.
pub const MAX_FILE_LEN: u64 = (MAX_PAYLOAD_LEN as u64) << (7 * MAX_TREE_LEVELS);

/// Where the splitter hands every chunk it produces, leaves and intermediate chunks alike, in
/// creation order (children before parents; the root last).
pub trait ChunkSink {
    /// Takes one chunk, `span || payload` as it is stored, at `address`.
    ///
    /// # Errors
    /// Any error stops the splitter with [`Error::Sink`]; keep the details in the sink.
    fn put(&mut self, address: &ChunkAddress, chunk: &[u8]) -> Result<(), Error>;

    /// Whether [`put`](Self::put) needs the leaves at all. `true` unless overridden; a sink
    /// that ignores every chunk returns `false`, and the splitters then skip copying each
    /// leaf they hash in place into a `span || payload` buffer just to hand it over (and
    /// skip `put` for those leaves). Intermediate chunks are always handed over.
    fn wants_chunks(&self) -> bool {
        true
    }
}

/// A sink that drops every chunk: only the root reference is wanted.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSink;

impl ChunkSink for NoSink {
    fn put(&mut self, _: &ChunkAddress, _: &[u8]) -> Result<(), Error> {
        Ok(())
    }

    fn wants_chunks(&self) -> bool {
        false
    }
}

impl<F: FnMut(&ChunkAddress, &[u8]) -> Result<(), Error>> ChunkSink for F {
    fn put(&mut self, address: &ChunkAddress, chunk: &[u8]) -> Result<(), Error> {
        self(address, chunk)
    }
}

/// Leaves the [`Splitter`] buffers and hashes together through
/// [`chunk_addresses`](crate::chunk_addresses): 8 where the SIMD kernels are compiled in
/// (x86_64 hosts; one leaf per lane), 1 elsewhere (firmware and embedded targets, Miri,
/// `--cfg deboot_scalar`), where hashing is one permutation at a time and a batch would only
/// cost memory. The `deboot_scalar` test run thereby covers the embedded configuration.
pub const LEAF_BATCH: usize = if cfg!(all(
    target_arch = "x86_64",
    not(any(
        deboot_scalar,
        miri,
        target_os = "uefi",
        target_os = "none"
    ))
)) {
    8
} else {
    1
};

/// Streaming splitter; see the [module docs](self).
///
/// Leaves are hashed [`LEAF_BATCH`] at a time ([`chunk_addresses`](crate::chunk_addresses): 8
/// chunks side by side in the SIMD lanes on x86_64), then handed to the sink in content order;
/// results and sink order are the same as hashing them one by one. A whole batch of leaves
/// that lies inside one [`write`](Self::write) is hashed where it is; only the rest is copied
/// into the leaf buffers.
///
/// Size, fixed whatever the content length (no allocation): one 4104-byte buffer per tree
/// level (8, about 32 KiB) and [`LEAF_BATCH`] leaf buffers of 4104 bytes, so about 37 KiB
/// where `LEAF_BATCH` is 1 and about 66 KiB on x86_64 hosts.
///
/// ```
/// use swarm_bmt::Splitter;
/// let mut s = Splitter::new();
/// s.write(b"hello ")?;
/// s.write(b"world")?;
/// let root = s.finish()?;
/// assert_eq!(root, swarm_bmt::chunk_address(&11u64.to_le_bytes(), b"hello world")?);
/// # Ok::<(), swarm_bmt::Error>(())
/// ```
pub struct Splitter<S: ChunkSink = NoSink> {
    leaves: Leaves<[[u8; CHUNK_LEN]; LEAF_BATCH]>,
    hash: InLanes,
    tree: Tree<S>,
    total: u64,
}

impl Splitter<NoSink> {
    /// A splitter that only computes the root reference.
    #[must_use]
    pub fn new() -> Self {
        Self::with_sink(NoSink)
    }
}

impl Default for Splitter<NoSink> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: ChunkSink> Splitter<S> {
    /// A splitter that hands every chunk it produces to `sink`.
    pub fn with_sink(sink: S) -> Self {
        Self {
            leaves: Leaves::new([[0; CHUNK_LEN]; LEAF_BATCH]),
            hash: InLanes {
                addrs: [ChunkAddress::default(); LEAF_BATCH],
            },
            tree: Tree::new(sink),
            total: 0,
        }
    }

    /// Content bytes written so far.
    #[must_use]
    pub const fn len(&self) -> u64 {
        self.total
    }

    /// Whether no content has been written.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The sink, e.g. to read what it collected.
    pub fn sink(&self) -> &S {
        &self.tree.sink
    }

    /// Appends `data` to the content.
    ///
    /// # Errors
    /// [`Error::FileTooLarge`] past [`MAX_FILE_LEN`] bytes (nothing of `data` is taken then);
    /// [`Error::Sink`] if the sink refused a chunk.
    pub fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        let grown = grown_len(self.total, data)?;
        self.leaves.write(data, &mut self.tree, &mut self.hash)?;
        self.total = grown;
        Ok(())
    }

    /// Ends the content and returns its root chunk address (the file's reference).
    ///
    /// Empty content gives the address of the empty leaf (span 0), as Bee does.
    ///
    /// # Errors
    /// [`Error::Sink`] if the sink refused a chunk.
    pub fn finish(mut self) -> Result<ChunkAddress, Error> {
        let empty = self.is_empty();
        self.leaves.finish(empty, &mut self.tree, &mut self.hash)
    }

    /// Like [`finish`](Self::finish), but also gives the sink back.
    ///
    /// # Errors
    /// [`Error::Sink`] if the sink refused a chunk.
    pub fn finish_with_sink(mut self) -> Result<(ChunkAddress, S), Error> {
        let empty = self.is_empty();
        let root = self.leaves.finish(empty, &mut self.tree, &mut self.hash)?;
        Ok((root, self.tree.sink))
    }
}

/// How a splitter hashes its leaves, the one thing [`Splitter`] and `ParallelSplitter` do
/// differently; [`Leaves::write`] and [`Leaves::finish`] do the rest for both.
trait HashLeaves {
    /// Hashes leaves from `payloads`, as many as one run takes (all of them if there are
    /// fewer; a run takes at least a leaf buffer's worth), and returns their addresses in order.
    fn addresses<'p>(
        &mut self,
        payloads: impl Iterator<Item = &'p [u8]>,
    ) -> Result<&[ChunkAddress], Error>;
}

/// The [`Splitter`]'s hashing: [`LEAF_BATCH`] leaves a run, side by side in the SIMD lanes
/// where there are some, on the calling thread.
struct InLanes {
    /// The addresses of one run.
    addrs: [ChunkAddress; LEAF_BATCH],
}

impl HashLeaves for InLanes {
    fn addresses<'p>(
        &mut self,
        payloads: impl Iterator<Item = &'p [u8]>,
    ) -> Result<&[ChunkAddress], Error> {
        let mut run: [&[u8]; LEAF_BATCH] = [&[]; LEAF_BATCH];
        let mut count = 0;
        for (p, payload) in run.iter_mut().zip(payloads) {
            *p = payload;
            count += 1;
        }
        match (run.get(..count), self.addrs.get_mut(..count)) {
            (Some(run), Some(addrs)) => {
                leaf_addresses(run, addrs)?;
                Ok(addrs)
            }
            _ => Err(Error::FileTooLarge),
        }
    }
}

/// Length of one stored chunk buffer: span and a full payload.
const CHUNK_LEN: usize = SPAN_SIZE + MAX_PAYLOAD_LEN;

/// `total + data.len()`, if the content stays within [`MAX_FILE_LEN`].
fn grown_len(total: u64, data: &[u8]) -> Result<u64, Error> {
    u64::try_from(data.len())
        .ok()
        .and_then(|n| total.checked_add(n))
        .filter(|&n| n <= MAX_FILE_LEN)
        .ok_or(Error::FileTooLarge)
}

/// Leaves being filled, laid out as stored (`span || payload`), in slots of a buffer `B`.
///
/// Slots `0..filled` hold full leaves; slot `filled` holds `leaf_len` bytes. A full leaf is
/// only left behind when more content arrives, so at the end the last slot holds the last
/// leaf (empty only for empty content).
struct Leaves<B> {
    slots: B,
    filled: usize,
    leaf_len: usize,
}

impl<B: AsRef<[[u8; CHUNK_LEN]]> + AsMut<[[u8; CHUNK_LEN]]>> Leaves<B> {
    const fn new(slots: B) -> Self {
        Self {
            slots,
            filled: 0,
            leaf_len: 0,
        }
    }

    /// Copies `data` into the slots until it is used up or every slot holds a full leaf;
    /// returns what did not fit (then the caller hashes the batch and calls again).
    fn fill<'d>(&mut self, mut data: &'d [u8]) -> &'d [u8] {
        let slots = self.slots.as_mut().len();
        while !data.is_empty() {
            if self.leaf_len == MAX_PAYLOAD_LEN {
                if self.filled + 1 >= slots {
                    return data;
                }
                self.filled += 1;
                self.leaf_len = 0;
            }
            let Some(slot) = self.slots.as_mut().get_mut(self.filled) else {
                return data;
            };
            let take = (MAX_PAYLOAD_LEN - self.leaf_len).min(data.len());
            let (head, rest) = data.split_at(take);
            let at = SPAN_SIZE + self.leaf_len;
            if let Some(dst) = slot.get_mut(at..at + take) {
                dst.copy_from_slice(head);
            }
            self.leaf_len += take;
            data = rest;
        }
        &[]
    }

    /// Takes `data` in: copies it into the slots and has `hash` hash them whenever they are
    /// full; a whole buffer's worth of leaves that lies in `data` is hashed where it is
    /// instead, after what is buffered.
    fn write<S: ChunkSink>(
        &mut self,
        data: &[u8],
        tree: &mut Tree<S>,
        hash: &mut impl HashLeaves,
    ) -> Result<(), Error> {
        let mut rest = data;
        while !rest.is_empty() {
            if rest.len() >= self.room() + self.capacity() * MAX_PAYLOAD_LEN {
                // Finish and hash what is buffered, then hash the whole leaves of `data` where
                // they are, without copying them.
                if !self.is_empty() {
                    rest = self.complete_current(rest);
                    self.flush(tree, hash)?;
                }
                let addrs = hash.addresses(rest.chunks_exact(MAX_PAYLOAD_LEN))?;
                let (direct, tail) = rest
                    .split_at_checked(addrs.len() * MAX_PAYLOAD_LEN)
                    .ok_or(Error::FileTooLarge)?;
                tree.put_payloads(direct, addrs, self.scratch())?;
                rest = tail;
            } else {
                rest = self.fill(rest);
                if !rest.is_empty() {
                    self.flush(tree, hash)?;
                }
            }
        }
        Ok(())
    }

    /// Hashes what is buffered at the end, the last leaves or the empty leaf of `empty`
    /// content (content that ended on a leaf boundary leaves nothing buffered), then wraps
    /// what is left of `tree` and returns the root.
    fn finish<S: ChunkSink>(
        &mut self,
        empty: bool,
        tree: &mut Tree<S>,
        hash: &mut impl HashLeaves,
    ) -> Result<ChunkAddress, Error> {
        if empty || !self.is_empty() {
            self.flush(tree, hash)?;
        }
        tree.finish()
    }

    /// Hashes the buffered leaves with `hash`, hands them to the sink in order and records
    /// them at level 0; empties the buffer.
    fn flush<S: ChunkSink>(
        &mut self,
        tree: &mut Tree<S>,
        hash: &mut impl HashLeaves,
    ) -> Result<(), Error> {
        let count = self.seal();
        let chunks = (0..count).map(|i| self.chunk(i));
        let addrs = hash.addresses(
            chunks
                .clone()
                .map(|c| c.get(SPAN_SIZE..).unwrap_or_default()),
        )?;
        if addrs.len() != count {
            // A run takes at least a leaf buffer's worth.
            return Err(Error::FileTooLarge);
        }
        tree.put_leaves(chunks, addrs)?;
        self.clear();
        Ok(())
    }

    /// Leaves the buffer holds.
    fn capacity(&self) -> usize {
        self.slots.as_ref().len()
    }

    /// Whether nothing is buffered.
    const fn is_empty(&self) -> bool {
        self.filled == 0 && self.leaf_len == 0
    }

    /// Bytes that would complete the current leaf (0 if nothing is buffered).
    const fn room(&self) -> usize {
        if self.is_empty() {
            0
        } else {
            MAX_PAYLOAD_LEN - self.leaf_len
        }
    }

    /// Completes the current leaf from `data`; returns the rest. Only called with more data
    /// than [`room`](Self::room), so the leaves stay at least one byte short of the end.
    fn complete_current<'d>(&mut self, data: &'d [u8]) -> &'d [u8] {
        let (head, rest) = data.split_at(self.room().min(data.len()));
        let at = SPAN_SIZE + self.leaf_len;
        if let Some(dst) = self
            .slots
            .as_mut()
            .get_mut(self.filled)
            .and_then(|slot| slot.get_mut(at..at + head.len()))
        {
            dst.copy_from_slice(head);
        }
        self.leaf_len += head.len();
        rest
    }

    /// A whole leaf buffer to build a chunk in; only while nothing is buffered.
    fn scratch(&mut self) -> Option<&mut [u8; CHUNK_LEN]> {
        debug_assert!(self.is_empty());
        self.slots.as_mut().first_mut()
    }

    /// Writes every buffered leaf's span; returns how many leaves are buffered (at least 1).
    fn seal(&mut self) -> usize {
        let (filled, last) = (self.filled, self.leaf_len);
        for (i, slot) in self.slots.as_mut().iter_mut().enumerate().take(filled + 1) {
            let len = if i < filled { MAX_PAYLOAD_LEN } else { last };
            if let Some(span) = slot.first_chunk_mut::<SPAN_SIZE>() {
                *span = (len as u64).to_le_bytes();
            }
        }
        filled + 1
    }

    /// Leaf `i` as stored, after [`seal`](Self::seal).
    fn chunk(&self, i: usize) -> &[u8] {
        let len = if i < self.filled {
            MAX_PAYLOAD_LEN
        } else {
            self.leaf_len
        };
        self.slots
            .as_ref()
            .get(i)
            .and_then(|slot| slot.get(..SPAN_SIZE + len))
            .unwrap_or_default()
    }

    fn clear(&mut self) {
        self.filled = 0;
        self.leaf_len = 0;
    }
}

/// The levels above the leaves, and the sink.
struct Tree<S> {
    levels: [Level; MAX_TREE_LEVELS + 1],
    sink: S,
}

/// References of one tree level waiting to be wrapped, laid out as the intermediate chunk
/// they will become.
#[derive(Clone)]
struct Level {
    chunk: [u8; CHUNK_LEN],
    count: usize,
    span: u64,
}

impl<S: ChunkSink> Tree<S> {
    fn new(sink: S) -> Self {
        const EMPTY: Level = Level {
            chunk: [0; CHUNK_LEN],
            count: 0,
            span: 0,
        };
        Self {
            levels: [EMPTY; MAX_TREE_LEVELS + 1],
            sink,
        }
    }

    /// Hands hashed leaves to the sink, in order, and records them at level 0.
    fn put_leaves<'c>(
        &mut self,
        chunks: impl Iterator<Item = &'c [u8]>,
        addrs: &[ChunkAddress],
    ) -> Result<(), Error> {
        for (chunk, addr) in chunks.zip(addrs) {
            self.sink.put(addr, chunk).map_err(|_| Error::Sink)?;
            let span = chunk.len().saturating_sub(SPAN_SIZE) as u64;
            self.push(0, span, addr)?;
        }
        Ok(())
    }

    /// Records the full leaves `content` holds, hashed in place (the caller's content), at
    /// level 0; each is built in `scratch` as `span || payload` for the sink if it [wants
    /// chunks](ChunkSink::wants_chunks).
    fn put_payloads(
        &mut self,
        content: &[u8],
        addrs: &[ChunkAddress],
        mut scratch: Option<&mut [u8; CHUNK_LEN]>,
    ) -> Result<(), Error> {
        let wanted = self.sink.wants_chunks();
        for (payload, addr) in content.chunks_exact(MAX_PAYLOAD_LEN).zip(addrs) {
            let span = payload.len() as u64;
            if wanted {
                let chunk = scratch
                    .as_deref_mut()
                    .and_then(|buf| buf.get_mut(..SPAN_SIZE + payload.len()))
                    .ok_or(Error::PayloadTooLong { len: payload.len() })?;
                let (span_bytes, body) = chunk.split_at_mut(SPAN_SIZE);
                span_bytes.copy_from_slice(&span.to_le_bytes());
                body.copy_from_slice(payload);
                self.sink.put(addr, chunk).map_err(|_| Error::Sink)?;
            }
            self.push(0, span, addr)?;
        }
        Ok(())
    }

    /// Wraps what is left, level by level, and returns the root.
    fn finish(&mut self) -> Result<ChunkAddress, Error> {
        for lvl in 0..self.levels.len() {
            let count = self.levels.get(lvl).map_or(0, |l| l.count);
            let higher_empty = self
                .levels
                .get(lvl + 1..)
                .is_none_or(|rest| rest.iter().all(|l| l.count == 0));
            match count {
                0 => {}
                1 if higher_empty => {
                    return Ok(self.levels.get(lvl).map(Level::first).unwrap_or_default())
                }
                1 => {
                    let (span, addr) = self
                        .levels
                        .get_mut(lvl)
                        .map(Level::take_single)
                        .unwrap_or_default();
                    self.push(lvl + 1, span, &addr)?;
                }
                _ => self.wrap(lvl)?,
            }
        }
        // INVARIANT: the top level holds at most one reference (MAX_FILE_LEN bounds the input),
        // and the loop above returns as soon as it finds it.
        Err(Error::FileTooLarge)
    }

    /// Appends a reference to `lvl`, wrapping the level as soon as it is full.
    fn push(&mut self, lvl: usize, span: u64, addr: &ChunkAddress) -> Result<(), Error> {
        let level = self.levels.get_mut(lvl).ok_or(Error::FileTooLarge)?;
        let at = SPAN_SIZE + level.count * 32;
        let dst = level
            .chunk
            .get_mut(at..at + 32)
            .ok_or(Error::FileTooLarge)?;
        dst.copy_from_slice(addr.as_bytes());
        level.count += 1;
        level.span = level.span.checked_add(span).ok_or(Error::FileTooLarge)?;
        if level.count == BRANCHES {
            self.wrap(lvl)?;
        }
        Ok(())
    }

    /// Turns the references held at `lvl` into one intermediate chunk, pushed to `lvl + 1`.
    fn wrap(&mut self, lvl: usize) -> Result<(), Error> {
        let level = self.levels.get_mut(lvl).ok_or(Error::FileTooLarge)?;
        let span = level.span;
        let len = level.count * 32;
        if let Some(dst) = level.chunk.get_mut(..SPAN_SIZE) {
            dst.copy_from_slice(&span.to_le_bytes());
        }
        let chunk = level.chunk.get(..SPAN_SIZE + len).unwrap_or_default();
        let (span_bytes, payload) = chunk
            .split_first_chunk::<SPAN_SIZE>()
            .unwrap_or((&[0; 8], &[]));
        let addr = chunk_address(span_bytes, payload)?;
        self.sink.put(&addr, chunk).map_err(|_| Error::Sink)?;
        level.count = 0;
        level.span = 0;
        self.push(lvl + 1, span, &addr)
    }
}

impl Level {
    fn first(&self) -> ChunkAddress {
        let mut a = [0u8; 32];
        if let Some(src) = self.chunk.get(SPAN_SIZE..SPAN_SIZE + 32) {
            a.copy_from_slice(src);
        }
        ChunkAddress(a)
    }

    fn take_single(&mut self) -> (u64, ChunkAddress) {
        let out = (self.span, self.first());
        self.count = 0;
        self.span = 0;
        out
    }
}

/// Convenience: the root reference of `data` in one call.
///
/// ```
/// let empty = swarm_bmt::splitter::root_of(&[])?;
/// assert_eq!(empty.to_string(), "b34ca8c22b9e982354f9c7f50b470d66db428d880c8a904d5fe4ec9713171526");
/// # Ok::<(), swarm_bmt::Error>(())
/// ```
///
/// # Errors
/// [`Error::FileTooLarge`] past [`MAX_FILE_LEN`].
pub fn root_of(data: &[u8]) -> Result<ChunkAddress, Error> {
    let mut s = Splitter::new();
    s.write(data)?;
    s.finish()
}
