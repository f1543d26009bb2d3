//! Fetching a target: swarm-core's retrieval machines driven by swarm-net's driver across the
//! configured nodes (pipelined, with failover), every chunk verified before a byte of it is
//! kept, a progress line while it runs, and one clear line when it fails.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::Cell;

use deboot_uefi::config::Config;
use deboot_uefi::progress::Progress;
use swarm_bmt::ChunkAddress;
use swarm_core::feed::Topic;
use swarm_core::joiner::{Slot, TreeLevel};
use swarm_core::manifest::MAX_NODE_LEN;
use swarm_core::redundancy::MAX_TREE_LEVELS;
use swarm_core::soc::Owner;
use swarm_core::target::{Resolver, Target, TargetKind};
use swarm_core::Retrieval;
use swarm_net::driver::{self, Driver, Node};
use swarm_net::url::NodeAddr;
use uefi::{println, Status};

use crate::efi::clock::Clock;
use crate::efi::net::{Connector, Net};
use crate::efi::vars;
use crate::{fail, Failure};

/// Chunk requests in flight across the nodes.
pub(crate) const WINDOW: usize = 64;
/// Receive buffer lent to each node's client.
const NODE_BUF_LEN: usize = 64 << 10;
/// Per-chunk verification failures printed before they are only counted.
const MAX_BAD_CHUNK_LINES: u32 = 3;

/// The driver type deboot.efi runs.
pub(crate) type Drv<'n, 'b, 's> = Driver<'n, 'b, Connector<'s>, Clock>;
/// A node of that driver.
pub(crate) type DrvNode<'b, 's> = Node<'b, <Connector<'s> as driver::Connector>::Stream>;

/// A fetched and verified file, plus what must be persisted once the boot goes ahead.
pub(crate) struct Fetched {
    /// The verified bytes.
    pub(crate) bytes: Vec<u8>,
    /// For a `feed://` target: its owner, topic and the update index the bytes came from.
    feed: Option<(Owner, Topic, u64)>,
}

impl Fetched {
    /// Raises the feed's anti-rollback minimum to the update just fetched and verified (never
    /// lowers it), if the target was a feed.
    pub(crate) fn commit(&self) -> Result<(), String> {
        match &self.feed {
            Some((owner, topic, index)) => {
                vars::raise_feed_minimum(&owner.0, topic.as_bytes(), *index)
            }
            None => Ok(()),
        }
    }
}

/// One receive buffer per configured node.
pub(crate) fn node_buffers(cfg: &Config) -> Vec<Vec<u8>> {
    cfg.nodes.iter().map(|_| vec![0u8; NODE_BUF_LEN]).collect()
}

/// The driver's node list, in the configured order.
pub(crate) fn nodes<'b, 's>(
    cfg: &'b Config,
    bufs: &'b mut [Vec<u8>],
) -> Result<Vec<DrvNode<'b, 's>>, Failure> {
    cfg.nodes
        .iter()
        .zip(bufs.iter_mut())
        .map(|(url, buf)| {
            let addr = NodeAddr::parse(url)
                .map_err(|e| fail(Status::INVALID_PARAMETER, format!("node {url}: {e}")))?;
            Node::new(addr, buf)
                .map_err(|e| fail(Status::OUT_OF_RESOURCES, format!("node {url}: {e}")))
        })
        .collect()
}

/// The driver's tuning from the configuration.
pub(crate) fn driver_config(cfg: &Config) -> driver::Config {
    let ms = u64::from(cfg.timeout_secs) * 1000;
    driver::Config {
        window: WINDOW,
        request_timeout_ms: ms,
        connect_timeout_ms: ms,
    }
}

/// Fetches `target`, verifying every chunk; `label` names it in progress and error lines. A
/// `feed://` target is resolved no lower than the minimum stored in the anti-rollback variable.
pub(crate) fn fetch(
    driver: &mut Drv<'_, '_, '_>,
    net: &Net,
    text: &str,
    label: &'static str,
) -> Result<Fetched, Failure> {
    let target: Target = text
        .parse()
        .map_err(|e| fail(Status::INVALID_PARAMETER, format!("{label} {text}: {e}")))?;
    let feed = match target.kind() {
        TargetKind::Feed { owner, topic } => Some((owner, topic)),
        TargetKind::Bzz(_) | TargetKind::Bytes(_) => None,
    };
    let min_index = match &feed {
        Some((owner, topic)) => vars::feed_minimum(&owner.0, topic.as_bytes())
            .map_err(|r| fail(Status::DEVICE_ERROR, r))?
            .unwrap_or(0),
        None => 0,
    };
    let mut node_buf = vec![0u8; MAX_NODE_LEN];
    let mut slots = vec![Slot::default(); WINDOW];
    let mut levels = vec![TreeLevel::default(); MAX_TREE_LEVELS];
    let mut resolver = Resolver::new(&target, min_index, &mut node_buf, &mut slots, &mut levels)
        .map_err(|e| fail(Status::INVALID_PARAMETER, format!("{label} {text}: {e}")))?;
    let bytes = run(driver, net, &mut resolver, text, label)?;
    #[cfg(feature = "recovery")]
    if resolver.recovered() > 0 {
        println!(
            "deboot: {label}: {} chunk(s) no node had were rebuilt from parity or a root replica (each verified)",
            resolver.recovered()
        );
    }
    let feed = match (feed, resolver.feed_index()) {
        (Some((owner, topic)), Some(index)) => {
            println!(
                "deboot: {label}: feed update {index} (anti-rollback minimum was {min_index})"
            );
            Some((owner, topic, index))
        }
        _ => None,
    };
    Ok(Fetched { bytes, feed })
}

/// Runs one resolution to completion, collecting its verified output (memory for the whole
/// file is reserved once its size is known from the verified root chunk).
fn run(
    driver: &mut Drv<'_, '_, '_>,
    net: &Net,
    resolver: &mut Resolver<'_>,
    target: &str,
    label: &'static str,
) -> Result<Vec<u8>, Failure> {
    let before: Vec<u32> = driver.nodes().iter().map(Node::demerits).collect();
    let size = Cell::new(None);
    let mut observed = Observed {
        inner: resolver,
        bad_chunks: 0,
        size: &size,
        missing: None,
    };
    let mut progress = Progress::new(label, net.now_us());
    let mut out: Vec<u8> = Vec::new();
    let result = driver.run(&mut observed, |bytes| {
        let want = size
            .get()
            .and_then(|s| usize::try_from(s).ok())
            .unwrap_or(0)
            .max(out.len().saturating_add(bytes.len()));
        if out.capacity() < want {
            out.try_reserve_exact(want - out.len())
                .map_err(|_| swarm_net::Error::Sink)?;
        }
        out.extend_from_slice(bytes);
        if let Some(line) = progress.update(len_u64(&out), net.now_us()) {
            println!("{line}");
        }
        Ok(())
    });
    // Nodes that failed requests were demoted and the fetch went on; say so when a node lied
    // or when the fetch failed (a feed lookup's "not found" probes are expected otherwise).
    if observed.bad_chunks > 0 || result.is_err() {
        report_nodes(driver, &before, observed.bad_chunks);
    }
    match result {
        Ok(_) => {
            println!("{}", progress.finish(len_u64(&out), net.now_us()));
            Ok(out)
        }
        Err(e) => {
            // The chunk that could be neither had nor rebuilt (with `recovery` it may not be
            // the one a node lacked: a root whose replicas are gone too, a group past its
            // parities), else the last one no node had.
            let lost = Retrieval::unrecoverable(&observed).or(observed.missing);
            Err(failure(label, target, &e, lost))
        }
    }
}

/// Says which nodes failed requests during the run just ended (they were demoted).
fn report_nodes(driver: &Drv<'_, '_, '_>, before: &[u32], bad_chunks: u32) {
    let blamed: Vec<(String, u32, bool)> = driver
        .nodes()
        .iter()
        .zip(before)
        .filter(|(n, b)| n.demerits() > **b || n.is_down())
        .map(|(n, b)| (format!("{}", n.addr()), n.demerits() - b, n.is_down()))
        .collect();
    if let [(addr, failed, down)] = blamed.as_slice() {
        if bad_chunks > 0 && *failed >= bad_chunks {
            println!(
                "deboot: node {addr} sent {bad_chunks} chunk(s) that failed verification{}; demoted",
                if *down { " and went down" } else { "" }
            );
            return;
        }
    }
    for (addr, failed, down) in &blamed {
        if *down {
            println!(
                "deboot: node {addr}: connection refused, lost or garbled too often; given up"
            );
        } else {
            println!("deboot: node {addr} failed {failed} request(s) (bad chunk, timeout or not found); demoted");
        }
    }
}

/// The one line for a failed fetch, and the status returned to the firmware; `missing` is the
/// chunk the fetch could not do without, named when the error itself does not.
fn failure(
    label: &str,
    target: &str,
    e: &swarm_net::Error,
    missing: Option<ChunkAddress>,
) -> Failure {
    use swarm_net::{Error as NetError, Fault};
    match e {
        NetError::AllNodesFailed { address, last } => {
            let status = match last {
                Fault::BadChunk(_) => Status::SECURITY_VIOLATION,
                Fault::NotFound => Status::NOT_FOUND,
                Fault::Timeout => Status::TIMEOUT,
                _ => Status::NO_RESPONSE,
            };
            fail(status, format!("{label} {target}: chunk {address}: no node supplied it verified (last: {last})"))
        }
        NetError::Core(c) => {
            let status = match c {
                swarm_core::Error::NotFound
                | swarm_core::Error::ChunkNotFound
                | swarm_core::Error::FeedNotFound => Status::NOT_FOUND,
                _ => Status::SECURITY_VIOLATION,
            };
            match (c, missing) {
                (swarm_core::Error::ChunkNotFound, Some(a)) => {
                    fail(status, format!("{label} {target}: {c} (chunk {a})"))
                }
                _ => fail(status, format!("{label} {target}: {c}")),
            }
        }
        NetError::Sink => fail(
            Status::OUT_OF_RESOURCES,
            format!("{label} {target}: not enough memory for the file"),
        ),
        other => fail(Status::ABORTED, format!("{label} {target}: {other}")),
    }
}

fn len_u64(v: &[u8]) -> u64 {
    u64::try_from(v.len()).unwrap_or(u64::MAX)
}

/// A retrieval that prints the first few chunks that fail verification (the driver then asks
/// another node for them).
struct Observed<'a, 'm> {
    inner: &'a mut Resolver<'m>,
    bad_chunks: u32,
    /// The file's size, once its root chunk is verified.
    size: &'a Cell<Option<u64>>,
    /// The last chunk no node had.
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
        if let Err(e) = &r {
            if e.is_peer_fault() {
                self.bad_chunks = self.bad_chunks.saturating_add(1);
                if self.bad_chunks <= MAX_BAD_CHUNK_LINES {
                    println!(
                        "deboot: chunk {address} failed verification ({e}); not using that node for it again"
                    );
                }
            }
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
        if self.size.get().is_none() {
            self.size.set(self.inner.size());
        }
        self.inner.read(buf)
    }

    fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}
