//! `cargo run --example fetch` without arguments must keep working: run its demo (relays,
//! fetches, the liar caught) in this test, from the example's own source.
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

#[allow(dead_code)]
#[path = "../fetch.rs"]
mod fetch_example;

#[test]
fn the_fetch_demo_runs_and_cleans_up() {
    fetch_example::run_demo().unwrap();
    let dir = std::env::temp_dir().join(format!("deboot-fetch-demo-{}", std::process::id()));
    assert!(!dir.exists(), "{} left behind", dir.display());
}
