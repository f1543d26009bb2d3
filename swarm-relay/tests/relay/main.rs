//! Integration tests of `swarm-relay`: store, import, HTTP and framed serving, shutdown, CLI.
//! Loopback only (127.0.0.1:0), a timeout on every read, every spawned thread joined.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(
    unreachable_pub,
    clippy::std_instead_of_core,
    clippy::alloc_instead_of_core
)]

mod cli;
mod demo;
mod framed;
mod http;
mod import;
mod redundancy;
mod store;
mod support;
