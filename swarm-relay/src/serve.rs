//! The server: one TCP port that speaks both DeBoot's framed protocol (`docs/PROTOCOL.md`)
//! and Bee's `GET /chunks/{address}` (HTTP/1.1), told apart by the first byte a client sends.
//!
//! # Threads
//! One acceptor thread; one thread per connection, at most [`Config::max_connections`] at once
//! (a connection over the limit is closed at once); with `--delay-ms`, one more thread per
//! connection that releases responses when they are due; in upstream mode, a shared pool of
//! [`Config::upstream_workers`] threads that fetch from the Bee node so framed requests stay
//! pipelined. Store lookups and cache hits are answered on the connection thread.
//!
//! # Shutdown
//! [`RelayHandle::shutdown`] (or dropping the handle) stops accepting, lets every connection
//! thread notice within [`POLL_INTERVAL`], and joins every thread it spawned. An upstream fetch
//! already under way finishes first (bounded by the upstream timeout).

use std::collections::HashSet;
use std::io::{self, BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use swarm_bmt::ChunkAddress;

use crate::backend::{Backend, Chunks, Lookup, StatsSnapshot};
use crate::cache::{ChunkCache, DEFAULT_CACHE_CHUNKS};
use crate::Error;

/// How often a blocked connection thread wakes to check for shutdown and idle timeout.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Default for [`Config::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;

/// Default for [`Config::idle_timeout`]: 60 s, the framed protocol's idle timeout
/// (`docs/PROTOCOL.md` §6); HTTP connections get the same (Bee's server uses 30 s).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A framed connection must send `Hello` within this time (`docs/PROTOCOL.md` §6).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Default for [`Config::upstream_workers`].
pub const DEFAULT_UPSTREAM_WORKERS: usize = 16;

/// Time allowed to write one response before the connection is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How the relay serves.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bound of the in-memory chunk cache, in chunks ([`crate::cache`]).
    pub cache_chunks: usize,
    /// Connections served at once; more are closed on accept.
    pub max_connections: usize,
    /// A connection with no request for this long is closed (framed: only while nothing is
    /// in flight).
    pub idle_timeout: Duration,
    /// A framed connection must send `Hello` (an HTTP client its first byte) within this time.
    pub handshake_timeout: Duration,
    /// Threads fetching from the upstream Bee node (upstream mode only).
    pub upstream_workers: usize,
    /// Test-only misbehaviour.
    pub faults: Faults,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            cache_chunks: DEFAULT_CACHE_CHUNKS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            handshake_timeout: HANDSHAKE_TIMEOUT,
            upstream_workers: DEFAULT_UPSTREAM_WORKERS,
            faults: Faults::default(),
        }
    }
}

/// Test-only faults, for latency, corruption and recovery tests. All off by default.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Added to every chunk response (requests still overlap: a pipelined window hides it).
    pub delay: Duration,
    /// Every N-th chunk served (counted over all connections: N, 2N, …) has its middle byte
    /// flipped (XOR 0xff), as `fake-bee.mjs --corrupt-every N`. 0 = never.
    pub corrupt_every: u64,
    /// Addresses answered as not found, whatever the backend holds.
    pub withhold: HashSet<ChunkAddress>,
    /// Addresses always served with their middle byte flipped (XOR 0xff), as a node whose
    /// copies of those chunks are all bad.
    pub corrupt: HashSet<ChunkAddress>,
}

/// Starts relays; see [`Relay::bind`].
#[derive(Debug)]
pub struct Relay;

impl Relay {
    /// Binds `addr` (use `127.0.0.1:0` for any free port) and serves `backend` on a background
    /// thread until the returned handle is shut down or dropped.
    ///
    /// # Errors
    /// [`Error::Io`] if the address cannot be bound.
    pub fn bind(
        addr: impl ToSocketAddrs,
        backend: Backend,
        config: Config,
    ) -> Result<RelayHandle, Error> {
        let listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        let (jobs_tx, jobs_rx) = mpsc::channel::<UpstreamJob>();
        let shared = Arc::new(Shared {
            chunks: Chunks {
                backend,
                cache: ChunkCache::new(config.cache_chunks),
                stats: crate::backend::Stats::default(),
            },
            stopping: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            served: AtomicU64::new(0),
            config,
            jobs: Mutex::new(Some(jobs_tx)),
        });
        let mut workers = Vec::new();
        if shared.chunks.backend.is_remote() {
            let jobs_rx = Arc::new(Mutex::new(jobs_rx));
            for i in 0..shared.config.upstream_workers.max(1) {
                let shared = Arc::clone(&shared);
                let jobs_rx = Arc::clone(&jobs_rx);
                workers.push(
                    thread::Builder::new()
                        .name(format!("relay-upstream-{i}"))
                        .spawn(move || upstream_worker(&shared, &jobs_rx))?,
                );
            }
        }
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("relay-accept".into())
                .spawn(move || accept_loop(&listener, &shared))?
        };
        tracing::info!(%local_addr, "relay listening");
        Ok(RelayHandle {
            local_addr,
            shared,
            acceptor: Some(acceptor),
            workers,
        })
    }
}

/// A running relay. Dropping it shuts it down, like [`shutdown`](Self::shutdown).
#[derive(Debug)]
pub struct RelayHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
}

impl RelayHandle {
    /// The address the relay listens on (with the port chosen by the system for port 0).
    #[must_use]
    pub const fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What the relay did so far.
    #[must_use]
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.chunks.stats.snapshot()
    }

    /// Chunks in the in-memory cache now.
    #[must_use]
    pub fn cached_chunks(&self) -> usize {
        self.shared.chunks.cache.len()
    }

    /// Connections being served now.
    #[must_use]
    pub fn active_connections(&self) -> usize {
        self.shared.active.load(Ordering::Relaxed)
    }

    /// Stops accepting, closes every connection and joins every thread the relay started.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if self.shared.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        // Wake the acceptor, blocked in accept(), with a connection of our own.
        let wake = match self.local_addr {
            SocketAddr::V4(a) if a.ip().is_unspecified() => {
                SocketAddr::from(([127, 0, 0, 1], a.port()))
            }
            SocketAddr::V6(a) if a.ip().is_unspecified() => {
                SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, a.port()))
            }
            a => a,
        };
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        // Connection threads are joined by the acceptor; now release the upstream workers.
        drop(
            self.shared
                .jobs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
        tracing::info!(stats = ?self.stats(), "relay stopped");
    }
}

impl Drop for RelayHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// State shared by every thread of one relay.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) chunks: Chunks,
    pub(crate) config: Config,
    pub(crate) stopping: AtomicBool,
    active: AtomicUsize,
    /// Chunk responses served, for `corrupt_every`.
    served: AtomicU64,
    /// Upstream work queue (None once shutting down).
    jobs: Mutex<Option<Sender<UpstreamJob>>>,
}

impl Shared {
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Looks a chunk up for a client, applying the test faults (withholding, corruption).
    /// `local_only` answers `None` instead of blocking on the network for a remote miss.
    pub(crate) fn serve_chunk(&self, address: &ChunkAddress, local_only: bool) -> Option<Lookup> {
        let lookup = if self.config.faults.withhold.contains(address) {
            Lookup::NotFound
        } else if let Some(hit) = self.chunks.cached(address) {
            Lookup::Found(hit)
        } else if local_only && self.chunks.backend.is_remote() {
            return None;
        } else {
            self.chunks.lookup_backend(address)
        };
        self.chunks.stats.requests.fetch_add(1, Ordering::Relaxed);
        Some(self.apply_corruption(address, lookup))
    }

    fn apply_corruption(&self, address: &ChunkAddress, lookup: Lookup) -> Lookup {
        let Lookup::Found(chunk) = lookup else {
            return lookup;
        };
        let every = self.config.faults.corrupt_every;
        let n = self
            .served
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        let chosen = self.config.faults.corrupt.contains(address);
        if !chosen && (every == 0 || !n.is_multiple_of(every)) {
            return Lookup::Found(chunk);
        }
        let mut bytes = chunk.to_vec();
        let mid = bytes.len() / 2;
        if let Some(b) = bytes.get_mut(mid) {
            *b ^= 0xff;
        }
        tracing::warn!(n, "corrupting chunk response (--corrupt-every)");
        Lookup::Found(Arc::from(bytes))
    }

    /// Queues an upstream fetch; `done` runs on a worker with the result.
    pub(crate) fn submit(&self, address: ChunkAddress, done: Box<dyn FnOnce(Lookup) + Send>) {
        let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        match jobs.as_ref() {
            Some(tx) => {
                if let Err(mpsc::SendError(job)) = tx.send(UpstreamJob { address, done }) {
                    (job.done)(Lookup::Failed);
                }
            }
            None => {
                drop(jobs);
                done(Lookup::Failed);
            }
        }
    }
}

/// An upstream fetch and what to do with its result.
pub(crate) struct UpstreamJob {
    address: ChunkAddress,
    done: Box<dyn FnOnce(Lookup) + Send>,
}

impl core::fmt::Debug for UpstreamJob {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UpstreamJob")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

fn upstream_worker(shared: &Shared, jobs: &Mutex<Receiver<UpstreamJob>>) {
    loop {
        let job = {
            let rx = jobs.lock().unwrap_or_else(PoisonError::into_inner);
            rx.recv()
        };
        let Ok(job) = job else { return };
        let lookup = if shared.is_stopping() {
            Lookup::Failed
        } else {
            shared
                .serve_chunk(&job.address, false)
                .unwrap_or(Lookup::Failed)
        };
        (job.done)(lookup);
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut conns: Vec<JoinHandle<()>> = Vec::new();
    let mut next_id: u64 = 0;
    loop {
        let accepted = listener.accept();
        if shared.is_stopping() {
            break;
        }
        conns.retain(|c| !c.is_finished());
        let (stream, peer) = match accepted {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                thread::sleep(POLL_INTERVAL);
                continue;
            }
        };
        if shared.active.load(Ordering::SeqCst) >= shared.config.max_connections {
            tracing::warn!(%peer, max = shared.config.max_connections, "too many connections");
            let _ = stream.shutdown(Shutdown::Both);
            continue;
        }
        shared.active.fetch_add(1, Ordering::SeqCst);
        next_id = next_id.wrapping_add(1);
        let id = next_id;
        let conn_shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name(format!("relay-conn-{id}"))
            .spawn(move || {
                let span = tracing::debug_span!("conn", id, %peer);
                let _enter = span.enter();
                if let Err(e) = serve_connection(stream, &conn_shared) {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                conn_shared.active.fetch_sub(1, Ordering::SeqCst);
            });
        match spawned {
            Ok(handle) => conns.push(handle),
            Err(e) => {
                shared.active.fetch_sub(1, Ordering::SeqCst);
                tracing::error!(error = %e, "cannot spawn a connection thread");
            }
        }
    }
    for conn in conns {
        let _ = conn.join();
    }
}

/// Serves one connection: sniffs the protocol from the first byte, then loops.
fn serve_connection(stream: TcpStream, shared: &Arc<Shared>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(POLL_INTERVAL))?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let mut conn = Conn::new(stream, shared)?;
    let timeout = shared.config.handshake_timeout;
    if conn.fill(1, timeout, &|| true)? != Fill::Ready {
        return Ok(());
    }
    let result = if conn.buf.first().is_some_and(u8::is_ascii_uppercase) {
        crate::http::serve(&mut conn)
    } else {
        // The handshake answer is not a chunk response: `--delay-ms` does not apply to it.
        conn.handshake.set(true);
        crate::framed::serve(&mut conn)
    };
    conn.finish();
    result
}

/// How [`Conn::fill`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    /// The wanted bytes are buffered.
    Ready,
    /// The peer closed its side.
    Eof,
    /// The relay is shutting down.
    Stopping,
    /// Nothing arrived for the timeout.
    TimedOut,
}

/// One client connection: input buffer, output, and the delay queue when faults ask for one.
pub(crate) struct Conn<'s> {
    pub(crate) shared: &'s Arc<Shared>,
    reader: TcpStream,
    /// Bytes read and not yet consumed.
    pub(crate) buf: Vec<u8>,
    /// Scratch for one `read` call.
    read_buf: Box<[u8]>,
    pub(crate) out: Out,
    delayed: Option<(Sender<Delayed>, JoinHandle<()>)>,
    last_activity: Instant,
    /// The next [`send`](Self::send) is the framed handshake's answer: sent at once.
    handshake: std::cell::Cell<bool>,
}

/// The write half, shared with upstream workers and the delay thread.
pub(crate) type Out = Arc<Mutex<BufWriter<TcpStream>>>;

/// A response waiting for its due time.
struct Delayed {
    due: Instant,
    bytes: Vec<u8>,
}

impl<'s> Conn<'s> {
    fn new(stream: TcpStream, shared: &'s Arc<Shared>) -> io::Result<Self> {
        let out: Out = Arc::new(Mutex::new(BufWriter::with_capacity(
            64 * 1024,
            stream.try_clone()?,
        )));
        let delayed = if shared.config.faults.delay.is_zero() {
            None
        } else {
            let (tx, rx) = mpsc::channel::<Delayed>();
            let out = Arc::clone(&out);
            let handle = thread::Builder::new()
                .name("relay-delay".into())
                .spawn(move || delay_loop(&rx, &out))?;
            Some((tx, handle))
        };
        Ok(Self {
            shared,
            reader: stream,
            buf: Vec::with_capacity(8 * 1024),
            read_buf: vec![0u8; 16 * 1024].into_boxed_slice(),
            out,
            delayed,
            last_activity: Instant::now(),
            handshake: std::cell::Cell::new(false),
        })
    }

    /// Reads until `buf` holds at least `want` bytes, giving up when the relay stops, the peer
    /// closes, or nothing arrives for `timeout` while `timeout_applies()` says the timeout
    /// counts (for the framed protocol: no request in flight).
    pub(crate) fn fill(
        &mut self,
        want: usize,
        timeout: Duration,
        timeout_applies: &dyn Fn() -> bool,
    ) -> io::Result<Fill> {
        while self.buf.len() < want {
            if self.shared.is_stopping() {
                return Ok(Fill::Stopping);
            }
            match self.reader.read(&mut self.read_buf) {
                Ok(0) => return Ok(Fill::Eof),
                Ok(n) => {
                    self.buf
                        .extend_from_slice(self.read_buf.get(..n).unwrap_or_default());
                    self.last_activity = Instant::now();
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if self.last_activity.elapsed() >= timeout && timeout_applies() {
                        return Ok(Fill::TimedOut);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Fill::Ready)
    }

    /// Drops `n` consumed bytes from the front of the buffer.
    pub(crate) fn consume(&mut self, n: usize) {
        self.buf.drain(..n.min(self.buf.len()));
    }

    /// Sends a response now, or when it is due if a delay is configured (not the framed
    /// handshake's answer). Not flushed: call [`flush`](Self::flush) once no request is
    /// pending.
    pub(crate) fn send(&self, bytes: &[u8]) -> io::Result<()> {
        if self.handshake.replace(false) {
            let mut out = lock(&self.out);
            return out.write_all(bytes).and_then(|()| out.flush());
        }
        match &self.delayed {
            Some((tx, _)) => tx
                .send(Delayed {
                    due: Instant::now() + self.shared.config.faults.delay,
                    bytes: bytes.to_vec(),
                })
                .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe)),
            None => lock(&self.out).write_all(bytes),
        }
    }

    /// A sender usable from another thread (an upstream worker) for one response.
    pub(crate) fn sender(&self) -> ResponseSender {
        ResponseSender {
            out: Arc::clone(&self.out),
            delayed: self.delayed.as_ref().map(|(tx, _)| tx.clone()),
            delay: self.shared.config.faults.delay,
        }
    }

    /// Flushes what was sent directly (the delay thread flushes on its own).
    pub(crate) fn flush(&self) -> io::Result<()> {
        lock(&self.out).flush()
    }

    /// Ends the connection: stops the delay thread after it sent what is queued.
    fn finish(&mut self) {
        if let Some((tx, handle)) = self.delayed.take() {
            drop(tx);
            let _ = handle.join();
        }
        let _ = self.flush();
    }
}

/// Sends one response from another thread; see [`Conn::sender`].
pub(crate) struct ResponseSender {
    out: Out,
    delayed: Option<Sender<Delayed>>,
    delay: Duration,
}

impl ResponseSender {
    /// Sends and flushes (or queues for the delay thread).
    pub(crate) fn send(self, bytes: &[u8]) {
        match self.delayed {
            Some(tx) => {
                let _ = tx.send(Delayed {
                    due: Instant::now() + self.delay,
                    bytes: bytes.to_vec(),
                });
            }
            None => {
                let mut w = lock(&self.out);
                if let Err(e) = w.write_all(bytes).and_then(|()| w.flush()) {
                    tracing::debug!(error = %e, "client gone before an upstream response");
                }
            }
        }
    }
}

pub(crate) fn lock(out: &Out) -> std::sync::MutexGuard<'_, BufWriter<TcpStream>> {
    out.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Responses falling due within this much after the one the delay thread waits for are sent
/// in the same write (so a window of requests costs one wake-up, not one per response).
const DELAY_COALESCE: Duration = Duration::from_micros(50);

/// Releases delayed responses in order, none before it is due (at most [`DELAY_COALESCE`]
/// late); flushes whenever it waits.
fn delay_loop(rx: &Receiver<Delayed>, out: &Out) {
    let mut pending: Option<Delayed> = None;
    loop {
        let item = match pending.take() {
            Some(item) => item,
            None => match rx.try_recv() {
                Ok(item) => item,
                Err(TryRecvError::Empty) => {
                    if lock(out).flush().is_err() {
                        return;
                    }
                    match rx.recv() {
                        Ok(item) => item,
                        Err(_) => return,
                    }
                }
                Err(TryRecvError::Disconnected) => break,
            },
        };
        let now = Instant::now();
        if item.due > now {
            if lock(out).flush().is_err() {
                return;
            }
            thread::sleep(item.due - now + DELAY_COALESCE);
        }
        let mut w = lock(out);
        if w.write_all(&item.bytes).is_err() {
            return;
        }
        // Everything else already due goes out in the same batch.
        let now = Instant::now();
        loop {
            match rx.try_recv() {
                Ok(next) if next.due <= now => {
                    if w.write_all(&next.bytes).is_err() {
                        return;
                    }
                }
                Ok(next) => {
                    pending = Some(next);
                    break;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    let _ = w.flush();
                    return;
                }
            }
        }
    }
    let _ = lock(out).flush();
}
