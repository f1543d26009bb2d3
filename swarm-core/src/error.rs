//! The one error type of `swarm-core`.

use core::fmt;

/// Everything that can go wrong while verifying chunks and interpreting them.
///
/// [`Error::is_peer_fault`] says whether the node that sent the bytes is to blame (so a
/// transport can demote it and ask another node).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The chunk's bytes do not hash to the address that was asked for.
    AddressMismatch,
    /// An error from the BMT layer (lengths, hex, splitter).
    Bmt(swarm_bmt::Error),
    /// A single-owner chunk's signature is malformed (`v` outside 27..=34, `r` or `s` zero or
    /// not below the curve order) or no public key can be recovered from it.
    BadSignature,
    /// A content-addressed chunk shorter than 8 or longer than 4104 bytes.
    ChunkLength {
        /// Bytes received.
        len: usize,
    },
    /// Chunk bytes for an address that is not outstanding (never requested, or already
    /// answered).
    UnexpectedChunk,
    /// A dispersed replica whose identifier does not match the chunk it wraps.
    ReplicaIdentifier,
    /// A single-owner chunk shorter than 105 or longer than 4201 bytes.
    SocLength {
        /// Bytes received.
        len: usize,
    },
    /// A single-owner chunk signed by someone other than the expected owner.
    WrongOwner,
}

impl Error {
    /// Whether the node that supplied the bytes is at fault (wrong, forged or malformed data),
    /// as opposed to a misuse of the API or a local limit.
    #[must_use]
    pub const fn is_peer_fault(&self) -> bool {
        match self {
            Self::Bmt(e) => !matches!(e, swarm_bmt::Error::Sink | swarm_bmt::Error::InvalidHex),
            Self::UnexpectedChunk => true,
            Self::AddressMismatch
            | Self::BadSignature
            | Self::ChunkLength { .. }
            | Self::ReplicaIdentifier
            | Self::SocLength { .. }
            | Self::WrongOwner => true,
        }
    }
}

impl From<swarm_bmt::Error> for Error {
    fn from(e: swarm_bmt::Error) -> Self {
        Self::Bmt(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AddressMismatch => write!(f, "chunk does not hash to its address"),
            Self::Bmt(e) => write!(f, "{e}"),
            Self::BadSignature => write!(f, "malformed or unrecoverable signature"),
            Self::ChunkLength { len } => {
                write!(f, "chunk of {len} bytes is outside 8..=4104 bytes")
            }
            Self::UnexpectedChunk => write!(f, "chunk for an address that was not requested"),
            Self::ReplicaIdentifier => write!(f, "replica identifier does not match its chunk"),
            Self::SocLength { len } => {
                write!(
                    f,
                    "single-owner chunk of {len} bytes is outside 105..=4201 bytes"
                )
            }
            Self::WrongOwner => write!(f, "single-owner chunk signed by another owner"),
        }
    }
}

impl core::error::Error for Error {}
