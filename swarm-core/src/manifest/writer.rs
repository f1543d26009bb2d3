//! Go Bee's mantaray writer, byte for byte (`pkg/manifest/mantaray/node.go` `Add`,
//! `marshal.go` `MarshalBinary`, `persist.go` `save`; spec §1, §2.5 and §3).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use swarm_bmt::{ChunkAddress, ChunkSink, Reference, Splitter};

use super::node::{
    HEADER_LEN, MAX_PREFIX_LEN, TYPE_EDGE, TYPE_VALUE, TYPE_WITH_METADATA,
    TYPE_WITH_PATH_SEPARATOR, VERSION_02_HASH,
};
use super::{
    KEY_CONTENT_TYPE, KEY_ERROR_DOCUMENT, KEY_FEED_OWNER, KEY_FEED_TOPIC, KEY_FEED_TYPE,
    KEY_FILENAME, KEY_INDEX_DOCUMENT,
};
use crate::feed::Topic;
use crate::soc::Owner;
use crate::Error;

/// Builds a manifest the way Go Bee does (`manifest.NewDefaultManifest` + `Add` + `Store`),
/// so the same entries added in the same order give the same root reference.
///
/// Go Bee's result depends on insertion order (edge splits, the reference size of `/`, the
/// path-separator flags); the writer keeps the caller's order. Nodes are saved as plain files
/// (no redundancy, no encryption), as Bee does with `Swarm-Redundancy-Level: 0`.
///
/// ```
/// use swarm_core::manifest::ManifestWriter;
/// // Bee's single-file upload of "vmlinuz" (../shared/vectors/bee-go/mantaray.json).
/// let file = "3693f63e11d099ae4822aa44d23b8ca6b11ec490c38bc3a7c0408de135505102".parse()?;
/// let mut w = ManifestWriter::new();
/// w.add_raw(b"/", &[], &[("website-index-document", "vmlinuz")])?;
/// w.add(b"vmlinuz", &file, &[("Content-Type", "application/octet-stream"), ("Filename", "vmlinuz")])?;
/// let root = w.save(swarm_bmt::NoSink)?;
/// assert_eq!(root.to_string(), "58549a31ab40d894912b594b62ef0122ed5ad00fa940372713352527d5413101");
/// # Ok::<(), swarm_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManifestWriter {
    root: WNode,
    obfuscation_key: [u8; 32],
}

#[derive(Debug, Clone, Default)]
struct WNode {
    node_type: u8,
    ref_size: usize,
    entry: Vec<u8>,
    metadata: BTreeMap<String, String>,
    forks: BTreeMap<u8, WFork>,
}

#[derive(Debug, Clone)]
struct WFork {
    prefix: Vec<u8>,
    node: Box<WNode>,
}

impl ManifestWriter {
    /// An empty manifest with the all-zero obfuscation key (Bee's unencrypted uploads).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty manifest whose every node is obfuscated with `key` (Bee draws one random key
    /// per node for encrypted uploads; a fixed key reproduces its tests).
    #[must_use]
    pub fn with_obfuscation_key(key: [u8; 32]) -> Self {
        Self {
            root: WNode::default(),
            obfuscation_key: key,
        }
    }

    /// Adds `path` → `entry` with `metadata` (Bee writes the pairs as a JSON object with
    /// sorted keys; a repeated key keeps its last value).
    ///
    /// # Errors
    /// As [`ManifestWriter::add_raw`].
    pub fn add(
        &mut self,
        path: &[u8],
        entry: &Reference,
        metadata: &[(&str, &str)],
    ) -> Result<(), Error> {
        let mut buf = [0u8; 64];
        let bytes = entry.write_to(&mut buf)?;
        self.add_raw(path, bytes, metadata)
    }

    /// Adds `path` with raw entry bytes: empty for "no entry" (Bee's `swarm.ZeroAddress`, as
    /// for the `/` website entry), 32 or 64 bytes otherwise (a feed manifest's `/` has 32 zero
    /// bytes).
    ///
    /// # Errors
    /// [`Error::Bmt`] (`ReferenceLength`) for an entry whose width differs from the width the
    /// node already uses or over 256 bytes, as Go rejects it.
    pub fn add_raw(
        &mut self,
        path: &[u8],
        entry: &[u8],
        metadata: &[(&str, &str)],
    ) -> Result<(), Error> {
        let metadata: BTreeMap<String, String> = metadata
            .iter()
            .map(|&(k, v)| (String::from(k), String::from(v)))
            .collect();
        self.root.add(path, entry, &metadata)
    }

    /// Saves every node bottom-up (children first), handing each chunk to `sink`, and returns
    /// the root node's reference.
    ///
    /// # Errors
    /// [`Error::MetadataTooLong`] for metadata over 65535 encoded bytes; [`Error::Bmt`] if the
    /// sink refuses a chunk.
    pub fn save<S: ChunkSink>(&self, mut sink: S) -> Result<Reference, Error> {
        self.save_with(|bytes: &[u8]| store(bytes, &mut sink))
    }

    /// As [`save`](Self::save), each node's bytes handed to `store_node`, which stores them
    /// as a `/bytes` file and returns its root address — the hook for Bee's uploads at a
    /// redundancy level other than 0, whose manifest nodes go through the same erasure-coding
    /// pipeline as the files (`loadsave` with the request's level).
    ///
    /// # Errors
    /// As [`save`](Self::save), and whatever `store_node` returns.
    pub fn save_with<F>(&self, mut store_node: F) -> Result<Reference, Error>
    where
        F: FnMut(&[u8]) -> Result<ChunkAddress, Error>,
    {
        let address = self.root.save(&self.obfuscation_key, &mut store_node)?;
        Ok(Reference::plain(address))
    }
}

impl WNode {
    fn child(ref_size: usize) -> Self {
        Self {
            ref_size,
            ..Self::default()
        }
    }

    fn make_value(&mut self) {
        self.node_type |= TYPE_VALUE;
    }

    fn make_edge(&mut self) {
        self.node_type |= TYPE_EDGE;
    }

    fn update_path_separator(&mut self, path: &[u8]) {
        // Go: `bytes.IndexRune(path, '/') > 0`.
        if path.iter().skip(1).any(|&b| b == b'/') {
            self.node_type |= TYPE_WITH_PATH_SEPARATOR;
        } else {
            self.node_type &= !TYPE_WITH_PATH_SEPARATOR;
        }
    }

    fn set_value(&mut self, entry: &[u8], metadata: &BTreeMap<String, String>) {
        self.entry = entry.to_vec();
        if !metadata.is_empty() {
            self.metadata.clone_from(metadata);
            self.node_type |= TYPE_WITH_METADATA;
        }
        self.make_value();
    }

    /// Go's `Node.Add`, statement for statement.
    fn add(
        &mut self,
        path: &[u8],
        entry: &[u8],
        metadata: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        if self.ref_size == 0 {
            if entry.len() > 256 {
                return Err(swarm_bmt::Error::ReferenceLength { len: entry.len() }.into());
            }
            if !entry.is_empty() {
                self.ref_size = entry.len();
            }
        } else if !entry.is_empty() && entry.len() != self.ref_size {
            return Err(swarm_bmt::Error::ReferenceLength { len: entry.len() }.into());
        }
        let Some(&first) = path.first() else {
            self.set_value(entry, metadata);
            return Ok(());
        };
        let Some(mut fork) = self.forks.remove(&first) else {
            let mut nn = Self::child(self.ref_size);
            if path.len() > MAX_PREFIX_LEN {
                let (prefix, rest) = path.split_at(MAX_PREFIX_LEN);
                nn.add(rest, entry, metadata)?;
                nn.update_path_separator(prefix);
                self.forks.insert(
                    first,
                    WFork {
                        prefix: prefix.to_vec(),
                        node: Box::new(nn),
                    },
                );
            } else {
                nn.set_value(entry, metadata);
                nn.update_path_separator(path);
                self.forks.insert(
                    first,
                    WFork {
                        prefix: path.to_vec(),
                        node: Box::new(nn),
                    },
                );
            }
            self.make_edge();
            return Ok(());
        };
        let common = fork
            .prefix
            .iter()
            .zip(path)
            .take_while(|(a, b)| a == b)
            .count();
        let rest = fork.prefix.split_off(common);
        let mut nn = fork.node;
        if let Some(&rest_first) = rest.first() {
            // Split the edge: a new node takes the common part, the old child moves under it.
            let mut split = Self::child(self.ref_size);
            nn.update_path_separator(&rest);
            split.forks.insert(
                rest_first,
                WFork {
                    prefix: rest,
                    node: nn,
                },
            );
            split.make_edge();
            if path.len() == common {
                split.make_value();
            }
            nn = Box::new(split);
        }
        // Go's "special case on edge split": the flag follows the whole remaining path.
        nn.update_path_separator(path);
        nn.add(path.get(common..).unwrap_or_default(), entry, metadata)?;
        fork.node = nn;
        self.forks.insert(first, fork);
        self.make_edge();
        Ok(())
    }

    fn save<F>(&self, key: &[u8; 32], store_node: &mut F) -> Result<ChunkAddress, Error>
    where
        F: FnMut(&[u8]) -> Result<ChunkAddress, Error>,
    {
        let mut refs = BTreeMap::new();
        for (&b, fork) in &self.forks {
            refs.insert(b, fork.node.save(key, store_node)?);
        }
        let bytes = self.marshal(key, &refs)?;
        store_node(&bytes)
    }

    /// Go's `MarshalBinary` (version 0.2), with the reference size inferred as Bee ≥ 2.8.1
    /// does when `Add` never set it.
    fn marshal(&self, key: &[u8; 32], refs: &BTreeMap<u8, ChunkAddress>) -> Result<Vec<u8>, Error> {
        let ref_size = if self.ref_size != 0 {
            self.ref_size
        } else if !self.entry.is_empty() {
            self.entry.len()
        } else if refs.is_empty() {
            0
        } else {
            32
        };
        let mut out = Vec::with_capacity(HEADER_LEN + ref_size + 32 + 64 * self.forks.len());
        out.extend_from_slice(key);
        out.extend_from_slice(&VERSION_02_HASH);
        out.push(
            u8::try_from(ref_size)
                .map_err(|_| swarm_bmt::Error::ReferenceLength { len: ref_size })?,
        );
        let mut entry = self.entry.clone();
        entry.resize(ref_size, 0);
        out.extend_from_slice(&entry);
        let mut bitmap = [0u8; 32];
        for &b in self.forks.keys() {
            if let Some(byte) = bitmap.get_mut(usize::from(b / 8)) {
                *byte |= 1 << (b % 8);
            }
        }
        out.extend_from_slice(&bitmap);
        for (b, fork) in &self.forks {
            let child = &fork.node;
            out.push(child.node_type);
            out.push(u8::try_from(fork.prefix.len()).unwrap_or(u8::MAX));
            let mut prefix = [0u8; MAX_PREFIX_LEN];
            if let Some(dst) = prefix.get_mut(..fork.prefix.len()) {
                dst.copy_from_slice(&fork.prefix);
            }
            out.extend_from_slice(&prefix);
            if let Some(r) = refs.get(b) {
                out.extend_from_slice(r.as_bytes());
            }
            if child.node_type & TYPE_WITH_METADATA != 0 {
                let mut json = go_json_object(&child.metadata);
                let with_size = json.len() + 2;
                let padding = match with_size {
                    w if w < 32 => 32 - w,
                    32 => 0,
                    w => 32 - w % 32,
                };
                json.resize(json.len() + padding, b'\n');
                let len = u16::try_from(json.len())
                    .map_err(|_| Error::MetadataTooLong { len: json.len() })?;
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&json);
            }
        }
        if let Some(body) = out.get_mut(32..) {
            for (b, k) in body.iter_mut().zip(key.iter().cycle()) {
                *b ^= k;
            }
        }
        Ok(out)
    }
}

/// Splits one node's bytes as a `/bytes` file (kept out of line: the splitter is large).
#[inline(never)]
fn store<S: ChunkSink>(bytes: &[u8], sink: &mut S) -> Result<ChunkAddress, Error> {
    let mut splitter = Box::new(Splitter::with_sink(|a: &ChunkAddress, c: &[u8]| {
        sink.put(a, c)
    }));
    splitter.write(bytes)?;
    Ok(splitter.finish()?)
}

/// `json.Marshal(map[string]string)` as Go (1.22 and later) writes it: keys sorted, no
/// whitespace, `<`, `>`, `&`, U+2028 and U+2029 escaped.
fn go_json_object(metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = Vec::new();
    out.push(b'{');
    for (i, (k, v)) in metadata.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        go_json_string(k, &mut out);
        out.push(b':');
        go_json_string(v, &mut out);
    }
    out.push(b'}');
    out
}

fn go_json_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for ch in s.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' => {
                let b = u8::try_from(u32::from(ch)).unwrap_or(0);
                out.extend_from_slice(b"\\u00");
                out.push(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'));
                out.push(HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0'));
            }
            '\u{2028}' => out.extend_from_slice(b"\\u2028"),
            '\u{2029}' => out.extend_from_slice(b"\\u2029"),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// The `Content-Type` Bee's tar upload gives a file name: Go's `mime.TypeByExtension` of
/// `filepath.Ext(name)` with Go's built-in table, plus `.txt` (which Go takes from the host's
/// `mime.types`; Bee's own tests expect `text/plain; charset=utf-8`). Case-insensitive; the
/// empty string when unknown, as in Bee.
///
/// Bee's real answer also depends on the host's MIME tables; this is the table of
/// `content_type_rule` in `../shared/vectors/bee/mantaray.json` completed with Go's built-ins.
#[must_use]
pub fn content_type_for(name: &str) -> &'static str {
    let ext = name
        .rfind(['.', '/'])
        .and_then(|i| name.get(i..))
        .filter(|e| e.starts_with('.'))
        .unwrap_or("");
    let mut lower = [0u8; 8];
    let Some(dst) = lower.get_mut(..ext.len()) else {
        return "";
    };
    dst.copy_from_slice(ext.as_bytes());
    dst.make_ascii_lowercase();
    match &*dst {
        b".avif" => "image/avif",
        b".css" => "text/css; charset=utf-8",
        b".gif" => "image/gif",
        b".htm" | b".html" => "text/html; charset=utf-8",
        b".jpeg" | b".jpg" => "image/jpeg",
        b".js" | b".mjs" => "text/javascript; charset=utf-8",
        b".json" => "application/json",
        b".pdf" => "application/pdf",
        b".png" => "image/png",
        b".svg" => "image/svg+xml",
        b".txt" => "text/plain; charset=utf-8",
        b".wasm" => "application/wasm",
        b".webp" => "image/webp",
        b".xml" => "text/xml; charset=utf-8",
        _ => "",
    }
}

/// Builds the manifest Bee's directory upload builds (`POST /bzz`, `Swarm-Collection: true`,
/// tar), for files already uploaded as `(path, reference, content type)`, and saves it into
/// `sink`; returns the root reference.
///
/// It mirrors one exact request: a tar listing the files **sorted by path** (bytewise, after
/// Go's `path.Clean`), each added with `{Content-Type, Filename: base name}`, then — only if
/// `index` is given — the `/` entry `{website-index-document: index}` last. (`swarm-relay
/// import` passes `Some("index.html")` only when that file exists, the only case in which the
/// request carries `Swarm-Index-Document`.) Pass [`content_type_for`]`(path)` as the content
/// type to match Bee's extension table. [`build_directory`] keeps the caller's order instead.
///
/// # Errors
/// As [`build_directory`].
pub fn build_collection<S: ChunkSink>(
    entries: &[(&str, Reference, &str)],
    index: Option<&str>,
    mut sink: S,
) -> Result<Reference, Error> {
    build_collection_with(entries, index, |bytes: &[u8]| store(bytes, &mut sink))
}

/// As [`build_collection`], each manifest node stored by `store_node` (see
/// [`ManifestWriter::save_with`]).
///
/// # Errors
/// As [`build_collection`], and whatever `store_node` returns.
pub fn build_collection_with<F>(
    entries: &[(&str, Reference, &str)],
    index: Option<&str>,
    store_node: F,
) -> Result<Reference, Error>
where
    F: FnMut(&[u8]) -> Result<ChunkAddress, Error>,
{
    let mut sorted: Vec<(String, Reference, &str)> = entries
        .iter()
        .map(|(path, reference, ct)| (clean(path), *reference, *ct))
        .collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let sorted: Vec<(&str, Reference, &str)> = sorted
        .iter()
        .map(|(p, r, ct)| (p.as_str(), *r, *ct))
        .collect();
    build_directory_with(&sorted, index, None, store_node)
}

/// Builds what Bee's `storeDir` builds for a tar whose entries come in exactly this order:
/// each `(tar name, reference, content type)` is added at Go's `path.Clean(name)` with
/// `{Content-Type, Filename: base name}`; then, if `index` or `error_document` is given, `/`
/// with `{website-index-document?, website-error-document?}` and no entry.
///
/// # Errors
/// [`Error::NotFound`] for an empty set or a name that cleans to `.` (Bee skips those and
/// refuses an empty directory); [`Error::PathTooLong`] for an `index` containing `/` (Bee
/// refuses it); as [`ManifestWriter::save`].
pub fn build_directory<S: ChunkSink>(
    entries: &[(&str, Reference, &str)],
    index: Option<&str>,
    error_document: Option<&str>,
    mut sink: S,
) -> Result<Reference, Error> {
    build_directory_with(entries, index, error_document, |bytes: &[u8]| {
        store(bytes, &mut sink)
    })
}

/// As [`build_directory`], each manifest node stored by `store_node` (see
/// [`ManifestWriter::save_with`]).
///
/// # Errors
/// As [`build_directory`], and whatever `store_node` returns.
pub fn build_directory_with<F>(
    entries: &[(&str, Reference, &str)],
    index: Option<&str>,
    error_document: Option<&str>,
    store_node: F,
) -> Result<Reference, Error>
where
    F: FnMut(&[u8]) -> Result<ChunkAddress, Error>,
{
    let index = index.filter(|i| !i.is_empty());
    let error_document = error_document.filter(|e| !e.is_empty());
    if let Some(i) = index.filter(|i| i.contains('/')) {
        return Err(Error::PathTooLong { len: i.len() });
    }
    let mut w = ManifestWriter::new();
    let mut added = 0usize;
    for (name, reference, ct) in entries {
        let path = clean(name);
        if path == "." {
            continue;
        }
        w.add(
            path.as_bytes(),
            reference,
            &[(KEY_CONTENT_TYPE, ct), (KEY_FILENAME, base(name))],
        )?;
        added += 1;
    }
    if added == 0 {
        return Err(Error::NotFound);
    }
    let mut root_meta: Vec<(&str, &str)> = Vec::new();
    if let Some(i) = index {
        root_meta.push((KEY_INDEX_DOCUMENT, i));
    }
    if let Some(e) = error_document {
        root_meta.push((KEY_ERROR_DOCUMENT, e));
    }
    if !root_meta.is_empty() {
        w.add_raw(b"/", &[], &root_meta)?;
    }
    w.save_with(store_node)
}

/// Builds the manifest of Bee's single-file upload (`POST /bzz?name=NAME`): `/` with
/// `{website-index-document: NAME}` first, then `NAME` with `{Content-Type, Filename}`.
///
/// # Errors
/// As [`ManifestWriter::save`].
pub fn build_single_file<S: ChunkSink>(
    name: &str,
    reference: &Reference,
    content_type: &str,
    sink: S,
) -> Result<Reference, Error> {
    let mut w = ManifestWriter::new();
    w.add_raw(b"/", &[], &[(KEY_INDEX_DOCUMENT, name)])?;
    w.add(
        name.as_bytes(),
        reference,
        &[(KEY_CONTENT_TYPE, content_type), (KEY_FILENAME, name)],
    )?;
    w.save(sink)
}

/// Builds the feed manifest of Bee's `POST /feeds/{owner}/{topic}`: one `/` entry with 32 zero
/// bytes and `{swarm-feed-owner, swarm-feed-topic, swarm-feed-type: Sequence}`.
///
/// # Errors
/// As [`ManifestWriter::save`].
pub fn build_feed_manifest<S: ChunkSink>(
    owner: &Owner,
    topic: &Topic,
    sink: S,
) -> Result<Reference, Error> {
    let owner_hex = hex_string(&owner.0);
    let topic_hex = hex_string(topic.as_bytes());
    let mut w = ManifestWriter::new();
    w.add_raw(
        b"/",
        &[0; 32],
        &[
            (KEY_FEED_OWNER, &owner_hex),
            (KEY_FEED_TOPIC, &topic_hex),
            (KEY_FEED_TYPE, "Sequence"),
        ],
    )?;
    w.save(sink)
}

fn hex_string(bytes: &[u8]) -> String {
    use core::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Go's `path.Base`.
fn base(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() { "." } else { "/" };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// Go's `path.Clean`.
fn clean(path: &str) -> String {
    if path.is_empty() {
        return String::from(".");
    }
    let rooted = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    let mut dotdot = 0usize;
    for element in path.split('/') {
        match element {
            "" | "." => {}
            ".." => {
                if out.len() > dotdot {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                    dotdot = out.len();
                }
            }
            e => out.push(e),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => alloc::format!("/{joined}"),
        (false, true) => String::from("."),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_clean_and_base() {
        for (input, want) in [
            ("", "."),
            ("./index.html", "index.html"),
            ("a//b/./c/..", "a/b"),
            ("../x", "../x"),
            ("/../x", "/x"),
            ("a/b/", "a/b"),
            (".", "."),
            ("a/../..", ".."),
        ] {
            assert_eq!(clean(input), want, "{input}");
        }
        assert_eq!(base("./index.html"), "index.html");
        assert_eq!(base("a/b/"), "b");
        assert_eq!(base("file"), "file");
    }

    #[test]
    fn go_json_escapes_html_and_controls() {
        let mut m = BTreeMap::new();
        m.insert(
            String::from("b"),
            String::from("<a&b>\u{1}\u{8}\"\\\u{2028}é"),
        );
        m.insert(String::from("a"), String::new());
        assert_eq!(
            String::from_utf8(go_json_object(&m)).unwrap(),
            "{\"a\":\"\",\"b\":\"\\u003ca\\u0026b\\u003e\\u0001\\b\\\"\\\\\\u2028é\"}"
        );
    }

    /// `../tests/vectors/bee/mantaray.json` `go-testMarshal-encode` (Bee's `TestMarshal`): the
    /// root of a five-entry trie, fork references replaced by `0^31 || k` as the test does.
    #[test]
    fn marshals_bee_test_marshal_node() {
        let key: [u8; 32] =
            hex::decode("52fdfc072182654f163f5f0f9a621d729566c74d10037c4d7bbb0407d1e2c649")
                .unwrap()
                .try_into()
                .unwrap();
        let mut root = WNode::default();
        let mut meta = BTreeMap::new();
        meta.insert(String::from("index-document"), String::from("aaaaa"));
        for (path, md) in [
            ("/", meta),
            ("aaaaa", BTreeMap::new()),
            ("cc", BTreeMap::new()),
            ("d", BTreeMap::new()),
            ("ee", BTreeMap::new()),
        ] {
            let mut entry = [0u8; 32];
            entry[32 - path.len()..].copy_from_slice(path.as_bytes());
            root.add(path.as_bytes(), &entry, &md).unwrap();
        }
        let refs: BTreeMap<u8, ChunkAddress> = root
            .forks
            .keys()
            .enumerate()
            .map(|(k, &b)| {
                let mut r = [0u8; 32];
                r[31] = u8::try_from(k).unwrap();
                (b, ChunkAddress(r))
            })
            .collect();
        let expected = concat!(
            "52fdfc072182654f163f5f0f9a621d729566c74d10037c4d7bbb0407d1e2c649",
            "05954fb18659339d0b25e0fb9723d3cd5d528fb3c8d495fd157bd7b7a2104969",
            "52fdfc072182654f163f5f0f9a621d729566c74d10037c4d7bbb0407d1e2c649",
            "52fdfc072102654f163f5f0fa0621d729566c74d10037c4d7bbb0407d1e2c649",
            "40fcd3072182654f163f5f0f9a621d729566c74d10037c4d7bbb0407d1e2c649",
            "52fdfc072182654f163f5f0f9a621d729566c74d10037c4d7bbb0407d1e2c649",
            "52e3872548ec012a6e123b60f9177017fb12e57732621d2c1ada267adbe8cc43",
            "50f89d6640e3044f163f5f0f9a621d729566c74d10037c4d7bbb0407d1e2c649",
            "52fdfc072182654f163f5f0f9a621d729566c74d10037c4d7bbb0407d1e2c648",
            "50ff9f642182654f163f5f0f9a621d729566c74d10037c4d7bbb0407d1e2c649",
            "52fdfc072182654f163f5f0f9a621d729566c74d10037c4d7bbb0407d1e2c64b",
            "50fc98072182654f163f5f0f9a621d729566c74d10037c4d7bbb0407d1e2c649",
            "52fdfc072182654f163f5f0f9a621d729566c74d10037c4d7bbb0407d1e2c64a",
            "50ff99622182654f163f5f0f9a621d729566c74d10037c4d7bbb0407d1e2c649",
            "52fdfc072182654f163f5f0f9a621d729566c74d10037c4d7bbb0407d1e2c64d",
        );
        assert_eq!(hex::encode(root.marshal(&key, &refs).unwrap()), expected);
    }

    #[test]
    fn content_types_follow_the_extension_table() {
        assert_eq!(content_type_for("a/b.TXT"), "text/plain; charset=utf-8");
        assert_eq!(content_type_for("img/1.png"), "image/png");
        assert_eq!(content_type_for("file1"), "");
        assert_eq!(content_type_for("dir.d/vmlinuz"), "");
        assert_eq!(content_type_for("x.unknownext"), "");
    }
}
