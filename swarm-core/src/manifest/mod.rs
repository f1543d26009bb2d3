//! Mantaray manifests: the path → file index Bee's `/bzz` builds for collections and websites
//! (`../shared/spec/mantaray-and-api.md` §1–3).
//!
//! A manifest is a trie of *nodes*; each node is a file (one chunk, or a chunk tree when over
//! 4096 bytes) holding its own entry (a file reference) and *forks*: a path prefix, the
//! child's type flags and metadata, and the child node's reference.
//!
//! - [`Node`]: decodes one node (every version and writer variant the spec lists), no
//!   allocation, borrowed view;
//! - [`Lookup`]: sans-IO path resolution — it names the node it wants, the caller puts the
//!   node's bytes (joined and verified by the caller, e.g. with the joiner) into the buffer the
//!   lookup lends, and it walks on; [`LookupMode::Website`] adds Bee's index-document rules;
//! - [`Listing`]: every entry of a manifest, the same way;
//! - with `alloc`: `ManifestWriter`, byte-identical to Go Bee's writer, and
//!   `build_collection`, Bee's directory upload.
//!
//! ```
//! use swarm_core::manifest::{Lookup, LookupMode, ManifestWriter};
//! # use std::collections::HashMap;
//! // Build a manifest (alloc) and keep its nodes, as a store would.
//! let mut nodes = HashMap::new();
//! let file: swarm_bmt::Reference = "aa".repeat(32).parse()?;
//! let mut w = ManifestWriter::new();
//! w.add(b"vmlinuz", &file, &[("Content-Type", "application/octet-stream")])?;
//! let root = w.save(|addr: &swarm_bmt::ChunkAddress, chunk: &[u8]| {
//!     nodes.insert(*addr, chunk[8..].to_vec()); // single-chunk nodes: the payload
//!     Ok(())
//! })?;
//!
//! // Resolve a path with no allocation: lend a buffer, feed the nodes it asks for.
//! let mut buf = [0u8; 8192];
//! let mut lookup = Lookup::new(root, b"vmlinuz", LookupMode::Exact, &mut buf)?;
//! while let Some(wanted) = lookup.wanted() {
//!     lookup.handle_node_bytes(&nodes[wanted.address()])?;
//! }
//! let entry = lookup.entry().unwrap();
//! assert_eq!(entry.reference(), file);
//! assert!(entry.content_type().unwrap().eq_str("application/octet-stream"));
//! # Ok::<(), swarm_core::Error>(())
//! ```
//!
//! # Bounds
//! - [`MAX_NODE_LEN`] bytes per node (and the buffer the caller lends), else
//!   [`Error::NodeTooLarge`](crate::Error::NodeTooLarge);
//! - [`MAX_PATH_LEN`] bytes per path (also for index documents and listed paths), else
//!   [`Error::PathTooLong`](crate::Error::PathTooLong);
//! - [`MAX_MANIFEST_DEPTH`] forks followed from the root, else [`Error::ManifestTooDeep`](crate::Error::ManifestTooDeep);
//! - a fork leading back to a node on the current path is [`Error::ManifestCycle`](crate::Error::ManifestCycle);
//! - [`crate::metadata::MAX_METADATA_KEYS`] metadata pairs per fork;
//! - a listing loads at most the number of nodes its caller allows
//!   ([`DEFAULT_MAX_LISTING_LOADS`] by default).

mod listing;
mod lookup;
mod node;
#[cfg(feature = "alloc")]
mod writer;

pub use listing::{ListEntry, ListStep, Listing, DEFAULT_MAX_LISTING_LOADS};
pub use lookup::{Entry, FeedPointer, Lookup, LookupMode};
pub use node::{
    Fork, ForkPosition, Forks, Node, Version, HEADER_LEN, MAX_NODE_LEN, MAX_PREFIX_LEN, TYPE_EDGE,
    TYPE_VALUE, TYPE_WITH_METADATA, TYPE_WITH_PATH_SEPARATOR, VERSION_01_HASH, VERSION_02_HASH,
};
#[cfg(feature = "alloc")]
pub use writer::{
    build_collection, build_collection_with, build_directory, build_directory_with,
    build_feed_manifest, build_single_file, content_type_for, ManifestWriter,
};

/// Longest path a lookup or listing handles, in bytes (Bee has no limit).
pub const MAX_PATH_LEN: usize = 1024;
/// Most forks a lookup or listing follows from the root (each consumes at least one path
/// byte; Go Bee splits long names every 30 bytes, so a 1024-byte path needs about 35).
pub const MAX_MANIFEST_DEPTH: usize = 64;

/// Metadata key of a file's media type (sent as `Content-Type` by Bee).
pub const KEY_CONTENT_TYPE: &str = "Content-Type";
/// Metadata key of a file's name (Bee's `Content-Disposition`).
pub const KEY_FILENAME: &str = "Filename";
/// Root (`/`) metadata key: the document served for the empty path and for directories.
pub const KEY_INDEX_DOCUMENT: &str = "website-index-document";
/// Root (`/`) metadata key: the document Bee serves when nothing else matches.
pub const KEY_ERROR_DOCUMENT: &str = "website-error-document";
/// Root (`/`) metadata key of a feed manifest: the feed owner (40 hex digits).
pub const KEY_FEED_OWNER: &str = "swarm-feed-owner";
/// Root (`/`) metadata key of a feed manifest: the feed topic (hex).
pub const KEY_FEED_TOPIC: &str = "swarm-feed-topic";
/// Root (`/`) metadata key of a feed manifest: `Sequence` or `Epoch`.
pub const KEY_FEED_TYPE: &str = "swarm-feed-type";
