//! The I/O edge of DeBoot: fetch Swarm chunks from designated nodes and feed them to a
//! sans-IO [`swarm_core::Retrieval`] machine, which verifies every one.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

#[macro_use]
mod fmt;

pub mod codec;
mod error;

pub use error::{Error, Fault, ProtocolError};
pub mod client;
pub mod driver;
pub mod http;
#[cfg(feature = "std")]
pub mod std_net;
pub mod time;
pub mod url;
