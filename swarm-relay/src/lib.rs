//! `swarm-relay`: a small daemon for the LAN that serves Swarm chunks to DeBoot devices.
//!
//! It answers on one TCP port both DeBoot's framed protocol (`docs/PROTOCOL.md`) and Bee's
//! `GET /chunks/{address}`, from a local chunk [`Store`] (a redb index over an append-only
//! data file, filled by [`import`]) or from an upstream Bee node, with a bounded in-memory
//! [`cache`]. It never serves a chunk it has not verified: chunks read from disk and chunks
//! fetched upstream are hashed (or their signature checked) before they are cached or sent.
//! Devices verify again; the relay is a convenience, not a trust anchor.
//!
//! In-process use (tests, the `fetch` example):
//!
//! ```
//! use std::sync::Arc;
//! use swarm_relay::{import, Backend, Config, Relay, Store};
//!
//! let dir = std::env::temp_dir().join(format!("relay-doc-{}", std::process::id()));
//! let store = Store::open(&dir)?;
//! let reference = import::import_bytes(&store, b"hello world")?;
//! let relay = Relay::bind("127.0.0.1:0", Backend::Store(Arc::new(store)), Config::default())?;
//! println!("bytes://{reference} at tcp://{}", relay.local_addr());
//! relay.shutdown();
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), swarm_relay::Error>(())
//! ```

#![forbid(unsafe_code)]
// A std-only crate (sockets, files, threads): `core::` spellings would buy nothing here.
#![allow(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]

pub mod backend;
pub mod cache;
pub mod cli;
pub mod demo;
mod error;
pub mod framed;
pub mod http;
pub mod import;
pub mod serve;
pub mod store;
pub mod verify;

pub use backend::{Backend, Upstream};
pub use error::Error;
pub use serve::{Config, Faults, Relay, RelayHandle};
pub use store::Store;
