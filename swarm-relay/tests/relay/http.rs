//! Bee's `GET /chunks/{address}` served by the relay, checked with a raw TcpStream client.

use std::collections::HashSet;
use std::io::{BufReader, Read, Write};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use swarm_bmt::ChunkAddress;
use swarm_relay::{Backend, Config, Faults, Relay, Upstream};

use crate::support::{
    connect, corrupt_on_disk, http_conn, http_get, read_response, seeded_store, start, READ_TIMEOUT,
};

const NOT_FOUND_BODY: &[u8] = b"{\"code\":404,\"message\":\"chunk not found\"}\n\n";

#[test]
fn get_chunks_answers_like_bee_on_one_kept_alive_connection() {
    let seeded = seeded_store("http-get");
    let relay = start(&seeded.store, Config::default());
    let (mut s, mut r) = http_conn(relay.local_addr());
    for (i, addr) in seeded.chunks.iter().enumerate() {
        let path = if i % 2 == 0 {
            format!("/chunks/{addr}")
        } else {
            format!("/v1/chunks/{addr}")
        };
        let resp = http_get(&mut s, &mut r, "GET", &path);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("content-type"), Some("binary/octet-stream"));
        assert_eq!(resp.body, seeded.store.get_chunk(addr).unwrap().unwrap());
        swarm_relay::verify::verify_chunk(addr, &resp.body).unwrap();
        assert_eq!(resp.header("connection"), None);
    }
    let missing = ChunkAddress([0xab; 32]);
    let resp = http_get(&mut s, &mut r, "GET", &format!("/chunks/{missing}"));
    assert_eq!(resp.status, 404);
    assert_eq!(
        resp.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(resp.body, NOT_FOUND_BODY);
    // Still the same connection after a 404.
    let resp = http_get(
        &mut s,
        &mut r,
        "GET",
        &format!("/chunks/{}", seeded.chunks[0]),
    );
    assert_eq!(resp.status, 200);
    assert_eq!(relay.stats().requests, 5);
    relay.shutdown();
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let seeded = seeded_store("http-pipeline");
    let relay = start(&seeded.store, Config::default());
    let (mut s, mut r) = http_conn(relay.local_addr());
    let mut batch = String::new();
    let order: Vec<ChunkAddress> = [2, 0, 1, 0].iter().map(|&i| seeded.chunks[i]).collect();
    for addr in &order {
        batch.push_str(&format!(
            "GET /chunks/{addr} HTTP/1.1\r\nHost: relay\r\n\r\n"
        ));
    }
    s.write_all(batch.as_bytes()).unwrap();
    for addr in &order {
        let resp = read_response(&mut r, false);
        assert_eq!(resp.status, 200);
        swarm_relay::verify::verify_chunk(addr, &resp.body).unwrap();
    }
    relay.shutdown();
}

#[test]
fn errors_head_and_other_routes_answer_like_bee() {
    let seeded = seeded_store("http-errors");
    let relay = start(&seeded.store, Config::default());
    let (mut s, mut r) = http_conn(relay.local_addr());

    let resp = http_get(&mut s, &mut r, "GET", "/chunks/zz");
    assert_eq!(resp.status, 400);
    let body: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(body["message"], "invalid path params");
    assert_eq!(body["reasons"][0]["field"], "address");

    let resp = http_get(&mut s, &mut r, "GET", "/chunks/abc");
    assert_eq!(resp.status, 400);
    assert!(String::from_utf8_lossy(&resp.body).contains("odd length hex string"));

    // Even-length hex that is not 32 bytes: retrieval rejects it, 500.
    let resp = http_get(&mut s, &mut r, "GET", "/chunks/abcd");
    assert_eq!(resp.status, 500);
    assert_eq!(
        resp.body,
        b"{\"code\":500,\"message\":\"read chunk failed\"}\n\n"
    );

    let resp = http_get(
        &mut s,
        &mut r,
        "HEAD",
        &format!("/chunks/{}", seeded.chunks[1]),
    );
    assert_eq!(resp.status, 200);
    let resp = http_get(
        &mut s,
        &mut r,
        "HEAD",
        &format!("/chunks/{}", ChunkAddress([1; 32])),
    );
    assert_eq!(resp.status, 404);

    let resp = http_get(&mut s, &mut r, "GET", "/bzz/abc/");
    assert_eq!(resp.status, 404);
    assert_eq!(resp.body, b"{\"code\":404,\"message\":\"Not Found\"}\n\n");

    let resp = http_get(&mut s, &mut r, "GET", "/health");
    assert_eq!(resp.status, 200);

    let resp = http_get(
        &mut s,
        &mut r,
        "DELETE",
        &format!("/chunks/{}", seeded.chunks[1]),
    );
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD"));

    // Still usable after every error above.
    let resp = http_get(
        &mut s,
        &mut r,
        "GET",
        &format!("/chunks/{}", seeded.chunks[1]),
    );
    assert_eq!(resp.status, 200);
    relay.shutdown();
}

#[test]
fn connection_close_and_request_bodies_end_the_connection() {
    let seeded = seeded_store("http-close");
    let relay = start(&seeded.store, Config::default());
    let (mut s, mut r) = http_conn(relay.local_addr());
    write!(
        s,
        "GET /chunks/{} HTTP/1.1\r\nConnection: close\r\n\r\n",
        seeded.chunks[0]
    )
    .unwrap();
    let resp = read_response(&mut r, false);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("connection"), Some("close"));
    let mut rest = Vec::new();
    assert_eq!(r.read_to_end(&mut rest).unwrap(), 0);

    let (mut s, mut r) = http_conn(relay.local_addr());
    write!(
        s,
        "POST /chunks/{} HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
        seeded.chunks[0]
    )
    .unwrap();
    let resp = read_response(&mut r, false);
    assert_eq!(resp.status, 405);
    assert_eq!(r.read_to_end(&mut rest).unwrap(), 0);
    relay.shutdown();
}

#[test]
fn oversized_or_malformed_heads_are_refused() {
    let seeded = seeded_store("http-oversize");
    let relay = start(&seeded.store, Config::default());
    let (mut s, mut r) = http_conn(relay.local_addr());
    let long = "a".repeat(swarm_relay::http::MAX_HEAD_LEN);
    write!(s, "GET /{long} HTTP/1.1\r\n\r\n").unwrap();
    let resp = read_response(&mut r, false);
    assert_eq!(resp.status, 431);

    let (mut s, mut r) = http_conn(relay.local_addr());
    s.write_all(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
        .unwrap();
    let resp = read_response(&mut r, false);
    assert_eq!(resp.status, 400);
    relay.shutdown();
}

#[test]
fn a_corrupt_chunk_on_disk_is_not_served() {
    let seeded = seeded_store("http-corrupt-disk");
    let victim = seeded.chunks[0];
    let bad = corrupt_on_disk(&seeded.store, &victim, 100);

    let relay = start(&seeded.store, Config::default());
    let (mut s, mut r) = http_conn(relay.local_addr());
    for _ in 0..2 {
        let resp = http_get(&mut s, &mut r, "GET", &format!("/chunks/{victim}"));
        assert_eq!(resp.status, 500);
        assert!(!resp.body.windows(bad.len()).any(|w| w == bad.as_slice()));
    }
    let stats = relay.stats();
    assert_eq!(
        stats.verification_failures, 2,
        "read from disk and rejected each time"
    );
    assert_eq!(relay.cached_chunks(), 0);
    relay.shutdown();
}

#[test]
fn cache_is_bounded_and_hits_are_not_read_again() {
    let seeded = seeded_store("http-cache");
    let config = Config {
        cache_chunks: 2,
        ..Config::default()
    };
    let relay = start(&seeded.store, config);
    let (mut s, mut r) = http_conn(relay.local_addr());
    let [a, b, c] = [seeded.chunks[0], seeded.chunks[1], seeded.chunks[2]];
    for addr in [a, a] {
        assert_eq!(
            http_get(&mut s, &mut r, "GET", &format!("/chunks/{addr}")).status,
            200
        );
    }
    let st = relay.stats();
    assert_eq!((st.backend_reads, st.cache_hits), (1, 1));
    for addr in [b, c] {
        assert_eq!(
            http_get(&mut s, &mut r, "GET", &format!("/chunks/{addr}")).status,
            200
        );
    }
    assert_eq!(relay.cached_chunks(), 2, "bound of 2 chunks holds");
    // `a` was least recently used: evicted, read from disk (and verified) again.
    assert_eq!(
        http_get(&mut s, &mut r, "GET", &format!("/chunks/{a}")).status,
        200
    );
    let st = relay.stats();
    assert_eq!((st.backend_reads, st.cache_hits), (4, 1));
    assert_eq!(relay.cached_chunks(), 2);
    relay.shutdown();
}

#[test]
fn test_faults_withhold_corrupt_and_delay() {
    let seeded = seeded_store("http-faults");
    let config = Config {
        faults: Faults {
            delay: Duration::from_millis(20),
            corrupt_every: 2,
            withhold: HashSet::from([seeded.chunks[2]]),
            ..Faults::default()
        },
        ..Config::default()
    };
    let relay = start(&seeded.store, config);
    let (mut s, mut r) = http_conn(relay.local_addr());
    let [a, b, c] = [seeded.chunks[0], seeded.chunks[1], seeded.chunks[2]];
    let resp = http_get(&mut s, &mut r, "GET", &format!("/chunks/{c}"));
    assert_eq!((resp.status, resp.body.as_slice()), (404, NOT_FOUND_BODY));
    // Served chunks 1 and 3 are intact, 2 (every 2nd) has one byte flipped.
    let first = http_get(&mut s, &mut r, "GET", &format!("/chunks/{a}")).body;
    swarm_relay::verify::verify_chunk(&a, &first).unwrap();
    let second = http_get(&mut s, &mut r, "GET", &format!("/chunks/{b}")).body;
    assert!(swarm_relay::verify::verify_chunk(&b, &second).is_err());
    let good = seeded.store.get_chunk(&b).unwrap().unwrap();
    let diff: Vec<usize> = (0..good.len()).filter(|&i| good[i] != second[i]).collect();
    assert_eq!(diff, vec![good.len() / 2]);
    let third = http_get(&mut s, &mut r, "GET", &format!("/chunks/{b}")).body;
    assert_eq!(third, good);
    relay.shutdown();
}

#[test]
fn upstream_mode_verifies_what_the_bee_node_sends() {
    let seeded = seeded_store("http-upstream");
    let honest = start(&seeded.store, Config::default());
    let liar = start(
        &seeded.store,
        Config {
            faults: Faults {
                corrupt_every: 1,
                ..Faults::default()
            },
            ..Config::default()
        },
    );
    let upstream = |node: &swarm_relay::RelayHandle| {
        let up = Upstream::new(&format!("http://{}", node.local_addr()), READ_TIMEOUT).unwrap();
        Relay::bind(
            "127.0.0.1:0",
            Backend::Upstream(Arc::new(up)),
            Config::default(),
        )
        .unwrap()
    };
    let via_honest = upstream(&honest);
    let (mut s, mut r) = http_conn(via_honest.local_addr());
    for addr in &seeded.chunks {
        let resp = http_get(&mut s, &mut r, "GET", &format!("/chunks/{addr}"));
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body, seeded.store.get_chunk(addr).unwrap().unwrap());
    }
    let resp = http_get(
        &mut s,
        &mut r,
        "GET",
        &format!("/chunks/{}", ChunkAddress([5; 32])),
    );
    assert_eq!(resp.status, 404);
    assert_eq!(via_honest.cached_chunks(), 3);

    let via_liar = upstream(&liar);
    let (mut s, mut r) = http_conn(via_liar.local_addr());
    let resp = http_get(
        &mut s,
        &mut r,
        "GET",
        &format!("/chunks/{}", seeded.chunks[0]),
    );
    assert_eq!(resp.status, 500);
    assert_eq!(via_liar.stats().verification_failures, 1);
    assert_eq!(via_liar.cached_chunks(), 0);
    via_liar.shutdown();
    via_honest.shutdown();
    liar.shutdown();
    honest.shutdown();
}

#[test]
fn connections_over_the_limit_are_closed() {
    let seeded = seeded_store("http-maxconn");
    let relay = start(
        &seeded.store,
        Config {
            max_connections: 1,
            ..Config::default()
        },
    );
    let (mut s1, mut r1) = http_conn(relay.local_addr());
    assert_eq!(http_get(&mut s1, &mut r1, "GET", "/health").status, 200);
    let mut s2 = connect(relay.local_addr());
    let _ = s2.write_all(b"GET /health HTTP/1.1\r\n\r\n");
    let mut buf = Vec::new();
    let n = s2.read_to_end(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "second connection closed without an answer");
    // The first still works, and once it is gone a new one is served.
    assert_eq!(http_get(&mut s1, &mut r1, "GET", "/health").status, 200);
    drop((s1, r1));
    let mut served = false;
    for _ in 0..100 {
        if relay.active_connections() == 0 {
            let (mut s3, mut r3) = http_conn(relay.local_addr());
            served = http_get(&mut s3, &mut r3, "GET", "/health").status == 200;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(served);
    relay.shutdown();
}

#[test]
fn shutdown_ends_promptly_with_connections_open() {
    let seeded = seeded_store("http-shutdown");
    let relay = start(&seeded.store, Config::default());
    let (mut idle, mut idle_r) = http_conn(relay.local_addr());
    assert_eq!(
        http_get(&mut idle, &mut idle_r, "GET", "/health").status,
        200
    );
    // A second connection that sent half a request.
    let mut half = connect(relay.local_addr());
    half.write_all(b"GET /chunks/").unwrap();
    let (tx, rx) = mpsc::channel();
    let stopper = std::thread::spawn(move || {
        relay.shutdown();
        tx.send(()).unwrap();
    });
    // A liveness bound, not a speed measurement: connection threads poll every 50 ms.
    rx.recv_timeout(Duration::from_secs(5))
        .expect("shutdown did not return within 5 s");
    stopper.join().unwrap();
    let mut buf = Vec::new();
    assert_eq!(idle_r.read_to_end(&mut buf).unwrap_or(0), 0);
    assert_eq!(half.read_to_end(&mut buf).unwrap_or(0), 0);
    let _ = BufReader::new(half);
}
