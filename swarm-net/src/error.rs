//! The one error type of `swarm-net`.

use core::fmt;

use embedded_io::ErrorKind;
use swarm_bmt::ChunkAddress;

/// Why one node failed one request (the cause carried by [`Error::AllNodesFailed`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Fault {
    /// The node sent bytes that failed verification (the retrieval's peer-fault error).
    BadChunk(swarm_core::Error),
    /// The connection could not be (re)opened or kept, more than `MAX_RECONNECTS` times in a
    /// row.
    Disconnected,
    /// The node answered with an error: an HTTP status other than 200 and 404, or a framed
    /// `Error` code.
    NodeError {
        /// HTTP status or framed protocol error code.
        code: u16,
    },
    /// The node does not have the chunk (HTTP 404, framed `NotFound`).
    NotFound,
    /// The node broke the protocol (garbage, an oversize frame, a malformed HTTP response).
    Protocol(ProtocolError),
    /// No answer within the request timeout.
    Timeout,
}

/// A protocol violation by a peer, without the I/O context (carried by [`Fault::Protocol`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ProtocolError {
    /// A framed-protocol error (frame, message or handshake).
    Framed,
    /// A malformed or oversize HTTP response.
    Http,
}

/// Everything that can go wrong in `swarm-net`: framing, HTTP parsing, I/O, and a fetch that no
/// node could complete.
///
/// [`Error::is_peer_fault`] says whether the remote side is to blame (so a node can be demoted).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// Every node failed the request for `address`; `last` is the last node's failure.
    AllNodesFailed {
        /// The chunk that could not be fetched.
        address: ChunkAddress,
        /// Why the last node tried failed.
        last: Fault,
    },
    /// The framed handshake answer had a magic other than `"DBCP"`.
    BadMagic,
    /// A buffer lent by the caller is smaller than needed.
    BufferTooSmall {
        /// Bytes lent.
        len: usize,
        /// Bytes needed.
        min: usize,
    },
    /// An HTTP chunked body with a malformed chunk-size line or missing CRLF.
    BadChunkedEncoding,
    /// A node URL that is not `http://HOST[:PORT][/]` or `tcp://HOST:PORT`.
    BadUrl,
    /// An HTTP response body longer than allowed (chunk data over 4201 bytes, an error body over
    /// [`crate::http::MAX_ERROR_BODY_LEN`]).
    BodyTooLarge {
        /// Bytes announced or received so far.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// Chunk data in a message longer than [`crate::codec::MAX_CHUNK_DATA_LEN`] bytes.
    ChunkDataTooLong {
        /// Bytes of data.
        len: usize,
    },
    /// The peer sent `Close` with this code (see `docs/PROTOCOL.md` §3.5).
    Closed {
        /// The close code.
        code: u16,
    },
    /// Connecting failed (refused, unreachable, timed out).
    Connect(#[cfg_attr(feature = "defmt", defmt(Debug2Format))] ErrorKind),
    /// The connection was closed by the peer (end of stream) while an answer was due.
    ConnectionClosed,
    /// A final error from the retrieval machine (content that verifies but is malformed, a
    /// bound exceeded, a missing chunk it needed).
    Core(swarm_core::Error),
    /// A frame with an empty body.
    EmptyFrame,
    /// A frame header announcing more than [`crate::codec::MAX_BODY_LEN`] body bytes.
    FrameTooLarge {
        /// Body bytes announced.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// An HTTP response head that does not parse.
    HttpHead,
    /// An HTTP response head larger than [`crate::http::MAX_HEAD_LEN`] or with more than
    /// [`crate::http::MAX_HEADERS`] headers.
    HttpHeadTooLarge,
    /// An HTTP response with neither `Content-Length` nor `Transfer-Encoding: chunked`, or
    /// with an unparsable `Content-Length`.
    HttpLength,
    /// An I/O error on an open connection.
    Io(#[cfg_attr(feature = "defmt", defmt(Debug2Format))] ErrorKind),
    /// A message whose fields do not decode, or with trailing bytes.
    MalformedMessage,
    /// No node was configured.
    NoNodes,
    /// The output sink refused bytes.
    Sink,
    /// The retrieval wants nothing, has nothing in flight, and is not finished (a contract
    /// violation by the retrieval machine).
    Stalled,
    /// No answer in time (handshake or request).
    Timeout,
    /// More nodes than [`crate::driver::MAX_NODES`].
    TooManyNodes {
        /// Nodes given.
        len: usize,
    },
    /// A message that is valid but not expected here (a `Hello` after the handshake, an
    /// answer where a request belongs).
    UnexpectedMessage {
        /// Its tag.
        tag: u32,
    },
    /// A message tag this version does not know.
    UnknownMessage {
        /// The tag.
        tag: u32,
        /// The request id that followed it.
        id: u32,
    },
    /// The server speaks no protocol version this client speaks.
    UnsupportedVersion {
        /// The version it offered.
        version: u16,
    },
}

impl Error {
    /// Whether the remote side is to blame (garbage, an oversize frame or response, a closed
    /// or reset connection), as opposed to local limits, configuration or the retrieval.
    #[must_use]
    pub const fn is_peer_fault(&self) -> bool {
        match self {
            Self::BadMagic
            | Self::BadChunkedEncoding
            | Self::BodyTooLarge { .. }
            | Self::ChunkDataTooLong { .. }
            | Self::Closed { .. }
            | Self::ConnectionClosed
            | Self::EmptyFrame
            | Self::FrameTooLarge { .. }
            | Self::HttpHead
            | Self::HttpHeadTooLarge
            | Self::HttpLength
            | Self::MalformedMessage
            | Self::Timeout
            | Self::UnexpectedMessage { .. }
            | Self::UnknownMessage { .. }
            | Self::UnsupportedVersion { .. } => true,
            Self::Io(_) | Self::Connect(_) => true,
            Self::AllNodesFailed { .. }
            | Self::BufferTooSmall { .. }
            | Self::BadUrl
            | Self::Core(_)
            | Self::NoNodes
            | Self::Sink
            | Self::Stalled
            | Self::TooManyNodes { .. } => false,
        }
    }
}

impl From<swarm_core::Error> for Error {
    fn from(e: swarm_core::Error) -> Self {
        Self::Core(e)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadChunk(e) => write!(f, "sent a chunk that failed verification ({e})"),
            Self::Disconnected => write!(f, "connection lost too many times"),
            Self::NodeError { code } => write!(f, "node error {code}"),
            Self::NotFound => write!(f, "chunk not found"),
            Self::Protocol(ProtocolError::Framed) => write!(f, "framed protocol violation"),
            Self::Protocol(ProtocolError::Http) => write!(f, "malformed http response"),
            Self::Timeout => write!(f, "timed out"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AllNodesFailed { address, last } => {
                write!(f, "no node supplied chunk ")?;
                for b in address.0.iter().take(4) {
                    write!(f, "{b:02x}")?;
                }
                write!(f, "..: every node failed (last: {last})")
            }
            Self::BadMagic => write!(f, "peer does not speak the deboot chunk protocol"),
            Self::BufferTooSmall { len, min } => {
                write!(f, "buffer of {len} bytes is smaller than {min} bytes")
            }
            Self::BadChunkedEncoding => write!(f, "malformed http chunked body"),
            Self::BadUrl => write!(f, "node url is not http://host[:port] or tcp://host:port"),
            Self::BodyTooLarge { len, max } => {
                write!(f, "http body of {len} bytes exceeds {max} bytes")
            }
            Self::ChunkDataTooLong { len } => {
                write!(f, "chunk data of {len} bytes exceeds 4201 bytes")
            }
            Self::Closed { code } => write!(f, "peer closed the session (code {code})"),
            Self::Connect(kind) => write!(f, "connect failed: {kind:?}"),
            Self::ConnectionClosed => write!(f, "connection closed by peer"),
            Self::Core(e) => write!(f, "{e}"),
            Self::EmptyFrame => write!(f, "empty frame"),
            Self::FrameTooLarge { len, max } => {
                write!(f, "frame of {len} body bytes exceeds {max} bytes")
            }
            Self::HttpHead => write!(f, "malformed http response head"),
            Self::HttpHeadTooLarge => write!(f, "http response head too large"),
            Self::HttpLength => write!(f, "http response without a usable body length"),
            Self::Io(kind) => write!(f, "i/o error: {kind:?}"),
            Self::MalformedMessage => write!(f, "malformed message"),
            Self::NoNodes => write!(f, "no node configured"),
            Self::Sink => write!(f, "output sink failed"),
            Self::Stalled => write!(f, "retrieval stalled: nothing wanted, nothing in flight"),
            Self::Timeout => write!(f, "timed out"),
            Self::TooManyNodes { len } => write!(f, "{len} nodes exceed the maximum"),
            Self::UnexpectedMessage { tag } => write!(f, "unexpected message (tag {tag})"),
            Self::UnknownMessage { tag, id } => {
                write!(f, "unknown message tag {tag} (request id {id})")
            }
            Self::UnsupportedVersion { version } => {
                write!(f, "unsupported protocol version {version}")
            }
        }
    }
}

impl core::error::Error for Error {}
