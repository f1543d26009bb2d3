//! The driver running swarm-core's real joiner: a multi-level file over both protocols, with a
//! lying node in front of an honest one.
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

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use swarm_bmt::{ChunkAddress, Splitter};
use swarm_core::joiner::Buffers;
use swarm_net::driver::{Config, Driver};
use swarm_net::Error;

fn content(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9u32;
    (0..len)
        .map(|i| {
            if i % 8192 < 4096 {
                0 // identical all-zero chunks: the joiner asks for each once
            } else {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            }
        })
        .collect()
}

fn upload(data: &[u8]) -> (ChunkAddress, Arc<Store>) {
    let mut store = HashMap::new();
    let mut splitter = Splitter::with_sink(|a: &ChunkAddress, c: &[u8]| {
        store.insert(*a, c.to_vec());
        Ok(())
    });
    splitter.write(data).unwrap();
    let root = splitter.finish().unwrap();
    (root, Arc::new(store))
}

fn join(
    urls: &[&str],
    conn: MemConnector,
    root: ChunkAddress,
) -> (Result<swarm_net::driver::Stats, Error>, Vec<u8>) {
    let clock = conn.clock.clone();
    let mut bufs = vec![vec![0; 32 * 1024]; urls.len()];
    let mut nodes = nodes(urls, &mut bufs);
    let config = Config {
        window: 32,
        ..Config::default()
    };
    let mut driver = Driver::new(&mut nodes, conn, clock, config).unwrap();
    let mut memory = Box::new(Buffers::<32, 4>::new());
    let mut joiner = memory.joiner(root.into(), None).unwrap();
    let mut out = Vec::new();
    let res = driver.run(&mut joiner, |b| {
        out.extend_from_slice(b);
        Ok(())
    });
    (res, out)
}

#[test]
fn joins_a_multi_level_file_over_both_protocols() {
    // 129 leaves: two levels of intermediate chunks.
    let data = content(4096 * 129 + 100);
    let (root, store) = upload(&data);
    for (proto, url) in [(Proto::Framed, "tcp://a:1"), (Proto::Http, "http://a:1")] {
        let c = MemConnector::serving(&store, &[(proto, Faults::default())]);
        let (res, out) = join(&[url], c, root);
        let stats = res.unwrap();
        assert_eq!(out, data, "{proto:?}");
        assert!(stats.chunks >= 3, "{stats:?}");
    }
}

#[test]
fn joiner_gets_the_file_past_a_liar_and_fails_clearly_without_honest_node() {
    let data = content(4096 * 40 + 7);
    let (root, store) = upload(&data);
    let c = MemConnector::serving(
        &store,
        &[
            (
                Proto::Http,
                Faults {
                    corrupt_every: 3,
                    ..Faults::default()
                },
            ),
            (Proto::Framed, Faults::default()),
        ],
    );
    let (res, out) = join(&["http://a:1", "tcp://b:1"], c, root);
    res.unwrap();
    assert_eq!(out, data);

    let c = MemConnector::serving(
        &store,
        &[(
            Proto::Http,
            Faults {
                corrupt_every: 3,
                ..Faults::default()
            },
        )],
    );
    let (res, out) = join(&["http://a:1"], c, root);
    assert_failed_with_prefix(&res, bad_chunk, &out, &data);

    // Every node says "not found": the joiner's own final error reaches the caller.
    let c = MemConnector::serving(
        &store,
        &[(
            Proto::Framed,
            Faults {
                not_found: true,
                ..Faults::default()
            },
        )],
    );
    let (res, out) = join(&["tcp://a:1"], c, root);
    assert_eq!(
        res.unwrap_err(),
        Error::Core(swarm_core::Error::ChunkNotFound)
    );
    assert!(out.is_empty());
}
