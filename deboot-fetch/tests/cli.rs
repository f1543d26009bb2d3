//! The command line's own errors: each is one line on standard error with its documented exit
//! status, found before any node is contacted, and nothing is written.
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

use support::*;

const REF: &str = "b34ca8c22b9e982354f9c7f50b470d66db428d880c8a904d5fe4ec9713171526";

#[test]
fn usage_errors_exit_2_with_one_line() {
    let target = format!("bytes://{REF}");
    // Port 9 on 127.0.0.1 is never contacted: every case fails before connecting.
    let node = "tcp://127.0.0.1:9";
    let dir = TempDir::new("usage");
    let out = dir.join_str("out");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![], "required"),
        (vec!["--node", node], "required"),
        (vec![&target], "--node"),
        (vec!["--node", node, "bzz://xyz"], "target bzz://xyz"),
        (vec!["--node", node, "http://example/x"], "expected bzz://"),
        (vec!["--node", "ftp://h:1", &target], "node ftp://h:1"),
        (vec!["--node", node, "--window", "0", &target], "--window 0"),
        (
            vec!["--node", node, "--window", "257", &target],
            "--window 257",
        ),
        (
            vec!["--node", node, "--timeout-ms", "0", &target],
            "--timeout-ms",
        ),
        (
            vec![
                "--node",
                node,
                &target,
                "--min-index",
                "1",
                "--min-index-file",
                &out,
            ],
            "cannot be used with",
        ),
        (
            vec!["--node", node, &target, "-o", dir.path().to_str().unwrap()],
            "is a directory",
        ),
        (vec!["--node", node, "--bogus", &target], "--bogus"),
    ];
    let n = cases.len();
    for (args, needle) in cases {
        let mut full = args.clone();
        if !full.is_empty() && !full.contains(&"-o") {
            full.extend(["-o", &out]);
        }
        let run = deboot_fetch(&full);
        let line = run.failed_with(2);
        assert!(line.contains(needle), "{args:?}: {line}");
    }
    let nine: Vec<String> = (1..=9).map(|i| format!("tcp://127.0.0.1:{i}")).collect();
    let mut args: Vec<&str> = nine.iter().flat_map(|u| ["--node", u.as_str()]).collect();
    args.push(&target);
    let line = deboot_fetch(&args).failed_with(2).to_owned();
    assert!(line.contains("1 to 8 nodes"), "{line}");
    assert!(dir.entries().is_empty(), "{:?}", dir.entries());
    assert_eq!(n, 12);
}

#[test]
fn local_file_errors_exit_6_before_any_fetch() {
    let dir = TempDir::new("io");
    let target = format!("bytes://{REF}");
    let node = "tcp://127.0.0.1:9";
    let bad = dir.join("min-index");
    std::fs::write(&bad, "four\n").unwrap();
    let out = dir.join_str("out");
    let run = deboot_fetch(&[
        "--node",
        node,
        &target,
        "-o",
        &out,
        "--min-index-file",
        bad.to_str().unwrap(),
    ]);
    let line = run.failed_with(6);
    assert!(
        line.contains("min-index file") && line.contains("decimal"),
        "{line}"
    );
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), "four\n");

    let missing_dir = dir.join_str("no/such/dir/out");
    let run = deboot_fetch(&["--node", node, &target, "-o", &missing_dir]);
    let line = run.failed_with(6);
    assert!(line.contains("temporary file"), "{line}");
    assert_eq!(dir.entries(), ["min-index"]);
}

#[test]
fn help_and_version_exit_0() {
    let run = deboot_fetch(&["--help"]);
    assert_eq!(run.code, 0);
    let help = String::from_utf8(run.stdout).unwrap();
    for needle in ["--node", "--min-index-file", "Exit status", "feed://"] {
        assert!(help.contains(needle), "{needle} missing from --help");
    }
    assert_eq!(deboot_fetch(&["--version"]).code, 0);
}
