//! Sans-IO listing of every entry of a manifest (for tools).

use swarm_bmt::Reference;

use super::node::{ForkPosition, Node, TYPE_VALUE};
use super::{MAX_MANIFEST_DEPTH, MAX_NODE_LEN, MAX_PATH_LEN};
use crate::metadata::Metadata;
use crate::Error;

/// Node loads a [`Listing`] allows unless told otherwise ([`Listing::with_max_loads`]).
pub const DEFAULT_MAX_LISTING_LOADS: u32 = 1 << 20;

/// What a [`Listing`] wants or has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStep<'l> {
    /// Load this node: write its bytes to [`Listing::node_buffer`], then call
    /// [`Listing::handle_node`].
    Load(Reference),
    /// An entry (a value node); poll again for the next.
    Entry(ListEntry<'l>),
    /// Every entry has been listed.
    Done,
}

/// One listed entry: its full path, its entry (which may be empty or all zeros, e.g. the root
/// `/` entry that only carries website metadata) and its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListEntry<'l> {
    path: &'l [u8],
    entry: &'l [u8],
    metadata: Metadata<'l>,
}

/// Depth-first, fork-ordered walk over every value node of a manifest.
///
/// Like [`super::Lookup`] it names nodes and the caller supplies their bytes into a lent
/// buffer. Only the node being walked is kept, so after finishing a child subtree its parent
/// is asked for again (a caller may cache nodes); every load counts towards the bound.
/// Entries come in byte order of their paths. About 7.2 KiB besides the buffer (the path
/// and one frame per level).
pub struct Listing<'b> {
    buf: &'b mut [u8],
    path: [u8; MAX_PATH_LEN],
    stack: [Frame; MAX_MANIFEST_DEPTH + 1],
    depth: usize,
    loaded: Option<usize>,
    meta_len: usize,
    loads: u32,
    max_loads: u32,
    failed: Option<Error>,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    reference: Reference,
    path_len: usize,
    fork_type: Option<u8>,
    position: ForkPosition,
    entered: bool,
}

impl<'b> Listing<'b> {
    /// Starts listing the manifest at `root`, with `buf` for one node and one fork's metadata.
    #[must_use]
    pub fn new(root: Reference, buf: &'b mut [u8]) -> Self {
        let empty = Frame {
            reference: root,
            path_len: 0,
            fork_type: None,
            position: ForkPosition::default(),
            entered: false,
        };
        Self {
            buf,
            path: [0; MAX_PATH_LEN],
            stack: [empty; MAX_MANIFEST_DEPTH + 1],
            depth: 1,
            loaded: None,
            meta_len: 0,
            loads: 0,
            max_loads: DEFAULT_MAX_LISTING_LOADS,
            failed: None,
        }
    }

    /// Sets the most node loads allowed (shared subtrees are walked once per path leading
    /// to them, so a hostile manifest could otherwise ask for very many).
    #[must_use]
    pub const fn with_max_loads(mut self, max_loads: u32) -> Self {
        self.max_loads = max_loads;
        self
    }

    /// Where the caller writes the node named by [`ListStep::Load`].
    pub fn node_buffer(&mut self) -> &mut [u8] {
        let end = self
            .meta_len
            .saturating_add(MAX_NODE_LEN)
            .min(self.buf.len());
        self.buf.get_mut(self.meta_len..end).unwrap_or_default()
    }

    /// Takes the node asked for, whose `len` bytes are at the start of
    /// [`Listing::node_buffer`].
    ///
    /// # Errors
    /// Final: node decoding errors ([`Node::decode`]), [`Error::NodeTooLarge`] if `len`
    /// exceeds the node buffer. [`Error::UnexpectedChunk`] (nothing changes) if no node is
    /// wanted.
    pub fn handle_node(&mut self, len: usize) -> Result<(), Error> {
        if self.failed.is_some() || self.loaded.is_some() || self.depth == 0 {
            return Err(Error::UnexpectedChunk);
        }
        let start = self.meta_len;
        let room = self.buf.len().saturating_sub(start).min(MAX_NODE_LEN);
        let result = match self.buf.get_mut(start..start.saturating_add(len)) {
            Some(bytes) if len <= room => Node::decode(bytes).map(|_| ()),
            _ => Err(Error::NodeTooLarge { len, max: room }),
        };
        match result {
            Ok(()) => self.loaded = Some(len),
            Err(e) => self.failed = Some(e),
        }
        result
    }

    /// Copies `bytes` into the node buffer and calls [`Listing::handle_node`].
    ///
    /// # Errors
    /// As [`Listing::handle_node`].
    pub fn handle_node_bytes(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let dst = self.node_buffer();
        let max = dst.len();
        let Some(d) = dst.get_mut(..bytes.len()) else {
            let e = Error::NodeTooLarge {
                len: bytes.len(),
                max,
            };
            self.failed = Some(e);
            return Err(e);
        };
        d.copy_from_slice(bytes);
        self.handle_node(bytes.len())
    }

    /// The next step: a node to load, an entry, or the end.
    ///
    /// # Errors
    /// Final: an earlier node error, [`Error::ManifestCycle`], [`Error::ManifestTooDeep`],
    /// [`Error::PathTooLong`] (a listed path over [`MAX_PATH_LEN`] bytes),
    /// [`Error::ManifestLoadLimit`] when the walk needs more loads than allowed.
    pub fn poll(&mut self) -> Result<ListStep<'_>, Error> {
        let result = self.step();
        if let Err(e) = result {
            self.failed = Some(e);
        }
        match result? {
            Step::Load(r) => Ok(ListStep::Load(r)),
            Step::Done => Ok(ListStep::Done),
            Step::Entry { path_len, node_len } => {
                let node_bytes = self
                    .buf
                    .get(self.meta_len..self.meta_len + node_len)
                    .unwrap_or_default();
                let entry = Node::reopen(node_bytes)
                    .map(|n| n.entry())
                    .unwrap_or_default();
                let metadata = self
                    .buf
                    .get(..self.meta_len)
                    .and_then(|m| Metadata::parse(m).ok())
                    .unwrap_or_default();
                Ok(ListStep::Entry(ListEntry {
                    path: self.path.get(..path_len).unwrap_or_default(),
                    entry,
                    metadata,
                }))
            }
        }
    }

    fn step(&mut self) -> Result<Step, Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        loop {
            let Some(top_index) = self.depth.checked_sub(1) else {
                return Ok(Step::Done);
            };
            let top = *self.stack.get(top_index).ok_or(Error::ManifestTooDeep)?;
            let Some(node_len) = self.loaded else {
                if self.loads >= self.max_loads {
                    return Err(Error::ManifestLoadLimit {
                        max: self.max_loads,
                    });
                }
                self.loads += 1;
                return Ok(Step::Load(top.reference));
            };
            if !top.entered {
                if let Some(f) = self.stack.get_mut(top_index) {
                    f.entered = true;
                }
                if top.fork_type.is_some_and(|t| t & TYPE_VALUE != 0) {
                    return Ok(Step::Entry {
                        path_len: top.path_len,
                        node_len,
                    });
                }
            }
            let start = self.meta_len;
            let node_bytes = self
                .buf
                .get(start..start + node_len)
                .ok_or(Error::NodeTruncated { len: node_len })?;
            let node = Node::reopen(node_bytes)?;
            let mut forks = node.forks_from(top.position);
            let Some(fork) = forks.next() else {
                // Subtree done: back to the parent, which has to be loaded again.
                self.depth = top_index;
                self.loaded = None;
                self.meta_len = 0;
                continue;
            };
            let position = forks.position();
            let child = fork.child_reference()?;
            if self
                .stack
                .get(..self.depth)
                .is_some_and(|s| s.iter().any(|f| f.reference.address() == child.address()))
            {
                return Err(Error::ManifestCycle);
            }
            let path_len = top.path_len + fork.prefix().len();
            self.path
                .get_mut(top.path_len..path_len)
                .ok_or(Error::PathTooLong { len: path_len })?
                .copy_from_slice(fork.prefix());
            let frame = Frame {
                reference: child,
                path_len,
                fork_type: Some(fork.node_type()),
                position: ForkPosition::default(),
                entered: false,
            };
            let meta = (
                start + fork.metadata_offset(),
                fork.metadata().as_bytes().len(),
            );
            *self
                .stack
                .get_mut(self.depth)
                .ok_or(Error::ManifestTooDeep)? = frame;
            if let Some(f) = self.stack.get_mut(top_index) {
                f.position = position;
            }
            self.depth += 1;
            self.buf.copy_within(meta.0..meta.0 + meta.1, 0);
            self.meta_len = meta.1;
            self.loaded = None;
        }
    }
}

impl<'l> ListEntry<'l> {
    /// The entry's full path.
    #[must_use]
    pub const fn path(&self) -> &'l [u8] {
        self.path
    }

    /// The entry bytes as stored (`ref_size` bytes; may be empty or zeros).
    #[must_use]
    pub const fn entry(&self) -> &'l [u8] {
        self.entry
    }

    /// The entry as a reference; `None` when empty or all zeros.
    #[must_use]
    pub fn reference(&self) -> Option<Reference> {
        if self.entry.iter().all(|&b| b == 0) {
            return None;
        }
        Reference::from_slice(self.entry).ok()
    }

    /// The metadata of the fork that leads to the entry.
    #[must_use]
    pub const fn metadata(&self) -> Metadata<'l> {
        self.metadata
    }
}

enum Step {
    Load(Reference),
    Entry { path_len: usize, node_len: usize },
    Done,
}
