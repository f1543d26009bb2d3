//! Test support: chunks, a list retrieval, a sans-IO test server with fault injection, and
//! the two ways to reach it (TCP on 127.0.0.1, an in-memory pipe on a virtual clock).
#![allow(dead_code)]

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use embedded_io::ErrorKind;
use swarm_bmt::ChunkAddress;
use swarm_core::chunk::VerifiedChunk;
use swarm_core::Retrieval;
use swarm_net::codec::{self, Message};
use swarm_net::driver::Connector;
use swarm_net::time::{Clock, Instant};
use swarm_net::url::NodeAddr;

pub type Store = HashMap<ChunkAddress, Vec<u8>>;

/// `n` chunks of pseudo-random content (payload lengths vary, last one short).
pub fn make_chunks(n: usize, seed: u32) -> Vec<(ChunkAddress, Vec<u8>)> {
    let mut x = seed | 1;
    (0..n)
        .map(|i| {
            let len = if i + 1 == n {
                1000 + (seed as usize % 3000)
            } else {
                4096
            };
            let mut data = (len as u64).to_le_bytes().to_vec();
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                data.push(x as u8);
            }
            (swarm_bmt::chunk_address_of(&data).unwrap(), data)
        })
        .collect()
}

pub fn store_of(chunks: &[(ChunkAddress, Vec<u8>)]) -> Arc<Store> {
    Arc::new(chunks.iter().cloned().collect())
}

/// The expected output of a [`ListRetrieval`] over `chunks`: the payloads in order.
pub fn expected(chunks: &[(ChunkAddress, Vec<u8>)]) -> Vec<u8> {
    chunks.iter().flat_map(|(_, d)| d[8..].to_vec()).collect()
}

/// A test-only retrieval: fetches a fixed list of chunk addresses (window `window`), verifies
/// each with `VerifiedChunk`, outputs the payloads in list order.
pub struct ListRetrieval {
    wanted: Vec<ChunkAddress>,
    got: Vec<Option<Vec<u8>>>,
    next_req: usize,
    next_out: usize,
    out_pos: usize,
    window: usize,
    pub not_found: Vec<ChunkAddress>,
    pub rejected: usize,
    /// Chunks the driver gave up on for other reasons than "not found".
    pub unavailable: Vec<ChunkAddress>,
    /// When set, an unavailable chunk is replaced by these bytes (as a file rebuilds it from
    /// parity) instead of failing the retrieval.
    pub stand_in: Option<Vec<u8>>,
}

impl ListRetrieval {
    pub fn new(wanted: Vec<ChunkAddress>, window: usize) -> Self {
        let n = wanted.len();
        Self {
            wanted,
            got: vec![None; n],
            next_req: 0,
            next_out: 0,
            out_pos: 0,
            window,
            not_found: Vec::new(),
            rejected: 0,
            unavailable: Vec::new(),
            stand_in: None,
        }
    }

    pub fn of(chunks: &[(ChunkAddress, Vec<u8>)], window: usize) -> Self {
        Self::new(chunks.iter().map(|(a, _)| *a).collect(), window)
    }

    fn outstanding(&self, addr: &ChunkAddress) -> Option<usize> {
        (self.next_out..self.next_req).find(|&i| self.wanted[i] == *addr && self.got[i].is_none())
    }
}

impl Retrieval for ListRetrieval {
    fn poll_request(&mut self) -> Option<ChunkAddress> {
        if self.next_req < self.wanted.len() && self.next_req - self.next_out < self.window {
            self.next_req += 1;
            Some(self.wanted[self.next_req - 1])
        } else {
            None
        }
    }

    fn handle_chunk(
        &mut self,
        address: &ChunkAddress,
        data: &[u8],
    ) -> Result<(), swarm_core::Error> {
        let i = self
            .outstanding(address)
            .ok_or(swarm_core::Error::UnexpectedChunk)?;
        let chunk = VerifiedChunk::verify(address, data).inspect_err(|_| self.rejected += 1)?;
        self.got[i] = Some(chunk.payload().to_vec());
        Ok(())
    }

    fn handle_not_found(&mut self, address: &ChunkAddress) -> Result<(), swarm_core::Error> {
        self.not_found.push(*address);
        // A file cannot do without its chunks: a final error (stand-in variant).
        Err(swarm_core::Error::UnexpectedChunk)
    }

    fn handle_unavailable(&mut self, address: &ChunkAddress) -> Result<(), swarm_core::Error> {
        self.unavailable.push(*address);
        let i = self
            .outstanding(address)
            .ok_or(swarm_core::Error::UnexpectedChunk)?;
        match self.stand_in.clone() {
            Some(bytes) => {
                self.got[i] = Some(bytes);
                Ok(())
            }
            None => Err(swarm_core::Error::ChunkNotFound),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, swarm_core::Error> {
        let mut n = 0;
        while n < buf.len() && self.next_out < self.next_req {
            let Some(p) = &self.got[self.next_out] else {
                break;
            };
            let k = (p.len() - self.out_pos).min(buf.len() - n);
            buf[n..n + k].copy_from_slice(&p[self.out_pos..self.out_pos + k]);
            n += k;
            self.out_pos += k;
            if self.out_pos == p.len() {
                self.got[self.next_out] = None;
                self.next_out += 1;
                self.out_pos = 0;
            }
        }
        Ok(n)
    }

    fn is_finished(&self) -> bool {
        self.next_out == self.wanted.len()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Framed,
    Http,
}

/// Misbehaviour of a test server. "Every Nth" counts chunk answers on one server, from 1.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Flip the middle byte of every Nth chunk.
    pub corrupt_every: u64,
    /// Send half of every Nth answer, then drop the connection.
    pub truncate_every: u64,
    /// After this many chunk answers, go silent (keep the connection, answer nothing).
    pub stall_after: Option<u64>,
    /// Answer each batch of pipelined requests in reverse order (framed only).
    pub reverse: bool,
    /// Answer NotFound to everything.
    pub not_found: bool,
    /// Instead of the Nth answer, send a frame header announcing MAX_BODY_LEN + 1 bytes.
    pub oversize_at: u64,
    /// Instead of the Nth answer, send 64 bytes of garbage.
    pub garbage_at: u64,
    /// Answer every Nth request with an error (framed Error 1 / HTTP 500).
    pub error_every: u64,
}

/// The server logic, sans-IO: bytes in, bytes out.
pub struct ServerCore {
    proto: Proto,
    store: Arc<Store>,
    faults: Faults,
    counter: Arc<Mutex<u64>>,
    input: Vec<u8>,
    handshaken: bool,
    pub stalled: bool,
    pub close: bool,
}

impl ServerCore {
    pub fn new(proto: Proto, store: Arc<Store>, faults: Faults, counter: Arc<Mutex<u64>>) -> Self {
        Self {
            proto,
            store,
            faults,
            counter,
            input: Vec::new(),
            handshaken: false,
            stalled: false,
            close: false,
        }
    }

    /// Consumes request bytes, returns answer bytes (and sets `close` / `stalled`).
    pub fn feed(&mut self, data: &[u8]) -> Vec<u8> {
        self.input.extend_from_slice(data);
        let mut answers: Vec<Vec<u8>> = Vec::new();
        loop {
            if self.close || self.stalled {
                break;
            }
            let req = match self.proto {
                Proto::Framed => self.next_framed(&mut answers),
                Proto::Http => self.next_http(),
            };
            let Some((id, addr)) = req else { break };
            let n = {
                let mut c = self.counter.lock().unwrap();
                *c += 1;
                *c
            };
            let f = self.faults;
            if f.stall_after.is_some_and(|s| n > s) {
                self.stalled = true;
                break;
            }
            if f.oversize_at == n {
                answers.push(((codec::MAX_BODY_LEN + 1) as u32).to_le_bytes().to_vec());
                answers.push(vec![0; 32]);
                self.close = true;
                break;
            }
            if f.garbage_at == n {
                answers.push((0..64u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect());
                self.close = true;
                break;
            }
            let found = if f.not_found {
                None
            } else {
                self.store.get(&addr).cloned()
            };
            let is_error = f.error_every != 0 && n % f.error_every == 0;
            let mut answer = match (&found, is_error) {
                (_, true) => self.error_answer(id),
                (None, _) => self.not_found_answer(id),
                (Some(d), _) => {
                    let mut d = d.clone();
                    if f.corrupt_every != 0 && n % f.corrupt_every == 0 {
                        let mid = d.len() / 2;
                        d[mid] ^= 0xff;
                    }
                    self.chunk_answer(id, &d)
                }
            };
            if f.truncate_every != 0 && n % f.truncate_every == 0 {
                answer.truncate(answer.len() / 2);
                answers.push(answer);
                self.close = true;
                break;
            }
            answers.push(answer);
        }
        if self.faults.reverse {
            answers.reverse();
        }
        answers.concat()
    }

    fn next_framed(&mut self, answers: &mut Vec<Vec<u8>>) -> Option<(u32, ChunkAddress)> {
        loop {
            let (msg, used) = match codec::decode(&self.input) {
                Ok(Some((m, used))) => (m, used),
                Ok(None) => return None,
                Err(_) => {
                    self.close = true;
                    return None;
                }
            };
            let msg = match msg {
                Message::Hello { .. } => None,
                Message::GetChunk { id, address } => Some((id, ChunkAddress(address))),
                _ => {
                    self.close = true;
                    return None;
                }
            };
            self.input.drain(..used);
            match msg {
                None if !self.handshaken => {
                    self.handshaken = true;
                    let mut buf = [0u8; 64];
                    let n = Message::HelloAck {
                        id: 0,
                        magic: codec::MAGIC,
                        version: 1,
                        max_in_flight: 256,
                    }
                    .encode(&mut buf)
                    .unwrap();
                    answers.push(buf[..n].to_vec());
                }
                None => {
                    self.close = true;
                    return None;
                }
                Some(r) => return Some(r),
            }
        }
    }

    fn next_http(&mut self) -> Option<(u32, ChunkAddress)> {
        let end = self.input.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&self.input[..end]).to_string();
        self.input.drain(..end + 4);
        let path = head.split(' ').nth(1).unwrap_or("");
        let hex = path.strip_prefix("/chunks/").unwrap_or("");
        let addr: ChunkAddress = hex.parse().unwrap_or(ChunkAddress([0; 32]));
        Some((0, addr))
    }

    fn chunk_answer(&self, id: u32, data: &[u8]) -> Vec<u8> {
        match self.proto {
            Proto::Framed => {
                let mut buf = [0u8; codec::MAX_FRAME_LEN];
                let n = Message::Chunk { id, data }.encode(&mut buf).unwrap();
                buf[..n].to_vec()
            }
            Proto::Http => {
                let mut v = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: binary/octet-stream\r\nContent-Length: {}\r\n\r\n",
                    data.len()
                )
                .into_bytes();
                v.extend_from_slice(data);
                v
            }
        }
    }

    fn not_found_answer(&self, id: u32) -> Vec<u8> {
        match self.proto {
            Proto::Framed => frame(&Message::NotFound { id }),
            Proto::Http => {
                let body = "{\"code\":404,\"message\":\"chunk not found\"}\n\n";
                format!(
                    "HTTP/1.1 404 Not Found\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .into_bytes()
            }
        }
    }

    fn error_answer(&self, id: u32) -> Vec<u8> {
        match self.proto {
            Proto::Framed => frame(&Message::Error {
                id,
                code: codec::error_code::UPSTREAM,
            }),
            Proto::Http => {
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".to_vec()
            }
        }
    }
}

/// One driver node per URL of `urls`, each on a buffer of its own from `bufs`.
pub fn nodes<'b, S>(
    urls: &[&'b str],
    bufs: &'b mut [Vec<u8>],
) -> Vec<swarm_net::driver::Node<'b, S>> {
    urls.iter()
        .zip(bufs.iter_mut())
        .map(|(u, b)| swarm_net::driver::Node::new(NodeAddr::parse(u).unwrap(), b).unwrap())
        .collect()
}

/// For [`assert_failed_with_prefix`]: the last fault was a chunk that failed verification.
pub fn bad_chunk(f: &swarm_net::Fault) -> bool {
    matches!(f, swarm_net::Fault::BadChunk(_))
}

/// Output is a prefix of `want`: nothing unverified ever reaches the sink.
pub fn assert_verified_prefix(out: &[u8], want: &[u8]) {
    assert!(out.len() <= want.len());
    assert_eq!(out, &want[..out.len()]);
}

/// Every node failed, the last with a fault `last` accepts, and only verified bytes (a prefix
/// of `want`) reached the sink.
pub fn assert_failed_with_prefix(
    res: &Result<swarm_net::driver::Stats, swarm_net::Error>,
    last: fn(&swarm_net::Fault) -> bool,
    out: &[u8],
    want: &[u8],
) {
    assert!(
        matches!(res, Err(swarm_net::Error::AllNodesFailed { last: f, .. }) if last(f)),
        "{res:?}"
    );
    assert_verified_prefix(out, want);
}

pub fn frame(m: &Message<'_>) -> Vec<u8> {
    let mut buf = [0u8; codec::MAX_FRAME_LEN];
    let n = m.encode(&mut buf).unwrap();
    buf[..n].to_vec()
}

/// A test server on 127.0.0.1:0, one thread per connection; stopped and joined on drop.
pub struct TcpServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pub counter: Arc<Mutex<u64>>,
    pub connections: Arc<Mutex<u64>>,
}

impl TcpServer {
    pub fn start(proto: Proto, store: Arc<Store>, faults: Faults) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let counter = Arc::new(Mutex::new(0));
        let connections = Arc::new(Mutex::new(0));
        let (s2, c2, n2) = (stop.clone(), counter.clone(), connections.clone());
        let thread = std::thread::spawn(move || {
            let mut workers = Vec::new();
            while !s2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((sock, _)) => {
                        *n2.lock().unwrap() += 1;
                        let core = ServerCore::new(proto, store.clone(), faults, c2.clone());
                        let s3 = s2.clone();
                        workers.push(std::thread::spawn(move || serve_conn(sock, core, &s3)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
            for w in workers {
                w.join().unwrap();
            }
        });
        Self {
            port,
            stop,
            thread: Some(thread),
            counter,
            connections,
        }
    }

    pub fn url(&self, proto: Proto) -> String {
        match proto {
            Proto::Framed => format!("tcp://127.0.0.1:{}", self.port),
            Proto::Http => format!("http://127.0.0.1:{}", self.port),
        }
    }
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

fn serve_conn(mut sock: TcpStream, mut core: ServerCore, stop: &AtomicBool) {
    sock.set_nonblocking(false).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    sock.set_nodelay(true).unwrap();
    let mut buf = vec![0u8; 65536];
    while !stop.load(Ordering::Relaxed) {
        match sock.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                let out = core.feed(&buf[..n]);
                if !out.is_empty() && sock.write_all(&out).is_err() {
                    return;
                }
                if core.close {
                    std::thread::sleep(Duration::from_millis(5));
                    let _ = sock.shutdown(std::net::Shutdown::Both);
                    return;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

/// A virtual clock shared by the in-memory streams: every read that finds nothing advances it.
#[derive(Clone, Default)]
pub struct VirtualClock(pub Rc<Cell<u64>>);

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        Instant::from_millis(self.0.get())
    }
}

/// An in-memory connection to a [`ServerCore`], on the virtual clock.
pub struct MemStream {
    core: ServerCore,
    out: VecDeque<u8>,
    clock: VirtualClock,
    /// Bytes per read at most (to exercise partial frames).
    pub max_read: usize,
}

impl embedded_io::ErrorType for MemStream {
    type Error = ErrorKind;
}

impl embedded_io::Read for MemStream {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        if self.out.is_empty() {
            if self.core.close {
                return Ok(0);
            }
            self.clock.0.set(self.clock.0.get() + 10);
            return Err(ErrorKind::TimedOut);
        }
        let n = buf.len().min(self.out.len()).min(self.max_read);
        for (d, s) in buf.iter_mut().zip(self.out.drain(..n)) {
            *d = s;
        }
        Ok(n)
    }
}

impl embedded_io::Write for MemStream {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        if self.core.close {
            return Err(ErrorKind::BrokenPipe);
        }
        let out = self.core.feed(buf);
        self.out.extend(out);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

impl embedded_io::ReadReady for MemStream {
    fn read_ready(&mut self) -> Result<bool, ErrorKind> {
        Ok(!self.out.is_empty() || self.core.close)
    }
}

/// One in-memory server: protocol, store, faults, answer counter (shared across connections).
pub type MemServer = (Proto, Arc<Store>, Faults, Arc<Mutex<u64>>);

/// Connects `host` "a", "b", … (by the first letter of the host) to in-memory servers.
pub struct MemConnector {
    pub servers: Vec<MemServer>,
    pub clock: VirtualClock,
    pub max_read: usize,
    pub connects: usize,
}

impl MemConnector {
    pub fn new(clock: VirtualClock) -> Self {
        Self {
            servers: Vec::new(),
            clock,
            max_read: usize::MAX,
            connects: 0,
        }
    }
    pub fn add(&mut self, proto: Proto, store: Arc<Store>, faults: Faults) {
        self.servers
            .push((proto, store, faults, Arc::new(Mutex::new(0))));
    }
    /// Servers "a", "b", … speaking `(proto, faults)` of `servers`, all serving `store`, on a
    /// fresh virtual clock.
    pub fn serving(store: &Arc<Store>, servers: &[(Proto, Faults)]) -> Self {
        let mut c = Self::new(VirtualClock::default());
        for &(proto, faults) in servers {
            c.add(proto, store.clone(), faults);
        }
        c
    }
}

impl Connector for MemConnector {
    type Stream = MemStream;
    fn connect(
        &mut self,
        node: &NodeAddr<'_>,
        _timeout_ms: u64,
    ) -> Result<MemStream, swarm_net::Error> {
        let i = usize::from(node.host().as_bytes()[0] - b'a');
        let (proto, store, faults, counter) = self
            .servers
            .get(i)
            .cloned()
            .ok_or(swarm_net::Error::Connect(ErrorKind::ConnectionRefused))?;
        self.connects += 1;
        Ok(MemStream {
            core: ServerCore::new(proto, store, faults, counter),
            out: VecDeque::new(),
            clock: self.clock.clone(),
            max_read: self.max_read,
        })
    }
}
