//! Conformance against vectors made by Go Bee, Bee's own tests and Swarm's JS libraries.
//!
//! Everything is read from `tests/vectors/` (a copy of the project's shared vectors, with their
//! provenance READMEs), never from outside the repository. Each test counts the cases it ran
//! and asserts the count, so an emptied or renamed vector file fails instead of passing.
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

mod common;

mod bmt;
mod encryption;
mod feed;
mod joiner;
mod manifest;
mod redundancy;
mod soc;
