//! Cross-test of recovery against a server DeBoot did not write: `../shared/tools/fake-bee.mjs`
//! serves a temporary copy of one erasure-coded upload of `tests/vectors/bee-go/redundancy/`
//! (its chunks and the root's replica SOCs, from `trees.json`) without the chunks each
//! `recovery.json` scenario deletes, and the `deboot-fetch` binary fetches `bytes://<ref>`
//! through its `GET /chunks`: the scenarios Bee's joiner recovered give the vector's sha256,
//! the three it refused exit with status 3 (not found) and leave no output file.
//!
//! Without the script or `node`: fails when `CI=true`, else prints "skipped: ..." and passes.
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
use std::path::Path;

use support::*;

#[test]
fn recovery_scenarios_through_fake_bee() {
    let Some(script) = fake_bee_script("fake-bee recovery cross-test") else {
        return;
    };
    let vectors = repo_root().join("tests/vectors/bee-go/redundancy");
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(vectors.join(name)).unwrap()).unwrap()
    };
    let (trees, recovery) = (read("trees.json"), read("recovery.json"));
    let (mut recovered, mut refused) = (0, 0);
    for s in recovery["scenarios"].as_array().unwrap() {
        let name = str_of(s, "name");
        let tree = trees["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| str_of(t, "name") == str_of(s, "vector"))
            .unwrap();
        let deleted: HashSet<&str> = s["deleted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| str_of(d, "address"))
            .collect();
        // The upload's chunks and replicas, less the deleted ones.
        let tmp = TempDir::new("recovery");
        let chunks = tmp.join("chunks");
        std::fs::create_dir(&chunks).unwrap();
        let mut served = 0;
        for c in tree["creation_order"].as_array().unwrap() {
            let a = str_of(c, "address");
            if !deleted.contains(a) {
                std::fs::copy(vectors.join("chunks").join(a), chunks.join(a)).unwrap();
                served += 1;
            }
        }
        // Replica SOCs, where the vector set ships them (the roots of replicas.json).
        for r in tree["replicas"]["replicas_in_bee_order"]
            .as_array()
            .unwrap()
        {
            let a = str_of(r, "address");
            let from = vectors.join("chunks").join(a);
            if !deleted.contains(a) && from.is_file() {
                std::fs::copy(from, chunks.join(a)).unwrap();
                served += 1;
            }
        }
        assert!(served > 0, "{name}");
        let bee = FakeBee::start(&script, &chunks, &[]);
        let out = tmp.join_str("out");
        let target = format!("bytes://{}", str_of(s, "reference"));
        let run = deboot_fetch(&["--node", &bee.url, &target, "-o", &out]);
        match str_of(s, "expect") {
            "recovered" => {
                assert_eq!(run.code, 0, "{name}: {run:?}");
                let content = std::fs::read(&out).unwrap();
                assert_eq!(sha256_hex(&content), str_of(s, "read_sha256"), "{name}");
                // Every such scenario deleted a chunk the file needs: said on stderr.
                assert!(
                    run.stderr.contains("no node had recovered"),
                    "{name}: {}",
                    run.stderr
                );
                recovered += 1;
            }
            "fails" => {
                assert_eq!(run.code, 3, "{name}: {run:?}");
                assert!(!Path::new(&out).exists(), "{name}: a partial file");
                refused += 1;
            }
            other => panic!("{name}: unknown expectation {other}"),
        }
    }
    assert_eq!((recovered, refused), (11, 3));
}
