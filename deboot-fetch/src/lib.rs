//! `deboot-fetch`: fetch a Swarm target from designated nodes, verify every chunk, and write
//! the file only once all of it has been verified. A small static binary for initramfs
//! generators and scripts, and the library behind `cargo run --example fetch`.
//!
//! It drives `swarm-core`'s [`Resolver`](swarm_core::target::Resolver) (manifest paths, feed
//! lookups with a pinned owner and an anti-rollback minimum, the file's chunk tree) through
//! `swarm-net`'s failover [`Driver`](swarm_net::driver::Driver) over `std::net`; the retry
//! policy is `swarm-net`'s (see its crate docs).
//!
//! # Command line
//! ```text
//! deboot-fetch --node URL [--node URL...] TARGET [-o FILE]
//!              [--min-index N | --min-index-file PATH] [--window W] [--timeout-ms T]
//!
//! URL     http://HOST:PORT   a Bee node's API (GET /chunks/{address})
//!         tcp://HOST:PORT    a swarm-relay (framed protocol, docs/PROTOCOL.md)
//! TARGET  bzz://<ref>[/path] | bytes://<ref> | feed://<owner>/<topic>[/path]
//! ```
//! - **Output.** With `-o FILE` the bytes go to a temporary file `.FILE.<pid>.part` in FILE's
//!   directory, which is `fsync`ed and renamed to FILE only after the whole target verified; a
//!   failed fetch removes it and leaves FILE as it was (absent, or its old content). Without
//!   `-o` the verified output is held in memory, up to [`MAX_STDOUT_LEN`] bytes, and written to
//!   standard output only after the whole fetch verified (standard output cannot be
//!   un-written); a larger target is refused with exit status 2 and a hint to use `-o`.
//! - **Feeds.** `--min-index N` makes the update at index `N` mandatory and refuses any older
//!   one. `--min-index-file PATH` reads `N` from PATH (one decimal number; a missing file is 0,
//!   anything unreadable is an error) and, after a successful fetch through a feed, raises it
//!   to the update's index (atomically, never lowered).
//! - **Progress** is drawn on standard error only when it is a terminal, followed by a
//!   one-line summary; otherwise a successful run prints nothing on standard error, except
//!   one line when chunks no node had were recovered (rebuilt from their group's parity, or
//!   a root taken from its replica — each verified against its reference):
//!   `deboot-fetch: 3 chunks no node had recovered (from parity or a root replica, verified)`.
//!
//! # Exit status
//! | status | meaning |
//! |---|---|
//! | 0 | fetched, verified, written |
//! | 2 | usage: bad flag, node URL, target or window; output over [`MAX_STDOUT_LEN`] without `-o` |
//! | 3 | not found: no node has a chunk the target needs, the path is not in the manifest, or the feed has no update |
//! | 4 | every node failed a chunk: bytes that failed verification, timeouts, protocol errors, unreachable |
//! | 5 | verified content refused: not a manifest, a malformed tree, a bound exceeded, or a feed update older than the anti-rollback minimum |
//! | 6 | local I/O: the output or the min-index file |
//!
//! A failure prints one line on standard error naming the target, the chunk, the reason and
//! each node's standing:
//! ```text
//! deboot-fetch: bzz://…/boot/kernel.img: no node supplied chunk 3f2a…c1 verified (the last
//!   sent bytes that failed: chunk does not hash to its address) [tcp://10.0.0.2:7070: 12
//!   verified, 1 failed; http://10.0.0.3:1633: 0 verified, 3 failed, unreachable]
//! ```
//!
//! # Library
//! ```no_run
//! use deboot_fetch::{fetch_with, Request};
//! let target = "bytes://b34ca8c22b9e982354f9c7f50b470d66db428d880c8a904d5fe4ec9713171526"
//!     .parse()
//!     .map_err(|e| deboot_fetch::Error::Usage(format!("{e}")))?;
//! let req = Request::new(vec!["tcp://127.0.0.1:7070".into()], target);
//! let mut file = Vec::new();
//! let report = fetch_with(&req, |bytes| {
//!     file.extend_from_slice(bytes);
//!     Ok(())
//! })?;
//! println!("{} bytes in {} chunks, {:.1} MB/s", report.bytes, report.chunks, report.mb_per_s());
//! # Ok::<(), deboot_fetch::Error>(())
//! ```
#![forbid(unsafe_code)]
// A std-only crate (files, sockets, a terminal): `core::` spellings would buy nothing here.
#![allow(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]

mod cli;
mod error;
mod fetch;
pub mod output;

pub use cli::{execute, run, Cli};
pub use error::{Error, Exit, FetchFailure};
pub use fetch::{fetch_with, NodeReport, Report, Request, DEFAULT_TIMEOUT_MS, DEFAULT_WINDOW};

/// The most bytes held in memory for standard output (without `-o`): 64 MiB.
pub const MAX_STDOUT_LEN: usize = 64 << 20;
