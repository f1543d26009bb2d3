//! The DeBoot chunk protocol (DBCP) frame codec, sans-IO: `docs/PROTOCOL.md`.
//!
//! A frame is `len: u32 LE || body`, the body one postcard-encoded [`Message`]. Encoding writes a
//! whole frame into a buffer the caller lends; decoding reads from the caller's buffer and says
//! "need more bytes" (`Ok(None)`), "here is a frame and how many bytes it used", or `Err` for
//! garbage. Nothing here reads a socket or allocates.
//!
//! ```
//! use swarm_net::codec::{decode_frame, Message, MAX_FRAME_LEN};
//! let mut buf = [0u8; MAX_FRAME_LEN];
//! let n = Message::GetChunk { id: 7, address: [0xab; 32] }.encode(&mut buf)?;
//! assert_eq!(n, 4 + 34);
//! assert_eq!(decode_frame(&buf[..n - 1])?, None); // need more bytes
//! let frame = decode_frame(&buf[..n])?.unwrap();
//! assert_eq!(frame.len(), n);
//! assert_eq!(frame.message()?, Message::GetChunk { id: 7, address: [0xab; 32] });
//! # Ok::<(), swarm_net::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::Error;

/// Bytes of the frame header (the body length, `u32` little-endian).
pub const HEADER_LEN: usize = 4;
/// The largest whole frame, header included: a buffer this long holds any frame.
pub const MAX_FRAME_LEN: usize = 4352;
/// The largest frame body ([`MAX_FRAME_LEN`] minus the header).
pub const MAX_BODY_LEN: usize = MAX_FRAME_LEN - HEADER_LEN;
/// The largest chunk data a [`Message::Chunk`] or [`Message::FeedUpdate`] carries: a
/// single-owner chunk of 4201 bytes.
pub const MAX_CHUNK_DATA_LEN: usize = swarm_core::soc::MAX_SOC_LEN;
/// The magic in [`Message::Hello`] and [`Message::HelloAck`].
pub const MAGIC: [u8; 4] = *b"DBCP";
/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u16 = 1;
/// The highest tag of version 1 ([`Message::Close`]).
pub const MAX_TAG: u32 = 10;

/// `Error.code` values (`docs/PROTOCOL.md` §3.4).
pub mod error_code {
    /// The server could not ask its own source.
    pub const UPSTREAM: u16 = 1;
    /// Too many requests in flight.
    pub const BUSY: u16 = 2;
    /// The request's fields are invalid for this server.
    pub const BAD_REQUEST: u16 = 3;
    /// Unknown tag, or an optional request this server does not serve.
    pub const UNSUPPORTED: u16 = 4;
    /// Anything else.
    pub const INTERNAL: u16 = 5;
    /// The server's source did not answer in time.
    pub const TIMEOUT: u16 = 6;
}

/// `Close.code` values (`docs/PROTOCOL.md` §3.5).
pub mod close_code {
    /// Orderly shutdown.
    pub const NORMAL: u16 = 0;
    /// The handshake magic is not `"DBCP"`.
    pub const BAD_MAGIC: u16 = 1;
    /// No common protocol version.
    pub const UNSUPPORTED_VERSION: u16 = 2;
    /// A frame header announced more than `MAX_BODY_LEN` bytes.
    pub const FRAME_TOO_LARGE: u16 = 3;
    /// An empty or undecodable body, trailing bytes, or a message in the wrong place.
    pub const MALFORMED: u16 = 4;
    /// Nothing received for the idle timeout.
    pub const IDLE_TIMEOUT: u16 = 5;
    /// No `Hello` within the handshake timeout.
    pub const HANDSHAKE_TIMEOUT: u16 = 6;
}

/// One DBCP message; the variant order is the wire tag (`docs/PROTOCOL.md` §3.2), and every
/// variant starts with its request id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Message<'a> {
    /// Tag 0, client to server, first frame: the versions the client speaks.
    Hello {
        /// Always 0.
        id: u32,
        /// [`MAGIC`].
        magic: [u8; 4],
        /// Lowest version the client speaks.
        min_version: u16,
        /// Highest version the client speaks.
        max_version: u16,
    },
    /// Tag 1, server to client, first frame: the chosen version and the request window.
    HelloAck {
        /// Always 0.
        id: u32,
        /// [`MAGIC`].
        magic: [u8; 4],
        /// The version chosen.
        version: u16,
        /// How many requests the client may have in flight.
        max_in_flight: u16,
    },
    /// Tag 2: ask for the chunk at `address`.
    GetChunk {
        /// Request id.
        id: u32,
        /// Chunk address.
        address: [u8; 32],
    },
    /// Tag 3: the stored chunk (unverified: the client verifies).
    Chunk {
        /// Request id.
        id: u32,
        /// `span || payload`, or a single-owner chunk; at most [`MAX_CHUNK_DATA_LEN`] bytes.
        data: &'a [u8],
    },
    /// Tag 4: the server does not have the chunk (or feed update).
    NotFound {
        /// Request id.
        id: u32,
    },
    /// Tag 5: the server failed the request ([`error_code`]).
    Error {
        /// Request id.
        id: u32,
        /// Error code.
        code: u16,
    },
    /// Tag 6: ask for the latest update of a sequence feed, index at least `after`.
    GetFeedUpdate {
        /// Request id.
        id: u32,
        /// Feed owner (Ethereum address).
        owner: [u8; 20],
        /// Feed topic.
        topic: [u8; 32],
        /// Lowest index of interest.
        after: u64,
    },
    /// Tag 7: a feed update (unverified: the client verifies signature, owner and address).
    FeedUpdate {
        /// Request id.
        id: u32,
        /// The update's index.
        index: u64,
        /// The update's single-owner chunk, at most [`MAX_CHUNK_DATA_LEN`] bytes.
        data: &'a [u8],
    },
    /// Tag 8: liveness probe, answered by [`Message::Pong`].
    Ping {
        /// Request id.
        id: u32,
    },
    /// Tag 9: answer to [`Message::Ping`].
    Pong {
        /// The ping's id.
        id: u32,
    },
    /// Tag 10: the sender closes the connection ([`close_code`]).
    Close {
        /// Always 0.
        id: u32,
        /// Close code.
        code: u16,
    },
}

/// One whole frame found in a receive buffer by [`decode_frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    body: &'a [u8],
}

impl<'a> Message<'a> {
    /// The version-1 `Hello` this crate sends.
    #[must_use]
    pub const fn hello() -> Self {
        Self::Hello {
            id: 0,
            magic: MAGIC,
            min_version: PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
        }
    }

    /// The wire tag of this message.
    #[must_use]
    pub const fn tag(&self) -> u32 {
        match self {
            Self::Hello { .. } => 0,
            Self::HelloAck { .. } => 1,
            Self::GetChunk { .. } => 2,
            Self::Chunk { .. } => 3,
            Self::NotFound { .. } => 4,
            Self::Error { .. } => 5,
            Self::GetFeedUpdate { .. } => 6,
            Self::FeedUpdate { .. } => 7,
            Self::Ping { .. } => 8,
            Self::Pong { .. } => 9,
            Self::Close { .. } => 10,
        }
    }

    /// The request id (0 for `Hello`, `HelloAck` and `Close`).
    #[must_use]
    pub const fn id(&self) -> u32 {
        match self {
            Self::Hello { id, .. }
            | Self::HelloAck { id, .. }
            | Self::GetChunk { id, .. }
            | Self::Chunk { id, .. }
            | Self::NotFound { id }
            | Self::Error { id, .. }
            | Self::GetFeedUpdate { id, .. }
            | Self::FeedUpdate { id, .. }
            | Self::Ping { id }
            | Self::Pong { id }
            | Self::Close { id, .. } => *id,
        }
    }

    /// Writes this message as one whole frame (header and body) at the start of `out`; returns
    /// the frame's length.
    ///
    /// # Errors
    /// [`Error::ChunkDataTooLong`] for chunk data over [`MAX_CHUNK_DATA_LEN`] bytes,
    /// [`Error::BufferTooSmall`] if `out` cannot hold the frame.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, Error> {
        if let Self::Chunk { data, .. } | Self::FeedUpdate { data, .. } = self {
            if data.len() > MAX_CHUNK_DATA_LEN {
                return Err(Error::ChunkDataTooLong { len: data.len() });
            }
        }
        let out_len = out.len();
        let (header, body) =
            out.split_first_chunk_mut::<HEADER_LEN>()
                .ok_or(Error::BufferTooSmall {
                    len: out_len,
                    min: HEADER_LEN,
                })?;
        let body_len = postcard::to_slice(self, body)
            .map_err(|_| Error::BufferTooSmall {
                len: out_len,
                min: MAX_FRAME_LEN,
            })?
            .len();
        // The largest message (a FeedUpdate with 4201 bytes of data) is 4219 body bytes.
        debug_assert!(body_len <= MAX_BODY_LEN);
        let len32 = u32::try_from(body_len).map_err(|_| Error::FrameTooLarge {
            len: body_len,
            max: MAX_BODY_LEN,
        })?;
        *header = len32.to_le_bytes();
        Ok(HEADER_LEN + body_len)
    }

    /// Decodes one message from a frame body (without the length header).
    ///
    /// # Errors
    /// [`Error::EmptyFrame`], [`Error::UnknownMessage`] for a tag above [`MAX_TAG`] (with the
    /// request id, so a server can answer it), [`Error::MalformedMessage`] if the fields do not
    /// decode or bytes are left over, [`Error::ChunkDataTooLong`].
    pub fn decode(body: &'a [u8]) -> Result<Self, Error> {
        if body.is_empty() {
            return Err(Error::EmptyFrame);
        }
        let (tag, id) = peek_header(body)?;
        if tag > MAX_TAG {
            return Err(Error::UnknownMessage { tag, id });
        }
        let (msg, rest) =
            postcard::take_from_bytes::<Self>(body).map_err(|_| Error::MalformedMessage)?;
        if !rest.is_empty() {
            return Err(Error::MalformedMessage);
        }
        if let Self::Chunk { data, .. } | Self::FeedUpdate { data, .. } = msg {
            if data.len() > MAX_CHUNK_DATA_LEN {
                return Err(Error::ChunkDataTooLong { len: data.len() });
            }
        }
        Ok(msg)
    }
}

impl<'a> Frame<'a> {
    /// The body bytes (one encoded message).
    #[must_use]
    pub const fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Bytes the whole frame takes in the buffer (header and body): drop this many.
    #[must_use]
    pub const fn len(&self) -> usize {
        HEADER_LEN + self.body.len()
    }

    /// Always false: a frame has at least its header (present for API symmetry).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Decodes the body; see [`Message::decode`].
    ///
    /// # Errors
    /// As [`Message::decode`].
    pub fn message(&self) -> Result<Message<'a>, Error> {
        Message::decode(self.body)
    }
}

/// Finds the first whole frame at the start of `buf`.
///
/// Returns `Ok(None)` while the frame is incomplete (read more bytes, keeping these), or the
/// frame, whose [`Frame::len`] bytes may then be dropped from the buffer.
///
/// # Errors
/// [`Error::FrameTooLarge`] as soon as a header announces more than [`MAX_BODY_LEN`] bytes
/// (before the body arrives), [`Error::EmptyFrame`] for a zero length. Both are fatal to the
/// connection: the stream cannot be resynchronised.
pub fn decode_frame(buf: &[u8]) -> Result<Option<Frame<'_>>, Error> {
    let Some((header, rest)) = buf.split_first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let len = u32::from_le_bytes(*header);
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len > MAX_BODY_LEN {
        return Err(Error::FrameTooLarge {
            len,
            max: MAX_BODY_LEN,
        });
    }
    if len == 0 {
        return Err(Error::EmptyFrame);
    }
    Ok(rest.get(..len).map(|body| Frame { body }))
}

/// Decodes the first whole frame in `buf` into a message; `Ok(None)` while incomplete.
/// Returns the message and the number of bytes it used.
///
/// # Errors
/// As [`decode_frame`] and [`Message::decode`]. After an [`Error::UnknownMessage`] the frame's
/// length is `HEADER_LEN` plus the header's value; use [`decode_frame`] to skip such frames.
pub fn decode(buf: &[u8]) -> Result<Option<(Message<'_>, usize)>, Error> {
    match decode_frame(buf)? {
        None => Ok(None),
        Some(frame) => Ok(Some((frame.message()?, frame.len()))),
    }
}

/// Reads the tag and request id varints at the start of a body (what a receiver needs to
/// answer or skip a message it does not know).
///
/// # Errors
/// [`Error::MalformedMessage`] if either varint is missing or does not fit a `u32`.
pub fn peek_header(body: &[u8]) -> Result<(u32, u32), Error> {
    let (tag, id) = postcard::take_from_bytes::<(u32, u32)>(body)
        .map_err(|_| Error::MalformedMessage)?
        .0;
    Ok((tag, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(m: &Message<'_>) -> std::vec::Vec<u8> {
        let mut buf = [0u8; MAX_FRAME_LEN];
        let n = m.encode(&mut buf).unwrap();
        buf[..n].to_vec()
    }

    fn unhex(s: &str) -> std::vec::Vec<u8> {
        let s: std::string::String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The example exchange of `docs/PROTOCOL.md` §7, byte for byte.
    #[test]
    fn encodes_the_protocol_doc_examples() {
        let empty: [u8; 32] =
            unhex("b34ca8c22b9e982354f9c7f50b470d66db428d880c8a904d5fe4ec9713171526")
                .try_into()
                .unwrap();
        let cases: [(Message<'_>, &str); 9] = [
            (Message::hello(), "08000000 0000 44424350 01 01"),
            (
                Message::HelloAck {
                    id: 0,
                    magic: MAGIC,
                    version: 1,
                    max_in_flight: 256,
                },
                "09000000 0100 44424350 01 8002",
            ),
            (
                Message::GetChunk {
                    id: 1,
                    address: empty,
                },
                "22000000 0201 b34ca8c22b9e982354f9c7f50b470d66db428d880c8a904d5fe4ec9713171526",
            ),
            (
                Message::GetChunk {
                    id: 2,
                    address: [0; 32],
                },
                "22000000 0202 0000000000000000000000000000000000000000000000000000000000000000",
            ),
            (Message::NotFound { id: 2 }, "02000000 0402"),
            (
                Message::Chunk {
                    id: 1,
                    data: &[0; 8],
                },
                "0b000000 0301 08 0000000000000000",
            ),
            (Message::Close { id: 0, code: 0 }, "03000000 0a00 00"),
            (Message::Error { id: 3, code: 1 }, "03000000 0503 01"),
            (Message::Ping { id: 300 }, "03000000 08ac02"),
        ];
        for (m, hex) in cases {
            let want = unhex(hex);
            assert_eq!(frame(&m), want, "{m:?}");
            let (back, used) = decode(&want).unwrap().unwrap();
            assert_eq!((back, used), (m, want.len()));
        }
        let data = [0x5a; 4104];
        let f = frame(&Message::Chunk { id: 1, data: &data });
        assert_eq!(f[..8], unhex("0c100000 0301 8820")[..]);
        assert_eq!(f.len(), 4 + 4108);
    }

    #[test]
    fn frame_bound_at_n_and_n_plus_1() {
        let mut buf = std::vec![0u8; HEADER_LEN + MAX_BODY_LEN + 1];
        buf[..4].copy_from_slice(&(MAX_BODY_LEN as u32).to_le_bytes());
        assert_eq!(
            decode_frame(&buf).unwrap().map(|f| f.len()),
            Some(MAX_FRAME_LEN)
        );
        buf[..4].copy_from_slice(&(MAX_BODY_LEN as u32 + 1).to_le_bytes());
        assert_eq!(
            decode_frame(&buf[..4]),
            Err(Error::FrameTooLarge {
                len: MAX_BODY_LEN + 1,
                max: MAX_BODY_LEN
            })
        );
        assert_eq!(decode_frame(&[0, 0, 0, 0]), Err(Error::EmptyFrame));
        assert_eq!(
            decode_frame(b"HTTP/1.1 400"),
            Err(Error::FrameTooLarge {
                len: 0x5054_5448,
                max: MAX_BODY_LEN
            })
        );
    }

    #[test]
    fn chunk_data_bound_at_n_and_n_plus_1() {
        let data = [1u8; MAX_CHUNK_DATA_LEN + 1];
        let ok = Message::Chunk {
            id: u32::MAX,
            data: &data[..MAX_CHUNK_DATA_LEN],
        };
        let f = frame(&ok);
        assert!(f.len() <= MAX_FRAME_LEN);
        assert_eq!(decode(&f).unwrap().unwrap().0, ok);
        let mut buf = [0u8; MAX_FRAME_LEN];
        assert_eq!(
            Message::Chunk { id: 1, data: &data }.encode(&mut buf),
            Err(Error::ChunkDataTooLong {
                len: MAX_CHUNK_DATA_LEN + 1
            })
        );
        // Hand-made frame carrying 4202 bytes of data: refused on decode.
        let mut body = std::vec![3u8, 1, 0xea, 0x20];
        body.extend_from_slice(&data);
        assert_eq!(
            Message::decode(&body),
            Err(Error::ChunkDataTooLong {
                len: MAX_CHUNK_DATA_LEN + 1
            })
        );
        let largest = Message::FeedUpdate {
            id: u32::MAX,
            index: u64::MAX,
            data: &data[..MAX_CHUNK_DATA_LEN],
        };
        assert!(frame(&largest).len() <= MAX_FRAME_LEN);
    }

    #[test]
    fn unknown_tags_report_tag_and_id() {
        assert_eq!(
            Message::decode(&[11, 0x85, 0x01, 0xff]),
            Err(Error::UnknownMessage { tag: 11, id: 133 })
        );
        assert_eq!(Message::decode(&[11]), Err(Error::MalformedMessage));
    }

    #[test]
    fn trailing_bytes_are_malformed() {
        assert_eq!(Message::decode(&[4, 2, 0]), Err(Error::MalformedMessage));
        assert_eq!(Message::decode(&[4]), Err(Error::MalformedMessage));
    }

    #[test]
    fn encode_into_short_buffer_fails() {
        let mut buf = [0u8; 10];
        assert!(matches!(
            Message::GetChunk {
                id: 1,
                address: [0; 32]
            }
            .encode(&mut buf),
            Err(Error::BufferTooSmall { .. })
        ));
        assert!(matches!(
            Message::Ping { id: 1 }.encode(&mut buf[..3]),
            Err(Error::BufferTooSmall { .. })
        ));
    }
}
