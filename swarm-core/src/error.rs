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
    // File trees (joiner) and encryption.
    /// No node could supply a chunk the retrieval needs (after every node was asked).
    ChunkNotFound,
    /// A joiner was lent no delivery slot (a window of 0).
    EmptyWindow,
    /// An intermediate chunk whose redundancy level differs from the tree's (the root's).
    LevelMismatch {
        /// Level read from the chunk's span.
        level: u8,
        /// The root's level.
        expected: u8,
    },
    /// A span that is neither a leaf's (at most 4096, unmarked) nor an intermediate chunk's
    /// (over 4096 once the redundancy marker is removed).
    MalformedSpan {
        /// The span as stored.
        span: u64,
    },
    /// A byte range that does not lie within the file.
    RangeOutOfBounds {
        /// First byte asked for.
        start: u64,
        /// End of the range asked for (exclusive).
        end: u64,
        /// The file's size.
        size: u64,
    },
    /// A span whose top byte marks a redundancy level above 4 (`0x85..=0xff`).
    RedundancyLevel {
        /// The span's top byte.
        byte: u8,
    },
    /// A chunk's span differs from the section its parent gives it (a tree whose spans lie).
    SpanMismatch {
        /// The chunk's span (level marker removed).
        span: u64,
        /// The section size the parent implies.
        expected: u64,
    },
    /// A root span larger than a tree of this branching can address (`4096·B^7`).
    SpanTooLarge {
        /// The root's span.
        span: u64,
        /// The largest span accepted.
        max: u64,
    },
    /// Non-zero bytes after the references an intermediate chunk's span implies (too many
    /// references for its span).
    TrailingBytes {
        /// Payload offset of the first unexpected byte.
        offset: usize,
    },
    /// A tree needing more levels of intermediate chunks than the joiner was lent memory for.
    TreeTooDeep {
        /// Levels the tree needs.
        levels: usize,
        /// Levels the joiner holds.
        max: usize,
    },
    /// A chunk holding fewer bytes than its span and the tree shape imply (a leaf shorter
    /// than its span, an intermediate chunk missing references, an encrypted chunk under
    /// 4104 bytes).
    Truncated {
        /// Payload bytes received.
        len: usize,
        /// Payload bytes needed.
        expected: usize,
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

    // Manifests (mantaray) and feeds.
    /// A feed update whose single-owner chunk carries another identifier than the one derived
    /// from the feed's topic and the probed index.
    FeedIdentifier,
    /// No update at the first index a feed lookup probes (index 0 or the caller's minimum
    /// when that is 0): the feed has no update the node will show.
    FeedNotFound,
    /// A feed lookup needed more probes than its bound ([`crate::feed::MAX_FEED_PROBES`] or the
    /// caller's lower limit).
    FeedProbeLimit {
        /// The bound.
        max: u32,
    },
    /// The feed update at the anti-rollback minimum index is absent: the node hides updates the
    /// device has already seen, and the lookup refuses to go below that index.
    FeedRollback {
        /// The minimum index the caller required.
        min_index: u64,
    },
    /// A target string that does not follow the grammar of [`crate::target`].
    InvalidTarget {
        /// The malformed part.
        part: crate::target::TargetPart,
    },
    /// A mantaray fork leads back to a node on the path from the root (a cycle).
    ManifestCycle,
    /// A manifest listing needed more node loads than its caller allowed.
    ManifestLoadLimit {
        /// The bound.
        max: u32,
    },
    /// A manifest lookup or listing went deeper than
    /// [`crate::manifest::MAX_MANIFEST_DEPTH`] nodes.
    ManifestTooDeep,
    /// Mantaray metadata that is not a JSON object of strings (or `null`).
    MetadataSyntax {
        /// Byte offset of the first offending byte inside the metadata.
        offset: usize,
    },
    /// Mantaray metadata with more than [`crate::metadata::MAX_METADATA_KEYS`] keys.
    MetadataTooManyKeys {
        /// The bound.
        max: usize,
    },
    /// Mantaray metadata longer than 65535 bytes once encoded (writer).
    MetadataTooLong {
        /// Encoded length.
        len: usize,
    },
    /// A mantaray fork whose prefix length is 0 or over 30.
    NodeForkPrefix {
        /// The prefix length read.
        len: u8,
    },
    /// A mantaray node whose reference size is not 0, 32 or 64.
    NodeRefSize {
        /// The size read.
        size: u8,
    },
    /// A mantaray node longer than the bound ([`crate::manifest::MAX_NODE_LEN`] or the buffer
    /// lent for it).
    NodeTooLarge {
        /// Node length in bytes.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A mantaray node that ends inside its header, a fork record or its metadata.
    NodeTruncated {
        /// Node length in bytes.
        len: usize,
    },
    /// A mantaray node whose version hash is neither `mantaray:0.1` nor `mantaray:0.2`.
    NodeVersion,
    /// The path is not in the manifest (or names an entry without content). Not a fault of
    /// any node: the manifest itself has no such file.
    NotFound,
    /// A manifest path longer than [`crate::manifest::MAX_PATH_LEN`] bytes.
    PathTooLong {
        /// Path length in bytes.
        len: usize,
    },
}

impl Error {
    /// Whether the node that supplied the bytes is at fault (wrong, forged or malformed data),
    /// as opposed to a misuse of the API or a local limit.
    #[must_use]
    pub const fn is_peer_fault(&self) -> bool {
        match self {
            Self::Bmt(e) => !matches!(e, swarm_bmt::Error::Sink | swarm_bmt::Error::InvalidHex),
            Self::UnexpectedChunk => true,
            // Fewer bytes than the verified span implies: another node may hold them all.
            Self::Truncated { .. } => true,
            // The bytes verified, so every node would send the same tree: final. Or a local
            // limit, or a chunk no node has.
            Self::ChunkNotFound
            | Self::EmptyWindow
            | Self::LevelMismatch { .. }
            | Self::MalformedSpan { .. }
            | Self::RangeOutOfBounds { .. }
            | Self::RedundancyLevel { .. }
            | Self::SpanMismatch { .. }
            | Self::SpanTooLarge { .. }
            | Self::TrailingBytes { .. }
            | Self::TreeTooDeep { .. } => false,
            Self::AddressMismatch
            | Self::BadSignature
            | Self::ChunkLength { .. }
            | Self::ReplicaIdentifier
            | Self::SocLength { .. }
            | Self::WrongOwner => true,
            // Another SOC at the address asked for: the node sent the wrong chunk.
            Self::FeedIdentifier => true,
            // Content that verified but is malformed, absent data and local bounds: final.
            Self::FeedNotFound
            | Self::FeedProbeLimit { .. }
            | Self::FeedRollback { .. }
            | Self::InvalidTarget { .. }
            | Self::ManifestCycle
            | Self::ManifestLoadLimit { .. }
            | Self::ManifestTooDeep
            | Self::MetadataSyntax { .. }
            | Self::MetadataTooManyKeys { .. }
            | Self::MetadataTooLong { .. }
            | Self::NodeForkPrefix { .. }
            | Self::NodeRefSize { .. }
            | Self::NodeTooLarge { .. }
            | Self::NodeTruncated { .. }
            | Self::NodeVersion
            | Self::NotFound
            | Self::PathTooLong { .. } => false,
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
            Self::ChunkNotFound => write!(f, "no node could supply a chunk of the file"),
            Self::EmptyWindow => write!(f, "joiner lent no delivery slot"),
            Self::LevelMismatch { level, expected } => write!(
                f,
                "intermediate chunk at redundancy level {level} in a level {expected} tree"
            ),
            Self::MalformedSpan { span } => {
                write!(
                    f,
                    "span {span:#018x} is neither a leaf's nor an intermediate chunk's"
                )
            }
            Self::RangeOutOfBounds { start, end, size } => {
                write!(f, "range {start}..{end} outside a file of {size} bytes")
            }
            Self::RedundancyLevel { byte } => {
                write!(f, "unknown redundancy level marker {byte:#04x}")
            }
            Self::SpanMismatch { span, expected } => {
                write!(f, "chunk span {span} where its parent implies {expected}")
            }
            Self::SpanTooLarge { span, max } => {
                write!(f, "root span {span} exceeds the largest tree ({max} bytes)")
            }
            Self::TrailingBytes { offset } => write!(
                f,
                "intermediate chunk has non-zero bytes after its references (offset {offset})"
            ),
            Self::TreeTooDeep { levels, max } => {
                write!(
                    f,
                    "tree of {levels} levels is deeper than the joiner's {max}"
                )
            }
            Self::Truncated { len, expected } => {
                write!(
                    f,
                    "chunk payload of {len} bytes where {expected} are needed"
                )
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
            Self::FeedIdentifier => write!(f, "feed update with the wrong identifier"),
            Self::FeedNotFound => write!(f, "no feed update found"),
            Self::FeedProbeLimit { max } => {
                write!(f, "feed lookup needs more than {max} probes")
            }
            Self::FeedRollback { min_index } => write!(
                f,
                "feed update {min_index} (the anti-rollback minimum) is not served"
            ),
            Self::InvalidTarget { part } => write!(f, "malformed target: bad {part:?}"),
            Self::ManifestCycle => write!(f, "manifest fork leads back to an ancestor node"),
            Self::ManifestLoadLimit { max } => {
                write!(f, "manifest listing needs more than {max} node loads")
            }
            Self::ManifestTooDeep => write!(f, "manifest deeper than the lookup bound"),
            Self::MetadataSyntax { offset } => {
                write!(
                    f,
                    "manifest metadata is not a JSON object of strings (byte {offset})"
                )
            }
            Self::MetadataTooManyKeys { max } => {
                write!(f, "manifest metadata has more than {max} keys")
            }
            Self::MetadataTooLong { len } => {
                write!(f, "manifest metadata of {len} bytes exceeds 65535 bytes")
            }
            Self::NodeForkPrefix { len } => {
                write!(f, "manifest fork prefix of {len} bytes is outside 1..=30")
            }
            Self::NodeRefSize { size } => {
                write!(f, "manifest node reference size {size} is not 0, 32 or 64")
            }
            Self::NodeTooLarge { len, max } => {
                write!(f, "manifest node of {len} bytes exceeds {max} bytes")
            }
            Self::NodeTruncated { len } => write!(f, "manifest node of {len} bytes is truncated"),
            Self::NodeVersion => write!(f, "unknown manifest node version"),
            Self::NotFound => write!(f, "path not found in the manifest"),
            Self::PathTooLong { len } => write!(f, "manifest path of {len} bytes is too long"),
        }
    }
}

impl core::error::Error for Error {}
