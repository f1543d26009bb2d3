//! The driver against in-memory test servers on a virtual clock: happy paths, every fault
//! the retry policy names, and failover between nodes. No sockets, no sleeps.
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

use common::*;
use swarm_net::driver::{Config, Driver, Node, Stats, MAX_RECONNECTS};
use swarm_net::url::NodeAddr;
use swarm_net::{Error, Fault, ProtocolError};

const BUF: usize = 32 * 1024;

struct Outcome {
    result: Result<Stats, Error>,
    output: Vec<u8>,
    demerits: Vec<u32>,
    served: Vec<u64>,
    rejected: usize,
    elapsed_virtual_ms: u64,
    not_found: usize,
}

/// Fetches `chunks` through nodes `urls` served by `conn`'s in-memory servers.
fn fetch(
    urls: &[&str],
    conn: MemConnector,
    chunks: &[(swarm_bmt::ChunkAddress, Vec<u8>)],
    config: Config,
) -> Outcome {
    let clock = conn.clock.clone();
    let mut bufs = vec![vec![0; BUF]; urls.len()];
    let mut nodes: Vec<Node<'_, MemStream>> = nodes(urls, &mut bufs);
    let mut driver = Driver::new(&mut nodes, conn, clock.clone(), config).unwrap();
    let mut r = ListRetrieval::of(chunks, 32);
    let mut output = Vec::new();
    let result = driver.run(&mut r, |b| {
        output.extend_from_slice(b);
        Ok(())
    });
    let demerits = driver.nodes().iter().map(|n| n.demerits()).collect();
    let served = driver.nodes().iter().map(|n| n.served()).collect();
    driver.close();
    Outcome {
        result,
        output,
        demerits,
        served,
        rejected: r.rejected,
        elapsed_virtual_ms: clock.0.get(),
        not_found: r.not_found.len(),
    }
}

fn config() -> Config {
    Config {
        window: 16,
        request_timeout_ms: 1_000,
        connect_timeout_ms: 1_000,
    }
}

/// The URL of in-memory host `host` speaking `proto`.
fn url(proto: Proto, host: &str) -> String {
    match proto {
        Proto::Framed => format!("tcp://{host}:1"),
        Proto::Http => format!("http://{host}:1"),
    }
}

fn one(proto: Proto, faults: Faults, chunks: &[(swarm_bmt::ChunkAddress, Vec<u8>)]) -> Outcome {
    let c = MemConnector::serving(&store_of(chunks), &[(proto, faults)]);
    fetch(&[&url(proto, "a")], c, chunks, config())
}

/// A fetch through node "a" (`proto`, with `faults`), then an honest node "b" (`backup`).
fn with_backup(
    proto: Proto,
    faults: Faults,
    backup: Proto,
    chunks: &[(swarm_bmt::ChunkAddress, Vec<u8>)],
) -> Outcome {
    let c = MemConnector::serving(
        &store_of(chunks),
        &[(proto, faults), (backup, Faults::default())],
    );
    fetch(&[&url(proto, "a"), &url(backup, "b")], c, chunks, config())
}

/// The fetch succeeded and every chunk's payload reached the sink, in order.
fn assert_complete(o: &Outcome, chunks: &[(swarm_bmt::ChunkAddress, Vec<u8>)]) -> Stats {
    let stats = o.result.as_ref().copied().unwrap();
    assert_eq!(o.output, expected(chunks));
    stats
}

#[test]
fn fetches_every_chunk_over_both_protocols() {
    let chunks = make_chunks(100, 7);
    for proto in [Proto::Framed, Proto::Http] {
        let o = one(proto, Faults::default(), &chunks);
        let stats = o.result.unwrap();
        assert_eq!(o.output, expected(&chunks), "{proto:?}");
        assert_eq!(stats.chunks, 100);
        assert_eq!(stats.bytes, expected(&chunks).len() as u64);
        assert_eq!(stats.failovers, 0);
    }
}

#[test]
fn partial_reads_of_one_byte_still_work() {
    let chunks = make_chunks(5, 3);
    for proto in [Proto::Framed, Proto::Http] {
        let mut c = MemConnector::serving(&store_of(&chunks), &[(proto, Faults::default())]);
        c.max_read = 1;
        let o = fetch(&[&url(proto, "a")], c, &chunks, config());
        assert_complete(&o, &chunks);
    }
}

#[test]
fn out_of_order_answers_are_matched_by_id() {
    let chunks = make_chunks(64, 11);
    let o = one(
        Proto::Framed,
        Faults {
            reverse: true,
            ..Faults::default()
        },
        &chunks,
    );
    assert_complete(&o, &chunks);
}

#[test]
fn single_liar_fails_with_bad_chunk_and_no_unverified_output() {
    let chunks = make_chunks(40, 5);
    for proto in [Proto::Framed, Proto::Http] {
        let o = one(
            proto,
            Faults {
                corrupt_every: 7,
                ..Faults::default()
            },
            &chunks,
        );
        match o.result {
            Err(Error::AllNodesFailed {
                address,
                last: Fault::BadChunk(swarm_core::Error::AddressMismatch),
            }) => {
                assert_eq!(address, chunks[6].0, "the 7th answer was corrupted");
            }
            other => panic!("{proto:?}: {other:?}"),
        }
        assert!(o.rejected >= 1);
        assert_verified_prefix(&o.output, &expected(&chunks));
        assert!(o.output.len() < expected(&chunks).len());
    }
}

#[test]
fn liar_then_honest_node_succeeds_and_liar_is_demoted() {
    let chunks = make_chunks(60, 9);
    for (p1, p2) in [
        (Proto::Framed, Proto::Http),
        (Proto::Http, Proto::Framed),
        (Proto::Framed, Proto::Framed),
    ] {
        let o = with_backup(
            p1,
            Faults {
                corrupt_every: 3,
                ..Faults::default()
            },
            p2,
            &chunks,
        );
        let stats = assert_complete(&o, &chunks);
        assert!(stats.failovers >= 1);
        assert!(o.demerits[0] >= 1 && o.demerits[1] == 0, "{:?}", o.demerits);
        assert!(o.served[1] >= 1);
        assert_eq!(o.served[0] + o.served[1], 60);
    }
}

#[test]
fn only_liars_fail_with_a_clear_error() {
    let chunks = make_chunks(20, 13);
    let liar = Faults {
        corrupt_every: 1,
        ..Faults::default()
    };
    let c = MemConnector::serving(
        &store_of(&chunks),
        &[(Proto::Framed, liar), (Proto::Http, liar)],
    );
    let o = fetch(&["tcp://a:1", "http://b:1"], c, &chunks, config());
    let e = o.result.unwrap_err();
    assert!(
        matches!(
            e,
            Error::AllNodesFailed {
                last: Fault::BadChunk(_),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("every node failed"), "{e}");
    assert!(o.output.is_empty());
}

#[test]
fn chunks_no_node_serves_verified_go_to_the_retrieval_before_failing() {
    // One liar (every 4th chunk corrupt), one node that goes silent after 10 answers: the
    // chunks no node served verified are handed to `handle_unavailable`, never to
    // `handle_not_found`; a retrieval that can stand in for them (a file's parity) finishes.
    let chunks = make_chunks(20, 31);
    for (faults, fault) in [
        (
            Faults {
                corrupt_every: 4,
                ..Faults::default()
            },
            "bad chunk",
        ),
        (
            Faults {
                stall_after: Some(10),
                ..Faults::default()
            },
            "timeout",
        ),
    ] {
        let c = MemConnector::serving(&store_of(&chunks), &[(Proto::Framed, faults)]);
        let clock = c.clock.clone();
        let mut buf = vec![0; BUF];
        let mut nodes = vec![Node::new(NodeAddr::parse("tcp://a:1").unwrap(), &mut buf).unwrap()];
        let mut driver = Driver::new(&mut nodes, c, clock, config()).unwrap();
        let mut r = ListRetrieval::of(&chunks, 32);
        r.stand_in = Some(b"rebuilt".to_vec());
        let mut out = Vec::new();
        let stats = driver
            .run(&mut r, |b| {
                out.extend_from_slice(b);
                Ok(())
            })
            .unwrap();
        let lost: Vec<_> = r.unavailable.clone();
        assert!(!lost.is_empty(), "{fault}");
        assert!(r.not_found.is_empty(), "{fault}");
        assert_eq!(stats.unavailable, lost.len() as u64, "{fault}");
        let mut want = Vec::new();
        for (a, d) in &chunks {
            if lost.contains(a) {
                want.extend_from_slice(b"rebuilt");
            } else {
                want.extend_from_slice(&d[8..]);
            }
        }
        assert_eq!(out, want, "{fault}");
        driver.close();

        // The same without a stand-in: the first such chunk fails the run, named.
        let c = MemConnector::serving(&store_of(&chunks), &[(Proto::Framed, faults)]);
        let o = fetch(&["tcp://a:1"], c, &chunks, config());
        match o.result {
            Err(Error::AllNodesFailed { address, .. }) => {
                assert!(chunks.iter().any(|(a, _)| *a == address), "{fault}");
            }
            other => panic!("{fault}: {other:?}"),
        }
    }
}

#[test]
fn verification_failure_is_never_asked_of_the_same_node_again() {
    // Node a corrupts everything; node b stalls after 0 answers. The request that failed on a
    // must go to b (and time out there), never back to a.
    let chunks = make_chunks(1, 21);
    let liar = Faults {
        corrupt_every: 1,
        ..Faults::default()
    };
    let silent = Faults {
        stall_after: Some(0),
        ..Faults::default()
    };
    let c = MemConnector::serving(
        &store_of(&chunks),
        &[(Proto::Framed, liar), (Proto::Framed, silent)],
    );
    let counters: Vec<_> = c.servers.iter().map(|s| s.3.clone()).collect();
    let o = fetch(&["tcp://a:1", "tcp://b:1"], c, &chunks, config());
    assert!(
        matches!(
            o.result,
            Err(Error::AllNodesFailed {
                last: Fault::Timeout,
                ..
            })
        ),
        "{:?}",
        o.result.err()
    );
    assert_eq!(
        *counters[0].lock().unwrap(),
        1,
        "node a was asked exactly once"
    );
    assert_eq!(*counters[1].lock().unwrap(), 1);
    assert!(o.output.is_empty());
}

#[test]
fn truncated_answers_reconnect_and_succeed() {
    let chunks = make_chunks(50, 17);
    for proto in [Proto::Framed, Proto::Http] {
        let o = one(
            proto,
            Faults {
                truncate_every: 4,
                ..Faults::default()
            },
            &chunks,
        );
        let stats = o.result.unwrap_or_else(|e| panic!("{proto:?}: {e}"));
        assert_eq!(o.output, expected(&chunks));
        assert!(stats.reconnects >= 10, "{stats:?}");
    }
}

#[test]
fn connection_dropped_every_time_gives_up_after_max_reconnects() {
    let chunks = make_chunks(10, 19);
    for proto in [Proto::Framed, Proto::Http] {
        let o = one(
            proto,
            Faults {
                truncate_every: 1,
                ..Faults::default()
            },
            &chunks,
        );
        assert!(
            matches!(
                o.result,
                Err(Error::AllNodesFailed {
                    last: Fault::Disconnected,
                    ..
                })
            ),
            "{proto:?}: {:?}",
            o.result.err()
        );
        assert!(o.output.is_empty());
    }
    // Exactly MAX_RECONNECTS re-opens after the first connection.
    let c = MemConnector::serving(
        &store_of(&chunks),
        &[(
            Proto::Framed,
            Faults {
                truncate_every: 1,
                ..Faults::default()
            },
        )],
    );
    let clock = c.clock.clone();
    let mut buf = vec![0; BUF];
    let mut nodes = [Node::new(NodeAddr::parse("tcp://a:1").unwrap(), &mut buf).unwrap()];
    let mut d = Driver::new(&mut nodes, c, clock, config()).unwrap();
    let mut r = ListRetrieval::of(&chunks, 4);
    assert!(d.run(&mut r, |_| Ok(())).is_err());
    assert!(d.nodes()[0].is_down());
    assert_eq!(d.connector().connects, 1 + MAX_RECONNECTS as usize);
}

#[test]
fn stalled_node_times_out_then_fails_over() {
    let chunks = make_chunks(30, 23);
    for proto in [Proto::Framed, Proto::Http] {
        let o = with_backup(
            proto,
            Faults {
                stall_after: Some(5),
                ..Faults::default()
            },
            Proto::Framed,
            &chunks,
        );
        assert_complete(&o, &chunks);
        assert!(o.elapsed_virtual_ms >= 1_000, "a timeout had to pass");
        assert!(o.elapsed_virtual_ms < 10_000, "{}", o.elapsed_virtual_ms);
    }
}

#[test]
fn stalled_single_node_fails_with_timeout() {
    let chunks = make_chunks(10, 29);
    for proto in [Proto::Framed, Proto::Http] {
        let o = one(
            proto,
            Faults {
                stall_after: Some(2),
                ..Faults::default()
            },
            &chunks,
        );
        assert_failed_with_prefix(
            &o.result,
            |f| matches!(f, Fault::Timeout),
            &o.output,
            &expected(&chunks),
        );
        assert!(o.elapsed_virtual_ms < 5_000);
    }
}

#[test]
fn oversize_frame_and_garbage_are_protocol_faults() {
    let chunks = make_chunks(10, 31);
    for faults in [
        Faults {
            oversize_at: 3,
            ..Faults::default()
        },
        Faults {
            garbage_at: 3,
            ..Faults::default()
        },
    ] {
        for proto in [Proto::Framed, Proto::Http] {
            let o = one(proto, faults, &chunks);
            let want = if proto == Proto::Framed {
                ProtocolError::Framed
            } else {
                ProtocolError::Http
            };
            assert!(
                matches!(o.result, Err(Error::AllNodesFailed { last: Fault::Protocol(p), .. }) if p == want),
                "{proto:?} {faults:?}: {:?}",
                o.result.err()
            );
            assert_verified_prefix(&o.output, &expected(&chunks));
            // With an honest second node the fetch completes.
            let o = with_backup(proto, faults, Proto::Http, &chunks);
            assert_complete(&o, &chunks);
        }
    }
}

#[test]
fn not_found_fails_over_and_everywhere_reaches_the_retrieval() {
    let chunks = make_chunks(10, 37);
    let o = with_backup(
        Proto::Http,
        Faults {
            not_found: true,
            ..Faults::default()
        },
        Proto::Framed,
        &chunks,
    );
    assert_complete(&o, &chunks);

    let c = MemConnector::serving(
        &store_of(&chunks),
        &[
            (
                Proto::Http,
                Faults {
                    not_found: true,
                    ..Faults::default()
                },
            ),
            (
                Proto::Framed,
                Faults {
                    not_found: true,
                    ..Faults::default()
                },
            ),
        ],
    );
    let o = fetch(&["http://a:1", "tcp://b:1"], c, &chunks, config());
    assert_eq!(
        o.result.unwrap_err(),
        Error::Core(swarm_core::Error::UnexpectedChunk)
    );
    assert_eq!(
        o.not_found, 1,
        "handle_not_found only once every node said so"
    );
    assert!(o.output.is_empty());
}

#[test]
fn node_errors_fail_over() {
    let chunks = make_chunks(20, 41);
    for proto in [Proto::Framed, Proto::Http] {
        let o = with_backup(
            proto,
            Faults {
                error_every: 2,
                ..Faults::default()
            },
            Proto::Framed,
            &chunks,
        );
        assert_complete(&o, &chunks);
        let o = one(
            proto,
            Faults {
                error_every: 1,
                ..Faults::default()
            },
            &chunks,
        );
        let code = if proto == Proto::Framed { 1 } else { 500 };
        assert!(
            matches!(o.result, Err(Error::AllNodesFailed { last: Fault::NodeError { code: c }, .. }) if c == code)
        );
    }
}

#[test]
fn unreachable_first_node_fails_over() {
    let chunks = make_chunks(10, 43);
    let c = MemConnector::serving(&store_of(&chunks), &[(Proto::Framed, Faults::default())]);
    // "z" has no server: connection refused.
    let o = fetch(&["tcp://z:1", "tcp://a:1"], c, &chunks, config());
    assert_complete(&o, &chunks);
}

#[test]
fn driver_rejects_bad_node_lists() {
    let c = MemConnector::new(VirtualClock::default());
    let clock = c.clock.clone();
    let mut nodes: [Node<'_, MemStream>; 0] = [];
    assert!(matches!(
        Driver::new(&mut nodes, c, clock, config()),
        Err(Error::NoNodes)
    ));
    let mut small = [0u8; 100];
    assert!(matches!(
        Node::<MemStream>::new(NodeAddr::parse("tcp://a:1").unwrap(), &mut small),
        Err(Error::BufferTooSmall { .. })
    ));
}
