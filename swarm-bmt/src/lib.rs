//! Swarm's BMT chunk hash, chunk addresses and the file splitter, for every target DeBoot runs
//! on: `#![no_std]`, no allocator, no I/O.
//!
//! Every Swarm chunk is named by its address, `keccak256(span || bmt_root(payload))`, where the
//! BMT root hashes the payload (zero-padded to 4096 bytes) as a binary Merkle tree of 32-byte
//! segments ([`chunk_address`], [`Hasher`] for payloads that arrive in pieces). A file is a tree
//! of such chunks; the [`Splitter`] turns any byte stream into that tree and its root reference,
//! the same one a Bee node gives for `POST /bytes` with `Swarm-Redundancy-Level: 0`.
//! [`chunk_addresses`] hashes many chunks at once (to verify a batch of fetched chunks).
//!
//! On x86_64 hosts the hashing runs several Keccak permutations per SIMD instruction (8 lanes
//! with AVX-512, 4 with AVX2), chosen once at run time ([`backend`]); every other target, and
//! firmware, uses the portable path. Both give the same bytes; the tests hold one against the
//! other. On the project's 2-core Zen 4 machine (`cargo bench -p swarm-bmt`): portable
//! ~125 MB/s of payload per core, [`chunk_address`] ~850 MB/s, [`chunk_addresses`] and the
//! [`Splitter`] ~1 GB/s, the parallel splitter ~1.9 GB/s on both cores.
//!
//! With the `asm-keccak` feature, the one-permutation-at-a-time paths on x86_64 (the portable
//! BMT, [`keccak256`], firmware targets) run a Keccak-f\[1600\] written in assembly: as fast as
//! the `keccak` crate's natively, ~40 % faster under an emulator such as QEMU's TCG (GRUB's
//! `swarm.mod` uses it).
//!
//! ```
//! use swarm_bmt::{chunk_address, Splitter};
//!
//! // One chunk: span (u64 LE) and payload.
//! let addr = chunk_address(&5u64.to_le_bytes(), b"hello")?;
//!
//! // A file of up to 4096 bytes is that single chunk.
//! let mut splitter = Splitter::new();
//! splitter.write(b"hello")?;
//! assert_eq!(splitter.finish()?, addr);
//! # Ok::<(), swarm_bmt::Error>(())
//! ```
//!
//! # Bounds
//! - payload: at most [`MAX_PAYLOAD_LEN`] (4096) bytes, else [`Error::PayloadTooLong`];
//! - file: at most [`MAX_FILE_LEN`] (`2^61`) bytes, else [`Error::FileTooLarge`];
//! - the splitter's memory is fixed (one buffer per tree level, [`MAX_TREE_LEVELS`], and
//!   [`LEAF_BATCH`] leaf buffers).
//!
//! # Features
//! - `alloc`, `std`: `std` adds the multi-threaded `splitter::ParallelSplitter`
//!   (`std::error::Error` comes through `core::error::Error` on every target).
//! - SIMD needs no feature: on x86_64 the AVX-512 or AVX2 kernels are chosen at run time
//!   ([`backend`]); `--cfg deboot_scalar` forces the portable path.
//! - `defmt`: derives `defmt::Format` on public types.
//!
//! Spec: `../shared/spec/chunks.md` §1–3.
#![no_std]
// `deny`, not `forbid`: the one SIMD module (`lanes`) opts out, documented block by block.
#![deny(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod address;
#[doc(hidden)]
pub mod bench;
mod error;
pub mod hasher;
mod keccak;
#[allow(unsafe_code)]
mod lanes;
pub mod splitter;

pub use address::{ChunkAddress, Reference, Span};
pub use error::Error;
pub use hasher::{bmt_root, chunk_address, chunk_address_of, chunk_addresses, Hasher, ZERO_HASHES};
pub use keccak::{keccak256, Keccak256};
pub use lanes::{backend, Backend};
#[cfg(feature = "std")]
pub use splitter::ParallelSplitter;
pub use splitter::{ChunkSink, NoSink, Splitter, LEAF_BATCH, MAX_FILE_LEN, MAX_TREE_LEVELS};

/// Bytes of the little-endian span that starts every content-addressed chunk.
pub const SPAN_SIZE: usize = 8;
/// Largest payload of one chunk, in bytes.
pub const MAX_PAYLOAD_LEN: usize = 4096;
/// Largest content-addressed chunk as stored: span and a full payload.
pub const MAX_CHUNK_LEN: usize = SPAN_SIZE + MAX_PAYLOAD_LEN;
/// Size of a BMT segment, of a keccak digest and of a plain reference.
pub const SEGMENT_SIZE: usize = 32;
/// References per intermediate chunk of an unencrypted tree.
pub const BRANCHES: usize = 128;
/// References per intermediate chunk of an encrypted tree (64-byte references).
pub const ENCRYPTED_BRANCHES: usize = 64;
