//! DBCP (`docs/PROTOCOL.md`) served by the relay, checked with a raw client on swarm-net's codec.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use swarm_bmt::ChunkAddress;
use swarm_net::codec::{close_code, decode_frame, error_code, Message, MAX_FRAME_LEN};
use swarm_relay::{Backend, Config, Faults, Relay, Store, Upstream};

use crate::support::{connect, corrupt_on_disk, seeded_store, start, TempDir, READ_TIMEOUT};

/// An owned copy of a received message.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    HelloAck { version: u16, max_in_flight: u16 },
    Chunk { id: u32, data: Vec<u8> },
    NotFound { id: u32 },
    Error { id: u32, code: u16 },
    Pong { id: u32 },
    Close { code: u16 },
    Other(String),
}

struct Client {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Self {
        Self {
            s: connect(addr),
            buf: Vec::new(),
        }
    }

    fn handshake(addr: SocketAddr) -> Self {
        let mut c = Self::connect(addr);
        c.send(&Message::hello());
        assert_eq!(
            c.recv(),
            Some(Got::HelloAck {
                version: 1,
                max_in_flight: 256
            })
        );
        c
    }

    fn send(&mut self, m: &Message<'_>) {
        let mut buf = [0u8; MAX_FRAME_LEN];
        let n = m.encode(&mut buf).unwrap();
        self.s.write_all(&buf[..n]).unwrap();
    }

    /// The next message, or `None` once the server closed the connection.
    fn recv(&mut self) -> Option<Got> {
        loop {
            if let Some(frame) = decode_frame(&self.buf).unwrap() {
                let len = frame.len();
                let got = match frame.message().unwrap() {
                    Message::HelloAck {
                        version,
                        max_in_flight,
                        ..
                    } => Got::HelloAck {
                        version,
                        max_in_flight,
                    },
                    Message::Chunk { id, data } => Got::Chunk {
                        id,
                        data: data.to_vec(),
                    },
                    Message::NotFound { id } => Got::NotFound { id },
                    Message::Error { id, code } => Got::Error { id, code },
                    Message::Pong { id } => Got::Pong { id },
                    Message::Close { code, .. } => Got::Close { code },
                    m => Got::Other(format!("{m:?}")),
                };
                self.buf.drain(..len);
                return Some(got);
            }
            let mut tmp = [0u8; 8192];
            match self.s.read(&mut tmp) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
            }
        }
    }

    /// Reads until the server closes; returns everything received.
    fn drain(&mut self) -> Vec<Got> {
        std::iter::from_fn(|| self.recv()).collect()
    }
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).unwrap()
}

/// The example exchange of PROTOCOL.md §7, byte for byte.
#[test]
fn example_exchange_of_the_protocol_document() {
    let dir = TempDir::new("framed-example");
    let store = Store::open(dir.path()).unwrap();
    let empty = [0u8; 8];
    let addr = swarm_bmt::chunk_address_of(&empty).unwrap();
    assert_eq!(
        addr.to_string(),
        "b34ca8c22b9e982354f9c7f50b470d66db428d880c8a904d5fe4ec9713171526"
    );
    store.put_chunk(&addr, &empty).unwrap();
    let relay = start(&Arc::new(store), Config::default());
    let mut s = connect(relay.local_addr());
    s.write_all(&unhex("08 00 00 00  00 00 44 42 43 50 01 01"))
        .unwrap();
    let mut ack = [0u8; 13];
    s.read_exact(&mut ack).unwrap();
    assert_eq!(
        ack.to_vec(),
        unhex("09 00 00 00  01 00 44 42 43 50 01 80 02")
    );
    s.write_all(&unhex(
        "22 00 00 00  02 01 b3 4c a8 c2 2b 9e 98 23 54 f9 c7 f5 0b 47 0d 66
                            db 42 8d 88 0c 8a 90 4d 5f e4 ec 97 13 17 15 26
         22 00 00 00  02 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
                            00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
    ))
    .unwrap();
    // The relay answers store hits in request order: Chunk {1} then NotFound {2}.
    let mut answers = [0u8; 15 + 6];
    s.read_exact(&mut answers).unwrap();
    assert_eq!(
        answers.to_vec(),
        unhex("0b 00 00 00  03 01 08 00 00 00 00 00 00 00 00  02 00 00 00  04 02")
    );
    s.write_all(&unhex("03 00 00 00  0a 00 00")).unwrap();
    let mut rest = Vec::new();
    assert_eq!(s.read_to_end(&mut rest).unwrap(), 0, "closed after Close");
    relay.shutdown();
}

#[test]
fn pipelined_get_chunks_are_answered_by_id() {
    let seeded = seeded_store("framed-pipeline");
    let relay = start(&seeded.store, Config::default());
    let mut c = Client::handshake(relay.local_addr());
    let missing = ChunkAddress([9; 32]);
    let mut wanted = HashMap::new();
    for (i, addr) in seeded
        .chunks
        .iter()
        .chain([&missing])
        .cycle()
        .take(40)
        .enumerate()
    {
        let id = 1000 + i as u32;
        c.send(&Message::GetChunk {
            id,
            address: addr.0,
        });
        wanted.insert(id, *addr);
    }
    c.send(&Message::Ping { id: 7 });
    let mut pong = false;
    while !wanted.is_empty() || !pong {
        match c.recv().expect("connection open") {
            Got::Chunk { id, data } => {
                let addr = wanted.remove(&id).unwrap();
                swarm_relay::verify::verify_chunk(&addr, &data).unwrap();
            }
            Got::NotFound { id } => assert_eq!(wanted.remove(&id), Some(missing)),
            Got::Pong { id } => {
                assert_eq!(id, 7);
                pong = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(relay.stats().requests, 40);
    relay.shutdown();
}

#[test]
fn unknown_tags_and_feed_requests_get_unsupported_and_the_connection_lives() {
    let seeded = seeded_store("framed-unknown");
    let relay = start(&seeded.store, Config::default());
    let mut c = Client::handshake(relay.local_addr());
    // Tag 11, id 5, some payload: a future message.
    c.s.write_all(&[4, 0, 0, 0, 11, 5, 0xaa, 0xbb]).unwrap();
    assert_eq!(
        c.recv(),
        Some(Got::Error {
            id: 5,
            code: error_code::UNSUPPORTED
        })
    );
    c.send(&Message::GetFeedUpdate {
        id: 6,
        owner: [1; 20],
        topic: [2; 32],
        after: 0,
    });
    assert_eq!(
        c.recv(),
        Some(Got::Error {
            id: 6,
            code: error_code::UNSUPPORTED
        })
    );
    c.send(&Message::GetChunk {
        id: 8,
        address: seeded.chunks[0].0,
    });
    assert!(matches!(c.recv(), Some(Got::Chunk { id: 8, .. })));
    relay.shutdown();
}

/// Each case: bytes sent after (or instead of) the handshake, and the Close code expected.
#[test]
fn protocol_violations_close_with_the_documented_code() {
    let seeded = seeded_store("framed-violations");
    let relay = start(&seeded.store, Config::default());
    let addr = relay.local_addr();
    let after_handshake: [(&str, Vec<u8>, u16); 5] = [
        (
            "oversize frame",
            vec![0xfd, 0x10, 0, 0, 2, 1],
            close_code::FRAME_TOO_LARGE,
        ),
        ("empty frame", vec![0, 0, 0, 0], close_code::MALFORMED),
        (
            "trailing bytes",
            vec![3, 0, 0, 0, 8, 1, 0],
            close_code::MALFORMED,
        ),
        (
            "second Hello",
            vec![8, 0, 0, 0, 0, 0, 0x44, 0x42, 0x43, 0x50, 1, 1],
            close_code::MALFORMED,
        ),
        (
            "answer sent to the server",
            vec![2, 0, 0, 0, 4, 1],
            close_code::MALFORMED,
        ),
    ];
    for (name, bytes, code) in after_handshake {
        let mut c = Client::handshake(addr);
        c.s.write_all(&bytes).unwrap();
        assert_eq!(c.drain(), vec![Got::Close { code }], "{name}");
    }
    let instead_of_hello: [(&str, Vec<u8>, u16); 4] = [
        (
            "bad magic",
            vec![8, 0, 0, 0, 0, 0, b'X', b'B', b'C', b'P', 1, 1],
            close_code::BAD_MAGIC,
        ),
        (
            "no common version",
            vec![8, 0, 0, 0, 0, 0, 0x44, 0x42, 0x43, 0x50, 2, 3],
            close_code::UNSUPPORTED_VERSION,
        ),
        (
            "request before Hello",
            {
                let mut b = vec![34, 0, 0, 0, 2, 1];
                b.extend_from_slice(&[0; 32]);
                b
            },
            close_code::MALFORMED,
        ),
        (
            "garbage",
            vec![0xff, 0xff, 0xff, 0x7f, 1, 2, 3],
            close_code::FRAME_TOO_LARGE,
        ),
    ];
    for (name, bytes, code) in instead_of_hello {
        let mut c = Client::connect(addr);
        c.s.write_all(&bytes).unwrap();
        assert_eq!(c.drain(), vec![Got::Close { code }], "{name}");
    }
    relay.shutdown();
}

#[test]
fn handshake_and_idle_timeouts_close_with_their_codes() {
    let seeded = seeded_store("framed-timeouts");
    let relay = start(
        &seeded.store,
        Config {
            handshake_timeout: Duration::from_millis(200),
            idle_timeout: Duration::from_millis(300),
            ..Config::default()
        },
    );
    // Sends the first byte of a Hello, then nothing.
    let mut c = Client::connect(relay.local_addr());
    c.s.write_all(&[8]).unwrap();
    assert_eq!(
        c.drain(),
        vec![Got::Close {
            code: close_code::HANDSHAKE_TIMEOUT
        }]
    );
    let mut c = Client::handshake(relay.local_addr());
    c.send(&Message::GetChunk {
        id: 1,
        address: seeded.chunks[1].0,
    });
    assert!(matches!(c.recv(), Some(Got::Chunk { id: 1, .. })));
    assert_eq!(
        c.drain(),
        vec![Got::Close {
            code: close_code::IDLE_TIMEOUT
        }]
    );
    relay.shutdown();
}

#[test]
fn shutdown_sends_close_normal() {
    let seeded = seeded_store("framed-shutdown");
    let relay = start(&seeded.store, Config::default());
    let mut c = Client::handshake(relay.local_addr());
    relay.shutdown();
    assert_eq!(
        c.drain(),
        vec![Got::Close {
            code: close_code::NORMAL
        }]
    );
}

#[test]
fn corrupt_disk_chunks_and_withheld_chunks_are_not_served() {
    let seeded = seeded_store("framed-faults");
    let victim = seeded.chunks[0];
    corrupt_on_disk(&seeded.store, &victim, 9);
    let relay = start(
        &seeded.store,
        Config {
            faults: Faults {
                withhold: [seeded.chunks[1]].into(),
                ..Faults::default()
            },
            ..Config::default()
        },
    );
    let mut c = Client::handshake(relay.local_addr());
    for (id, addr) in seeded.chunks.iter().enumerate() {
        c.send(&Message::GetChunk {
            id: id as u32,
            address: addr.0,
        });
    }
    assert_eq!(
        c.recv(),
        Some(Got::Error {
            id: 0,
            code: error_code::UPSTREAM
        })
    );
    assert_eq!(c.recv(), Some(Got::NotFound { id: 1 }));
    assert!(matches!(c.recv(), Some(Got::Chunk { id: 2, .. })));
    assert_eq!(relay.stats().verification_failures, 1);
    relay.shutdown();
}

/// Upstream misses are answered by workers, so with a slow upstream a later request that
/// hits the cache overtakes earlier misses.
#[test]
fn upstream_misses_are_answered_out_of_order_and_verified() {
    let seeded = seeded_store("framed-upstream");
    let slow_bee = start(
        &seeded.store,
        Config {
            faults: Faults {
                delay: Duration::from_millis(300),
                ..Faults::default()
            },
            ..Config::default()
        },
    );
    let up = Upstream::new(&format!("http://{}", slow_bee.local_addr()), READ_TIMEOUT).unwrap();
    let relay = Relay::bind(
        "127.0.0.1:0",
        Backend::Upstream(Arc::new(up)),
        Config::default(),
    )
    .unwrap();
    let mut c = Client::handshake(relay.local_addr());
    // Warm the cache with chunk 0.
    c.send(&Message::GetChunk {
        id: 1,
        address: seeded.chunks[0].0,
    });
    assert!(matches!(c.recv(), Some(Got::Chunk { id: 1, .. })));
    // Two misses, then a hit: the hit is answered first.
    for (id, addr) in [
        (2, seeded.chunks[1]),
        (3, seeded.chunks[2]),
        (4, seeded.chunks[0]),
    ] {
        c.send(&Message::GetChunk {
            id,
            address: addr.0,
        });
    }
    let mut order = Vec::new();
    for _ in 0..3 {
        match c.recv().unwrap() {
            Got::Chunk { id, data } => {
                let addr = seeded.chunks[[0, 0, 1, 2, 0][id as usize]];
                swarm_relay::verify::verify_chunk(&addr, &data).unwrap();
                order.push(id);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        order[0], 4,
        "cache hit overtakes upstream misses: {order:?}"
    );
    order.sort_unstable();
    assert_eq!(order, vec![2, 3, 4]);
    relay.shutdown();
    slow_bee.shutdown();
}

#[test]
fn with_added_latency_pipelined_requests_all_arrive() {
    let seeded = seeded_store("framed-delay");
    let relay = start(
        &seeded.store,
        Config {
            faults: Faults {
                delay: Duration::from_millis(5),
                ..Faults::default()
            },
            ..Config::default()
        },
    );
    let mut c = Client::handshake(relay.local_addr());
    let n = 64u32;
    for id in 0..n {
        c.send(&Message::GetChunk {
            id,
            address: seeded.chunks[id as usize % 3].0,
        });
    }
    let mut seen = vec![false; n as usize];
    for _ in 0..n {
        match c.recv().unwrap() {
            Got::Chunk { id, data } => {
                swarm_relay::verify::verify_chunk(&seeded.chunks[id as usize % 3], &data).unwrap();
                seen[id as usize] = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(seen.iter().all(|&s| s));
    relay.shutdown();
}

#[test]
fn concurrent_clients_of_both_protocols_are_served() {
    let seeded = seeded_store("framed-concurrent");
    let relay = start(&seeded.store, Config::default());
    let addr = relay.local_addr();
    let workers: Vec<_> = (0..8)
        .map(|i| {
            let chunks = seeded.chunks.clone();
            std::thread::spawn(move || {
                if i % 2 == 0 {
                    let mut c = Client::handshake(addr);
                    for round in 0..50u32 {
                        for (j, a) in chunks.iter().enumerate() {
                            c.send(&Message::GetChunk {
                                id: round * 10 + j as u32,
                                address: a.0,
                            });
                        }
                        for _ in 0..chunks.len() {
                            match c.recv().unwrap() {
                                Got::Chunk { id, data } => {
                                    let a = &chunks[(id % 10) as usize];
                                    swarm_relay::verify::verify_chunk(a, &data).unwrap();
                                }
                                other => panic!("unexpected {other:?}"),
                            }
                        }
                    }
                } else {
                    let (mut s, mut r) = crate::support::http_conn(addr);
                    for _ in 0..50 {
                        for a in &chunks {
                            let resp = crate::support::http_get(
                                &mut s,
                                &mut r,
                                "GET",
                                &format!("/chunks/{a}"),
                            );
                            assert_eq!(resp.status, 200);
                            swarm_relay::verify::verify_chunk(a, &resp.body).unwrap();
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(relay.stats().requests, 8 * 50 * 3);
    relay.shutdown();
}
