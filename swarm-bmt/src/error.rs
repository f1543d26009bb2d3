//! The one error type of `swarm-bmt`.

use core::fmt;

/// Everything that can go wrong while hashing chunks, splitting files or parsing references.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// A batch call was given a different number of chunks and address slots.
    BatchMismatch {
        /// Chunks given.
        chunks: usize,
        /// Address slots given.
        addresses: usize,
    },
    /// A stream grew past the largest file a chunk tree can address (`MAX_FILE_LEN`).
    FileTooLarge,
    /// A hex string had a character outside `0-9a-fA-F`.
    InvalidHex,
    /// A chunk held fewer than the 8 bytes of its span.
    ChunkTooShort {
        /// Bytes given.
        len: usize,
    },
    /// A payload longer than [`crate::MAX_PAYLOAD_LEN`] bytes.
    PayloadTooLong {
        /// Bytes given (or that would have been held after the write).
        len: usize,
    },
    /// A reference that is neither 32 bytes (64 hex digits) nor 64 bytes (128 hex digits).
    ReferenceLength {
        /// Bytes given (hex digits / 2 when parsing text).
        len: usize,
    },
    /// The caller's chunk sink refused a chunk produced by the splitter.
    Sink,
    /// The span disagrees with the payload it came with.
    SpanMismatch {
        /// The span value.
        span: u64,
        /// The payload length.
        payload_len: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BatchMismatch { chunks, addresses } => {
                write!(f, "{chunks} chunks but {addresses} address slots")
            }
            Self::FileTooLarge => write!(f, "file larger than a chunk tree can address"),
            Self::InvalidHex => write!(f, "invalid hex digit"),
            Self::ChunkTooShort { len } => {
                write!(f, "chunk of {len} bytes is shorter than its 8-byte span")
            }
            Self::PayloadTooLong { len } => {
                write!(f, "payload of {len} bytes is longer than 4096 bytes")
            }
            Self::ReferenceLength { len } => {
                write!(f, "reference of {len} bytes is neither 32 nor 64 bytes")
            }
            Self::Sink => write!(f, "chunk sink refused a chunk"),
            Self::SpanMismatch { span, payload_len } => {
                write!(
                    f,
                    "span {span} disagrees with a payload of {payload_len} bytes"
                )
            }
        }
    }
}

impl core::error::Error for Error {}
