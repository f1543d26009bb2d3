//! The file splitter: any byte stream → the root reference Bee gives it (`POST /bytes` with
//! `Swarm-Redundancy-Level: 0`), `../shared/spec/chunks.md` §3.1.
//!
//! Content is cut into 4096-byte leaves; every [`BRANCHES`] references of one level are wrapped
//! into an intermediate chunk whose span is the sum of its children's spans. At the end, a level
//! left holding a single reference promotes it unchanged to the level above (Bee never wraps a
//! lone reference). One buffer per tree level is kept, so memory is fixed by the tree depth
//! ([`MAX_TREE_LEVELS`]), whatever the file size.

use crate::{chunk_address, ChunkAddress, Error, BRANCHES, MAX_PAYLOAD_LEN, SPAN_SIZE};

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
}

/// A sink that drops every chunk: only the root reference is wanted.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSink;

impl ChunkSink for NoSink {
    fn put(&mut self, _: &ChunkAddress, _: &[u8]) -> Result<(), Error> {
        Ok(())
    }
}

impl<F: FnMut(&ChunkAddress, &[u8]) -> Result<(), Error>> ChunkSink for F {
    fn put(&mut self, address: &ChunkAddress, chunk: &[u8]) -> Result<(), Error> {
        self(address, chunk)
    }
}

/// Streaming splitter; see the [module docs](self).
///
/// About 37 KiB: one 4104-byte leaf buffer and one 4104-byte buffer per tree level. No
/// allocation; the size does not depend on the content length.
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
    /// `span || payload` of the leaf being filled.
    leaf: [u8; SPAN_SIZE + MAX_PAYLOAD_LEN],
    leaf_len: usize,
    levels: [Level; MAX_TREE_LEVELS + 1],
    total: u64,
    sink: S,
}

/// References of one tree level waiting to be wrapped, laid out as the intermediate chunk
/// they will become.
#[derive(Clone)]
struct Level {
    chunk: [u8; SPAN_SIZE + MAX_PAYLOAD_LEN],
    count: usize,
    span: u64,
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
        const EMPTY: Level = Level {
            chunk: [0; SPAN_SIZE + MAX_PAYLOAD_LEN],
            count: 0,
            span: 0,
        };
        Self {
            leaf: [0; SPAN_SIZE + MAX_PAYLOAD_LEN],
            leaf_len: 0,
            levels: [EMPTY; MAX_TREE_LEVELS + 1],
            total: 0,
            sink,
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
        &self.sink
    }

    /// Appends `data` to the content.
    ///
    /// # Errors
    /// [`Error::FileTooLarge`] past [`MAX_FILE_LEN`] bytes (nothing of `data` is taken then);
    /// [`Error::Sink`] if the sink refused a chunk.
    pub fn write(&mut self, mut data: &[u8]) -> Result<(), Error> {
        let grown = u64::try_from(data.len())
            .ok()
            .and_then(|n| self.total.checked_add(n))
            .filter(|&n| n <= MAX_FILE_LEN)
            .ok_or(Error::FileTooLarge)?;
        while !data.is_empty() {
            if self.leaf_len == MAX_PAYLOAD_LEN {
                self.flush_leaf()?;
            }
            let take = (MAX_PAYLOAD_LEN - self.leaf_len).min(data.len());
            let (head, rest) = data.split_at(take);
            let at = SPAN_SIZE + self.leaf_len;
            if let Some(dst) = self.leaf.get_mut(at..at + take) {
                dst.copy_from_slice(head);
            }
            self.leaf_len += take;
            data = rest;
        }
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
        self.finish_in_place()
    }

    /// Like [`finish`](Self::finish), but also gives the sink back.
    ///
    /// # Errors
    /// [`Error::Sink`] if the sink refused a chunk.
    pub fn finish_with_sink(mut self) -> Result<(ChunkAddress, S), Error> {
        let root = self.finish_in_place()?;
        Ok((root, self.sink))
    }

    fn finish_in_place(&mut self) -> Result<ChunkAddress, Error> {
        // The last leaf (or the empty leaf of empty content) is still buffered.
        self.flush_leaf()?;
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

    /// Hashes the buffered leaf, hands it to the sink and records it at level 0.
    fn flush_leaf(&mut self) -> Result<(), Error> {
        let len = self.leaf_len;
        let span = len as u64;
        if let Some(dst) = self.leaf.get_mut(..SPAN_SIZE) {
            dst.copy_from_slice(&span.to_le_bytes());
        }
        let chunk = self.leaf.get(..SPAN_SIZE + len).unwrap_or_default();
        let (span_bytes, payload) = chunk
            .split_first_chunk::<SPAN_SIZE>()
            .unwrap_or((&[0; 8], &[]));
        let addr = chunk_address(span_bytes, payload)?;
        self.sink.put(&addr, chunk).map_err(|_| Error::Sink)?;
        self.leaf_len = 0;
        self.push(0, span, &addr)
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
