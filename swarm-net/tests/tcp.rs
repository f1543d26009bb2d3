//! The std adapter over real sockets on 127.0.0.1 (port 0): test servers in threads, with a
//! read timeout on every socket, joined when dropped.
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

use std::time::{Duration, Instant};

use common::*;
use swarm_net::driver::Config;
use swarm_net::std_net::fetch;
use swarm_net::{Error, Fault};

fn config() -> Config {
    Config {
        window: 32,
        request_timeout_ms: 400,
        connect_timeout_ms: 1_000,
    }
}

fn get(
    urls: &[&str],
    chunks: &[(swarm_bmt::ChunkAddress, Vec<u8>)],
) -> (Result<swarm_net::driver::Stats, Error>, Vec<u8>) {
    let mut r = ListRetrieval::of(chunks, 64);
    let mut out = Vec::new();
    let res = fetch(urls, &mut r, config(), |b| {
        out.extend_from_slice(b);
        Ok(())
    });
    (res, out)
}

#[test]
fn framed_and_http_over_tcp() {
    let chunks = make_chunks(300, 61);
    for proto in [Proto::Framed, Proto::Http] {
        let server = TcpServer::start(proto, store_of(&chunks), Faults::default());
        let (res, out) = get(&[&server.url(proto)], &chunks);
        let stats = res.unwrap();
        assert_eq!(out, expected(&chunks), "{proto:?}");
        assert_eq!(stats.chunks, 300);
        assert_eq!(
            *server.connections.lock().unwrap(),
            1,
            "one keep-alive connection"
        );
    }
}

#[test]
fn out_of_order_over_tcp() {
    let chunks = make_chunks(100, 67);
    let server = TcpServer::start(
        Proto::Framed,
        store_of(&chunks),
        Faults {
            reverse: true,
            ..Faults::default()
        },
    );
    let (res, out) = get(&[&server.url(Proto::Framed)], &chunks);
    res.unwrap();
    assert_eq!(out, expected(&chunks));
}

#[test]
fn liar_and_honest_over_tcp() {
    let chunks = make_chunks(80, 71);
    let liar = TcpServer::start(
        Proto::Http,
        store_of(&chunks),
        Faults {
            corrupt_every: 5,
            ..Faults::default()
        },
    );
    let honest = TcpServer::start(Proto::Framed, store_of(&chunks), Faults::default());
    let (res, out) = get(
        &[&liar.url(Proto::Http), &honest.url(Proto::Framed)],
        &chunks,
    );
    res.unwrap();
    assert_eq!(out, expected(&chunks));
    let (res, out) = get(&[&liar.url(Proto::Http)], &chunks);
    assert_failed_with_prefix(&res, bad_chunk, &out, &expected(&chunks));
}

#[test]
fn dropped_mid_frame_reconnects_over_tcp() {
    let chunks = make_chunks(60, 73);
    for proto in [Proto::Framed, Proto::Http] {
        let server = TcpServer::start(
            proto,
            store_of(&chunks),
            Faults {
                truncate_every: 10,
                ..Faults::default()
            },
        );
        let (res, out) = get(&[&server.url(proto)], &chunks);
        let stats = res.unwrap_or_else(|e| panic!("{proto:?}: {e}"));
        assert_eq!(out, expected(&chunks));
        assert!(stats.reconnects >= 1);
        assert!(*server.connections.lock().unwrap() >= 2);
    }
}

#[test]
fn stall_times_out_within_bounds_over_tcp() {
    let chunks = make_chunks(40, 79);
    for proto in [Proto::Framed, Proto::Http] {
        let stalling = TcpServer::start(
            proto,
            store_of(&chunks),
            Faults {
                stall_after: Some(10),
                ..Faults::default()
            },
        );
        let honest = TcpServer::start(Proto::Http, store_of(&chunks), Faults::default());
        let t = Instant::now();
        let (res, out) = get(&[&stalling.url(proto), &honest.url(Proto::Http)], &chunks);
        res.unwrap();
        assert_eq!(out, expected(&chunks));
        let t = t.elapsed();
        assert!(t < Duration::from_secs(10), "{t:?}");

        let t = Instant::now();
        let (res, out) = get(&[&stalling.url(proto)], &chunks);
        assert_failed_with_prefix(
            &res,
            |f| matches!(f, Fault::Timeout),
            &out,
            &expected(&chunks),
        );
        assert!(t.elapsed() < Duration::from_secs(10));
    }
}

#[test]
fn garbage_and_oversize_over_tcp() {
    let chunks = make_chunks(20, 83);
    for faults in [
        Faults {
            garbage_at: 2,
            ..Faults::default()
        },
        Faults {
            oversize_at: 2,
            ..Faults::default()
        },
    ] {
        let bad = TcpServer::start(Proto::Framed, store_of(&chunks), faults);
        let honest = TcpServer::start(Proto::Framed, store_of(&chunks), Faults::default());
        let (res, out) = get(
            &[&bad.url(Proto::Framed), &honest.url(Proto::Framed)],
            &chunks,
        );
        res.unwrap();
        assert_eq!(out, expected(&chunks));
    }
}

#[test]
fn http_client_against_framed_server_fails_over() {
    // A framed server does not speak HTTP: it closes the connection on the request (an
    // oversize "frame"), the client reconnects MAX_RECONNECTS times, then fails over.
    let chunks = make_chunks(5, 89);
    let framed = TcpServer::start(Proto::Framed, store_of(&chunks), Faults::default());
    let honest = TcpServer::start(Proto::Http, store_of(&chunks), Faults::default());
    let port = framed.port;
    let wrong = format!("http://127.0.0.1:{port}");
    let (res, out) = get(&[&wrong, &honest.url(Proto::Http)], &chunks);
    res.unwrap();
    assert_eq!(out, expected(&chunks));
}

#[test]
fn bad_urls_and_refused_ports() {
    let chunks = make_chunks(2, 97);
    let (res, _) = get(&["ftp://x:1"], &chunks);
    assert_eq!(res.unwrap_err(), Error::BadUrl);
    // A port nobody listens on: refused, retried MAX_RECONNECTS times, then a clear error.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let url = format!("tcp://127.0.0.1:{port}");
    let (res, out) = get(&[&url], &chunks);
    assert!(
        matches!(
            res,
            Err(Error::AllNodesFailed {
                last: Fault::Disconnected,
                ..
            })
        ),
        "{res:?}"
    );
    assert!(out.is_empty());
}

#[test]
fn driver_keeps_connections_across_runs() {
    use swarm_net::driver::{Driver, Node};
    use swarm_net::std_net::StdConnector;
    use swarm_net::time::SystemClock;
    use swarm_net::url::NodeAddr;

    let chunks = make_chunks(30, 101);
    for proto in [Proto::Framed, Proto::Http] {
        let server = TcpServer::start(proto, store_of(&chunks), Faults::default());
        let url = server.url(proto);
        let mut buf = vec![0u8; 64 * 1024];
        let mut nodes = [Node::new(NodeAddr::parse(&url).unwrap(), &mut buf).unwrap()];
        let mut d = Driver::new(
            &mut nodes,
            StdConnector::default(),
            SystemClock::new(),
            config(),
        )
        .unwrap();
        for (lo, hi) in [(0, 10), (10, 30)] {
            let mut r = ListRetrieval::of(&chunks[lo..hi], 8);
            let mut out = Vec::new();
            d.run(&mut r, |b| {
                out.extend_from_slice(b);
                Ok(())
            })
            .unwrap();
            assert_eq!(out, expected(&chunks[lo..hi]));
        }
        d.close();
        assert_eq!(*server.connections.lock().unwrap(), 1, "{proto:?}");
    }
}
