//! Verified Swarm chunks and what is built from them, for every target DeBoot runs on:
//! `#![no_std]`, no allocator on the main path, no I/O.
//!
//! - [`chunk`]: content-addressed chunks, verified against their address;
//! - [`soc`]: single-owner chunks, verified by recovering the signer;
//! - [`retrieval`]: the [`Retrieval`] trait every sans-IO retrieval machine implements;
//! - [`joiner`]: a file's verified bytes from its root reference ([`Joiner`]);
//! - [`crypt`]: Swarm's chunk encryption; [`redundancy`]: erasure-coded tree shapes;
//! - `source` (`std`): a blocking driver for any [`Retrieval`] over a chunk source;
//! - [`manifest`]: mantaray manifests (sans-IO lookup and listing; Go Bee's writer with
//!   `alloc`), [`metadata`]: their JSON metadata;
//! - [`feed`]: feed identifiers, update payloads, the latest-update lookup;
//! - [`target`]: `bzz://`, `bytes://` and `feed://` targets and the [`target::Resolver`]
//!   that fetches any of them behind one [`Retrieval`].
//!
//! ```
//! use swarm_core::chunk::VerifiedChunk;
//! let data = [0u8; 8]; // the empty chunk: span 0, no payload
//! let addr = "b34ca8c22b9e982354f9c7f50b470d66db428d880c8a904d5fe4ec9713171526".parse()?;
//! let chunk = VerifiedChunk::verify(&addr, &data)?;
//! assert_eq!(chunk.span().get(), 0);
//! # Ok::<(), swarm_core::Error>(())
//! ```
//!
//! # Features
//! - `alloc`: owned conveniences (encryption of test data, the manifest writer);
//! - `std`: blocking helpers over `std::io`;
//! - `recovery` (needs `alloc`): the joiner rebuilds chunks no node has from their sibling
//!   group's parity chunks and fetches a missing root from its dispersed replicas
//!   (`recovery` module);
//! - `defmt`: derives `defmt::Format` on public types.
//!
//! Spec: `../shared/spec/chunks.md` and `../shared/spec/mantaray-and-api.md`.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod chunk;
pub mod crypt;
mod error;
pub mod feed;
#[cfg(feature = "recovery")]
mod gf256;
pub mod joiner;
pub mod manifest;
pub mod metadata;
#[cfg(feature = "recovery")]
pub mod recovery;
pub mod redundancy;
#[cfg(feature = "recovery")]
pub mod redundant;
pub mod retrieval;
pub mod soc;
#[cfg(feature = "std")]
pub mod source;
pub mod target;

pub use error::Error;
pub use joiner::Joiner;
pub use retrieval::Retrieval;
