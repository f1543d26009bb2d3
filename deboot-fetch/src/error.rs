//! The one error type of `deboot-fetch`, and the exit status each error maps to.

use std::fmt;
use std::io;
use std::path::PathBuf;

use swarm_bmt::ChunkAddress;
use swarm_net::Fault;

use crate::fetch::NodeReport;

/// The exit status of `deboot-fetch`; see the [crate docs](crate#exit-status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// The target was fetched, verified and written.
    Success = 0,
    /// A bad command line: unknown flag, malformed node URL or target, a window out of range,
    /// output too large for standard output.
    Usage = 2,
    /// Every node said "not found" for a chunk the target needs, the path is not in the
    /// manifest, or the feed has no update.
    NotFound = 3,
    /// Every node failed a chunk: it sent bytes that failed verification, timed out, broke the
    /// protocol, or could not be reached.
    NodesFailed = 4,
    /// The chunks verified but the content is not what the target needs (not a manifest, a
    /// malformed tree, a bound exceeded), or the feed's newest update is below the
    /// anti-rollback minimum.
    Refused = 5,
    /// A local file could not be read or written (the output, the min-index file).
    Io = 6,
}

/// Why a fetch failed; [`Error::exit`] gives the exit status, `Display` the one line to print.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A bad command line (exit [`Exit::Usage`]).
    Usage(String),
    /// The fetch itself failed (boxed: it carries the node reports).
    Fetch(Box<FetchFailure>),
    /// The output was larger than [`crate::MAX_STDOUT_LEN`] without `-o`.
    OutputTooLarge {
        /// The bound.
        max: usize,
    },
    /// A local file operation failed.
    Io {
        /// What was being done (`"writing"`, `"reading the min-index file"`).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// A failed fetch: what was asked, what went wrong, and how each node behaved.
#[derive(Debug)]
#[non_exhaustive]
pub struct FetchFailure {
    /// The target, as given.
    pub target: String,
    /// What the client reported.
    pub error: swarm_net::Error,
    /// The chunk every node said it does not have, when that is the cause.
    pub missing: Option<ChunkAddress>,
    /// How each node behaved.
    pub nodes: Vec<NodeReport>,
}

impl Error {
    /// The exit status this error maps to.
    #[must_use]
    pub fn exit(&self) -> Exit {
        use swarm_core::Error as Core;
        match self {
            Self::Usage(_) | Self::OutputTooLarge { .. } => Exit::Usage,
            Self::Io { .. } => Exit::Io,
            Self::Fetch(failure) => match &failure.error {
                swarm_net::Error::Core(
                    Core::ChunkNotFound | Core::NotFound | Core::FeedNotFound,
                ) => Exit::NotFound,
                swarm_net::Error::Core(Core::InvalidTarget { .. } | Core::PathTooLong { .. })
                | swarm_net::Error::BadUrl
                | swarm_net::Error::NoNodes
                | swarm_net::Error::TooManyNodes { .. } => Exit::Usage,
                swarm_net::Error::Core(_) => Exit::Refused,
                _ => Exit::NodesFailed,
            },
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(m) => f.write_str(m),
            Self::OutputTooLarge { max } => write!(
                f,
                "output exceeds {max} bytes, the most held back for standard output until \
                 verified: use -o FILE"
            ),
            Self::Io {
                action,
                path,
                source,
            } => write!(f, "{action} {}: {source}", path.display()),
            Self::Fetch(failure) => {
                let FetchFailure {
                    target,
                    error,
                    missing,
                    nodes,
                } = &**failure;
                write!(f, "{target}: ")?;
                fetch_reason(f, error, *missing)?;
                f.write_str(" [")?;
                for (i, n) in nodes.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{n}")?;
                }
                f.write_str("]")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Fetch(failure) => Some(&failure.error),
            _ => None,
        }
    }
}

fn fetch_reason(
    f: &mut fmt::Formatter<'_>,
    error: &swarm_net::Error,
    missing: Option<ChunkAddress>,
) -> fmt::Result {
    use swarm_core::Error as Core;
    match error {
        swarm_net::Error::AllNodesFailed { address, last } => {
            write!(
                f,
                "chunk {address}: no node supplied it verified; last failure: "
            )?;
            match last {
                Fault::Disconnected => {
                    write!(f, "could not connect, or the connection was lost too often")
                }
                other => write!(f, "{other}"),
            }
        }
        swarm_net::Error::Core(Core::ChunkNotFound) => match missing {
            Some(a) => write!(f, "chunk {a} is not found on any node"),
            None => write!(f, "a chunk is not found on any node"),
        },
        swarm_net::Error::Core(Core::NotFound) => write!(f, "the path is not in the manifest"),
        swarm_net::Error::Core(Core::FeedNotFound) => {
            write!(f, "no node has an update of this feed")
        }
        swarm_net::Error::Core(Core::FeedRollback { min_index }) => write!(
            f,
            "feed update {min_index} (the anti-rollback minimum) is not served: refusing an \
             older update"
        ),
        swarm_net::Error::Core(e) => write!(f, "verified content refused: {e}"),
        e => write!(f, "{e}"),
    }
}
