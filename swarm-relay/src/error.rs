//! The one error type of `swarm-relay`.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in the relay: store, import, upstream and serving.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A chunk failed verification against the address it was stored or fetched under.
    #[error("chunk {address} failed verification: {source}")]
    Verification {
        /// Hex of the chunk address.
        address: swarm_bmt::ChunkAddress,
        /// Why it failed.
        source: swarm_core::Error,
    },
    /// The embedded database (redb) failed.
    #[error("store: {0}")]
    Db(#[from] redb::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The path involved.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A socket or other I/O error.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// Import of a path that is neither a file nor a directory, an empty directory, or a name
    /// that is not UTF-8.
    #[error("{path}: {reason}")]
    Import {
        /// The path given to `import`.
        path: PathBuf,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// The collection manifest of a directory could not be built.
    #[error("{path}: manifest: {source}")]
    Manifest {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: swarm_core::Error,
    },
    /// The splitter rejected the content (longer than [`swarm_bmt::MAX_FILE_LEN`]).
    #[error("splitter: {0}")]
    Split(swarm_bmt::Error),
    /// The upstream Bee node failed (not "not found": that is an answer, not an error).
    #[error("upstream: {0}")]
    Upstream(String),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Self::Db(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
