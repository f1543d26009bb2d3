//! Chunk clients over any byte stream: [`FramedClient`] (the DeBoot chunk protocol) and
//! [`HttpClient`] (Bee's `GET /chunks/{address}`), both pipelined, both behind the
//! [`ChunkClient`] trait the [driver](crate::driver) uses.
//!
//! # The stream contract
//! A stream is any `embedded_io::Read + Write`. Its `read` must return within a bounded time:
//! `Err` of kind [`ErrorKind::TimedOut`] (or `Interrupted`) means "nothing arrived yet" and is
//! not a failure; `Ok(0)` is the end of the stream. This is how per-request timeouts work
//! without threads: the adapters (`std_net`, `smoltcp_net`) give their
//! streams a short read timeout. Any other error ends the connection.
//!
//! # Memory
//! A client borrows one buffer for its whole life (requests to send, bytes received, and for
//! HTTP the body being assembled), at least [`MIN_BUF_LEN`] bytes; a bigger buffer means fewer
//! reads. [`FramedClient::into_parts`] / [`HttpClient::into_parts`] give it back.

use embedded_io::{Error as _, ErrorKind, Read, Write};
use swarm_bmt::ChunkAddress;

use crate::codec::{self, Message, MAX_CHUNK_DATA_LEN, MAX_FRAME_LEN};
use crate::http::{self, ResponseParser, SliceWriter, MAX_HEAD_LEN};
use crate::time::Clock;
use crate::url::NodeAddr;
use crate::Error;

/// Bytes of a client's buffer set aside for requests not yet sent.
pub const TX_BUF_LEN: usize = 2048;
/// The smallest buffer a client accepts: requests, an HTTP body of [`MAX_CHUNK_DATA_LEN`]
/// bytes, and a receive area that holds a whole frame or response head.
pub const MIN_BUF_LEN: usize = TX_BUF_LEN + BODY_LEN + MAX_HEAD_LEN;
/// The most requests a client keeps in flight on one connection.
pub const MAX_IN_FLIGHT: usize = 256;

const BODY_LEN: usize = MAX_CHUNK_DATA_LEN;
// The framed receive area must hold a whole frame.
const _: () = assert!(MIN_BUF_LEN - TX_BUF_LEN >= MAX_FRAME_LEN);

/// One answer from a node, for the request the caller tagged with `token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Answer<'a> {
    /// The node's bytes for the chunk (unverified).
    Chunk {
        /// The request's token.
        token: u32,
        /// The bytes, to be verified against the address asked for.
        data: &'a [u8],
    },
    /// The node does not have the chunk.
    NotFound {
        /// The request's token.
        token: u32,
    },
    /// The node failed the request: an HTTP status other than 200 and 404, or a framed
    /// `Error` code.
    Error {
        /// The request's token.
        token: u32,
        /// HTTP status or framed error code.
        code: u16,
    },
    /// A framed `FeedUpdate` (unverified).
    FeedUpdate {
        /// The request's token.
        token: u32,
        /// The update's index.
        index: u64,
        /// The update's single-owner chunk.
        data: &'a [u8],
    },
}

impl Answer<'_> {
    /// The token of the request this answers.
    #[must_use]
    pub const fn token(&self) -> u32 {
        match self {
            Self::Chunk { token, .. }
            | Self::NotFound { token }
            | Self::Error { token, .. }
            | Self::FeedUpdate { token, .. } => *token,
        }
    }
}

/// A pipelined chunk client on one connection.
///
/// Requests are tagged by the caller with a `token` that is unique among its requests in flight
/// on this client; answers carry it back, in any order.
pub trait ChunkClient {
    /// How many requests the node lets this client have in flight.
    fn capacity(&self) -> usize;

    /// Queues a request for the chunk at `address` (sent by [`ChunkClient::flush`], or earlier
    /// when the queue is full).
    ///
    /// # Errors
    /// An I/O error while sending a full queue.
    fn request(&mut self, token: u32, address: &ChunkAddress) -> Result<(), Error>;

    /// Sends every queued request.
    ///
    /// # Errors
    /// An I/O error; the connection is then unusable.
    fn flush(&mut self) -> Result<(), Error>;

    /// The next answer: from bytes already received, else (if `read`) after one read from the
    /// stream, which may block up to the stream's read timeout. `Ok(None)`: no whole answer
    /// yet.
    ///
    /// # Errors
    /// An I/O error, the end of the stream, or a protocol violation; all end the connection.
    fn poll_answer(&mut self, read: bool) -> Result<Option<Answer<'_>>, Error>;

    /// Whether an answer is buffered (so [`ChunkClient::poll_answer`] makes progress without
    /// reading).
    fn has_buffered(&self) -> bool;

    /// Whether the node announced that it closes the connection (HTTP `Connection: close`):
    /// no new requests; reconnect for them.
    fn is_closing(&self) -> bool;

    /// Whether the last read from the stream filled the receive area: more answers are
    /// probably waiting in the stream already (the node is ahead of this side), so sending
    /// new requests can wait for a bigger batch. `false` by default.
    fn backlog(&self) -> bool {
        false
    }
}

/// Receive-side buffer bookkeeping shared by both clients.
#[derive(Debug, Clone, Copy, Default)]
struct Rx {
    start: usize,
    end: usize,
}

impl Rx {
    /// Consumes `used` bytes; an emptied area starts over at its beginning.
    fn advance(&mut self, used: usize) {
        self.start += used;
        if self.start == self.end {
            *self = Self::default();
        }
    }
}

/// Whether the last read filled the receive area ([`ChunkClient::backlog`]).
#[derive(Debug, Clone, Copy, Default)]
struct Backlog(bool);

/// A client of the DeBoot chunk protocol (`docs/PROTOCOL.md`) over a stream `S`.
pub struct FramedClient<'b, S> {
    stream: S,
    buf: &'b mut [u8],
    tx_len: usize,
    rx: Rx,
    backlog: Backlog,
    consume: usize,
    capacity: usize,
}

/// A minimal Bee HTTP/1.1 client (`GET /chunks/{address}`, keep-alive, pipelined) over a
/// stream `S`.
pub struct HttpClient<'b, S> {
    stream: S,
    buf: &'b mut [u8],
    tx_len: usize,
    rx: Rx,
    backlog: Backlog,
    parser: ResponseParser,
    tokens: heapless::Deque<u32, MAX_IN_FLIGHT>,
    authority: heapless::String<{ crate::url::MAX_HOST_LEN + 8 }>,
    closing: bool,
}

impl<'b, S: Read + Write> FramedClient<'b, S> {
    /// A client over `stream` using `buf`; no I/O until [`FramedClient::handshake`].
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] below [`MIN_BUF_LEN`] bytes.
    pub fn new(stream: S, buf: &'b mut [u8]) -> Result<Self, Error> {
        check_buf(buf)?;
        Ok(Self {
            stream,
            buf,
            tx_len: 0,
            rx: Rx::default(),
            backlog: Backlog::default(),
            consume: 0,
            capacity: 1,
        })
    }

    /// Sends `Hello` and waits for `HelloAck` until `timeout_ms` have passed on `clock`.
    ///
    /// # Errors
    /// [`Error::Timeout`], [`Error::BadMagic`], [`Error::UnsupportedVersion`],
    /// [`Error::Closed`] (the server refused), I/O and framing errors.
    pub fn handshake<K: Clock>(&mut self, clock: &K, timeout_ms: u64) -> Result<(), Error> {
        let deadline = clock.now().add_millis(timeout_ms);
        let mut frame = [0u8; 16];
        let n = Message::hello().encode(&mut frame)?;
        write_all(&mut self.stream, frame.get(..n).unwrap_or_default())?;
        self.stream.flush().map_err(io_error)?;
        loop {
            self.apply_consume();
            let data = self
                .buf
                .get(TX_BUF_LEN + self.rx.start..TX_BUF_LEN + self.rx.end)
                .unwrap_or_default();
            if let Some(frame) = codec::decode_frame(data)? {
                self.consume = frame.len();
                return match frame.message()? {
                    Message::HelloAck {
                        magic,
                        version,
                        max_in_flight,
                        ..
                    } => {
                        if magic != codec::MAGIC {
                            return Err(Error::BadMagic);
                        }
                        if version != codec::PROTOCOL_VERSION {
                            return Err(Error::UnsupportedVersion { version });
                        }
                        self.capacity = usize::from(max_in_flight).clamp(1, MAX_IN_FLIGHT);
                        Ok(())
                    }
                    Message::Close { code, .. } => Err(Error::Closed { code }),
                    other => Err(Error::UnexpectedMessage { tag: other.tag() }),
                };
            }
            if clock.now() >= deadline {
                return Err(Error::Timeout);
            }
            self.fill()?;
        }
    }

    /// Queues a `GetFeedUpdate` (the optional feed helper; the answer is
    /// [`Answer::FeedUpdate`], `NotFound` or `Error`, and must be verified by the caller).
    ///
    /// # Errors
    /// An I/O error while sending a full queue.
    pub fn request_feed_update(
        &mut self,
        token: u32,
        owner: &[u8; 20],
        topic: &[u8; 32],
        after: u64,
    ) -> Result<(), Error> {
        self.queue(&Message::GetFeedUpdate {
            id: token,
            owner: *owner,
            topic: *topic,
            after,
        })
    }

    /// Sends `Close { code }` (best effort) and returns the stream and the buffer.
    pub fn close(mut self, code: u16) -> (S, &'b mut [u8]) {
        let _ = self.queue(&Message::Close { id: 0, code });
        let _ = ChunkClient::flush(&mut self);
        self.into_parts()
    }

    /// The stream and the buffer, for reuse.
    pub fn into_parts(self) -> (S, &'b mut [u8]) {
        (self.stream, self.buf)
    }

    /// The underlying stream.
    pub fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    fn queue(&mut self, msg: &Message<'_>) -> Result<(), Error> {
        let mut frame = [0u8; 96];
        let n = msg.encode(&mut frame)?;
        let bytes = frame.get(..n).unwrap_or_default();
        queue_tx(&mut self.stream, self.buf, &mut self.tx_len, bytes)
    }

    fn apply_consume(&mut self) {
        self.rx.start = self.rx.start.saturating_add(self.consume).min(self.rx.end);
        self.consume = 0;
        if self.rx.start == self.rx.end {
            self.rx = Rx::default();
        }
    }

    /// One read into the receive area; `Ok(false)` if nothing arrived.
    fn fill(&mut self) -> Result<bool, Error> {
        let rx = self.buf.get_mut(TX_BUF_LEN..).unwrap_or_default();
        fill(&mut self.stream, rx, &mut self.rx, &mut self.backlog)
    }
}

impl<S: Read + Write> ChunkClient for FramedClient<'_, S> {
    fn capacity(&self) -> usize {
        self.capacity
    }

    fn request(&mut self, token: u32, address: &ChunkAddress) -> Result<(), Error> {
        self.queue(&Message::GetChunk {
            id: token,
            address: address.0,
        })
    }

    fn flush(&mut self) -> Result<(), Error> {
        flush_tx(&mut self.stream, self.buf, &mut self.tx_len)
    }

    fn poll_answer(&mut self, read: bool) -> Result<Option<Answer<'_>>, Error> {
        self.apply_consume();
        let mut may_read = read;
        loop {
            let data = self
                .buf
                .get(TX_BUF_LEN + self.rx.start..TX_BUF_LEN + self.rx.end)
                .unwrap_or_default();
            match codec::decode_frame(data)? {
                Some(frame) => {
                    self.consume = frame.len();
                    match frame.message() {
                        Err(Error::UnknownMessage { .. }) => {
                            // Unknown tag: skipped (docs/PROTOCOL.md §5).
                            self.apply_consume();
                            continue;
                        }
                        Err(e) => return Err(e),
                        Ok(Message::Pong { .. }) => {
                            self.apply_consume();
                            continue;
                        }
                        Ok(_) => {}
                    }
                    break;
                }
                None => {
                    if !may_read || !self.fill()? {
                        return Ok(None);
                    }
                    may_read = false;
                }
            }
        }
        // Decode again from the buffer so the answer borrows `self.buf` for the caller.
        let data = self
            .buf
            .get(TX_BUF_LEN + self.rx.start..TX_BUF_LEN + self.rx.end)
            .unwrap_or_default();
        let msg = codec::decode(data)?.ok_or(Error::MalformedMessage)?.0;
        match msg {
            Message::Chunk { id, data } => Ok(Some(Answer::Chunk { token: id, data })),
            Message::NotFound { id } => Ok(Some(Answer::NotFound { token: id })),
            Message::Error { id, code } => Ok(Some(Answer::Error { token: id, code })),
            Message::FeedUpdate { id, index, data } => Ok(Some(Answer::FeedUpdate {
                token: id,
                index,
                data,
            })),
            Message::Close { code, .. } => Err(Error::Closed { code }),
            other => Err(Error::UnexpectedMessage { tag: other.tag() }),
        }
    }

    fn has_buffered(&self) -> bool {
        let start = self.rx.start.saturating_add(self.consume).min(self.rx.end);
        let data = self
            .buf
            .get(TX_BUF_LEN + start..TX_BUF_LEN + self.rx.end)
            .unwrap_or_default();
        !matches!(codec::decode_frame(data), Ok(None))
    }

    fn is_closing(&self) -> bool {
        false
    }

    fn backlog(&self) -> bool {
        self.backlog.0
    }
}

impl<'b, S: Read + Write> HttpClient<'b, S> {
    /// A client for the Bee node at `node` over `stream`, using `buf`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] below [`MIN_BUF_LEN`] bytes.
    pub fn new(stream: S, buf: &'b mut [u8], node: &NodeAddr<'_>) -> Result<Self, Error> {
        check_buf(buf)?;
        let mut authority = heapless::String::new();
        node.write_authority(&mut authority)
            .map_err(|_| Error::BadUrl)?;
        Ok(Self {
            stream,
            buf,
            tx_len: 0,
            rx: Rx::default(),
            backlog: Backlog::default(),
            parser: ResponseParser::new(),
            tokens: heapless::Deque::new(),
            authority,
            closing: false,
        })
    }

    /// The stream and the buffer, for reuse.
    pub fn into_parts(self) -> (S, &'b mut [u8]) {
        (self.stream, self.buf)
    }

    /// The underlying stream.
    pub fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Requests sent or queued and not yet answered.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.tokens.len()
    }
}

impl<S: Read + Write> ChunkClient for HttpClient<'_, S> {
    fn capacity(&self) -> usize {
        MAX_IN_FLIGHT
    }

    fn request(&mut self, token: u32, address: &ChunkAddress) -> Result<(), Error> {
        if self.tokens.is_full() {
            return Err(Error::BufferTooSmall {
                len: MAX_IN_FLIGHT,
                min: MAX_IN_FLIGHT + 1,
            });
        }
        let mut req = [0u8; http::MAX_REQUEST_LEN];
        let mut w = SliceWriter {
            buf: &mut req,
            pos: 0,
        };
        write_request(&mut w, self.authority.as_str(), address)?;
        let n = w.pos;
        let bytes = req.get(..n).unwrap_or_default();
        queue_tx(&mut self.stream, self.buf, &mut self.tx_len, bytes)?;
        // Cannot fail: checked `is_full` above.
        let _ = self.tokens.push_back(token);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        flush_tx(&mut self.stream, self.buf, &mut self.tx_len)
    }

    fn poll_answer(&mut self, read: bool) -> Result<Option<Answer<'_>>, Error> {
        let mut may_read = read;
        // The next response and where its body lies in `buf`.
        let (status, body_at) = loop {
            // A whole `Content-Length` response already received: its body is handed out
            // where it lies, without a copy.
            let rx_at = TX_BUF_LEN + BODY_LEN;
            let input = self
                .buf
                .get(rx_at + self.rx.start..rx_at + self.rx.end)
                .unwrap_or_default();
            match self.parser.handle_whole(input, BODY_LEN)? {
                http::Whole::Response { used, status, body } => {
                    let at = rx_at + self.rx.start;
                    self.rx.advance(used);
                    break (status, at + body.start..at + body.end);
                }
                http::Whole::Head(used) => {
                    self.rx.start += used;
                }
            }
            let (_, rest) = self.buf.split_at_mut(TX_BUF_LEN.min(self.buf.len()));
            let (body, rx) = rest.split_at_mut(BODY_LEN.min(rest.len()));
            let input = rx.get(self.rx.start..self.rx.end).unwrap_or_default();
            let (used, status) = self.parser.handle(input, body)?;
            self.rx.advance(used);
            if let Some(st) = status {
                break (st, TX_BUF_LEN..TX_BUF_LEN + st.body_len);
            }
            if self.closing {
                return Err(Error::ConnectionClosed);
            }
            if !may_read {
                return Ok(None);
            }
            may_read = false;
            let rx = self
                .buf
                .get_mut(TX_BUF_LEN + BODY_LEN..)
                .unwrap_or_default();
            if !fill(&mut self.stream, rx, &mut self.rx, &mut self.backlog)? {
                return Ok(None);
            }
        };
        let token = self.tokens.pop_front().ok_or(Error::UnexpectedMessage {
            tag: u32::from(status.code),
        })?;
        self.closing |= status.close;
        let data = self.buf.get(body_at).unwrap_or_default();
        Ok(Some(match status.code {
            200 => Answer::Chunk { token, data },
            404 => Answer::NotFound { token },
            code => Answer::Error { token, code },
        }))
    }

    fn has_buffered(&self) -> bool {
        // Conservative: any unparsed byte might complete an answer.
        self.rx.end > self.rx.start
    }

    fn is_closing(&self) -> bool {
        self.closing
    }

    fn backlog(&self) -> bool {
        self.backlog.0
    }
}

fn check_buf(buf: &[u8]) -> Result<(), Error> {
    if buf.len() < MIN_BUF_LEN {
        return Err(Error::BufferTooSmall {
            len: buf.len(),
            min: MIN_BUF_LEN,
        });
    }
    Ok(())
}

/// One read into `area[rx.end..]` (compacting first when full); `Ok(false)` if nothing came.
fn fill<S: Read>(
    stream: &mut S,
    area: &mut [u8],
    rx: &mut Rx,
    backlog: &mut Backlog,
) -> Result<bool, Error> {
    if rx.end == area.len() && rx.start > 0 {
        area.copy_within(rx.start..rx.end, 0);
        rx.end -= rx.start;
        rx.start = 0;
    }
    let free = area.get_mut(rx.end..).unwrap_or_default();
    if free.is_empty() {
        // A frame or head larger than the area: the codec or parser reports it first.
        return Err(Error::BufferTooSmall {
            len: area.len(),
            min: area.len() + 1,
        });
    }
    match stream.read(free) {
        Ok(0) => Err(Error::ConnectionClosed),
        Ok(n) => {
            backlog.0 = n >= free.len();
            rx.end += n.min(free.len());
            Ok(true)
        }
        Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::Interrupted) => Ok(false),
        Err(e) => Err(io_error(e)),
    }
}

fn flush_tx<S: Write>(stream: &mut S, buf: &[u8], tx_len: &mut usize) -> Result<(), Error> {
    if *tx_len == 0 {
        return Ok(());
    }
    let data = buf.get(..*tx_len).unwrap_or_default();
    *tx_len = 0;
    write_all(stream, data)?;
    stream.flush().map_err(io_error)
}

/// Appends `bytes` to the send area `buf[..TX_BUF_LEN]`, flushing it first if they do not fit.
fn queue_tx<S: Write>(
    stream: &mut S,
    buf: &mut [u8],
    tx_len: &mut usize,
    bytes: &[u8],
) -> Result<(), Error> {
    let n = bytes.len();
    if *tx_len + n > TX_BUF_LEN {
        flush_tx(stream, buf, tx_len)?;
    }
    let dst = buf
        .get_mut(*tx_len..*tx_len + n)
        .ok_or(Error::BufferTooSmall {
            len: TX_BUF_LEN,
            min: n,
        })?;
    dst.copy_from_slice(bytes);
    *tx_len += n;
    Ok(())
}

pub(crate) fn write_all<S: Write>(stream: &mut S, mut data: &[u8]) -> Result<(), Error> {
    while !data.is_empty() {
        match stream.write(data) {
            Ok(0) => return Err(Error::Io(ErrorKind::WriteZero)),
            Ok(n) => data = data.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(e)),
        }
    }
    Ok(())
}

pub(crate) fn io_error<E: embedded_io::Error>(e: E) -> Error {
    match e.kind() {
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            Error::ConnectionClosed
        }
        kind => Error::Io(kind),
    }
}

fn write_request(
    w: &mut SliceWriter<'_>,
    authority: &str,
    address: &ChunkAddress,
) -> Result<(), Error> {
    use core::fmt::Write as _;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // The address in lowercase hex, by table (formatting each byte costs more than the rest
    // of the request).
    let mut hex = [0u8; 64];
    for (pair, b) in hex.chunks_exact_mut(2).zip(address.0) {
        if let [hi, lo] = pair {
            *hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            *lo = HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0');
        }
    }
    let res = (|| {
        w.write_str("GET /chunks/")?;
        w.write_str(core::str::from_utf8(&hex).map_err(|_| core::fmt::Error)?)?;
        w.write_str(" HTTP/1.1\r\nHost: ")?;
        w.write_str(authority)?;
        w.write_str("\r\n\r\n")
    })();
    res.map_err(|_| Error::BufferTooSmall {
        len: http::MAX_REQUEST_LEN,
        min: http::MAX_REQUEST_LEN + 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Instant;
    use std::vec::Vec;

    /// A scripted stream: reads come from `input` (then "timed out"), writes are recorded.
    struct Script {
        input: Vec<u8>,
        pos: usize,
        written: Vec<u8>,
    }

    impl Script {
        fn new(input: Vec<u8>) -> Self {
            Self {
                input,
                pos: 0,
                written: Vec::new(),
            }
        }
    }

    impl embedded_io::ErrorType for Script {
        type Error = ErrorKind;
    }
    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
            let rest = &self.input[self.pos..];
            if rest.is_empty() {
                return Err(ErrorKind::TimedOut);
            }
            let n = rest.len().min(buf.len()).min(7);
            buf[..n].copy_from_slice(&rest[..n]);
            self.pos += n;
            Ok(n)
        }
    }
    impl Write for Script {
        fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> Result<(), ErrorKind> {
            Ok(())
        }
    }

    struct Tick(core::cell::Cell<u64>);
    impl Clock for Tick {
        fn now(&self) -> Instant {
            self.0.set(self.0.get() + 1);
            Instant::from_millis(self.0.get())
        }
    }

    fn frames(msgs: &[Message<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        for m in msgs {
            let mut buf = [0u8; MAX_FRAME_LEN];
            let n = m.encode(&mut buf).unwrap();
            out.extend_from_slice(&buf[..n]);
        }
        out
    }

    fn framed(input: Vec<u8>, buf: &mut [u8]) -> FramedClient<'_, Script> {
        FramedClient::new(Script::new(input), buf).unwrap()
    }

    const ACK: Message<'static> = Message::HelloAck {
        id: 0,
        magic: codec::MAGIC,
        version: 1,
        max_in_flight: 8,
    };

    #[test]
    fn handshake_then_answers_in_any_order() {
        let mut buf = std::vec![0u8; MIN_BUF_LEN];
        let input = frames(&[
            ACK,
            Message::Pong { id: 9 },
            Message::NotFound { id: 2 },
            Message::FeedUpdate {
                id: 3,
                index: 5,
                data: b"soc",
            },
            Message::Chunk { id: 1, data: b"ab" },
        ]);
        let mut c = framed(input, &mut buf);
        c.handshake(&Tick(Default::default()), 100).unwrap();
        assert_eq!(c.capacity(), 8);
        c.request(1, &ChunkAddress([1; 32])).unwrap();
        c.request(2, &ChunkAddress([2; 32])).unwrap();
        c.request_feed_update(3, &[4; 20], &[5; 32], 0).unwrap();
        c.flush().unwrap();
        let mut got = Vec::new();
        for _ in 0..20 {
            if let Some(a) = c.poll_answer(true).unwrap() {
                got.push(std::format!("{a:?}"));
            }
        }
        assert_eq!(
            got,
            [
                "NotFound { token: 2 }",
                "FeedUpdate { token: 3, index: 5, data: [115, 111, 99] }",
                "Chunk { token: 1, data: [97, 98] }",
            ]
        );
        let (s, _) = c.close(codec::close_code::NORMAL);
        let sent = frames(&[
            Message::hello(),
            Message::GetChunk {
                id: 1,
                address: [1; 32],
            },
            Message::GetChunk {
                id: 2,
                address: [2; 32],
            },
            Message::GetFeedUpdate {
                id: 3,
                owner: [4; 20],
                topic: [5; 32],
                after: 0,
            },
            Message::Close { id: 0, code: 0 },
        ]);
        assert_eq!(s.written, sent);
    }

    #[test]
    fn handshake_failures_are_typed() {
        let mut buf = std::vec![0u8; MIN_BUF_LEN];
        let cases: [(Vec<u8>, Error); 5] = [
            (
                frames(&[Message::HelloAck {
                    id: 0,
                    magic: *b"HTTP",
                    version: 1,
                    max_in_flight: 1,
                }]),
                Error::BadMagic,
            ),
            (
                frames(&[Message::HelloAck {
                    id: 0,
                    magic: codec::MAGIC,
                    version: 2,
                    max_in_flight: 1,
                }]),
                Error::UnsupportedVersion { version: 2 },
            ),
            (
                frames(&[Message::Close { id: 0, code: 2 }]),
                Error::Closed { code: 2 },
            ),
            (
                frames(&[Message::NotFound { id: 0 }]),
                Error::UnexpectedMessage { tag: 4 },
            ),
            (Vec::new(), Error::Timeout),
        ];
        for (input, want) in cases {
            let mut c = framed(input, &mut buf);
            assert_eq!(c.handshake(&Tick(Default::default()), 50), Err(want));
        }
        let mut c = framed(b"HTTP/1.1 400 Bad Request\r\n".to_vec(), &mut buf);
        assert!(matches!(
            c.handshake(&Tick(Default::default()), 50),
            Err(Error::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn unknown_tags_are_skipped_and_close_ends_the_session() {
        let mut buf = std::vec![0u8; MIN_BUF_LEN];
        let mut input = frames(&[ACK]);
        input.extend_from_slice(&[3, 0, 0, 0, 42, 7, 0]); // tag 42, id 7
        input.extend(frames(&[
            Message::NotFound { id: 1 },
            Message::Close { id: 0, code: 5 },
        ]));
        let mut c = framed(input, &mut buf);
        c.handshake(&Tick(Default::default()), 100).unwrap();
        let mut answers = Vec::new();
        let err = loop {
            match c.poll_answer(true) {
                Ok(Some(a)) => answers.push(a.token()),
                Ok(None) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(answers, [1]);
        assert_eq!(err, Error::Closed { code: 5 });
    }

    #[test]
    fn http_client_pipelines_and_maps_statuses() {
        let mut buf = std::vec![0u8; MIN_BUF_LEN];
        let input = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab\
HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n\
HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nc\r\n0\r\n\r\n\
HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_vec();
        let s = Script::new(input);
        let node = NodeAddr::parse("http://[::1]:1633").unwrap();
        let mut c = HttpClient::new(s, &mut buf, &node).unwrap();
        for t in 10..14 {
            c.request(t, &ChunkAddress([t as u8; 32])).unwrap();
        }
        c.flush().unwrap();
        assert_eq!(c.in_flight(), 4);
        let mut got = Vec::new();
        while got.len() < 4 {
            if let Some(a) = c.poll_answer(true).unwrap() {
                got.push(std::format!("{a:?}"));
            }
        }
        assert_eq!(
            got,
            [
                "Chunk { token: 10, data: [97, 98] }",
                "NotFound { token: 11 }",
                "Chunk { token: 12, data: [99] }",
                "Error { token: 13, code: 503 }",
            ]
        );
        assert!(c.is_closing());
        let (s, _) = c.into_parts();
        let text = std::string::String::from_utf8(s.written).unwrap();
        assert_eq!(text.matches("Host: [::1]:1633\r\n").count(), 4);
        assert!(text.starts_with(&std::format!(
            "GET /chunks/{} HTTP/1.1\r\n",
            "0a".repeat(32)
        )));
    }

    #[test]
    fn http_answer_without_a_request_is_refused() {
        let mut buf = std::vec![0u8; MIN_BUF_LEN];
        let s = Script::new(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec());
        let node = NodeAddr::parse("http://h:1").unwrap();
        let mut c = HttpClient::new(s, &mut buf, &node).unwrap();
        let err = loop {
            match c.poll_answer(true) {
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(err, Error::UnexpectedMessage { tag: 200 });
    }

    #[test]
    fn buffer_bound_at_n_and_n_minus_1() {
        let mut buf = std::vec![0u8; MIN_BUF_LEN];
        let s = || Script::new(Vec::new());
        assert!(FramedClient::new(s(), &mut buf[..]).is_ok());
        assert_eq!(
            FramedClient::new(s(), &mut buf[..MIN_BUF_LEN - 1]).err(),
            Some(Error::BufferTooSmall {
                len: MIN_BUF_LEN - 1,
                min: MIN_BUF_LEN
            })
        );
    }
}
