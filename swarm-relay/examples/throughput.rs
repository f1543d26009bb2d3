//! How fast the relay serves: imports N MiB into a temporary store, starts an in-process relay
//! on 127.0.0.1, and fetches every chunk of the file over DBCP and over Bee's HTTP
//! `GET /chunks` with several request windows, from disk (each chunk re-verified by the relay)
//! and from the cache. Baselines measured in the same run: single-core chunk hashing (what a
//! client spends to verify) and a plain unverified TCP copy of the same bytes.
//!
//! ```sh
//! cargo run --release -p swarm-relay --example throughput -- [SIZE_MIB] [DELAY_MS] [WINDOW,...]
//! ```
//!
//! The client hashes every received chunk on its thread, as a real client does (set
//! `NOVERIFY=1` to measure the relay alone); `/hash` is the ratio to the single-core hash rate
//! (the bar: ≥ 0.8 with a window), `/tcp` to the plain copy. The client refills its window
//! half a window at a time. Numbers swing with other load on the machine: compare rows of one
//! run, not runs.
#![allow(clippy::std_instead_of_core, clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use swarm_bmt::{ChunkAddress, Splitter};
use swarm_net::codec::{decode_frame, Message, MAX_FRAME_LEN};
use swarm_relay::{Backend, Config, Faults, Relay, Store};

fn main() {
    let mut args = std::env::args().skip(1);
    let size_mib: usize = args.next().map_or(64, |a| a.parse().expect("SIZE_MIB"));
    let delay_ms: u64 = args.next().map_or(0, |a| a.parse().expect("DELAY_MS"));
    let windows: Vec<usize> = args.next().map_or(vec![1, 4, 16, 64, 256], |a| {
        a.split(',').map(|w| w.parse().expect("WINDOWS")).collect()
    });
    let len = size_mib << 20;
    let data = xorshift_bytes(0x00de_b007, len);

    // The chunk list, children before parents (the order a joiner would mostly ask in).
    let mut chunks: Vec<ChunkAddress> = Vec::new();
    let mut s = Splitter::with_sink(|a: &ChunkAddress, _: &[u8]| {
        chunks.push(*a);
        Ok(())
    });
    s.write(&data).unwrap();
    let _root = s.finish().unwrap();
    let n_chunks = chunks.len();

    let hash_mbs = hash_rate(&data);
    let batch_mbs = batch_hash_rate(&data);
    let dir = std::env::temp_dir().join(format!("relay-throughput-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open(&dir).unwrap();
    let t = Instant::now();
    let reference = swarm_relay::import::import_bytes(&store, &data).unwrap();
    let import_s = t.elapsed().as_secs_f64();
    let db_len = std::fs::metadata(store.path()).unwrap().len();
    let tcp_mbs = tcp_copy_rate(&data);
    println!("{size_mib} MiB, {n_chunks} chunks, reference {reference}");
    println!(
        "import: {:.0} MB/s ({import_s:.2} s); database file {:.0} MiB ({:.2}x the content)",
        mb(len) / import_s,
        db_len as f64 / (1 << 20) as f64,
        db_len as f64 / len as f64
    );
    let t = Instant::now();
    for c in &chunks {
        std::hint::black_box(store.get_chunk(c).unwrap().unwrap());
    }
    let read_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for c in &chunks {
        std::hint::black_box(store.get_verified(c).unwrap().unwrap());
    }
    let verified_s = t.elapsed().as_secs_f64();
    println!(
        "store, one thread: read {:.0} MB/s, read + re-verify {:.0} MB/s",
        mb(len) / read_s,
        mb(len) / verified_s
    );
    println!(
        "baselines: single-core chunk hash {hash_mbs:.0} MB/s (batched, multi-lane: \
         {batch_mbs:.0} MB/s), plain TCP copy {tcp_mbs:.0} MB/s"
    );
    println!("relay delay per response: {delay_ms} ms");

    let store = Arc::new(store);
    println!(
        "\n{:<6} {:>6} {:>12} {:>14} {:>8} {:>8}",
        "proto", "window", "source", "client MB/s", "/hash", "/tcp"
    );
    for &window in &windows {
        for proto in ["dbcp", "http"] {
            // A fresh relay per row: the first pass reads (and re-verifies) from disk.
            let config = Config {
                cache_chunks: n_chunks,
                faults: Faults {
                    delay: Duration::from_millis(delay_ms),
                    ..Faults::default()
                },
                ..Config::default()
            };
            let relay =
                Relay::bind("127.0.0.1:0", Backend::Store(Arc::clone(&store)), config).unwrap();
            for source in ["disk", "cache"] {
                let secs = fetch(
                    proto,
                    relay.local_addr(),
                    &chunks,
                    window,
                    std::env::var_os("NOVERIFY").is_none(),
                );
                let mbs = mb(len) / secs;
                println!(
                    "{proto:<6} {window:>6} {source:>12} {mbs:>14.0} {:>8.2} {:>8.2}",
                    mbs / hash_mbs,
                    mbs / tcp_mbs
                );
            }
            relay.shutdown();
        }
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Fetches every chunk with `window` requests in flight; returns seconds. With `verify`, each
/// chunk is hashed on this thread and compared with its address.
fn fetch(
    proto: &str,
    addr: SocketAddr,
    chunks: &[ChunkAddress],
    window: usize,
    verify: bool,
) -> f64 {
    let s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::with_capacity(256 * 1024, s);
    let mut frame = [0u8; MAX_FRAME_LEN];
    let t = Instant::now();
    if proto == "dbcp" {
        let n = Message::hello().encode(&mut frame).unwrap();
        w.write_all(&frame[..n]).unwrap();
        read_frame(&mut r, &mut |_| {});
    }
    let mut next = 0usize;
    let mut in_flight: VecDeque<usize> = VecDeque::new();
    let mut body = Vec::new();
    while next < chunks.len() || !in_flight.is_empty() {
        let mut out = Vec::new();
        // Refill in batches (half a window at a time) so both sides move many chunks per
        // system call, as a pipelining client does.
        let refill = in_flight.len() <= window / 2;
        while refill && next < chunks.len() && in_flight.len() < window {
            if proto == "dbcp" {
                let id = u32::try_from(next).unwrap();
                let n = Message::GetChunk {
                    id,
                    address: chunks[next].0,
                }
                .encode(&mut frame)
                .unwrap();
                out.extend_from_slice(&frame[..n]);
            } else {
                write!(
                    out,
                    "GET /chunks/{} HTTP/1.1\r\nHost: relay\r\n\r\n",
                    chunks[next]
                )
                .unwrap();
            }
            in_flight.push_back(next);
            next += 1;
        }
        if !out.is_empty() {
            w.write_all(&out).unwrap();
        }
        body.clear();
        let id = if proto == "dbcp" {
            let mut got = None;
            read_frame(&mut r, &mut |m| {
                if let Message::Chunk { id, data } = m {
                    body.extend_from_slice(data);
                    got = Some(id as usize);
                }
            });
            let id = got.expect("a Chunk");
            in_flight.retain(|&i| i != id);
            id
        } else {
            read_http(&mut r, &mut body);
            in_flight.pop_front().unwrap()
        };
        if verify {
            assert_eq!(swarm_bmt::chunk_address_of(&body).unwrap(), chunks[id]);
        }
    }
    t.elapsed().as_secs_f64()
}

fn read_frame(r: &mut BufReader<TcpStream>, f: &mut dyn FnMut(Message<'_>)) {
    let mut header = [0u8; 4];
    r.read_exact(&mut header).unwrap();
    let len = u32::from_le_bytes(header) as usize;
    let mut buf = vec![0u8; 4 + len];
    buf[..4].copy_from_slice(&header);
    r.read_exact(&mut buf[4..]).unwrap();
    let frame = decode_frame(&buf).unwrap().unwrap();
    f(frame.message().unwrap());
}

fn read_http(r: &mut BufReader<TcpStream>, body: &mut Vec<u8>) {
    let mut line = String::new();
    let mut len = 0usize;
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("Content-Length: ") {
            len = v.parse().unwrap();
        }
    }
    body.resize(len, 0);
    r.read_exact(body).unwrap();
}

/// Single-core `chunk_address_of` over the content cut into 4104-byte chunks, MB/s of payload.
fn hash_rate(data: &[u8]) -> f64 {
    let mut chunk = vec![0u8; 4104];
    chunk[..8].copy_from_slice(&4096u64.to_le_bytes());
    let t = Instant::now();
    let mut acc = 0u8;
    for piece in data.chunks(4096) {
        chunk[8..8 + piece.len()].copy_from_slice(piece);
        acc ^= swarm_bmt::chunk_address_of(&chunk[..8 + piece.len()])
            .unwrap()
            .0[0];
    }
    std::hint::black_box(acc);
    mb(data.len()) / t.elapsed().as_secs_f64()
}

/// Single-core `chunk_addresses` (multi-lane batches of 64 chunks), MB/s of payload.
fn batch_hash_rate(data: &[u8]) -> f64 {
    let chunks: Vec<Vec<u8>> = data
        .chunks(4096)
        .map(|p| {
            let mut c = (p.len() as u64).to_le_bytes().to_vec();
            c.extend_from_slice(p);
            c
        })
        .collect();
    let mut out = vec![ChunkAddress::default(); 64];
    let t = Instant::now();
    for group in chunks.chunks(64) {
        let refs: Vec<&[u8]> = group.iter().map(Vec::as_slice).collect();
        swarm_bmt::chunk_addresses(&refs, &mut out[..refs.len()]).unwrap();
        std::hint::black_box(&out);
    }
    mb(data.len()) / t.elapsed().as_secs_f64()
}

/// A plain TCP copy of `data` over loopback (no framing, no hashing), MB/s.
fn tcp_copy_rate(data: &[u8]) -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let payload = data.to_vec();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(&payload).unwrap();
    });
    let mut s = TcpStream::connect(addr).unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let t = Instant::now();
    let mut got = 0;
    while got < data.len() {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0);
        got += n;
    }
    let secs = t.elapsed().as_secs_f64();
    server.join().unwrap();
    mb(data.len()) / secs
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

fn xorshift_bytes(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.max(1);
    let mut out = Vec::with_capacity(len + 4);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}
