//! Shared by the integration tests: run the `deboot-fetch` binary with a deadline, temporary
//! directories, the bee-js vectors, sha256.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

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
