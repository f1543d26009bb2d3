//! Helpers shared by the test modules: temporary stores, vectors, a raw HTTP client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use swarm_bmt::ChunkAddress;
use swarm_relay::{Backend, Config, Relay, RelayHandle, Store};

/// Every socket read in these tests gives up after this long.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("swarm-relay-test-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `tests/vectors/beejs/<rel>` of the workspace.
pub fn beejs(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/vectors/beejs")
        .join(rel)
}

pub fn load_json(rel: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(beejs(rel)).unwrap()).unwrap()
}

/// The file vectors of `vectors/files.json`: (name, data path, reference, chunk list path).
pub fn file_vectors() -> Vec<(String, PathBuf, String, PathBuf)> {
    let json = load_json("vectors/files.json");
    json["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_owned(),
                beejs(v["data_file"].as_str().unwrap()),
                v["reference"].as_str().unwrap().to_owned(),
                beejs(v["chunk_list"].as_str().unwrap()),
            )
        })
        .collect()
}

/// Chunk addresses listed in a `*.chunks.txt` file.
pub fn chunk_list(path: &Path) -> Vec<ChunkAddress> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

/// Runs `swarm-relay` as `cmd` sets it up (`import …`), asserts it succeeded (showing its
/// stderr if not), and returns the first word of each line it printed: `import` prints one
/// reference a line, in the order of its paths.
pub fn printed_references(cmd: &mut std::process::Command) -> Vec<String> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect()
}

/// Deterministic bytes (xorshift32, as the vectors' recipe).
pub fn xorshift_bytes(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.max(1);
    let mut out = Vec::with_capacity(len + 4);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A store in a temporary directory with the `len-8192` vector imported (3 chunks).
pub struct Seeded {
    /// Kept so the directory lives as long as the store.
    pub _dir: TempDir,
    pub store: Arc<Store>,
    pub chunks: Vec<ChunkAddress>,
}

pub fn seeded_store(tag: &str) -> Seeded {
    let dir = TempDir::new(tag);
    let store = Store::open(dir.path().join("store")).unwrap();
    let (_, data, reference, list) = file_vectors()
        .into_iter()
        .find(|v| v.0 == "len-8192")
        .unwrap();
    let got = swarm_relay::import::import_file(&store, &data).unwrap();
    assert_eq!(got.to_string(), reference);
    Seeded {
        _dir: dir,
        store: Arc::new(store),
        chunks: chunk_list(&list),
    }
}

pub fn start(store: &Arc<Store>, config: Config) -> RelayHandle {
    Relay::bind("127.0.0.1:0", Backend::Store(Arc::clone(store)), config).unwrap()
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    // Requests are written in pieces: without this, Nagle and delayed ACKs add 40 ms each.
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
    s
}

/// One HTTP response as read off the wire.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response (status line, headers, `Content-Length` body; no body for HEAD).
pub fn read_response(r: &mut BufReader<TcpStream>, head_only: bool) -> HttpResponse {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let mut parts = line.trim_end().splitn(3, ' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "status line {line:?}");
    let status: u16 = parts.next().unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (n, v) = h.split_once(':').unwrap();
        headers.push((n.trim().to_owned(), v.trim().to_owned()));
    }
    let mut resp = HttpResponse {
        status,
        headers,
        body: Vec::new(),
    };
    if !head_only {
        let len: usize = resp.header("content-length").unwrap().parse().unwrap();
        resp.body = vec![0; len];
        r.read_exact(&mut resp.body).unwrap();
    }
    resp
}

/// Sends one request on `s` and reads the answer.
pub fn http_get(
    s: &mut TcpStream,
    r: &mut BufReader<TcpStream>,
    method: &str,
    path: &str,
) -> HttpResponse {
    write!(s, "{method} {path} HTTP/1.1\r\nHost: relay\r\n\r\n").unwrap();
    read_response(r, method == "HEAD")
}

/// A connection and a buffered reader over its clone.
pub fn http_conn(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>) {
    let s = connect(addr);
    let r = BufReader::new(s.try_clone().unwrap());
    (s, r)
}

/// Flips byte `at` of the chunk stored at `address`, in the store's data file (a disk fault).
/// Returns the corrupted bytes.
pub fn corrupt_on_disk(store: &Store, address: &ChunkAddress, at: usize) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let good = store.get_chunk(address).unwrap().unwrap();
    let file = std::fs::read(store.data_path()).unwrap();
    let pos = file
        .windows(good.len())
        .position(|w| w == good.as_slice())
        .unwrap();
    let mut bad = good;
    bad[at] ^= 0x80;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(store.data_path())
        .unwrap();
    f.write_all_at(&bad[at..=at], (pos + at) as u64).unwrap();
    assert_eq!(store.get_chunk(address).unwrap().unwrap(), bad);
    bad
}
