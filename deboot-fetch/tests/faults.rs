//! Faults at the whole-fetch level: the `deboot-fetch` binary against real `swarm-relay`s
//! (in-process, 127.0.0.1) with their test-only fault options, checking what lands on disk and
//! on standard output. The transport faults themselves (truncation, garbage, oversize frames,
//! stalls, out-of-order answers) are covered against swarm-net's scripted servers in
//! `swarm-net/tests`; here: liars across the two protocols, slow nodes against the timeout,
//! withheld chunks, an unreachable node, and the standard-output bound.
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

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use swarm_bmt::{ChunkAddress, Splitter};
use swarm_relay::{import, Faults, Store};

use support::*;

fn corrupting(every: u64) -> Faults {
    Faults {
        corrupt_every: every,
        ..Faults::default()
    }
}

/// A store holding `data` as a file; returns the store and `bytes://<ref>`.
fn store_with(dir: &TempDir, data: &[u8]) -> (Arc<Store>, String) {
    let store = Store::open(dir.join("store")).unwrap();
    let reference = import::import_bytes(&store, data).unwrap();
    (Arc::new(store), format!("bytes://{reference}"))
}

/// Output files in `dir` (the store excluded).
fn outputs(dir: &TempDir) -> Vec<String> {
    dir.entries().into_iter().filter(|e| e != "store").collect()
}

#[test]
fn a_liar_on_either_protocol_is_outvoted_by_an_honest_node_on_the_other() {
    let dir = TempDir::new("cross");
    let data = content(300 * 1024 + 5, 0x5eed);
    let (store, target) = store_with(&dir, &data);
    let liar = relay(&store, corrupting(2));
    let honest = relay(&store, Faults::default());
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("tcp://{}", dead.local_addr().unwrap());
    drop(dead); // nothing listens there now
    let (l, h) = (liar.local_addr(), honest.local_addr());
    let out = dir.join_str("out.bin");
    let mut runs = 0;
    for nodes in [
        [format!("tcp://{l}"), format!("http://{h}")],
        [format!("http://{l}"), format!("tcp://{h}")],
        [dead_url.clone(), format!("tcp://{h}")],
    ] {
        let run = deboot_fetch(&[
            "--node", &nodes[0], "--node", &nodes[1], &target, "-o", &out,
        ]);
        assert_eq!(run.code, 0, "{nodes:?}: {run:?}");
        assert_eq!(std::fs::read(&out).unwrap(), data, "{nodes:?}");
        std::fs::remove_file(&out).unwrap();
        runs += 1;
    }
    assert_eq!(runs, 3);
    assert!(liar.stats().requests > 0, "the liar was asked first");
}

#[test]
fn only_liars_fail_clearly_and_leave_the_old_output_and_stdout_untouched() {
    let dir = TempDir::new("liars");
    let data = content(200 * 1024, 0x11a5);
    let (store, target) = store_with(&dir, &data);
    let a = relay(&store, corrupting(1));
    let b = relay(&store, corrupting(2));
    let (a, b) = (
        format!("tcp://{}", a.local_addr()),
        format!("http://{}", b.local_addr()),
    );
    let out = dir.join("out.bin");
    let out_s = dir.join_str("out.bin");

    // No output file before: none after.
    let run = deboot_fetch(&["--node", &a, "--node", &b, &target, "-o", &out_s]);
    let line = run.failed_with(4);
    assert!(line.contains("failed verification"), "{line}");
    assert!(
        line.contains(&a) && line.contains(&b),
        "names every node: {line}"
    );
    assert!(outputs(&dir).is_empty(), "{:?}", outputs(&dir));

    // An older file at the output path: left exactly as it was.
    std::fs::write(&out, b"the previous image").unwrap();
    let run = deboot_fetch(&["--node", &a, "--node", &b, &target, "-o", &out_s]);
    run.failed_with(4);
    assert_eq!(std::fs::read(&out).unwrap(), b"the previous image");
    assert_eq!(outputs(&dir), ["out.bin"]);

    // Without -o: nothing on standard output (failed_with checks it).
    deboot_fetch(&["--node", &a, &target]).failed_with(4);
}

#[test]
fn a_slow_node_times_out_and_fails_over_within_the_bound() {
    let dir = TempDir::new("slow");
    let data = content(64 * 1024, 0x510e);
    let (store, target) = store_with(&dir, &data);
    let slow = relay(
        &store,
        Faults {
            delay: Duration::from_millis(1500),
            ..Faults::default()
        },
    );
    let honest = relay(&store, Faults::default());
    let (s, h) = (
        format!("tcp://{}", slow.local_addr()),
        format!("tcp://{}", honest.local_addr()),
    );
    let out = dir.join_str("out.bin");
    let timeout = ["--timeout-ms", "300"];

    let run = deboot_fetch(
        &[
            &["--node", &s, "--node", &h, &target, "-o", &out][..],
            &timeout,
        ]
        .concat(),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(std::fs::read(&out).unwrap(), data);
    std::fs::remove_file(&out).unwrap();

    // Alone: each request times out, on either protocol (the relay's delay applies to chunk
    // responses only, not to the framed handshake). A clear error, nothing written.
    let http = format!("http://{}", slow.local_addr());
    let run = deboot_fetch(&[&["--node", &http, &target, "-o", &out][..], &timeout].concat());
    let line = run.failed_with(4);
    assert!(line.contains("timed out"), "{line}");
    let run = deboot_fetch(&[&["--node", &s, &target, "-o", &out][..], &timeout].concat());
    let line = run.failed_with(4);
    assert!(line.contains("timed out"), "{line}");
    assert!(outputs(&dir).is_empty());
}

#[test]
fn a_chunk_no_node_has_is_not_found_and_named() {
    let dir = TempDir::new("withheld");
    let data = content(100 * 4096, 0xab5e);
    let (store, target) = store_with(&dir, &data);
    let mut leaves = Vec::new();
    let mut splitter = Splitter::with_sink(|a: &ChunkAddress, c: &[u8]| {
        if c.len() == 8 + 4096 {
            leaves.push(*a);
        }
        Ok(())
    });
    splitter.write(&data).unwrap();
    splitter.finish().unwrap();
    let gone = leaves[leaves.len() / 2];
    let withholding = || Faults {
        withhold: HashSet::from([gone]),
        ..Faults::default()
    };
    let (a, b) = (relay(&store, withholding()), relay(&store, withholding()));
    let (a, b) = (
        format!("tcp://{}", a.local_addr()),
        format!("http://{}", b.local_addr()),
    );
    let out = dir.join_str("out.bin");
    let run = deboot_fetch(&["--node", &a, "--node", &b, &target, "-o", &out]);
    let line = run.failed_with(3);
    assert!(line.contains(&gone.to_string()), "names the chunk: {line}");
    assert!(outputs(&dir).is_empty());

    // One node that has it is enough.
    let full = relay(&store, Faults::default());
    let f = format!("tcp://{}", full.local_addr());
    let run = deboot_fetch(&["--node", &a, "--node", &f, &target, "-o", &out]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(std::fs::read(&out).unwrap(), data);
}

#[test]
fn standard_output_holds_at_most_max_stdout_len_bytes() {
    let max = deboot_fetch::MAX_STDOUT_LEN;
    let dir = TempDir::new("stdout");
    let store = Store::open(dir.join("store")).unwrap();
    let at = content(max, 0x0de5);
    let over = content(max + 1, 0x0de6);
    let at_ref = import::import_bytes(&store, &at).unwrap();
    let over_ref = import::import_bytes(&store, &over).unwrap();
    let store = Arc::new(store);
    let r = relay(&store, Faults::default());
    let node = format!("tcp://{}", r.local_addr());

    let run = deboot_fetch(&["--node", &node, &format!("bytes://{at_ref}")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout == at, "{} bytes on stdout", run.stdout.len());

    let run = deboot_fetch(&["--node", &node, &format!("bytes://{over_ref}")]);
    let line = run.failed_with(2);
    assert!(line.contains("-o FILE"), "{line}");
}
