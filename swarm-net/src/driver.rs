//! The driver loop: keeps a [`Retrieval`]'s window full across a list of nodes, with
//! per-request timeouts, reconnects and failover (the retry policy is in the
//! [crate docs](crate#retry-policy)).
//!
//! Like quinn's connection driver it holds no protocol logic of its own: it moves addresses from
//! [`Retrieval::poll_request`] to a node's [`ChunkClient`], answers back to
//! [`Retrieval::handle_chunk`] (which verifies), verified output to the caller's sink, and
//! decides only *where* to ask and *when* to give up.

use embedded_io::{Read, ReadReady, Write};
use swarm_bmt::ChunkAddress;
use swarm_core::Retrieval;

use crate::client::{Answer, ChunkClient, FramedClient, HttpClient, MAX_IN_FLIGHT, MIN_BUF_LEN};
use crate::codec::close_code;
use crate::time::{Clock, Instant};
use crate::url::{NodeAddr, Scheme};
use crate::{Error, Fault, ProtocolError};

/// The most nodes one driver fails over between.
pub const MAX_NODES: usize = 8;
/// How many times in a row a node's connection may be lost (or fail to open) before the
/// requests on it fail over to the next node and the node is given up for the run.
pub const MAX_RECONNECTS: u32 = 3;
/// Requests queued on a node that are sent at once even while more than a quarter of its
/// pipeline is still on the wire (a deep window on a slow link stays nearly full).
pub const FLUSH_BATCH: usize = 48;
/// Bytes of verified output the driver copies out of the retrieval per call.
pub const OUT_BUF_LEN: usize = 4096;

/// Opens streams to nodes: `std::net::TcpStream` (`std_net::StdConnector`), a smoltcp
/// socket (`smoltcp_net`), or an in-memory pipe in tests.
///
/// The streams follow the [stream contract](crate::client#the-stream-contract): reads return
/// within a bounded time (`TimedOut` = nothing yet).
pub trait Connector {
    /// The stream type.
    type Stream: Read + Write + ReadReady;

    /// Opens a connection to `node`, giving up after `timeout_ms`.
    ///
    /// # Errors
    /// [`Error::Connect`] (or another error) when no connection could be made.
    fn connect(&mut self, node: &NodeAddr<'_>, timeout_ms: u64) -> Result<Self::Stream, Error>;
}

/// Tuning of a [`Driver`]; the defaults suit a LAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// Requests in flight at most (also capped by [`MAX_IN_FLIGHT`] and by each node).
    pub window: usize,
    /// Time a node has to answer a request before it counts as a timeout.
    pub request_timeout_ms: u64,
    /// Time to open a connection (and, for the framed protocol, finish the handshake).
    pub connect_timeout_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            window: 64,
            request_timeout_ms: 5_000,
            connect_timeout_ms: 3_000,
        }
    }
}

/// What one [`Driver::run`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Stats {
    /// Chunks accepted by the retrieval (verified).
    pub chunks: u64,
    /// Verified bytes handed to the sink.
    pub bytes: u64,
    /// Chunk bytes received (verified or not).
    pub received: u64,
    /// Requests re-sent to another node (timeout, not found, bad chunk, node error).
    pub failovers: u64,
    /// Connections re-opened after being lost.
    pub reconnects: u64,
    /// Chunks no node served verified (timeouts, lost connections, bad chunks) that the
    /// retrieval took over ([`Retrieval::handle_unavailable`]: a file rebuilds them from
    /// parity) instead of failing the run.
    pub unavailable: u64,
}

/// One node of the list: its address, its connection, and its standing.
pub struct Node<'b, S> {
    addr: NodeAddr<'b>,
    conn: Conn<'b, S>,
    demerits: u32,
    drops: u32,
    down: bool,
    in_flight: usize,
    /// Requests queued on the connection since its last flush (part of `in_flight`).
    queued: usize,
    /// Pipelining depth allowed now: 1 after a lost connection, doubled by every verified
    /// chunk (servers that mishandle deep pipelines still make progress).
    cap: usize,
    served: u64,
}

// The HTTP client carries its pipeline's token queue inline (no allocator to box it); there
// is one `Conn` per node.
#[allow(clippy::large_enum_variant)]
enum Conn<'b, S> {
    Idle(&'b mut [u8]),
    Http(HttpClient<'b, S>),
    Framed(FramedClient<'b, S>),
    Gone,
}

/// The driver: a node list, a connector, a clock, and the requests in flight.
pub struct Driver<'n, 'b, C: Connector, K: Clock> {
    nodes: &'n mut [Node<'b, C::Stream>],
    connector: C,
    clock: K,
    config: Config,
    pending: [Option<Pending>; MAX_IN_FLIGHT],
    count: usize,
    seq: u32,
    rr: usize,
    stats: Stats,
    unavailable: Unavailable,
}

/// The last chunks of a run that no node served verified, and why (to name the cause if the
/// retrieval later finds one of them unrecoverable).
#[derive(Debug, Clone, Copy, Default)]
struct Unavailable {
    recent: [Option<(ChunkAddress, Fault)>; UNAVAILABLE_KEPT],
    next: usize,
}

/// Chunks [`Unavailable`] remembers (a root and all its 16 replicas fit); an older one
/// found unrecoverable is reported as not found.
const UNAVAILABLE_KEPT: usize = 24;

impl Unavailable {
    fn remember(&mut self, address: ChunkAddress, fault: Fault) {
        if let Some(e) = self.recent.get_mut(self.next % UNAVAILABLE_KEPT) {
            *e = Some((address, fault));
        }
        self.next = self.next.wrapping_add(1);
    }

    fn fault_of(&self, address: &ChunkAddress) -> Option<Fault> {
        self.recent
            .iter()
            .flatten()
            .find(|(a, _)| a == address)
            .map(|(_, f)| *f)
    }
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    address: ChunkAddress,
    token: u32,
    node: Option<usize>,
    excluded: u16,
    deadline: Instant,
    all_not_found: bool,
    last: Option<Fault>,
}

enum Outcome {
    Verified,
    Failed(Fault),
    Violation(Error),
    Stale,
}

impl<'b, S> Node<'b, S> {
    /// A node at `addr` that will use `buf` (at least [`MIN_BUF_LEN`] bytes; 64 KiB reads
    /// efficiently, 256 KiB better with windows of 64 leaves and more) for its connection.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn new(addr: NodeAddr<'b>, buf: &'b mut [u8]) -> Result<Self, Error> {
        if buf.len() < MIN_BUF_LEN {
            return Err(Error::BufferTooSmall {
                len: buf.len(),
                min: MIN_BUF_LEN,
            });
        }
        Ok(Self {
            addr,
            conn: Conn::Idle(buf),
            demerits: 0,
            drops: 0,
            down: false,
            in_flight: 0,
            queued: 0,
            cap: MAX_IN_FLIGHT,
            served: 0,
        })
    }

    /// The node's address.
    #[must_use]
    pub const fn addr(&self) -> &NodeAddr<'b> {
        &self.addr
    }

    /// Failures counted against this node (timeouts, not found, bad chunks, errors); the node
    /// with the fewest gets new requests.
    #[must_use]
    pub const fn demerits(&self) -> u32 {
        self.demerits
    }

    /// Chunks this node supplied that verified.
    #[must_use]
    pub const fn served(&self) -> u64 {
        self.served
    }

    /// Whether the node was given up for the current run (connection lost or refused more
    /// than [`MAX_RECONNECTS`] times in a row).
    #[must_use]
    pub const fn is_down(&self) -> bool {
        self.down
    }
}

impl<S: Read + Write + ReadReady> Node<'_, S> {
    fn client(&mut self) -> Option<&mut dyn ChunkClient> {
        match &mut self.conn {
            Conn::Http(c) => Some(c),
            Conn::Framed(c) => Some(c),
            Conn::Idle(_) | Conn::Gone => None,
        }
    }

    fn read_ready(&mut self) -> bool {
        match &mut self.conn {
            Conn::Http(c) => c.has_buffered() || c.stream_mut().read_ready().unwrap_or(true),
            Conn::Framed(c) => c.has_buffered() || c.stream_mut().read_ready().unwrap_or(true),
            Conn::Idle(_) | Conn::Gone => false,
        }
    }

    /// Drops the connection (sending a framed `Close` when `graceful`), keeping the buffer.
    fn disconnect(&mut self, graceful: bool) {
        let buf = match core::mem::replace(&mut self.conn, Conn::Gone) {
            Conn::Idle(b) => b,
            Conn::Http(c) => c.into_parts().1,
            Conn::Framed(c) if graceful => c.close(close_code::NORMAL).1,
            Conn::Framed(c) => c.into_parts().1,
            Conn::Gone => return,
        };
        self.conn = Conn::Idle(buf);
        self.in_flight = 0;
        self.queued = 0;
    }
}

impl<'n, 'b, C: Connector, K: Clock> Driver<'n, 'b, C, K> {
    /// A driver over `nodes` (tried in this order of preference while they behave).
    ///
    /// # Errors
    /// [`Error::NoNodes`], [`Error::TooManyNodes`] above [`MAX_NODES`].
    pub fn new(
        nodes: &'n mut [Node<'b, C::Stream>],
        connector: C,
        clock: K,
        config: Config,
    ) -> Result<Self, Error> {
        if nodes.is_empty() {
            return Err(Error::NoNodes);
        }
        if nodes.len() > MAX_NODES {
            return Err(Error::TooManyNodes { len: nodes.len() });
        }
        Ok(Self {
            nodes,
            connector,
            clock,
            config,
            pending: [None; MAX_IN_FLIGHT],
            count: 0,
            seq: 0,
            rr: 0,
            stats: Stats::default(),
            unavailable: Unavailable::default(),
        })
    }

    /// The nodes and their standing.
    #[must_use]
    pub fn nodes(&self) -> &[Node<'b, C::Stream>] {
        self.nodes
    }

    /// The connector.
    #[must_use]
    pub fn connector(&self) -> &C {
        &self.connector
    }

    /// Runs `retrieval` to completion, passing its verified output, in order, to `sink`.
    ///
    /// Connections stay open for the next run (a manifest lookup, then the file); call
    /// [`Driver::close`] when done.
    ///
    /// When every node failed a request (see the retry policy) the retrieval is told, and
    /// decides: [`Retrieval::handle_not_found`] if every node said "not found",
    /// [`Retrieval::handle_unavailable`] otherwise (a file's joiner with `recovery` rebuilds
    /// the chunk from parity either way).
    ///
    /// # Errors
    /// [`Error::AllNodesFailed`] (naming the chunk and the last node's failure) when every
    /// node failed a request and the retrieval cannot do without it,
    /// [`Error::Core`] for a final error of the retrieval (including its answer to
    /// `handle_not_found` when every node said "not found"), whatever `sink` returns, and
    /// [`Error::Stalled`] if the retrieval breaks its contract.
    pub fn run<R, W>(&mut self, retrieval: &mut R, mut sink: W) -> Result<Stats, Error>
    where
        R: Retrieval + ?Sized,
        W: FnMut(&[u8]) -> Result<(), Error>,
    {
        self.stats = Stats::default();
        self.unavailable = Unavailable::default();
        for n in self.nodes.iter_mut() {
            n.down = false;
            n.drops = 0;
        }
        let res = self.run_inner(retrieval, &mut sink);
        if res.is_err() {
            // Answers still in flight would confuse the next run.
            for i in 0..self.nodes.len() {
                if self.nodes.get(i).is_some_and(|n| n.in_flight > 0) {
                    self.disconnect(i, false);
                }
            }
        }
        self.pending = [None; MAX_IN_FLIGHT];
        self.count = 0;
        res
    }

    /// Closes every connection (a framed `Close` is sent first).
    pub fn close(&mut self) {
        for n in self.nodes.iter_mut() {
            n.disconnect(true);
        }
    }

    fn run_inner<R, W>(&mut self, r: &mut R, sink: &mut W) -> Result<Stats, Error>
    where
        R: Retrieval + ?Sized,
        W: FnMut(&[u8]) -> Result<(), Error>,
    {
        let mut out = [0u8; OUT_BUF_LEN];
        loop {
            loop {
                let n = r.read(&mut out)?;
                if n == 0 {
                    break;
                }
                sink(out.get(..n).unwrap_or_default())?;
                self.stats.bytes += n as u64;
            }
            if r.is_finished() {
                return Ok(self.stats);
            }
            let window = self.config.window.clamp(1, MAX_IN_FLIGHT);
            while self.count < window {
                let Some(address) = r.poll_request() else {
                    break;
                };
                self.add(address)?;
            }
            if self.count == 0 {
                return Err(Error::Stalled);
            }
            if self.dispatch(r)? {
                continue; // a request was settled by `handle_not_found`: output may be ready
            }
            self.flush();
            self.check_timeouts();
            self.receive(r)?;
        }
    }

    fn add(&mut self, address: ChunkAddress) -> Result<(), Error> {
        let (slot, entry) = self
            .pending
            .iter_mut()
            .enumerate()
            .find(|(_, p)| p.is_none())
            .ok_or(Error::Stalled)?;
        self.seq = self.seq.wrapping_add(1) & 0x00ff_ffff;
        // Token: a sequence number over the slot index, so a late answer to an earlier
        // occupant of the slot is recognised as stale.
        let slot8 = u32::try_from(slot).unwrap_or(0) & 0xff;
        *entry = Some(Pending {
            address,
            token: (self.seq << 8) | slot8,
            node: None,
            excluded: 0,
            deadline: Instant::default(),
            all_not_found: true,
            last: None,
        });
        self.count += 1;
        Ok(())
    }

    /// Assigns unassigned requests to nodes. Returns whether a request was settled by
    /// `handle_not_found` (so output may be ready).
    fn dispatch<R: Retrieval + ?Sized>(&mut self, r: &mut R) -> Result<bool, Error> {
        let mut settled = false;
        for slot in 0..MAX_IN_FLIGHT {
            // Looked at in place: only an unassigned request is copied out.
            let Some(p) = self.pending.get(slot).and_then(Option::as_ref) else {
                continue;
            };
            if p.node.is_some() {
                continue;
            }
            let p = *p;
            let Some(i) = self.choose(&p) else {
                // Every node failed this request.
                if let Some(e) = self.pending.get_mut(slot) {
                    *e = None;
                }
                self.count -= 1;
                // "Not found" only if some node said so and none failed otherwise (a request
                // no node could even be asked, all being down, is unavailable).
                let fault = match p.last {
                    Some(f) if !p.all_not_found => f,
                    Some(_) => Fault::NotFound,
                    None => Fault::Disconnected,
                };
                let res = if fault == Fault::NotFound {
                    debug!("no node has the chunk; telling the retrieval");
                    r.handle_not_found(&p.address)
                } else {
                    // Timeouts, lost connections, liars: the retrieval may rebuild the chunk
                    // (a file's parity); only if it cannot does the fetch fail.
                    debug!("no node served the chunk verified; telling the retrieval");
                    self.stats.unavailable += 1;
                    self.unavailable.remember(p.address, fault);
                    r.handle_unavailable(&p.address)
                };
                match res {
                    Ok(()) => {
                        settled = true;
                        continue;
                    }
                    Err(swarm_core::Error::ChunkNotFound) => {
                        // The chunk the retrieval could not do without: if no node served it
                        // verified (rather than none having it), say so and why.
                        let lost = r.unrecoverable().unwrap_or(p.address);
                        return Err(match self.unavailable.fault_of(&lost) {
                            Some(last) => Error::AllNodesFailed {
                                address: lost,
                                last,
                            },
                            None => Error::Core(swarm_core::Error::ChunkNotFound),
                        });
                    }
                    Err(e) => return Err(Error::Core(e)),
                }
            };
            if !self.ensure_connected(i) {
                continue; // retried on the next pass, or failed over by `connect_failed`
            }
            let window = self.config.window.clamp(1, MAX_IN_FLIGHT);
            let Some(node) = self.nodes.get_mut(i) else {
                continue;
            };
            let (in_flight, cap) = (node.in_flight, node.cap);
            let Some(client) = node.client() else {
                continue;
            };
            if client.is_closing() || in_flight >= client.capacity().min(window).min(cap) {
                continue; // wait for room on the preferred node
            }
            if let Err(e) = client.request(p.token, &p.address) {
                self.connection_lost(i, e);
                continue;
            }
            node.in_flight += 1;
            node.queued += 1;
            let deadline = self.clock.now().add_millis(self.config.request_timeout_ms);
            if let Some(Some(e)) = self.pending.get_mut(slot) {
                e.node = Some(i);
                e.deadline = deadline;
            }
        }
        Ok(settled)
    }

    /// The node for a request: not excluded for it, not down, fewest demerits (list order
    /// breaks ties).
    fn choose(&self, p: &Pending) -> Option<usize> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(i, n)| p.excluded & (1 << i) == 0 && !n.down)
            .min_by_key(|(i, n)| (n.demerits, *i))
            .map(|(i, _)| i)
    }

    /// Opens node `i`'s connection if needed; false if it is not usable now.
    fn ensure_connected(&mut self, i: usize) -> bool {
        let Some(node) = self.nodes.get_mut(i) else {
            return false;
        };
        if let Some(c) = node.client() {
            if !(c.is_closing() && node.in_flight == 0) {
                return true;
            }
            node.disconnect(false); // the server closes it: open a new one
        }
        let Conn::Idle(buf) = core::mem::replace(&mut node.conn, Conn::Gone) else {
            return false;
        };
        let addr = node.addr;
        let timeout = self.config.connect_timeout_ms;
        let stream = match self.connector.connect(&addr, timeout) {
            Ok(s) => s,
            Err(e) => {
                node.conn = Conn::Idle(buf);
                self.connect_failed(i, e);
                return false;
            }
        };
        let res = match addr.scheme() {
            Scheme::Http => HttpClient::new(stream, buf, &addr).map(Conn::Http),
            Scheme::Framed => match FramedClient::new(stream, buf) {
                Ok(mut c) => match c.handshake(&self.clock, timeout) {
                    Ok(()) => Ok(Conn::Framed(c)),
                    Err(e) => {
                        node.conn = Conn::Idle(c.into_parts().1);
                        self.connect_failed(i, e);
                        return false;
                    }
                },
                Err(e) => Err(e),
            },
        };
        match res {
            Ok(conn) => {
                node.conn = conn;
                true
            }
            Err(_) => false, // INVARIANT: buffers were checked by `Node::new`
        }
    }

    fn connect_failed(&mut self, i: usize, e: Error) {
        warn!("connect failed: {}", e);
        let Some(node) = self.nodes.get_mut(i) else {
            return;
        };
        node.drops += 1;
        self.stats.reconnects += 1;
        if node.drops > MAX_RECONNECTS {
            node.down = true;
            node.demerits += 1;
            let fault = match e {
                Error::BadMagic | Error::UnsupportedVersion { .. } => {
                    Fault::Protocol(ProtocolError::Framed)
                }
                _ => Fault::Disconnected,
            };
            self.fail_all_on(i, fault, true);
        }
    }

    /// A connection ended with `e`: requests on it are re-queued on the same node, unless it
    /// was a protocol violation or the node lost too many connections in a row.
    fn connection_lost(&mut self, i: usize, e: Error) {
        debug!("connection lost: {}", e);
        let violation = protocol_fault(&e);
        let Some(node) = self.nodes.get_mut(i) else {
            return;
        };
        node.disconnect(false);
        if let Some(fault) = violation {
            node.demerits += 1;
            self.fail_all_on(i, fault, false);
            return;
        }
        node.drops += 1;
        node.cap = 1;
        self.stats.reconnects += 1;
        if node.drops > MAX_RECONNECTS {
            node.down = true;
            node.demerits += 1;
            self.fail_all_on(i, Fault::Disconnected, false);
        } else {
            for p in self.pending.iter_mut().flatten() {
                if p.node == Some(i) {
                    p.node = None; // re-sent on the next pass, same node
                }
            }
        }
    }

    /// Fails every request assigned to node `i` (and, if `unassigned`, every request not
    /// assigned yet) over to other nodes.
    fn fail_all_on(&mut self, i: usize, fault: Fault, unassigned: bool) {
        for p in self.pending.iter_mut().flatten() {
            if p.node == Some(i) || (unassigned && p.node.is_none()) {
                mark_failed(p, i, fault);
                self.stats.failovers += 1;
            }
        }
        if let Some(n) = self.nodes.get_mut(i) {
            n.in_flight = 0;
        }
    }

    fn disconnect(&mut self, i: usize, graceful: bool) {
        if let Some(n) = self.nodes.get_mut(i) {
            n.disconnect(graceful);
        }
    }

    /// Sends the queued requests of every node, except while the node is ahead of this side
    /// (its last read filled the receive area), more than a quarter of its pipeline is still
    /// on the wire and fewer than [`FLUSH_BATCH`] are queued: then requests go out in
    /// batches, so the server wakes once per batch and answers in large writes (each send
    /// also costs this side a loopback or NIC round through the TCP stack). A node that keeps
    /// this side waiting (a slow link) gets every request at once.
    fn flush(&mut self) {
        let window = self.config.window.clamp(1, MAX_IN_FLIGHT);
        for i in 0..self.nodes.len() {
            let Some(node) = self.nodes.get_mut(i) else {
                continue;
            };
            let (queued, in_flight, cap) = (node.queued, node.in_flight, node.cap);
            let res = match node.client() {
                Some(c) => {
                    let depth = c.capacity().min(window).min(cap);
                    let sent = in_flight.saturating_sub(queued);
                    if queued == 0 || (sent * 4 > depth && queued < FLUSH_BATCH && c.backlog()) {
                        continue;
                    }
                    c.flush()
                }
                None => Ok(()),
            };
            if let Some(n) = self.nodes.get_mut(i) {
                n.queued = 0;
            }
            if let Err(e) = res {
                self.connection_lost(i, e);
            }
        }
    }

    fn check_timeouts(&mut self) {
        let now = self.clock.now();
        for i in 0..self.nodes.len() {
            let expired = self
                .pending
                .iter()
                .flatten()
                .any(|p| p.node == Some(i) && p.deadline <= now);
            if !expired {
                continue;
            }
            warn!("request timed out");
            let http = matches!(self.nodes.get(i).map(|n| &n.conn), Some(Conn::Http(_)));
            if let Some(n) = self.nodes.get_mut(i) {
                n.demerits += 1;
            }
            if http {
                // Answers come in order: everything behind the late one is stuck too.
                self.disconnect(i, false);
                self.fail_all_on(i, Fault::Timeout, false);
                continue;
            }
            for p in self.pending.iter_mut().flatten() {
                if p.node == Some(i) && p.deadline <= now {
                    mark_failed(p, i, Fault::Timeout);
                    self.stats.failovers += 1;
                    if let Some(n) = self.nodes.get_mut(i) {
                        n.in_flight = n.in_flight.saturating_sub(1);
                    }
                }
            }
        }
    }

    /// Reads answers: from every node that has one ready, or else blocks (up to the stream's
    /// read timeout) on one node with requests in flight.
    fn receive<R: Retrieval + ?Sized>(&mut self, r: &mut R) -> Result<(), Error> {
        let mut busy = [false; MAX_NODES];
        let mut n_busy = 0;
        for (i, n) in self.nodes.iter().enumerate() {
            if n.in_flight > 0 {
                if let Some(b) = busy.get_mut(i) {
                    *b = true;
                    n_busy += 1;
                }
            }
        }
        if n_busy == 0 {
            return Ok(());
        }
        let mut any = false;
        if n_busy > 1 {
            for i in 0..self.nodes.len() {
                if busy.get(i) == Some(&true)
                    && self.nodes.get_mut(i).is_some_and(|n| n.read_ready())
                {
                    any = true;
                    self.answers_from(i, r)?;
                }
            }
        }
        if !any {
            // Block on one busy node, taking turns.
            let len = self.nodes.len();
            for k in 0..len {
                let i = (self.rr + k) % len;
                if busy.get(i) == Some(&true) {
                    self.rr = i + 1;
                    self.answers_from(i, r)?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// Handles every answer node `i` has (reading once).
    fn answers_from<R: Retrieval + ?Sized>(&mut self, i: usize, r: &mut R) -> Result<(), Error> {
        let mut read = true;
        loop {
            let Self {
                nodes,
                pending,
                stats,
                ..
            } = self;
            let Some(node) = nodes.get_mut(i) else {
                return Ok(());
            };
            let Some(client) = node.client() else {
                return Ok(());
            };
            let answer = match client.poll_answer(read) {
                Ok(Some(a)) => a,
                Ok(None) => return Ok(()),
                Err(e) => {
                    self.connection_lost(i, e);
                    return Ok(());
                }
            };
            read = false;
            let token = answer.token();
            let slot = usize::try_from(token & 0xff).unwrap_or(usize::MAX);
            let entry = pending
                .get(slot)
                .copied()
                .flatten()
                .filter(|p| p.token == token && p.node == Some(i));
            let outcome = match (entry, answer) {
                (None, _) => Outcome::Stale,
                (Some(p), Answer::Chunk { data, .. }) => {
                    stats.received += data.len() as u64;
                    match r.handle_chunk(&p.address, data) {
                        Ok(()) => Outcome::Verified,
                        Err(e) if e.is_peer_fault() => Outcome::Failed(Fault::BadChunk(e)),
                        Err(e) => return Err(Error::Core(e)),
                    }
                }
                (Some(_), Answer::NotFound { .. }) => Outcome::Failed(Fault::NotFound),
                (Some(_), Answer::Error { code, .. }) => Outcome::Failed(Fault::NodeError { code }),
                (Some(_), Answer::FeedUpdate { .. }) => {
                    Outcome::Violation(Error::UnexpectedMessage { tag: 7 })
                }
            };
            match outcome {
                Outcome::Stale => trace!("stale answer ignored"),
                Outcome::Verified => {
                    if let Some(e) = pending.get_mut(slot) {
                        *e = None;
                    }
                    self.count -= 1;
                    node.in_flight = node.in_flight.saturating_sub(1);
                    node.drops = 0;
                    node.cap = node.cap.saturating_mul(2).min(MAX_IN_FLIGHT);
                    node.served += 1;
                    stats.chunks += 1;
                }
                Outcome::Failed(fault) => {
                    debug!("node failed a request: {}", fault);
                    node.demerits += 1;
                    node.in_flight = node.in_flight.saturating_sub(1);
                    if let Some(Some(p)) = pending.get_mut(slot) {
                        mark_failed(p, i, fault);
                    }
                    stats.failovers += 1;
                }
                Outcome::Violation(e) => {
                    self.connection_lost(i, e);
                    return Ok(());
                }
            }
            let closing = self
                .nodes
                .get_mut(i)
                .and_then(Node::client)
                .is_some_and(|c| c.is_closing() && !c.has_buffered());
            if closing {
                // The server closes after this answer: re-send the rest elsewhere or anew.
                self.connection_closed_by_server(i);
                return Ok(());
            }
        }
    }

    fn connection_closed_by_server(&mut self, i: usize) {
        self.disconnect(i, false);
        for p in self.pending.iter_mut().flatten() {
            if p.node == Some(i) {
                p.node = None;
            }
        }
    }
}

fn mark_failed(p: &mut Pending, i: usize, fault: Fault) {
    p.excluded |= 1 << i;
    p.node = None;
    p.last = Some(fault);
    if fault != Fault::NotFound {
        p.all_not_found = false;
    }
}

/// The fault to blame on a node for a connection-ending error, if it is a protocol violation
/// (as opposed to a plain disconnect, which is retried on the same node).
fn protocol_fault(e: &Error) -> Option<Fault> {
    match e {
        Error::EmptyFrame
        | Error::FrameTooLarge { .. }
        | Error::MalformedMessage
        | Error::ChunkDataTooLong { .. }
        | Error::UnexpectedMessage { .. }
        | Error::BadMagic
        | Error::UnsupportedVersion { .. } => Some(Fault::Protocol(ProtocolError::Framed)),
        Error::HttpHead
        | Error::HttpHeadTooLarge
        | Error::HttpLength
        | Error::BodyTooLarge { .. }
        | Error::BadChunkedEncoding => Some(Fault::Protocol(ProtocolError::Http)),
        Error::BufferTooSmall { .. } => Some(Fault::Protocol(ProtocolError::Framed)),
        _ => None,
    }
}
