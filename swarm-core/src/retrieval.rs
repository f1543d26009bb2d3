//! The one shape every sans-IO retrieval machine has, so one driver loop serves them all.
//!
//! The joiner (a file's bytes from its root reference), the manifest resolver and the feed
//! lookup all want chunks by address and hand out verified output. A driver — a blocking loop in
//! a test, the framed or HTTP client in `swarm-net`, a UEFI or GRUB event loop — runs:
//!
//! ```text
//!   loop {
//!       while let Some(addr) = m.poll_request() { send a request for addr }   // fill the window
//!       match a response {
//!           chunk bytes for addr => m.handle_chunk(&addr, &bytes)?,   // verified here
//!           no node has addr     => m.handle_not_found(&addr)?,
//!           no node served it verified => m.handle_unavailable(&addr)?,   // timeouts, liars
//!       }
//!       while let n @ 1.. = m.read(&mut buf)? { output &buf[..n] }      // verified bytes only
//!       if m.is_finished() { break }
//!   }
//! ```
//!
//! # Contract
//! - [`Retrieval::poll_request`] hands out each wanted address once; it stays *outstanding*
//!   until answered by [`Retrieval::handle_chunk`], [`Retrieval::handle_not_found`] or
//!   [`Retrieval::handle_unavailable`]. It returns
//!   `None` when nothing more is wanted now (the window is full, or output must be read first).
//! - [`Retrieval::handle_chunk`] verifies the bytes before keeping anything. If it fails with
//!   an error whose [`Error::is_peer_fault`] is true (the bytes do not hash to the address, a bad
//!   signature, a truncated chunk), the machine is **unchanged**: the address is still
//!   outstanding and the driver may ask another node for it. Any other error (content that
//!   verifies but is malformed, a bound exceeded) is final: the retrieval cannot succeed.
//! - Bytes for an address that is not outstanding are refused ([`Error::UnexpectedChunk`]) and
//!   change nothing.
//! - [`Retrieval::read`] copies out only verified bytes, strictly in order; `Ok(0)` before
//!   [`Retrieval::is_finished`] means "deliver more chunks first".
//! - Every call does bounded work.

use swarm_bmt::ChunkAddress;

use crate::Error;

/// A sans-IO machine that turns requested chunks into verified output; see the
/// [module docs](self) for the driver loop and the contract.
pub trait Retrieval {
    /// The next chunk address to fetch, if the machine wants one now.
    fn poll_request(&mut self) -> Option<ChunkAddress>;

    /// Hands over the bytes a node returned for the outstanding `address`.
    ///
    /// # Errors
    /// A peer fault (the machine is unchanged, ask another node) or a final error; see the
    /// [module docs](self).
    fn handle_chunk(&mut self, address: &ChunkAddress, data: &[u8]) -> Result<(), Error>;

    /// Tells the machine that no node could supply the outstanding `address`.
    ///
    /// # Errors
    /// Final for a machine that needs that chunk (a file's data); a feed lookup takes it as the
    /// absence of an update.
    fn handle_not_found(&mut self, address: &ChunkAddress) -> Result<(), Error>;

    /// Tells the machine that no node could supply the outstanding `address` *verified*:
    /// after the driver's retry policy, every node timed out, lost its connection, failed
    /// the request or sent bytes that failed verification (some may also have said "not
    /// found"). Unlike [`Retrieval::handle_not_found`] this is not evidence that the chunk
    /// does not exist, so a feed lookup must not read it as "no update".
    ///
    /// A file's joiner treats it like a missing chunk: with the `recovery` feature it
    /// rebuilds the chunk from its sibling group's parity (or the root from a replica). The
    /// default is final.
    ///
    /// # Errors
    /// [`Error::ChunkNotFound`] (the default) when the machine cannot do without the chunk;
    /// any other final error it finds on the way.
    fn handle_unavailable(&mut self, address: &ChunkAddress) -> Result<(), Error> {
        let _ = address;
        Err(Error::ChunkNotFound)
    }

    /// The chunk the machine could neither get nor rebuild, once it failed with
    /// [`Error::ChunkNotFound`] — which may be another chunk than the one just reported
    /// missing (a root whose replicas are missing too, a data chunk whose sibling group lost
    /// more than its parities). `None` (the default) when it does not know.
    fn unrecoverable(&self) -> Option<ChunkAddress> {
        None
    }

    /// Copies verified output into `buf`; returns the number of bytes written.
    ///
    /// # Errors
    /// A final error found while producing output.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error>;

    /// Whether all output has been produced and read.
    fn is_finished(&self) -> bool;
}
