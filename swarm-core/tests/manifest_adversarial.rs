//! Hostile and boundary manifests: cycles, absurd prefix lengths, oversize nodes, metadata
//! that is not JSON, truncations, and every bound at N and N + 1. Each ends in a typed error,
//! never a panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(
    unreachable_pub,
    clippy::std_instead_of_core,
    clippy::alloc_instead_of_core
)]

use std::collections::HashMap;

use swarm_bmt::{ChunkAddress, Reference};
use swarm_core::manifest::{
    ListStep, Listing, Lookup, LookupMode, ManifestWriter, Node, MAX_MANIFEST_DEPTH, MAX_NODE_LEN,
    MAX_PATH_LEN, TYPE_VALUE, TYPE_WITH_METADATA, VERSION_01_HASH, VERSION_02_HASH,
};
use swarm_core::metadata::MAX_METADATA_KEYS;
use swarm_core::Error;

/// Node bytes by reference, as a (possibly lying) caller would supply them.
type Nodes = HashMap<ChunkAddress, Vec<u8>>;

fn addr(n: u8) -> Reference {
    Reference::plain(ChunkAddress([n; 32]))
}

/// One fork record: type, prefix, child reference, optional raw metadata.
struct RawFork<'a> {
    node_type: u8,
    prefix: &'a [u8],
    child: Reference,
    metadata: Option<&'a [u8]>,
}

/// A version 0.2 node with reference size 32, zero key, built by hand.
fn raw_node(entry: Option<Reference>, forks: &[RawFork<'_>]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    out.extend_from_slice(&VERSION_02_HASH);
    out.push(32);
    out.extend_from_slice(&entry.map_or([0; 32], |r| r.address().0));
    let mut bitmap = [0u8; 32];
    for f in forks {
        bitmap[usize::from(f.prefix[0] / 8)] |= 1 << (f.prefix[0] % 8);
    }
    out.extend_from_slice(&bitmap);
    let mut sorted: Vec<&RawFork<'_>> = forks.iter().collect();
    sorted.sort_by_key(|f| f.prefix[0]);
    for f in sorted {
        out.push(f.node_type);
        out.push(u8::try_from(f.prefix.len()).unwrap());
        let mut prefix = [0u8; 30];
        prefix[..f.prefix.len()].copy_from_slice(f.prefix);
        out.extend_from_slice(&prefix);
        out.extend_from_slice(&f.child.address().0);
        if let Some(m) = f.metadata {
            out.extend_from_slice(&u16::try_from(m.len()).unwrap().to_be_bytes());
            out.extend_from_slice(m);
        }
    }
    out
}

fn fork(prefix: &[u8], child: Reference) -> RawFork<'_> {
    RawFork {
        node_type: TYPE_VALUE,
        prefix,
        child,
        metadata: None,
    }
}

/// Runs a lookup against `nodes` to its end.
fn lookup(
    nodes: &Nodes,
    root: Reference,
    path: &[u8],
    mode: LookupMode,
) -> Result<Reference, Error> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut l = Lookup::new(root, path, mode, &mut buf)?;
    while let Some(want) = l.wanted() {
        let bytes = nodes.get(want.address()).ok_or(Error::ChunkNotFound)?;
        l.handle_node_bytes(bytes)?;
    }
    Ok(l.entry().ok_or(Error::NotFound)?.reference())
}

fn list(nodes: &Nodes, root: Reference, max_loads: u32) -> Result<Vec<Vec<u8>>, Error> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut listing = Listing::new(root, &mut buf).with_max_loads(max_loads);
    let mut paths = Vec::new();
    loop {
        match listing.poll()? {
            ListStep::Load(r) => listing.handle_node_bytes(&nodes[r.address()])?,
            ListStep::Entry(e) => paths.push(e.path().to_vec()),
            ListStep::Done => return Ok(paths),
        }
    }
}

/// Builds with the writer and keeps the nodes (all single-chunk here).
fn build(entries: &[(&[u8], Reference)]) -> (Reference, Nodes) {
    let mut nodes = Nodes::new();
    let mut w = ManifestWriter::new();
    for (p, r) in entries {
        w.add(p, r, &[]).unwrap();
    }
    let root = w
        .save(|a: &ChunkAddress, c: &[u8]| {
            nodes.insert(*a, c[8..].to_vec());
            Ok(())
        })
        .unwrap();
    (root, nodes)
}

#[test]
fn fork_back_to_an_ancestor_is_a_cycle() {
    // root --"a"--> x --"b"--> root
    let (root, x) = (addr(1), addr(2));
    let mut nodes = Nodes::new();
    nodes.insert(*root.address(), raw_node(None, &[fork(b"a", x)]));
    nodes.insert(*x.address(), raw_node(Some(addr(9)), &[fork(b"b", root)]));
    let exact = LookupMode::Exact;
    assert_eq!(lookup(&nodes, root, b"a", exact), Ok(addr(9)));
    assert_eq!(
        lookup(&nodes, root, b"abab", exact),
        Err(Error::ManifestCycle)
    );
    assert_eq!(list(&nodes, root, 100), Err(Error::ManifestCycle));
    // A node that forks to itself.
    nodes.insert(*x.address(), raw_node(Some(addr(9)), &[fork(b"b", x)]));
    assert_eq!(
        lookup(&nodes, root, b"abb", exact),
        Err(Error::ManifestCycle)
    );
    assert_eq!(list(&nodes, root, 100), Err(Error::ManifestCycle));
}

#[test]
fn shared_subtrees_are_not_cycles_but_cost_loads() {
    // root --"a"--> x, root --"b"--> x: a DAG, listed twice, each path found.
    let (root, x) = (addr(1), addr(2));
    let mut nodes = Nodes::new();
    nodes.insert(
        *root.address(),
        raw_node(None, &[fork(b"a", x), fork(b"b", x)]),
    );
    nodes.insert(*x.address(), raw_node(Some(addr(7)), &[]));
    assert_eq!(
        list(&nodes, root, 100).unwrap(),
        [b"a".to_vec(), b"b".to_vec()]
    );
    // root, x, root again, x, root again: 5 loads.
    assert!(list(&nodes, root, 5).is_ok());
    assert_eq!(
        list(&nodes, root, 4),
        Err(Error::ManifestLoadLimit { max: 4 })
    );
}

#[test]
fn prefix_lengths_outside_1_to_30_are_refused() {
    let good = raw_node(None, &[fork(b"abc", addr(2))]);
    // The prefix length byte of the only fork sits at 64 + 32 + 32 + 1.
    let at = 64 + 32 + 32 + 1;
    for len in [0u8, 31, 200, 255] {
        let mut bad = good.clone();
        bad[at] = len;
        assert_eq!(Node::decode(&mut bad), Err(Error::NodeForkPrefix { len }));
    }
    for len in [1u8, 30] {
        let mut ok = good.clone();
        ok[at] = len;
        assert!(Node::decode(&mut ok).is_ok(), "{len}");
    }
}

#[test]
fn node_size_bound_at_n_and_n_plus_1() {
    // Trailing bytes are ignored (as Bee), so a valid node can be padded to any length.
    let mut node = raw_node(Some(addr(3)), &[]);
    node.resize(MAX_NODE_LEN, 0);
    assert!(Node::decode(&mut node.clone()).is_ok());
    node.push(0);
    assert_eq!(
        Node::decode(&mut node),
        Err(Error::NodeTooLarge {
            len: MAX_NODE_LEN + 1,
            max: MAX_NODE_LEN
        })
    );
    // The lookup also refuses a node bigger than the buffer it lent.
    let root = addr(1);
    let mut big = raw_node(None, &[fork(b"a", addr(2))]);
    big.resize(5000, 0);
    let mut buf = vec![0u8; 4096];
    let mut l = Lookup::new(root, b"a", LookupMode::Exact, &mut buf).unwrap();
    assert_eq!(
        l.handle_node_bytes(&big),
        Err(Error::NodeTooLarge {
            len: 5000,
            max: 4096
        })
    );
    assert!(l.is_finished());
    assert_eq!(
        l.error(),
        Some(Error::NodeTooLarge {
            len: 5000,
            max: 4096
        })
    );
}

#[test]
fn metadata_that_is_not_json_fails_the_node() {
    for meta in [
        &b"not json"[..],
        b"{\"a\":1}",
        b"{\"a\":\"b\"",
        b"[\"x\"]",
        b"{\"a\":\"\x00\"}",
    ] {
        let mut node = raw_node(
            None,
            &[RawFork {
                node_type: TYPE_VALUE | TYPE_WITH_METADATA,
                prefix: b"f",
                child: addr(2),
                metadata: Some(meta),
            }],
        );
        assert!(
            matches!(Node::decode(&mut node), Err(Error::MetadataSyntax { .. })),
            "{meta:?}"
        );
    }
    // Too many keys, at N and N + 1.
    for (n, ok) in [(MAX_METADATA_KEYS, true), (MAX_METADATA_KEYS + 1, false)] {
        let json = format!(
            "{{{}}}",
            (0..n)
                .map(|i| format!("\"k{i}\":\"v\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut node = raw_node(
            None,
            &[RawFork {
                node_type: TYPE_VALUE | TYPE_WITH_METADATA,
                prefix: b"f",
                child: addr(2),
                metadata: Some(json.as_bytes()),
            }],
        );
        assert_eq!(Node::decode(&mut node).is_ok(), ok, "{n}");
    }
}

#[test]
fn every_truncation_is_a_typed_error() {
    let node = raw_node(
        Some(addr(4)),
        &[
            fork(b"abc", addr(2)),
            RawFork {
                node_type: TYPE_VALUE | TYPE_WITH_METADATA,
                prefix: b"x/y",
                child: addr(3),
                metadata: Some(b"{\"Content-Type\":\"text/plain\"}\n\n\n"),
            },
        ],
    );
    assert!(Node::decode(&mut node.clone()).is_ok());
    for len in 0..node.len() {
        let mut cut = node[..len].to_vec();
        match Node::decode(&mut cut) {
            Err(Error::NodeTruncated { len: l }) => assert_eq!(l, len),
            // Cutting inside the metadata leaves a shorter declared text: still truncated,
            // or, before the length field, an earlier truncation.
            other => panic!("{len}: {other:?}"),
        }
    }
}

#[test]
fn unknown_versions_and_reference_sizes_are_refused() {
    let good = raw_node(Some(addr(4)), &[]);
    let mut bad = good.clone();
    bad[40] ^= 1;
    assert_eq!(Node::decode(&mut bad), Err(Error::NodeVersion));
    for size in [1u8, 31, 33, 63, 65, 255] {
        let mut bad = good.clone();
        bad[63] = size;
        bad.resize(1024, 0);
        assert_eq!(Node::decode(&mut bad), Err(Error::NodeRefSize { size }));
    }
    // Version 0.1 ignores the metadata flag; 0.2 with R = 0 has no forks at all.
    let mut v01 = raw_node(None, &[fork(b"a", addr(2))]);
    v01[32..63].copy_from_slice(&VERSION_01_HASH);
    v01[64 + 32 + 32] |= TYPE_WITH_METADATA;
    let node = Node::decode(&mut v01).unwrap();
    assert_eq!(node.fork(b'a').unwrap().child_reference().unwrap(), addr(2));
    let mut r0 = vec![0u8; 96];
    r0[32..63].copy_from_slice(&VERSION_02_HASH);
    r0[64] = 0xff; // bitmap bits set, but R = 0: no forks are read
    let node = Node::decode(&mut r0).unwrap();
    assert_eq!(node.forks().count(), 0);
}

#[test]
fn obfuscated_nodes_decode_in_place_once() {
    let mut node = raw_node(Some(addr(4)), &[fork(b"abc", addr(2))]);
    let key: [u8; 32] = core::array::from_fn(|i| i as u8 * 7 + 1);
    for (i, b) in node.iter_mut().enumerate().skip(32) {
        *b ^= key[(i - 32) % 32];
    }
    node[..32].copy_from_slice(&key);
    let mut copy = node.clone();
    let decoded = Node::decode(&mut copy).unwrap();
    assert_eq!(decoded.obfuscation_key(), &key);
    assert_eq!(decoded.entry_reference(), Some(addr(4)));
    // Decoding the same buffer again is a no-op (the key was zeroed).
    let again = Node::decode(&mut copy).unwrap();
    assert_eq!(again.obfuscation_key(), &[0; 32]);
    assert_eq!(again.fork(b'a').unwrap().prefix(), b"abc");
}

#[test]
fn path_length_bound_at_n_and_n_plus_1() {
    let long = vec![b'p'; MAX_PATH_LEN];
    let (root, nodes) = build(&[(&long, addr(5))]);
    assert_eq!(lookup(&nodes, root, &long, LookupMode::Exact), Ok(addr(5)));
    let mut longer = long.clone();
    longer.push(b'p');
    let mut buf = vec![0u8; 8192];
    assert_eq!(
        Lookup::new(root, &longer, LookupMode::Exact, &mut buf).err(),
        Some(Error::PathTooLong {
            len: MAX_PATH_LEN + 1
        })
    );
    // A listed path over the bound.
    let (root, nodes) = build(&[(&longer, addr(5))]);
    assert_eq!(
        list(&nodes, root, 1000),
        Err(Error::PathTooLong {
            len: MAX_PATH_LEN + 1
        })
    );
}

#[test]
fn depth_bound_at_n_and_n_plus_1() {
    // "a", "aa", "aaa", ...: one single-byte fork per level.
    let paths: Vec<Vec<u8>> = (1..=MAX_MANIFEST_DEPTH + 1)
        .map(|n| vec![b'a'; n])
        .collect();
    let entries: Vec<(&[u8], Reference)> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| (p.as_slice(), addr(u8::try_from(i % 250).unwrap() + 1)))
        .collect();
    let (root, nodes) = build(&entries);
    let deepest = &paths[MAX_MANIFEST_DEPTH - 1];
    assert!(lookup(&nodes, root, deepest, LookupMode::Exact).is_ok());
    let too_deep = &paths[MAX_MANIFEST_DEPTH];
    assert_eq!(
        lookup(&nodes, root, too_deep, LookupMode::Exact),
        Err(Error::ManifestTooDeep)
    );
    assert_eq!(list(&nodes, root, 10_000), Err(Error::ManifestTooDeep));
}

#[test]
fn entries_without_content_are_not_found() {
    let mut nodes = Nodes::new();
    let root = addr(1);
    nodes.insert(*root.address(), raw_node(None, &[fork(b"empty", addr(2))]));
    nodes.insert(*addr(2).address(), raw_node(None, &[]));
    assert_eq!(
        lookup(&nodes, root, b"empty", LookupMode::Exact),
        Err(Error::NotFound)
    );
    // A node reached without the value flag is not an entry either.
    nodes.insert(
        *root.address(),
        raw_node(
            None,
            &[RawFork {
                node_type: 0,
                prefix: b"edge",
                child: addr(3),
                metadata: None,
            }],
        ),
    );
    nodes.insert(*addr(3).address(), raw_node(Some(addr(9)), &[]));
    assert_eq!(
        lookup(&nodes, root, b"edge", LookupMode::Exact),
        Err(Error::NotFound)
    );
}

#[test]
fn website_mode_follows_index_documents_once() {
    let mut w = ManifestWriter::new();
    w.add(b"index.html", &addr(1), &[]).unwrap();
    w.add(b"dir/index.html", &addr(2), &[]).unwrap();
    w.add_raw(b"/", &[], &[("website-index-document", "index.html")])
        .unwrap();
    let mut nodes = Nodes::new();
    let root = w
        .save(|a: &ChunkAddress, c: &[u8]| {
            nodes.insert(*a, c[8..].to_vec());
            Ok(())
        })
        .unwrap();
    let web = LookupMode::Website { follow_feed: true };
    assert_eq!(lookup(&nodes, root, b"", web), Ok(addr(1)));
    assert_eq!(lookup(&nodes, root, b"/", web), Ok(addr(1)));
    assert_eq!(lookup(&nodes, root, b"dir", web), Ok(addr(2)));
    assert_eq!(lookup(&nodes, root, b"dir/", web), Ok(addr(2)));
    assert_eq!(lookup(&nodes, root, b"nope", web), Err(Error::NotFound));
    assert_eq!(
        lookup(&nodes, root, b"", LookupMode::Exact),
        Err(Error::NotFound)
    );
    assert_eq!(
        lookup(&nodes, root, b"dir", LookupMode::Exact),
        Err(Error::NotFound)
    );
}

#[test]
fn handing_nodes_to_a_finished_lookup_changes_nothing() {
    let (root, nodes) = build(&[(b"a", addr(5))]);
    let mut buf = vec![0u8; 8192];
    let mut l = Lookup::new(root, b"a", LookupMode::Exact, &mut buf).unwrap();
    while let Some(w) = l.wanted() {
        l.handle_node_bytes(&nodes[w.address()]).unwrap();
    }
    assert_eq!(
        l.handle_node_bytes(&nodes[root.address()]),
        Err(Error::UnexpectedChunk)
    );
    assert_eq!(l.entry().unwrap().reference(), addr(5));
}
