//! Sans-IO path lookup (`../shared/spec/mantaray-and-api.md` §2.1–2.4).

use swarm_bmt::{ChunkAddress, Reference};

use super::node::{Node, TYPE_VALUE};
use super::{
    KEY_CONTENT_TYPE, KEY_FEED_OWNER, KEY_FEED_TOPIC, KEY_FEED_TYPE, KEY_FILENAME,
    KEY_INDEX_DOCUMENT, MAX_MANIFEST_DEPTH, MAX_NODE_LEN, MAX_PATH_LEN,
};
use crate::feed::Topic;
use crate::metadata::{JsonStr, Metadata};
use crate::soc::Owner;
use crate::Error;

/// How a [`Lookup`] treats paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LookupMode {
    /// Bee's `manifest.Lookup`: the path must lead to a value node; nothing else.
    Exact,
    /// What `GET /bzz/{ref}/{path}` serves (§2.3), without the error document:
    /// - the empty path and `/` resolve to the root's `website-index-document`;
    /// - a path that is not found, when an index document is set and the path does not already
    ///   end with it, is retried as `path/index` (Bee's directory rule; for `dir` without a
    ///   slash Bee answers 308 to `dir/` first, which ends at the same file);
    /// - a root `/` entry carrying `swarm-feed-owner` and `swarm-feed-topic` (a feed manifest)
    ///   stops the lookup with [`Lookup::feed`] set, unless feeds were already followed.
    Website {
        /// Whether a feed manifest may still redirect (Bee follows one feed at most).
        follow_feed: bool,
    },
}

/// A resolved entry: the file reference, the metadata of the fork that led to it, and the path
/// that was finally looked up (the index document's, when one was used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'l> {
    reference: Reference,
    metadata: Metadata<'l>,
    path: &'l [u8],
}

/// A feed manifest's pointer (root `/` metadata, §2.4): the content is the latest update of
/// this feed, itself read as a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedPointer {
    /// Owner from `swarm-feed-owner`.
    pub owner: Owner,
    /// Topic from `swarm-feed-topic`.
    pub topic: Topic,
}

/// Sans-IO lookup of one path in a manifest; see the [module docs](super).
///
/// The caller lends one buffer: it holds the node being processed and, once the last fork is
/// taken, that fork's metadata (kept at the buffer's start, the next node goes after it). Node
/// bytes must be verified by the caller (they are the joined content of the reference
/// [`Lookup::wanted`] names); the lookup itself trusts nothing else about them.
///
/// About 4.2 KiB besides the buffer (two path buffers and the ancestor list).
pub struct Lookup<'b> {
    buf: &'b mut [u8],
    root: Reference,
    mode: LookupMode,
    path: [u8; MAX_PATH_LEN],
    path_len: usize,
    pos: usize,
    index: [u8; MAX_PATH_LEN],
    index_len: Option<usize>,
    fell_back: bool,
    root_seen: bool,
    ancestors: [ChunkAddress; MAX_MANIFEST_DEPTH + 1],
    depth: usize,
    fork_type: Option<u8>,
    meta_len: usize,
    state: State,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Want(Reference),
    Found(Reference),
    Feed(FeedPointer),
    Failed(Error),
}

impl<'b> Lookup<'b> {
    /// Starts looking up `path` (raw bytes, no leading `/`) in the manifest at `root`.
    ///
    /// `buf` must hold the largest node expected plus the final metadata; it is capped at
    /// [`MAX_NODE_LEN`] for nodes.
    ///
    /// # Errors
    /// [`Error::PathTooLong`] over [`MAX_PATH_LEN`] bytes.
    pub fn new(
        root: Reference,
        path: &[u8],
        mode: LookupMode,
        buf: &'b mut [u8],
    ) -> Result<Self, Error> {
        let mut p = [0u8; MAX_PATH_LEN];
        p.get_mut(..path.len())
            .ok_or(Error::PathTooLong { len: path.len() })?
            .copy_from_slice(path);
        let mut ancestors = [ChunkAddress::default(); MAX_MANIFEST_DEPTH + 1];
        if let Some(a) = ancestors.first_mut() {
            *a = *root.address();
        }
        Ok(Self {
            buf,
            root,
            mode,
            path: p,
            path_len: path.len(),
            pos: 0,
            index: [0; MAX_PATH_LEN],
            index_len: None,
            fell_back: false,
            root_seen: false,
            ancestors,
            depth: 0,
            fork_type: None,
            meta_len: 0,
            state: State::Want(root),
        })
    }

    /// The node the lookup needs next; `None` once it has finished (found, not found, a feed
    /// to follow, or failed).
    #[must_use]
    pub const fn wanted(&self) -> Option<Reference> {
        match self.state {
            State::Want(r) => Some(r),
            _ => None,
        }
    }

    /// Where the caller writes the wanted node's bytes before [`Lookup::handle_node`].
    pub fn node_buffer(&mut self) -> &mut [u8] {
        let end = self
            .meta_len
            .saturating_add(MAX_NODE_LEN)
            .min(self.buf.len());
        self.buf.get_mut(self.meta_len..end).unwrap_or_default()
    }

    /// Takes the wanted node, whose `len` bytes the caller wrote at the start of
    /// [`Lookup::node_buffer`], and walks on.
    ///
    /// # Errors
    /// Final: [`Error::NotFound`] when the path is not in the manifest (or names an entry
    /// without content), node decoding errors ([`Node::decode`]), [`Error::ManifestCycle`],
    /// [`Error::ManifestTooDeep`], [`Error::PathTooLong`] (a fallback path too long),
    /// [`Error::NodeTooLarge`] if `len` exceeds the node buffer. [`Error::UnexpectedChunk`]
    /// (nothing changes) if no node is wanted.
    pub fn handle_node(&mut self, len: usize) -> Result<(), Error> {
        if self.wanted().is_none() {
            return Err(Error::UnexpectedChunk);
        }
        let result = self.process(len);
        if let Err(e) = result {
            self.state = State::Failed(e);
        }
        result
    }

    /// Copies `bytes` into the node buffer and calls [`Lookup::handle_node`].
    ///
    /// # Errors
    /// As [`Lookup::handle_node`].
    pub fn handle_node_bytes(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let dst = self.node_buffer();
        let max = dst.len();
        match dst.get_mut(..bytes.len()) {
            Some(d) => d.copy_from_slice(bytes),
            None => {
                let e = Error::NodeTooLarge {
                    len: bytes.len(),
                    max,
                };
                if self.wanted().is_some() {
                    self.state = State::Failed(e);
                }
                return Err(e);
            }
        }
        self.handle_node(bytes.len())
    }

    /// Whether the lookup has ended (see [`Lookup::wanted`]).
    #[must_use]
    pub const fn is_finished(&self) -> bool {
        !matches!(self.state, State::Want(_))
    }

    /// The entry, once found.
    #[must_use]
    pub fn entry(&self) -> Option<Entry<'_>> {
        let State::Found(reference) = self.state else {
            return None;
        };
        let metadata = self
            .buf
            .get(..self.meta_len)
            .and_then(|m| Metadata::parse(m).ok())
            .unwrap_or_default();
        Some(Entry {
            reference,
            metadata,
            path: self.path.get(..self.path_len).unwrap_or_default(),
        })
    }

    /// The feed to follow, when the root is a feed manifest ([`LookupMode::Website`]).
    #[must_use]
    pub const fn feed(&self) -> Option<FeedPointer> {
        match self.state {
            State::Feed(f) => Some(f),
            _ => None,
        }
    }

    /// Gives back the buffer the lookup was lent (to start another lookup in it).
    #[must_use]
    pub fn into_buffer(self) -> &'b mut [u8] {
        self.buf
    }

    /// The error the lookup ended with, if it failed.
    #[must_use]
    pub const fn error(&self) -> Option<Error> {
        match self.state {
            State::Failed(e) => Some(e),
            _ => None,
        }
    }

    fn process(&mut self, len: usize) -> Result<(), Error> {
        let start = self.meta_len;
        let room = self.buf.len().saturating_sub(start).min(MAX_NODE_LEN);
        if len > room {
            return Err(Error::NodeTooLarge { len, max: room });
        }
        let node_bytes = self
            .buf
            .get_mut(start..start + len)
            .ok_or(Error::NodeTooLarge { len, max: room })?;
        let node = Node::decode(node_bytes)?;
        let at_root = self.fork_type.is_none();

        if at_root && !self.root_seen {
            self.root_seen = true;
            if let LookupMode::Website { follow_feed } = self.mode {
                let root_meta = node
                    .fork(b'/')
                    .filter(|f| f.prefix() == b"/" && f.is_value())
                    .map(|f| f.metadata());
                if let Some(meta) = root_meta {
                    if follow_feed {
                        if let Some(feed) = feed_pointer(&meta) {
                            self.state = State::Feed(feed);
                            return Ok(());
                        }
                    }
                    if let Some(idx) = meta.get(KEY_INDEX_DOCUMENT) {
                        let n = idx.decode_into(&mut self.index).map(str::len).ok_or(
                            Error::PathTooLong {
                                len: idx.decoded_len(),
                            },
                        )?;
                        self.index_len = Some(n).filter(|&n| n > 0);
                    }
                }
                let path = self.path.get(..self.path_len).unwrap_or_default();
                if path.is_empty() || path == b"/" {
                    let Some(n) = self.index_len else {
                        return Err(Error::NotFound);
                    };
                    self.path
                        .get_mut(..n)
                        .zip(self.index.get(..n))
                        .map(|(d, s)| d.copy_from_slice(s))
                        .ok_or(Error::PathTooLong { len: n })?;
                    self.path_len = n;
                    self.fell_back = true;
                }
            }
        }

        if self.pos == self.path_len {
            // The root has no type, so it is never an entry.
            let found = self
                .fork_type
                .filter(|t| t & TYPE_VALUE != 0)
                .and_then(|_| node.entry_reference());
            return match found {
                Some(r) => {
                    self.state = State::Found(r);
                    Ok(())
                }
                None => self.not_found(),
            };
        }

        let rest = self.path.get(self.pos..self.path_len).unwrap_or_default();
        let Some(fork) = rest.first().and_then(|&b| node.fork(b)) else {
            return self.not_found();
        };
        if !rest.starts_with(fork.prefix()) {
            return self.not_found();
        }
        let child = fork.child_reference()?;
        if self
            .ancestors
            .get(..=self.depth)
            .is_some_and(|a| a.contains(child.address()))
        {
            return Err(Error::ManifestCycle);
        }
        let depth = self.depth + 1;
        let slot = self
            .ancestors
            .get_mut(depth)
            .ok_or(Error::ManifestTooDeep)?;
        *slot = *child.address();
        self.pos += fork.prefix().len();
        self.fork_type = Some(fork.node_type());
        let meta = (
            start + fork.metadata_offset(),
            fork.metadata().as_bytes().len(),
        );
        self.depth = depth;
        self.meta_len = 0;
        if self.pos == self.path_len {
            // The last fork: keep its metadata at the buffer's start for the entry.
            self.buf.copy_within(meta.0..meta.0 + meta.1, 0);
            self.meta_len = meta.1;
        }
        self.state = State::Want(child);
        Ok(())
    }

    /// The path is not in the manifest: in website mode, retry once with the index document
    /// appended; otherwise fail with [`Error::NotFound`].
    fn not_found(&mut self) -> Result<(), Error> {
        let LookupMode::Website { .. } = self.mode else {
            return Err(Error::NotFound);
        };
        let (Some(n), false) = (self.index_len, self.fell_back) else {
            return Err(Error::NotFound);
        };
        let index = self.index.get(..n).unwrap_or_default();
        let path = self.path.get(..self.path_len).unwrap_or_default();
        if path.ends_with(index) {
            return Err(Error::NotFound);
        }
        let mut base = path.len();
        while base > 0 && path.get(base - 1) == Some(&b'/') {
            base -= 1;
        }
        let sep = usize::from(base > 0);
        let total = base + sep + n;
        let dst = self
            .path
            .get_mut(base..total)
            .ok_or(Error::PathTooLong { len: total })?;
        if let Some((slash, tail)) = dst.split_first_mut().filter(|_| sep == 1) {
            *slash = b'/';
            tail.copy_from_slice(index);
        } else {
            dst.copy_from_slice(index);
        }
        self.path_len = total;
        self.fell_back = true;
        self.pos = 0;
        self.depth = 0;
        self.fork_type = None;
        self.meta_len = 0;
        self.state = State::Want(self.root);
        Ok(())
    }
}

impl<'l> Entry<'l> {
    /// The file's reference.
    #[must_use]
    pub const fn reference(&self) -> Reference {
        self.reference
    }

    /// The metadata stored with the entry.
    #[must_use]
    pub const fn metadata(&self) -> Metadata<'l> {
        self.metadata
    }

    /// The path that was looked up to reach the entry.
    #[must_use]
    pub const fn path(&self) -> &'l [u8] {
        self.path
    }

    /// The `Content-Type` metadata value.
    #[must_use]
    pub fn content_type(&self) -> Option<JsonStr<'l>> {
        self.metadata.get(KEY_CONTENT_TYPE)
    }

    /// The `Filename` metadata value.
    #[must_use]
    pub fn filename(&self) -> Option<JsonStr<'l>> {
        self.metadata.get(KEY_FILENAME)
    }
}

/// A feed pointer from root metadata, as Bee reads it (§2.3 step 3): owner and topic present,
/// non-empty and hex, and a type that is absent or `Sequence` (case-insensitive). Anything else
/// is not a feed manifest (Bee skips the step silently).
fn feed_pointer(meta: &Metadata<'_>) -> Option<FeedPointer> {
    let owner_text = meta.get(KEY_FEED_OWNER)?;
    let topic_text = meta.get(KEY_FEED_TOPIC)?;
    if let Some(t) = meta.get(KEY_FEED_TYPE) {
        let mut buf = [0u8; 8];
        if !t.decode_into(&mut buf)?.eq_ignore_ascii_case("sequence") {
            return None;
        }
    }
    let mut hex_buf = [0u8; 64];
    let owner_hex = owner_text.decode_into(&mut hex_buf)?;
    let mut owner = [0u8; 20];
    hex::decode_to_slice(owner_hex, &mut owner).ok()?;
    let mut hex_buf = [0u8; 64];
    let topic_hex = topic_text.decode_into(&mut hex_buf)?;
    let mut topic = [0u8; 32];
    let topic_len = topic_hex.len() / 2;
    hex::decode_to_slice(topic_hex, topic.get_mut(..topic_len)?).ok()?;
    Some(FeedPointer {
        owner: Owner(owner),
        topic: Topic::from_slice(topic.get(..topic_len)?)?,
    })
}
