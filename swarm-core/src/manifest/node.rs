//! One mantaray node: a borrowed view over the node's whole bytes
//! (`../shared/spec/mantaray-and-api.md` §1).

use swarm_bmt::Reference;

use crate::metadata::Metadata;
use crate::Error;

/// Longest node [`Node::decode`] accepts, in bytes. Bee's own nodes stay far below (a root
/// with 256 forks carrying file metadata is about 30 KiB); the format allows 16 MiB.
pub const MAX_NODE_LEN: usize = 128 * 1024;
/// Longest fork prefix: a fork record reserves 30 bytes for it.
pub const MAX_PREFIX_LEN: usize = 30;
/// Bytes of the node header: obfuscation key, version hash and reference size.
pub const HEADER_LEN: usize = 64;

/// Type flag of a node that holds an entry (accepts a lookup).
pub const TYPE_VALUE: u8 = 0x02;
/// Type flag of a node that has forks (informational; readers ignore it).
pub const TYPE_EDGE: u8 = 0x04;
/// Type flag "a `/` occurs after the first byte" (informational; readers ignore it).
pub const TYPE_WITH_PATH_SEPARATOR: u8 = 0x08;
/// Type flag of a fork that carries metadata (version 0.2).
pub const TYPE_WITH_METADATA: u8 = 0x10;

/// First 31 bytes of `keccak256("mantaray:0.1")`.
pub const VERSION_01_HASH: [u8; 31] = [
    0x02, 0x51, 0x84, 0x78, 0x9d, 0x63, 0x63, 0x57, 0x66, 0xd7, 0x8c, 0x41, 0x90, 0x01, 0x96, 0xb5,
    0x7d, 0x74, 0x00, 0x87, 0x5e, 0xbe, 0x4d, 0x9b, 0x5d, 0x1e, 0x76, 0xbd, 0x96, 0x52, 0xa9,
];
/// First 31 bytes of `keccak256("mantaray:0.2")`.
pub const VERSION_02_HASH: [u8; 31] = [
    0x57, 0x68, 0xb3, 0xb6, 0xa7, 0xdb, 0x56, 0xd2, 0x1d, 0x1a, 0xbf, 0xf4, 0x0d, 0x41, 0xce, 0xbf,
    0xc8, 0x34, 0x48, 0xfe, 0xd8, 0xd7, 0xe9, 0xb0, 0x6e, 0xc0, 0xd3, 0xb0, 0x73, 0xf2, 0x8f,
];

/// Bytes of a fork record before the child reference: type, prefix length, 30-byte prefix.
const FORK_PRE_REF_LEN: usize = 32;

/// The node format version, from the version hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Version {
    /// `mantaray:0.1`: forks carry no metadata.
    V01,
    /// `mantaray:0.2`: forks may carry metadata; a node with reference size 0 has no forks.
    V02,
}

/// A decoded mantaray node.
///
/// Every length was checked and every fork's metadata validated by [`Node::decode`], so no
/// accessor can fail.
///
/// ```
/// use swarm_core::manifest::{Node, Version};
/// // A 96-byte leaf without entry or forks (what Bee writes for `/` in a single-file upload).
/// let mut bytes = [0u8; 96];
/// bytes[32..63].copy_from_slice(&swarm_core::manifest::VERSION_02_HASH);
/// let node = Node::decode(&mut bytes)?;
/// assert_eq!(node.version(), Version::V02);
/// assert_eq!((node.ref_size(), node.forks().count()), (0, 0));
/// assert!(node.entry_reference().is_none());
/// # Ok::<(), swarm_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node<'a> {
    obfuscation_key: [u8; 32],
    header: Header,
    plain: &'a [u8],
    end: usize,
    fork_count: u16,
}

/// One fork of a node: the path prefix, the child's type and metadata, and the child node's
/// reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fork<'a> {
    first_byte: u8,
    node_type: u8,
    prefix: &'a [u8],
    child: &'a [u8],
    metadata: Metadata<'a>,
    metadata_offset: usize,
}

/// The forks of a node in ascending order of their first byte.
#[derive(Debug, Clone)]
pub struct Forks<'a> {
    plain: &'a [u8],
    header: Header,
    position: ForkPosition,
}

/// Where a fork iteration stands: the next bitmap bit to look at and the byte offset of the
/// next fork record. Valid for the node bytes it was taken from (and any byte-identical copy,
/// such as the same node loaded again by reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ForkPosition {
    bit: u16,
    offset: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    version: Version,
    ref_size: u8,
    bitmap: [u8; 32],
}

impl<'a> Node<'a> {
    /// Decodes the node in `bytes` (the whole decoded content of the node's file), undoing the
    /// obfuscation XOR in place.
    ///
    /// Afterwards `bytes` holds the plain node with an all-zero key, so decoding the same
    /// buffer again is a no-op; [`Node::obfuscation_key`] returns the key found.
    /// Bytes after the last fork record are ignored, as Bee does.
    ///
    /// # Errors
    /// [`Error::NodeTooLarge`] over [`MAX_NODE_LEN`]; [`Error::NodeTruncated`] below 64 bytes
    /// or when the entry, a fork record or its metadata runs past the end;
    /// [`Error::NodeVersion`]; [`Error::NodeRefSize`] for a reference size other than 0, 32
    /// or 64; [`Error::NodeForkPrefix`]; [`Error::MetadataSyntax`] /
    /// [`Error::MetadataTooManyKeys`] for a fork's metadata.
    pub fn decode(bytes: &'a mut [u8]) -> Result<Self, Error> {
        let len = bytes.len();
        if len > MAX_NODE_LEN {
            return Err(Error::NodeTooLarge {
                len,
                max: MAX_NODE_LEN,
            });
        }
        let (key, body) = bytes
            .split_first_chunk_mut::<32>()
            .ok_or(Error::NodeTruncated { len })?;
        let obfuscation_key = *key;
        if obfuscation_key != [0; 32] {
            for (b, k) in body.iter_mut().zip(obfuscation_key.iter().cycle()) {
                *b ^= k;
            }
            *key = [0; 32];
        }
        let plain: &'a [u8] = bytes;
        let header = Header::parse(plain)?;
        let mut forks = Forks::new(plain, header);
        let mut fork_count = 0u16;
        while forks.next_checked()?.is_some() {
            fork_count += 1;
        }
        Ok(Self {
            obfuscation_key,
            header,
            plain,
            end: forks.position.offset,
            fork_count,
        })
    }

    /// A view over node bytes that [`Node::decode`] already accepted (plain, zero key), for
    /// resuming work on a node kept in a buffer without validating it again.
    pub(crate) fn reopen(plain: &'a [u8]) -> Result<Self, Error> {
        let header = Header::parse(plain)?;
        Ok(Self {
            obfuscation_key: [0; 32],
            header,
            plain,
            end: plain.len(),
            fork_count: 0,
        })
    }

    /// The format version.
    #[must_use]
    pub const fn version(&self) -> Version {
        self.header.version
    }

    /// The obfuscation key found in the node's first 32 bytes.
    #[must_use]
    pub const fn obfuscation_key(&self) -> &[u8; 32] {
        &self.obfuscation_key
    }

    /// Width of the entry and of every child reference: 0, 32 or 64.
    #[must_use]
    pub const fn ref_size(&self) -> u8 {
        self.header.ref_size
    }

    /// The node's own entry (`ref_size` bytes; all zero when it has none).
    #[must_use]
    pub fn entry(&self) -> &'a [u8] {
        self.plain
            .get(HEADER_LEN..HEADER_LEN + usize::from(self.header.ref_size))
            .unwrap_or_default()
    }

    /// The entry as a reference; `None` when it is empty or all zeros (no content).
    #[must_use]
    pub fn entry_reference(&self) -> Option<Reference> {
        let e = self.entry();
        if e.iter().all(|&b| b == 0) {
            return None;
        }
        Reference::from_slice(e).ok()
    }

    /// The 256-bit fork bitmap as stored (for version 0.2 with reference size 0 its bits are
    /// set but no fork records are read, as in Bee).
    #[must_use]
    pub const fn bitmap(&self) -> &[u8; 32] {
        &self.header.bitmap
    }

    /// Number of fork records.
    #[must_use]
    pub const fn fork_count(&self) -> usize {
        self.fork_count as usize
    }

    /// Bytes after the last fork record (ignored).
    #[must_use]
    pub const fn trailing_len(&self) -> usize {
        self.plain.len().saturating_sub(self.end)
    }

    /// The forks, in ascending order of their first byte.
    #[must_use]
    pub fn forks(&self) -> Forks<'a> {
        Forks::new(self.plain, self.header)
    }

    /// The forks from `position` on (taken from [`Forks::position`] over the same bytes;
    /// [`ForkPosition::default`] is the first fork).
    #[must_use]
    pub fn forks_from(&self, position: ForkPosition) -> Forks<'a> {
        if position == ForkPosition::default() {
            return self.forks();
        }
        Forks {
            plain: self.plain,
            header: self.header,
            position,
        }
    }

    /// The fork whose prefix starts with `first_byte`, if any.
    #[must_use]
    pub fn fork(&self, first_byte: u8) -> Option<Fork<'a>> {
        if !bit(&self.header.bitmap, first_byte) {
            return None;
        }
        self.forks().find(|f| f.first_byte == first_byte)
    }
}

impl<'a> Fork<'a> {
    /// The bitmap byte this fork is filed under (normally the prefix's first byte).
    #[must_use]
    pub const fn first_byte(&self) -> u8 {
        self.first_byte
    }

    /// The child node's type flags ([`TYPE_VALUE`], [`TYPE_WITH_METADATA`], ...).
    #[must_use]
    pub const fn node_type(&self) -> u8 {
        self.node_type
    }

    /// Whether the child node holds an entry (the only flag a lookup relies on).
    #[must_use]
    pub const fn is_value(&self) -> bool {
        self.node_type & TYPE_VALUE != 0
    }

    /// The path bytes this fork consumes (1..=30 bytes).
    #[must_use]
    pub const fn prefix(&self) -> &'a [u8] {
        self.prefix
    }

    /// The child node's reference bytes (32, or 64 for an encrypted manifest).
    #[must_use]
    pub const fn child(&self) -> &'a [u8] {
        self.child
    }

    /// The child node's reference.
    ///
    /// # Errors
    /// Never for a decoded node (the reference size is 32 or 64 whenever forks are read).
    pub fn child_reference(&self) -> Result<Reference, Error> {
        Ok(Reference::from_slice(self.child)?)
    }

    /// The child's metadata (empty when the fork carries none).
    #[must_use]
    pub const fn metadata(&self) -> Metadata<'a> {
        self.metadata
    }

    /// Offset of the metadata text from the start of the node's bytes.
    pub(crate) const fn metadata_offset(&self) -> usize {
        self.metadata_offset
    }
}

impl<'a> Forks<'a> {
    fn new(plain: &'a [u8], header: Header) -> Self {
        let offset = HEADER_LEN + usize::from(header.ref_size) + 32;
        // Version 0.2 with reference size 0: Bee reads no fork records at all.
        let bit = if header.version == Version::V02 && header.ref_size == 0 {
            256
        } else {
            0
        };
        Self {
            plain,
            header,
            position: ForkPosition { bit, offset },
        }
    }

    /// Where the iteration stands (to resume with [`Node::forks_from`]).
    #[must_use]
    pub const fn position(&self) -> ForkPosition {
        self.position
    }

    fn next_checked(&mut self) -> Result<Option<Fork<'a>>, Error> {
        let len = self.plain.len();
        let truncated = Error::NodeTruncated { len };
        let Some(first_byte) = (self.position.bit..256)
            .filter_map(|b| u8::try_from(b).ok())
            .find(|&b| bit(&self.header.bitmap, b))
        else {
            self.position.bit = 256;
            return Ok(None);
        };
        let r = usize::from(self.header.ref_size);
        let o = self.position.offset;
        let record = self
            .plain
            .get(o..o + FORK_PRE_REF_LEN + r)
            .ok_or(truncated)?;
        let (&[node_type, prefix_len], rest) = record.split_first_chunk::<2>().ok_or(truncated)?;
        if prefix_len == 0 || usize::from(prefix_len) > MAX_PREFIX_LEN {
            return Err(Error::NodeForkPrefix { len: prefix_len });
        }
        let prefix = rest.get(..usize::from(prefix_len)).ok_or(truncated)?;
        let child = rest.get(MAX_PREFIX_LEN..).ok_or(truncated)?;
        let mut next = o + FORK_PRE_REF_LEN + r;
        let mut metadata = Metadata::EMPTY;
        let mut metadata_offset = next;
        if self.header.version == Version::V02 && node_type & TYPE_WITH_METADATA != 0 {
            let size = self
                .plain
                .get(next..next + 2)
                .and_then(|s| <[u8; 2]>::try_from(s).ok())
                .ok_or(truncated)?;
            let meta_len = usize::from(u16::from_be_bytes(size));
            next += 2;
            metadata_offset = next;
            let text = self.plain.get(next..next + meta_len).ok_or(truncated)?;
            next += meta_len;
            metadata = Metadata::parse(text)?;
        }
        self.position = ForkPosition {
            bit: u16::from(first_byte) + 1,
            offset: next,
        };
        Ok(Some(Fork {
            first_byte,
            node_type,
            prefix,
            child,
            metadata,
            metadata_offset,
        }))
    }
}

impl<'a> Iterator for Forks<'a> {
    type Item = Fork<'a>;

    fn next(&mut self) -> Option<Fork<'a>> {
        match self.next_checked() {
            Ok(Some(fork)) => Some(fork),
            // Not reached for a decoded node: `Node::decode` walked every fork already.
            _ => {
                self.position.bit = 256;
                None
            }
        }
    }
}

impl Header {
    fn parse(plain: &[u8]) -> Result<Self, Error> {
        let len = plain.len();
        let head = plain
            .get(..HEADER_LEN)
            .ok_or(Error::NodeTruncated { len })?;
        let version = match head.get(32..63) {
            Some(v) if v == VERSION_02_HASH => Version::V02,
            Some(v) if v == VERSION_01_HASH => Version::V01,
            _ => return Err(Error::NodeVersion),
        };
        let ref_size = head.get(63).copied().unwrap_or_default();
        if !matches!(ref_size, 0 | 32 | 64) {
            return Err(Error::NodeRefSize { size: ref_size });
        }
        let r = usize::from(ref_size);
        let bitmap = plain
            .get(HEADER_LEN + r..HEADER_LEN + r + 32)
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or(Error::NodeTruncated { len })?;
        Ok(Self {
            version,
            ref_size,
            bitmap,
        })
    }
}

fn bit(bitmap: &[u8; 32], b: u8) -> bool {
    bitmap
        .get(usize::from(b / 8))
        .is_some_and(|byte| byte >> (b % 8) & 1 == 1)
}
