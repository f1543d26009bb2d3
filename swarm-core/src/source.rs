//! Host convenience (`std`): drive any [`Retrieval`] machine against a blocking chunk source
//! and write its output to an [`io::Write`].
//!
//! Tests, tools and, later, `swarm-net` use it; a source is anything that can look a chunk up
//! by address: an in-memory map, a directory of chunk files ([`DirSource`]), a blocking client.
//!
//! ```
//! use std::collections::HashMap;
//! use swarm_bmt::{ChunkAddress, Splitter};
//! use swarm_core::{joiner::Buffers, source::drive};
//!
//! let mut store = HashMap::new();
//! let mut splitter = Splitter::with_sink(|a: &ChunkAddress, c: &[u8]| {
//!     store.insert(*a, c.to_vec());
//!     Ok(())
//! });
//! splitter.write(&[5u8; 9000])?;
//! let root = splitter.finish()?;
//!
//! let mut memory = Box::new(Buffers::<8, 2>::new());
//! let mut joiner = memory.joiner(root.into(), Some((100, 200)))?;
//! let mut out = Vec::new();
//! assert_eq!(drive(&mut joiner, &mut store, &mut out)?, 100);
//! assert_eq!(out, [5u8; 100]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::hash::BuildHasher;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::path::PathBuf;
use std::vec;
use std::vec::Vec;

use swarm_bmt::ChunkAddress;

use crate::soc::MAX_SOC_LEN;
use crate::{Error, Retrieval};

/// A blocking store of chunks, looked up by address.
pub trait ChunkSource {
    /// Copies the chunk stored at `address` (its bytes as Bee serves them: `span || payload`,
    /// or a whole single-owner chunk) into `buf` and returns its length; `Ok(None)` if the
    /// source does not have it.
    ///
    /// `buf` holds at least [`MAX_SOC_LEN`] (4201) bytes.
    ///
    /// # Errors
    /// Any I/O failure of the source (a chunk longer than `buf` is `InvalidData`).
    fn fetch(&mut self, address: &ChunkAddress, buf: &mut [u8]) -> io::Result<Option<usize>>;
}

/// Runs `machine` to completion against `source`, writing its output to `out`; returns the
/// number of bytes written.
///
/// Requests are fetched one at a time in the order the machine asked for them. With a single
/// source there is no other node to ask, so a peer fault ends the run too.
///
/// # Errors
/// The source's and `out`'s I/O errors; the machine's errors as
/// `io::Error::new(kind, swarm_core::Error)` (recover it with `get_ref()` and
/// `downcast_ref::<swarm_core::Error>()`), of kind `NotFound` for
/// [`Error::ChunkNotFound`] and `InvalidData` otherwise; `Other` if the machine stalls (wants
/// nothing, has no output and is not finished).
pub fn drive<R, S, W>(machine: &mut R, source: &mut S, out: &mut W) -> io::Result<u64>
where
    R: Retrieval + ?Sized,
    S: ChunkSource + ?Sized,
    W: io::Write + ?Sized,
{
    let mut wanted = VecDeque::new();
    let mut chunk = vec![0u8; MAX_SOC_LEN];
    let mut output = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        // Poll, read out (which frees room), poll again.
        for _ in 0..2 {
            while let Some(address) = machine.poll_request() {
                wanted.push_back(address);
            }
            loop {
                let n = machine.read(&mut output).map_err(to_io)?;
                if n == 0 {
                    break;
                }
                out.write_all(output.get(..n).unwrap_or_default())?;
                written += n as u64;
            }
        }
        if machine.is_finished() {
            return Ok(written);
        }
        let Some(address) = wanted.pop_front() else {
            return Err(io::Error::other(
                "retrieval stalled: nothing wanted, nothing to read",
            ));
        };
        match source.fetch(&address, &mut chunk)? {
            Some(len) => {
                let data = chunk.get(..len).ok_or(io::ErrorKind::InvalidData)?;
                machine.handle_chunk(&address, data).map_err(to_io)?;
            }
            None => machine.handle_not_found(&address).map_err(to_io)?,
        }
    }
}

/// Converts a machine's error for [`drive`]'s callers.
fn to_io(e: Error) -> io::Error {
    let kind = match e {
        Error::ChunkNotFound => io::ErrorKind::NotFound,
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(kind, e)
}

/// Chunk files in a directory, each named by its address in lowercase hex (the layout of the
/// vector sets and of `swarm-relay`'s store).
#[derive(Debug, Clone)]
pub struct DirSource {
    dir: PathBuf,
}

impl DirSource {
    /// A source reading chunk files from `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

impl ChunkSource for DirSource {
    fn fetch(&mut self, address: &ChunkAddress, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match std::fs::read(self.dir.join(std::format!("{address}"))) {
            Ok(bytes) => copy_into(&bytes, buf).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl<H: BuildHasher> ChunkSource for HashMap<ChunkAddress, Vec<u8>, H> {
    fn fetch(&mut self, address: &ChunkAddress, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.get(address).map(|c| copy_into(c, buf)).transpose()
    }
}

impl ChunkSource for BTreeMap<ChunkAddress, Vec<u8>> {
    fn fetch(&mut self, address: &ChunkAddress, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.get(address).map(|c| copy_into(c, buf)).transpose()
    }
}

impl<T: ChunkSource + ?Sized> ChunkSource for &mut T {
    fn fetch(&mut self, address: &ChunkAddress, buf: &mut [u8]) -> io::Result<Option<usize>> {
        (**self).fetch(address, buf)
    }
}

fn copy_into(chunk: &[u8], buf: &mut [u8]) -> io::Result<usize> {
    let dst = buf
        .get_mut(..chunk.len())
        .ok_or(io::ErrorKind::InvalidData)?;
    dst.copy_from_slice(chunk);
    Ok(chunk.len())
}
