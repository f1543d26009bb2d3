//! The demo collection, fetched end to end: swarm-core's resolver straight from the store, and
//! swarm-net's client through the relay over DBCP and HTTP, with a lying relay in front.

use std::sync::Arc;

use swarm_core::joiner::Buffers;
use swarm_core::target::{Resolver, Target};
use swarm_relay::{demo, Config, Faults, Store};

use crate::support::{start, TempDir};

const KERNEL_LEN: usize = 600 * 1024 + 123;

/// Resolves `target` against `source` with swarm-core's blocking driver.
fn resolve_from_store(store: &Store, target: &str) -> Vec<u8> {
    let target: Target = target.parse().unwrap();
    let mut memory = Box::new(Buffers::<8, 3>::new());
    let Buffers { slots, levels } = &mut *memory;
    let mut node_buf = vec![0u8; 64 * 1024];
    let mut r = Resolver::new(&target, 0, &mut node_buf, slots, levels).unwrap();
    let mut out = Vec::new();
    swarm_core::source::drive(&mut r, &mut &*store, &mut out).unwrap();
    out
}

/// Fetches `target` through the nodes at `urls` with swarm-net's client.
fn fetch_over_net(urls: &[&str], target: &str) -> Result<Vec<u8>, swarm_net::Error> {
    let target: Target = target.parse().unwrap();
    let mut memory = Box::new(Buffers::<8, 3>::new());
    let Buffers { slots, levels } = &mut *memory;
    let mut node_buf = vec![0u8; 64 * 1024];
    let mut r = Resolver::new(&target, 0, &mut node_buf, slots, levels).unwrap();
    let mut out = Vec::new();
    swarm_net::std_net::fetch(urls, &mut r, swarm_net::driver::Config::default(), |b| {
        out.extend_from_slice(b);
        Ok(())
    })?;
    Ok(out)
}

#[test]
fn the_demo_collection_resolves_like_a_website() {
    let dir = TempDir::new("demo-resolve");
    let store = Store::open(dir.path()).unwrap();
    let seeded = demo::seed(&store, KERNEL_LEN).unwrap();
    let files = demo::files(KERNEL_LEN);
    assert_eq!(seeded.files.len(), 3);
    let r = seeded.reference;
    let kernel = resolve_from_store(&store, &format!("bzz://{r}/{}", demo::KERNEL_PATH));
    assert_eq!(kernel, demo::kernel_bytes(KERNEL_LEN));
    let (kernel_ref, kernel_len) = seeded.file(demo::KERNEL_PATH).unwrap();
    assert_eq!(kernel_len, KERNEL_LEN as u64);
    assert_eq!(
        resolve_from_store(&store, &format!("bytes://{kernel_ref}")),
        kernel
    );
    // The empty path serves the index document.
    assert_eq!(
        resolve_from_store(&store, &format!("bzz://{r}/")),
        files[0].1
    );

    // The same files imported from a directory give the same collection.
    let site = dir.path().join("site");
    for (path, content) in &files {
        let p = site.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    let from_dir = swarm_relay::import::import_paths_at(
        &store,
        std::slice::from_ref(&site),
        swarm_relay::import::DEFAULT_LEVEL,
    )
    .unwrap();
    assert_eq!(from_dir, [r]);
    // At level 0 the same files give another collection.
    let plain = swarm_relay::import::import_file(&store, &site).unwrap();
    assert_ne!(plain, r);
}

#[test]
fn swarm_net_fetches_the_demo_kernel_through_the_relay() {
    let dir = TempDir::new("demo-net");
    let store = Store::open(dir.path()).unwrap();
    let seeded = demo::seed(&store, KERNEL_LEN).unwrap();
    let store = Arc::new(store);
    let honest = start(&store, Config::default());
    let liar = start(
        &store,
        Config {
            faults: Faults {
                corrupt_every: 3,
                ..Faults::default()
            },
            ..Config::default()
        },
    );
    let target = format!("bzz://{}/{}", seeded.reference, demo::KERNEL_PATH);
    let want = demo::kernel_bytes(KERNEL_LEN);
    let (h, l) = (honest.local_addr(), liar.local_addr());

    for url in [format!("tcp://{h}"), format!("http://{h}")] {
        assert_eq!(fetch_over_net(&[&url], &target).unwrap(), want, "{url}");
    }
    // A liar first, then the honest relay: every corrupted chunk is refused and re-fetched.
    for (bad, good) in [
        (format!("tcp://{l}"), format!("tcp://{h}")),
        (format!("http://{l}"), format!("http://{h}")),
    ] {
        assert_eq!(fetch_over_net(&[&bad, &good], &target).unwrap(), want);
    }
    // The liar alone: a clear error, not wrong bytes.
    assert!(fetch_over_net(&[&format!("tcp://{l}")], &target).is_err());
    assert!(liar.stats().requests > 0);
    liar.shutdown();
    honest.shutdown();
}
