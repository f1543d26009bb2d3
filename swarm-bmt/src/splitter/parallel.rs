//! The splitter on several threads (feature `std`).

use core::num::NonZeroUsize;
use core::time::Duration;
use std::thread;
use std::vec::Vec;

use super::{grown_len, HashLeaves, Leaves, NoSink, Tree, CHUNK_LEN};
use crate::hasher::leaf_addresses;
use crate::{ChunkAddress, ChunkSink, Error};

/// Leaves each thread hashes per run of a [`ParallelSplitter`] (2 MiB of content).
pub const LEAVES_PER_THREAD: usize = 512;

/// Largest number of threads a [`ParallelSplitter`] uses.
pub const MAX_THREADS: usize = 64;

/// The [`Splitter`](super::Splitter) with the leaf hashing spread over several threads
/// (feature `std`): same root reference, same chunks handed to the sink in the same order.
///
/// Leaves are hashed in runs: each run is cut into one contiguous part per thread, and each
/// thread hashes its part with [`chunk_addresses`](crate::chunk_addresses) (8 leaves side by
/// side in the SIMD lanes on x86_64), the calling thread taking the first part. Then the
/// calling thread hands the leaves to the sink in order and builds the intermediate chunks
/// (1 in 128 of all chunks) itself. Writes are buffered, [`LEAVES_PER_THREAD`] leaves per
/// thread (4 MiB with two threads), and hashed when the buffer is full; a write at least as
/// large as the buffer is hashed where it lies instead (no copy), up to four buffers' worth
/// per run.
///
/// Threads are spawned per run (each run is milliseconds of work per thread). On the 2-core
/// machine of `cargo bench -p swarm-bmt` this is about 1.9 times as fast as the
/// [`Splitter`](super::Splitter); runs shorter than 64 leaves per thread stay on the calling
/// thread.
/// The sink is only ever called from the thread that calls [`write`](Self::write) and
/// [`finish`](Self::finish), so it need not be `Send`.
///
/// Memory: the leaf buffer, `threads · LEAVES_PER_THREAD · 4104` bytes on the heap (about
/// 4.2 MB for 2 threads), the addresses of one run (`32 · 4 · threads · LEAVES_PER_THREAD`
/// bytes, 128 KiB for 2 threads), plus the tree levels (about 32 KiB) inline. Threads are
/// scoped and spawned per run.
///
/// ```
/// use swarm_bmt::splitter::{root_of, ParallelSplitter};
/// let data = vec![7u8; 3 * 1024 * 1024 + 5];
/// let mut s = ParallelSplitter::new().with_threads(2);
/// s.write(&data)?;
/// assert_eq!(s.finish()?, root_of(&data)?);
/// # Ok::<(), swarm_bmt::Error>(())
/// ```
pub struct ParallelSplitter<S: ChunkSink = NoSink> {
    leaves: Leaves<Vec<[u8; CHUNK_LEN]>>,
    hash: OnThreads,
    tree: Tree<S>,
    total: u64,
}

impl ParallelSplitter<NoSink> {
    /// A splitter that only computes the root reference, on as many threads as
    /// [`std::thread::available_parallelism`] (at most [`MAX_THREADS`]).
    #[must_use]
    pub fn new() -> Self {
        Self::with_sink(NoSink)
    }
}

impl Default for ParallelSplitter<NoSink> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: ChunkSink> ParallelSplitter<S> {
    /// A splitter that hands every chunk it produces to `sink`, on as many threads as
    /// [`std::thread::available_parallelism`] (at most [`MAX_THREADS`]).
    pub fn with_sink(sink: S) -> Self {
        let threads = thread::available_parallelism().map_or(1, NonZeroUsize::get);
        Self::build(sink, threads)
    }

    /// The same splitter on `threads` threads (the calling one included; clamped to
    /// `1..=MAX_THREADS`). Call it before writing: it drops buffered content.
    #[must_use]
    pub fn with_threads(self, threads: usize) -> Self {
        Self::build(self.tree.sink, threads)
    }

    fn build(sink: S, threads: usize) -> Self {
        let threads = threads.clamp(1, MAX_THREADS);
        let slots = threads * LEAVES_PER_THREAD;
        Self {
            leaves: Leaves::new(std::vec![[0; CHUNK_LEN]; slots]),
            hash: OnThreads {
                addrs: std::vec![ChunkAddress::default(); DIRECT_FACTOR * slots],
                threads,
            },
            tree: Tree::new(sink),
            total: 0,
        }
    }

    /// Threads used for leaf hashing, the calling one included.
    #[must_use]
    pub const fn threads(&self) -> usize {
        self.hash.threads
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
    /// [`Error::FileTooLarge`] past [`MAX_FILE_LEN`](super::MAX_FILE_LEN) bytes (nothing of
    /// `data` is taken then); [`Error::Sink`] if the sink refused a chunk.
    pub fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        let grown = grown_len(self.total, data)?;
        self.leaves.write(data, &mut self.tree, &mut self.hash)?;
        self.total = grown;
        Ok(())
    }

    /// Ends the content and returns its root chunk address (the file's reference).
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

/// The [`ParallelSplitter`]'s hashing: runs of up to [`DIRECT_FACTOR`] leaf buffers' worth,
/// cut into one part per thread.
struct OnThreads {
    /// The addresses of one run.
    addrs: Vec<ChunkAddress>,
    threads: usize,
}

impl HashLeaves for OnThreads {
    fn addresses<'p>(
        &mut self,
        payloads: impl Iterator<Item = &'p [u8]>,
    ) -> Result<&[ChunkAddress], Error> {
        let run: Vec<&[u8]> = payloads.take(self.addrs.len()).collect();
        let addrs = self.addrs.get_mut(..run.len()).ok_or(Error::FileTooLarge)?;
        hash_on_threads(self.threads, &run, addrs)?;
        Ok(addrs)
    }
}

/// Leaves hashed in place per run, as a multiple of the buffer's size (bounds the addresses
/// kept: 32 bytes a leaf).
const DIRECT_FACTOR: usize = 4;

/// Runs shorter than this many leaves per thread are hashed on the calling thread alone: a
/// spawn costs more than they take.
const MIN_LEAVES_PER_THREAD: usize = 64;

/// Addresses of the leaves `payloads` on up to `threads` threads: one contiguous run each, in
/// whole SIMD batches of 8, the calling thread taking the first run.
fn hash_on_threads(
    threads: usize,
    payloads: &[&[u8]],
    addrs: &mut [ChunkAddress],
) -> Result<(), Error> {
    let per = payloads.len().div_ceil(threads.max(1)).next_multiple_of(8);
    if payloads.len() <= per || per < MIN_LEAVES_PER_THREAD {
        return leaf_addresses(payloads, addrs);
    }
    thread::scope(|scope| {
        let mut runs = payloads.chunks(per).zip(addrs.chunks_mut(per));
        let first = runs.next();
        let workers: Vec<_> = runs
            .map(|(p, a)| scope.spawn(move || leaf_addresses(p, a)))
            .collect();
        // A new thread starts on the spawning thread's core and waits there until the
        // scheduler moves it, which on the 2-vCPU KVM guests we measured takes milliseconds
        // (2 ms runs ran at 0.53 of two cores). Sleeping a moment lets a worker take this
        // core; the timer then wakes this thread on an idle one (0.96 of two cores).
        thread::sleep(Duration::from_micros(1));
        if let Some((p, a)) = first {
            leaf_addresses(p, a)?;
        }
        for w in workers {
            // A worker only panics on a bug; carry that panic on, unchanged.
            w.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        }
        Ok(())
    })
}
