//! One verified fetch over one DBCP connection, sans-IO: the GRUB shim moves bytes between
//! GRUB's TCP and [`Session::receive`] / [`Session::transmit`], and copies out only what
//! [`Session::read`] gives, which swarm-core's [`Resolver`] has verified.

use swarm_bmt::ChunkAddress;
use swarm_core::target::{Resolver, Target};
use swarm_core::{Error as CoreError, Retrieval};
use swarm_net::codec::{self, Message, MAGIC, MAX_FRAME_LEN, PROTOCOL_VERSION};

/// The most requests this session keeps in flight (bounded further by the server's
/// `HelloAck.max_in_flight`).
pub const MAX_IN_FLIGHT: usize = 32;
/// Bytes of queued requests (a full window of `GetChunk` frames, 38 B each), kept below one
/// TCP segment even at IPv6's minimum MTU (GRUB splits larger sends; see [`Session::may_send`]).
pub const TX_LEN: usize = 1200;

/// Why a session failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// The core refused: a chunk that does not verify, a path not in the manifest, a chunk no
    /// node has, a malformed tree.
    Core(CoreError),
    /// The node broke the protocol: a garbage frame, a bad handshake, an answer to nothing.
    Protocol,
    /// The node answered a request with an `Error` frame, or closed the session.
    Refused(u16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Hello,
    Ready,
    Failed(SessionError),
}

/// A fetch of one target from one node.
pub struct Session<'m> {
    resolver: Resolver<'m>,
    rx: [u8; MAX_FRAME_LEN],
    rx_len: usize,
    tx: [u8; TX_LEN],
    tx_len: usize,
    in_flight: [Option<(u32, ChunkAddress)>; MAX_IN_FLIGHT],
    window: usize,
    next_id: u32,
    state: State,
    /// The first request id in the queued bytes (not yet sent).
    queued_from: Option<u32>,
    /// The last batch sent and not yet confirmed by an answer: its first request id, or 0
    /// for the `Hello`.
    unconfirmed: Option<u32>,
}

impl<'m> Session<'m> {
    /// A session for `resolver`, with the `Hello` frame queued.
    ///
    /// # Errors
    /// [`SessionError::Protocol`] if the `Hello` frame cannot be encoded.
    pub fn new(resolver: Resolver<'m>) -> Result<Self, SessionError> {
        let mut s = Self {
            resolver,
            rx: [0; MAX_FRAME_LEN],
            rx_len: 0,
            tx: [0; TX_LEN],
            tx_len: 0,
            in_flight: [None; MAX_IN_FLIGHT],
            window: 0,
            next_id: 1,
            state: State::Hello,
            queued_from: None,
            unconfirmed: None,
        };
        let hello = Message::Hello {
            id: 0,
            magic: MAGIC,
            min_version: PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
        };
        s.tx_len = hello
            .encode(&mut s.tx)
            .map_err(|_| SessionError::Protocol)?;
        Ok(s)
    }

    /// Starts a resolution of `target` in the memory lent.
    ///
    /// # Errors
    /// [`SessionError::Core`] as [`Resolver::new`].
    pub fn for_target(
        target: &Target,
        node_buf: &'m mut [u8],
        slots: &'m mut [swarm_core::joiner::Slot],
        levels: &'m mut [swarm_core::joiner::TreeLevel],
    ) -> Result<Self, SessionError> {
        let r = Resolver::new(target, 0, node_buf, slots, levels).map_err(SessionError::Core)?;
        Self::new(r)
    }

    /// The error that ended the session, if any.
    #[must_use]
    pub const fn error(&self) -> Option<SessionError> {
        match self.state {
            State::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// The file's size, once its root chunk has been verified.
    #[must_use]
    pub fn size(&self) -> Option<u64> {
        self.resolver.size()
    }

    /// Whether the next [`Session::transmit`] bytes may be sent now: the node has answered
    /// a request of the last batch sent (or the `Hello`), so it has received that batch, and
    /// its TCP has acknowledged every byte sent so far.
    ///
    /// The GRUB shim sends only then, so at most one of its TCP segments is ever
    /// unacknowledged (a batch is at most [`TX_LEN`] bytes, one segment): GRUB 2.06's
    /// `tcp_send` (grub-core/net/tcp.c) appends to its retransmission list without advancing
    /// `unack_last`, which dangles once the first segment is acknowledged, and the next append
    /// then writes into freed memory.
    #[must_use]
    pub const fn may_send(&self) -> bool {
        self.unconfirmed.is_none()
    }

    /// Whether every verified byte has been read.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.resolver.is_finished()
    }

    /// Bytes to send to the node now (requests for the chunks the resolver wants); call
    /// [`Session::sent`] with how many were sent.
    pub fn transmit(&mut self) -> &[u8] {
        if self.state == State::Ready {
            self.fill_window();
        }
        self.tx.get(..self.tx_len).unwrap_or_default()
    }

    /// Drops the first `n` queued bytes (sent).
    pub fn sent(&mut self, n: usize) {
        let n = n.min(self.tx_len);
        self.tx.copy_within(n..self.tx_len, 0);
        self.tx_len -= n;
        if n > 0 && self.tx_len == 0 {
            self.unconfirmed = Some(self.queued_from.take().unwrap_or(0));
        }
    }

    fn fill_window(&mut self) {
        // A new batch waits until half the window is free (or nothing is in flight): sent at
        // the first answer of the batch before, a one-request batch would be confirmed only
        // after every older request is answered, and the link would idle for a round trip
        // before the next full batch. Half a window keeps the other half in flight meanwhile.
        if self.tx_len == 0 {
            let busy = self.in_flight.iter().flatten().count();
            if busy > 0 && self.window.saturating_sub(busy) < self.window.div_ceil(2) {
                return;
            }
        }
        while self.in_flight.iter().flatten().count() < self.window && self.tx_len + 64 <= TX_LEN {
            let Some(free) = self.in_flight.iter().position(Option::is_none) else {
                return;
            };
            let Some(address) = self.resolver.poll_request() else {
                return;
            };
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1).max(1);
            if self.queued_from.is_none() {
                self.queued_from = Some(id);
            }
            let m = Message::GetChunk {
                id,
                address: *address.as_bytes(),
            };
            let Some(out) = self.tx.get_mut(self.tx_len..) else {
                return;
            };
            match m.encode(out) {
                Ok(n) => self.tx_len += n,
                Err(_) => return self.fail(SessionError::Protocol),
            }
            if let Some(slot) = self.in_flight.get_mut(free) {
                *slot = Some((id, address));
            }
        }
    }

    fn fail(&mut self, e: SessionError) {
        if !matches!(self.state, State::Failed(_)) {
            self.state = State::Failed(e);
        }
    }

    /// Takes bytes the node sent; verifies every chunk they complete.
    ///
    /// # Errors
    /// The [`SessionError`] that ends the session (also kept: [`Session::error`]).
    pub fn receive(&mut self, mut data: &[u8]) -> Result<(), SessionError> {
        while !data.is_empty() {
            if let State::Failed(e) = self.state {
                return Err(e);
            }
            let room = MAX_FRAME_LEN - self.rx_len;
            let n = room.min(data.len());
            let (head, rest) = data.split_at(n);
            if let Some(dst) = self.rx.get_mut(self.rx_len..self.rx_len + n) {
                dst.copy_from_slice(head);
            }
            self.rx_len += n;
            data = rest;
            self.process_frames();
        }
        match self.state {
            State::Failed(e) => Err(e),
            _ => Ok(()),
        }
    }

    fn process_frames(&mut self) {
        loop {
            if matches!(self.state, State::Failed(_)) {
                return;
            }
            let buf = self.rx.get(..self.rx_len).unwrap_or_default();
            let used = match codec::decode(buf) {
                Ok(Some((m, used))) => {
                    confirm(&mut self.unconfirmed, &m);
                    let r = handle(
                        &mut self.resolver,
                        &mut self.in_flight,
                        &mut self.window,
                        &mut self.state,
                        m,
                    );
                    if let Err(e) = r {
                        self.fail(e);
                    }
                    used
                }
                Ok(None) => return,
                Err(_) => return self.fail(SessionError::Protocol),
            };
            self.rx.copy_within(used..self.rx_len, 0);
            self.rx_len -= used;
        }
    }

    /// Copies verified output into `buf`; `Ok(0)` before [`Session::is_finished`] means more
    /// bytes must be received first.
    ///
    /// # Errors
    /// The session's error.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, SessionError> {
        if let State::Failed(e) = self.state {
            return Err(e);
        }
        self.resolver.read(buf).map_err(|e| {
            let e = SessionError::Core(e);
            self.fail(e);
            e
        })
    }
}

fn handle(
    resolver: &mut Resolver<'_>,
    in_flight: &mut [Option<(u32, ChunkAddress)>; MAX_IN_FLIGHT],
    window: &mut usize,
    state: &mut State,
    m: Message<'_>,
) -> Result<(), SessionError> {
    let mut take = |id: u32| {
        in_flight
            .iter_mut()
            .find(|s| s.is_some_and(|(i, _)| i == id))
            .and_then(Option::take)
            .map(|(_, a)| a)
            .ok_or(SessionError::Protocol)
    };
    match (*state, m) {
        (
            State::Hello,
            Message::HelloAck {
                magic,
                version,
                max_in_flight,
                ..
            },
        ) if magic == MAGIC && version == PROTOCOL_VERSION && max_in_flight > 0 => {
            *window = usize::from(max_in_flight).min(MAX_IN_FLIGHT);
            *state = State::Ready;
            Ok(())
        }
        (State::Ready, Message::Chunk { id, data }) => {
            let address = take(id)?;
            // A chunk that does not verify is final here: this session has one node, and GRUB
            // gets an error, never the bytes.
            resolver
                .handle_chunk(&address, data)
                .map_err(SessionError::Core)
        }
        (State::Ready, Message::NotFound { id }) => {
            let address = take(id)?;
            resolver
                .handle_not_found(&address)
                .map_err(SessionError::Core)
        }
        (_, Message::Error { code, .. } | Message::Close { code, .. }) => {
            Err(SessionError::Refused(code))
        }
        _ => Err(SessionError::Protocol),
    }
}

/// An answer to the last batch sent (or to the `Hello`) confirms it: see
/// [`Session::may_send`]. Request ids only grow (a wrap after 2^32 requests would only delay
/// confirmation, never confirm early).
fn confirm(unconfirmed: &mut Option<u32>, m: &Message<'_>) {
    let answered = match *m {
        Message::Chunk { id, .. } | Message::NotFound { id } => Some(id),
        Message::HelloAck { .. } => Some(0),
        _ => None,
    };
    if let (Some(id), Some(first)) = (answered, *unconfirmed) {
        if (first == 0 && id == 0) || (first != 0 && id >= first) {
            *unconfirmed = None;
        }
    }
}
