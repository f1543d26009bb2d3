//! Loopback fetch throughput: 64 MiB of chunks served from memory by an in-process test server
//! (framed and Bee-HTTP), fetched through `std_net::fetch` with verification, beside the
//! single-core chunk-verification rate and a plain TCP copy of the same bytes measured in the
//! same run. `cargo bench -p swarm-net --bench loopback` (`LOOPBACK_MIB` changes the size).
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
#![allow(missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::time::Instant;

use common::*;
use swarm_core::chunk::VerifiedChunk;
use swarm_net::driver::Config;

fn mbps(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / 1e6
}

fn main() {
    let mib: usize = std::env::var("LOOPBACK_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let chunks = make_chunks(mib * 256, 12345);
    let total: usize = chunks.iter().map(|(_, d)| d.len() - 8).sum();
    println!(
        "loopback fetch of {} MiB ({} chunks)",
        total >> 20,
        chunks.len()
    );

    // Baseline 1: verify every chunk on one core (what the client must do anyway).
    let t = Instant::now();
    for (a, d) in &chunks {
        std::hint::black_box(VerifiedChunk::verify(a, d).unwrap());
    }
    let hash = mbps(total, t.elapsed().as_secs_f64());
    println!("  chunk verification, one core:     {hash:8.1} MB/s");

    // Baseline 2: a plain TCP copy of the same bytes, unverified.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let payload: Vec<u8> = chunks.iter().flat_map(|(_, d)| d.clone()).collect();
    let p2 = payload.clone();
    let srv = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.write_all(&p2).unwrap();
    });
    let t = Instant::now();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0;
    loop {
        let k = s.read(&mut buf).unwrap();
        if k == 0 {
            break;
        }
        n += k;
    }
    let copy = mbps(n, t.elapsed().as_secs_f64());
    srv.join().unwrap();
    println!("  plain TCP copy:                   {copy:8.1} MB/s");

    for proto in [Proto::Framed, Proto::Http] {
        let server = TcpServer::start(proto, store_of(&chunks), Faults::default());
        for window in [1usize, 16, 64, 256] {
            let mut r = ListRetrieval::of(&chunks, window.max(16) * 2);
            let mut got = 0usize;
            let t = Instant::now();
            let config = Config {
                window,
                ..Config::default()
            };
            swarm_net::std_net::fetch(&[&server.url(proto)], &mut r, config, |b| {
                got += b.len();
                Ok(())
            })
            .unwrap();
            let secs = t.elapsed().as_secs_f64();
            assert_eq!(got, total);
            let rate = mbps(total, secs);
            println!(
                "  {:<6} window {window:>3}:               {rate:8.1} MB/s  ({:.2} of verification, {:.2} of TCP copy)",
                format!("{proto:?}"),
                rate / hash,
                rate / copy
            );
        }
    }
}
