//! The whole client (driver, framed and HTTP clients) on smoltcp: one in-process Loopback
//! device, client sockets driven by the smoltcp adapter, server sockets served from the
//! stack's hook in the same thread (smoltcp's examples/loopback.rs, with our protocol on top).
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

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use common::*;
use smoltcp::iface::{Config as IfConfig, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Loopback, Medium};
use smoltcp::socket::tcp;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use swarm_net::driver::{Config, Driver};
use swarm_net::smoltcp_net::{SmolConnector, SmolStack};
use swarm_net::time::{Clock, Instant};
use swarm_net::Error;

#[derive(Clone, Copy)]
struct WallClock(std::time::Instant);

impl Clock for WallClock {
    fn now(&self) -> Instant {
        Instant::from_millis(self.0.elapsed().as_millis() as u64)
    }
}

/// A server on one smoltcp socket, run from the stack's hook.
struct SmolServer {
    handle: SocketHandle,
    port: u16,
    proto: Proto,
    store: Arc<Store>,
    faults: Faults,
    counter: Arc<Mutex<u64>>,
    core: Option<ServerCore>,
    out: Vec<u8>,
}

impl SmolServer {
    fn step(&mut self, sockets: &mut SocketSet<'_>) {
        let s = sockets.get_mut::<tcp::Socket<'_>>(self.handle);
        if !s.is_open() {
            s.listen(self.port).unwrap();
            self.core = None;
            self.out.clear();
            return;
        }
        if !s.is_active() {
            return; // listening
        }
        let core = self.core.get_or_insert_with(|| {
            ServerCore::new(
                self.proto,
                self.store.clone(),
                self.faults,
                self.counter.clone(),
            )
        });
        while s.can_recv() {
            let mut buf = [0u8; 4096];
            let n = s.recv_slice(&mut buf).unwrap();
            self.out.extend(core.feed(&buf[..n]));
        }
        while !self.out.is_empty() && s.can_send() {
            let n = s.send_slice(&self.out).unwrap();
            self.out.drain(..n);
        }
        if (core.close && self.out.is_empty()) || s.state() == tcp::State::CloseWait {
            s.close();
        }
    }
}

fn tcp_socket<'a>() -> tcp::Socket<'a> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; 65536]),
        tcp::SocketBuffer::new(vec![0; 65536]),
    )
}

/// Runs a fetch of `chunks` through `urls` against servers `(port, proto, faults)` on one
/// loopback stack.
fn run(
    servers: &[(u16, Proto, Faults)],
    urls: &[&str],
    chunks: &[(swarm_bmt::ChunkAddress, Vec<u8>)],
) -> (Result<swarm_net::driver::Stats, Error>, Vec<u8>) {
    let clock = WallClock(std::time::Instant::now());
    let mut device = Loopback::new(Medium::Ip);
    let mut iface = Interface::new(
        IfConfig::new(HardwareAddress::Ip),
        &mut device,
        smoltcp::time::Instant::from_millis(0),
    );
    iface.update_ip_addrs(|a| a.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8)).unwrap());
    let mut sockets = SocketSet::new(vec![]);
    let client_handles: Vec<_> = urls.iter().map(|_| sockets.add(tcp_socket())).collect();
    let store = store_of(chunks);
    let mut srv: Vec<SmolServer> = servers
        .iter()
        .map(|&(port, proto, faults)| SmolServer {
            handle: sockets.add(tcp_socket()),
            port,
            proto,
            store: store.clone(),
            faults,
            counter: Arc::new(Mutex::new(0)),
            core: None,
            out: Vec::new(),
        })
        .collect();
    let hook = move |s: &mut SocketSet<'_>| {
        for server in srv.iter_mut() {
            server.step(s);
        }
    };
    let stack = RefCell::new(SmolStack::new(iface, device, sockets, clock, hook));
    stack.borrow_mut().poll(); // servers start listening
    let connector = SmolConnector::new(&stack, &client_handles);
    let mut bufs = vec![vec![0; 64 * 1024]; urls.len()];
    let mut nodes = nodes(urls, &mut bufs);
    let config = Config {
        window: 16,
        request_timeout_ms: 2_000,
        connect_timeout_ms: 2_000,
    };
    let mut driver = Driver::new(&mut nodes, connector, clock, config).unwrap();
    let mut r = ListRetrieval::of(chunks, 32);
    let mut out = Vec::new();
    let res = driver.run(&mut r, |b| {
        out.extend_from_slice(b);
        Ok(())
    });
    driver.close();
    (res, out)
}

#[test]
fn framed_and_http_clients_run_on_smoltcp_loopback() {
    let chunks = make_chunks(200, 47);
    for (proto, url) in [
        (Proto::Framed, "tcp://127.0.0.1:7070"),
        (Proto::Http, "http://127.0.0.1:7070"),
    ] {
        let (res, out) = run(&[(7070, proto, Faults::default())], &[url], &chunks);
        let stats = res.unwrap_or_else(|e| panic!("{proto:?}: {e}"));
        assert_eq!(stats.chunks, 200);
        assert_eq!(out, expected(&chunks), "{proto:?}");
    }
}

#[test]
fn liar_then_honest_node_on_smoltcp() {
    let chunks = make_chunks(50, 53);
    let (res, out) = run(
        &[
            (
                7001,
                Proto::Framed,
                Faults {
                    corrupt_every: 2,
                    ..Faults::default()
                },
            ),
            (7002, Proto::Http, Faults::default()),
        ],
        &["tcp://127.0.0.1:7001", "http://127.0.0.1:7002"],
        &chunks,
    );
    res.unwrap();
    assert_eq!(out, expected(&chunks));
    // The liar alone: a clear error, only verified output.
    let (res, out) = run(
        &[(
            7001,
            Proto::Framed,
            Faults {
                corrupt_every: 2,
                ..Faults::default()
            },
        )],
        &["tcp://127.0.0.1:7001"],
        &chunks,
    );
    assert_failed_with_prefix(&res, bad_chunk, &out, &expected(&chunks));
}

#[test]
fn refused_connection_on_smoltcp_fails_over() {
    let chunks = make_chunks(10, 59);
    // Nothing listens on 7999: smoltcp answers the SYN with a RST.
    let (res, out) = run(
        &[(7003, Proto::Framed, Faults::default())],
        &["tcp://127.0.0.1:7999", "tcp://127.0.0.1:7003"],
        &chunks,
    );
    res.unwrap();
    assert_eq!(out, expected(&chunks));
}
