//! One fetch: a [`Request`] in, verified bytes to a sink, a [`Report`] out.

use std::fmt;
use std::io;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use swarm_bmt::ChunkAddress;
use swarm_core::joiner::{Slot, TreeLevel};
use swarm_core::manifest::MAX_NODE_LEN;
use swarm_core::redundancy::MAX_TREE_LEVELS;
use swarm_core::target::{Resolver, Target};
use swarm_core::Retrieval;
use swarm_net::client::MAX_IN_FLIGHT;
use swarm_net::driver::{Config, Driver, Node, MAX_NODES};
use swarm_net::std_net::{StdConnector, StdStream, FETCH_BUF_LEN};
use swarm_net::time::SystemClock;
use swarm_net::url::NodeAddr;

use crate::error::FetchFailure;
use crate::Error;

/// Default requests in flight (`--window`).
pub const DEFAULT_WINDOW: usize = 64;
/// Default per-request and connect timeout in milliseconds (`--timeout-ms`).
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;

/// What to fetch, from where, and how.
#[derive(Debug, Clone)]
pub struct Request {
    /// Node URLs in order of preference: `http://host:port` (Bee API) or `tcp://host:port`
    /// (framed protocol); at most [`MAX_NODES`].
    pub nodes: Vec<String>,
    /// The target.
    pub target: Target,
    /// Anti-rollback minimum for the feed the target goes through (0 accepts any update).
    pub min_index: u64,
    /// Requests in flight, `1..=`[`MAX_IN_FLIGHT`]; also the joiner's delivery slots.
    pub window: usize,
    /// Time a node has to answer one request (and to accept a connection).
    pub timeout_ms: u64,
    /// Draw a progress bar on standard error.
    pub progress: bool,
}

/// What a successful fetch did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Verified bytes output (the target file's size).
    pub bytes: u64,
    /// Chunks fetched and verified: manifest nodes, feed updates and the file's tree.
    pub chunks: u64,
    /// Chunks a node sent that failed verification and were asked of another node.
    pub refused: u64,
    /// Requests re-sent to another node (bad chunk, timeout, not found, node error).
    pub failovers: u64,
    /// Chunks no node supplied that were rebuilt from their sibling group's parity chunks or
    /// taken from a root's dispersed replica (each checked against the reference naming it).
    pub recovered: u64,
    /// Connections re-opened after being lost.
    pub reconnects: u64,
    /// Wall time of the fetch.
    pub elapsed: Duration,
    /// How each node behaved, in the order given.
    pub nodes: Vec<NodeReport>,
    /// The feed update index the content came from, for a target through a feed.
    pub feed_index: Option<u64>,
}

/// How one node behaved during a fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    /// Its URL.
    pub url: String,
    /// Chunks it supplied that verified.
    pub served: u64,
    /// Its failures: timeouts, not found, chunks that failed verification, node errors.
    pub faults: u32,
    /// Whether it was given up (connection lost or refused too many times in a row).
    pub down: bool,
}

impl Request {
    /// A request for `target` from `nodes` with the default window and timeout.
    #[must_use]
    pub fn new(nodes: Vec<String>, target: Target) -> Self {
        Self {
            nodes,
            target,
            min_index: 0,
            window: DEFAULT_WINDOW,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            progress: false,
        }
    }
}

impl Report {
    /// Output megabytes (10⁶ bytes) per second.
    #[must_use]
    pub fn mb_per_s(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        // Precision loss only above 2^53 bytes.
        #[allow(clippy::cast_precision_loss)]
        let bytes = self.bytes as f64;
        bytes / secs / 1e6
    }
}

impl fmt::Display for NodeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} verified, {} failed",
            self.url, self.served, self.faults
        )?;
        if self.down {
            f.write_str(", unreachable")?;
        }
        Ok(())
    }
}

/// Fetches `req.target`, passing its verified bytes, in order, to `sink`; every chunk is
/// verified against its address (or owner's signature) before any byte of it reaches `sink`.
///
/// On error `sink` may have received a verified prefix of the file: a caller that must not
/// expose partial output writes to a temporary place (as [`crate::run`] does).
///
/// # Errors
/// [`Error::Usage`] for a malformed node URL, no node or more than [`MAX_NODES`], a window
/// outside `1..=`[`MAX_IN_FLIGHT`]; [`Error::Fetch`] when the fetch fails;
/// [`Error::Io`] (with an empty path) when `sink` fails.
pub fn fetch_with<W>(req: &Request, mut sink: W) -> Result<Report, Error>
where
    W: FnMut(&[u8]) -> io::Result<()>,
{
    let addrs = req
        .nodes
        .iter()
        .map(|u| {
            NodeAddr::parse(u).map_err(|_| {
                Error::Usage(format!(
                    "node {u}: not http://HOST:PORT (Bee API) or tcp://HOST:PORT (framed)"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if addrs.is_empty() || addrs.len() > MAX_NODES {
        return Err(Error::Usage(format!(
            "give 1 to {MAX_NODES} nodes with --node (got {})",
            addrs.len()
        )));
    }
    if !(1..=MAX_IN_FLIGHT).contains(&req.window) {
        return Err(Error::Usage(format!(
            "--window {} is outside 1..={MAX_IN_FLIGHT}",
            req.window
        )));
    }
    let fetch_err = |error, missing, nodes| {
        Error::Fetch(Box::new(FetchFailure {
            target: req.target.to_string(),
            error,
            missing,
            nodes,
        }))
    };

    let mut bufs: Vec<Vec<u8>> = addrs.iter().map(|_| vec![0u8; FETCH_BUF_LEN]).collect();
    let mut nodes: Vec<Node<'_, StdStream>> = addrs
        .into_iter()
        .zip(bufs.iter_mut())
        .map(|(a, b)| Node::new(a, b))
        .collect::<Result<_, _>>()
        .map_err(|e| fetch_err(e, None, Vec::new()))?;
    let config = Config {
        window: req.window,
        request_timeout_ms: req.timeout_ms,
        connect_timeout_ms: req.timeout_ms,
    };
    let mut driver = Driver::new(
        &mut nodes,
        StdConnector::default(),
        SystemClock::new(),
        config,
    )
    .map_err(|e| fetch_err(e, None, Vec::new()))?;

    let mut slots = vec![Slot::EMPTY; req.window];
    let mut levels = vec![TreeLevel::EMPTY; MAX_TREE_LEVELS];
    let mut node_buf = vec![0u8; MAX_NODE_LEN];
    let mut resolver = Resolver::new(
        &req.target,
        req.min_index,
        &mut node_buf,
        &mut slots,
        &mut levels,
    )
    .map_err(|e| fetch_err(e.into(), None, Vec::new()))?;

    let bar = req.progress.then(progress_bar);
    let mut observed = Observed {
        inner: &mut resolver,
        bar: bar.clone(),
        sized: false,
        refused: 0,
        missing: None,
    };
    let mut sink_error = None;
    let start = Instant::now();
    let result = driver.run(&mut observed, |bytes| {
        sink(bytes).map_err(|e| {
            sink_error = Some(e);
            swarm_net::Error::Sink
        })?;
        if let Some(bar) = &bar {
            bar.inc(bytes.len() as u64);
        }
        Ok(())
    });
    let elapsed = start.elapsed();
    let (refused, missing) = (observed.refused, observed.missing);
    let node_reports = driver
        .nodes()
        .iter()
        .zip(&req.nodes)
        .map(|(n, url)| NodeReport {
            url: url.clone(),
            served: n.served(),
            faults: n.demerits(),
            down: n.is_down(),
        })
        .collect();
    driver.close();
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    match result {
        Ok(stats) => Ok(Report {
            bytes: stats.bytes,
            chunks: stats.chunks,
            refused,
            failovers: stats.failovers,
            recovered: resolver.recovered(),
            reconnects: stats.reconnects,
            elapsed,
            nodes: node_reports,
            feed_index: resolver.feed_index(),
        }),
        Err(swarm_net::Error::Sink) => Err(match sink_error {
            Some(e) => Error::io("writing the output", "", e),
            None => fetch_err(swarm_net::Error::Sink, None, node_reports),
        }),
        Err(e) => Err(fetch_err(e, missing, node_reports)),
    }
}

/// The resolver, watched: counts refused chunks, remembers the chunk no node had, and sizes
/// the progress bar once the file's root chunk has been verified.
struct Observed<'r, 'm> {
    inner: &'r mut Resolver<'m>,
    bar: Option<ProgressBar>,
    sized: bool,
    refused: u64,
    missing: Option<ChunkAddress>,
}

impl Retrieval for Observed<'_, '_> {
    fn poll_request(&mut self) -> Option<ChunkAddress> {
        self.inner.poll_request()
    }

    fn handle_chunk(
        &mut self,
        address: &ChunkAddress,
        data: &[u8],
    ) -> Result<(), swarm_core::Error> {
        let r = self.inner.handle_chunk(address, data);
        match &r {
            Err(e) if e.is_peer_fault() => self.refused += 1,
            Ok(()) if !self.sized => {
                if let (Some(size), Some(bar)) = (self.inner.size(), &self.bar) {
                    bar.set_length(size);
                    bar.set_style(bar_style());
                    self.sized = true;
                }
            }
            _ => {}
        }
        r
    }

    fn handle_not_found(&mut self, address: &ChunkAddress) -> Result<(), swarm_core::Error> {
        self.missing = Some(*address);
        self.inner.handle_not_found(address)
    }

    fn handle_unavailable(&mut self, address: &ChunkAddress) -> Result<(), swarm_core::Error> {
        self.inner.handle_unavailable(address)
    }

    fn unrecoverable(&self) -> Option<ChunkAddress> {
        Retrieval::unrecoverable(&*self.inner)
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, swarm_core::Error> {
        self.inner.read(buf)
    }

    fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {bytes} verified ({bytes_per_sec})")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{wide_bar} {bytes}/{total_bytes} verified ({bytes_per_sec}, {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
}
