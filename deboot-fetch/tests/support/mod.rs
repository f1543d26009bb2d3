//! Shared by the integration tests: run the `deboot-fetch` binary with a deadline, temporary
//! directories, the bee-js vectors, sha256, test content and in-process relays.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use swarm_relay::{Backend, Config, Faults, Relay, RelayHandle, Store};

/// A `deboot-fetch` run still going after this long is killed and the test fails.
pub const RUN_DEADLINE: Duration = Duration::from_secs(60);

/// What one `deboot-fetch` run did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Runs the `deboot-fetch` binary with `args`, killing it after [`RUN_DEADLINE`].
pub fn deboot_fetch(args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deboot-fetch"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).ok();
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).ok();
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > RUN_DEADLINE {
            child.kill().ok();
            child.wait().ok();
            panic!("deboot-fetch {args:?} still running after {RUN_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
    }
}

impl Run {
    /// Asserts a failure with exit status `code` and exactly one line on stderr; returns it.
    pub fn failed_with(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "{self:?}");
        assert!(self.stdout.is_empty(), "output on a failure: {self:?}");
        let line = self.stderr.trim_end_matches('\n');
        assert!(!line.is_empty() && !line.contains('\n'), "{self:?}");
        assert!(line.starts_with("deboot-fetch: "), "{self:?}");
        line
    }
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "deboot-fetch-test-{}-{tag}-{n}",
            std::process::id()
        ));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn join_str(&self, name: &str) -> String {
        self.join(name).display().to_string()
    }

    /// The names in the directory, sorted.
    pub fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `tests/vectors/beejs/<rel>` of the workspace.
pub fn beejs(rel: &str) -> PathBuf {
    repo_root().join("tests/vectors/beejs").join(rel)
}

pub fn load_json(rel: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(beejs(rel)).unwrap()).unwrap()
}

pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A manifest path as a target path: every byte outside the URL-unreserved set `%XX`-escaped
/// (the target grammar decodes escapes, so a literal `%` must be escaped too).
pub fn encode_path(path: &str) -> String {
    path.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// fake-bee exits by itself after this long, whatever happens to the test.
pub const FAKE_BEE_MAX_SECONDS: &str = "120";

/// A running `../shared/tools/fake-bee.mjs`, killed by its PID when dropped.
pub struct FakeBee {
    child: Child,
    /// `http://127.0.0.1:PORT`, the Bee API it serves.
    pub url: String,
}

impl FakeBee {
    /// Starts fake-bee on a free port serving `chunks`, with extra `flags` (fault modes).
    pub fn start(script: &Path, chunks: &Path, flags: &[&str]) -> Self {
        let mut child = Command::new("node")
            .arg(script)
            .arg("0")
            .arg("--chunks")
            .arg(chunks)
            .args(["--max-seconds", FAKE_BEE_MAX_SECONDS])
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).ok();
            tx.send(line).ok();
        });
        let line = rx.recv_timeout(Duration::from_secs(20));
        // Built before the checks, so a failed start still kills the child on drop.
        let mut bee = Self {
            child,
            url: String::new(),
        };
        let line = line.expect("fake-bee did not start within 20 s");
        let addr = line
            .trim()
            .strip_prefix("fake-bee listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from fake-bee: {line:?}"));
        bee.url = format!("http://{addr}");
        bee
    }
}

impl Drop for FakeBee {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// The fake-bee script, if it and `node` are there. Without them `test` fails when `CI=true`
/// (the cross-test must run in CI), else prints "skipped: ..." and the caller returns.
pub fn fake_bee_script(test: &str) -> Option<PathBuf> {
    let script = repo_root().join("../shared/tools/fake-bee.mjs");
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let why = if !script.is_file() {
        format!("{} is missing", script.display())
    } else if !node.is_ok_and(|s| s.success()) {
        "node is not installed".to_owned()
    } else {
        return Some(script);
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("the {test} must run in CI: {why}");
    }
    eprintln!("skipped: {test}: {why}");
    None
}

/// A string field of a vector's JSON object.
pub fn str_of<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

/// `len` bytes of xorshift32 output from `seed`.
pub fn content(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    let mut v = Vec::with_capacity(len + 4);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// A relay on 127.0.0.1 (free port) serving `store` with the test `faults`.
pub fn relay(store: &Arc<Store>, faults: Faults) -> RelayHandle {
    Relay::bind(
        "127.0.0.1:0",
        Backend::Store(Arc::clone(store)),
        Config {
            faults,
            ..Config::default()
        },
    )
    .unwrap()
}
