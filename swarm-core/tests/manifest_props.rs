//! Writer → reader round trips over random path sets: shared prefixes, prefixes longer than
//! 30 bytes, unicode, `/`, up to thousands of entries. Every path added resolves to its entry
//! and metadata, nothing else resolves, and the listing is exactly the set.
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

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use swarm_bmt::{ChunkAddress, Reference};
use swarm_core::manifest::{ListStep, Listing, Lookup, LookupMode, ManifestWriter};
use swarm_core::Error;

type Store = HashMap<ChunkAddress, Vec<u8>>;

/// Joins a plain tree from the store (nodes over 4096 bytes are chunk trees).
fn join(store: &Store, a: &ChunkAddress) -> Vec<u8> {
    let data = &store[a];
    let span = usize::try_from(u64::from_le_bytes(data[..8].try_into().unwrap())).unwrap();
    if span <= 4096 {
        return data[8..8 + span].to_vec();
    }
    let mut out = Vec::new();
    for r in data[8..].chunks(32) {
        if out.len() < span {
            out.extend(join(store, &ChunkAddress::from_slice(r).unwrap()));
        }
    }
    out
}

fn write(
    entries: &BTreeMap<Vec<u8>, (Reference, String)>,
    order: &[Vec<u8>],
) -> (Reference, Store) {
    let mut w = ManifestWriter::new();
    for p in order {
        let (r, ct) = &entries[p];
        w.add(p, r, &[("Content-Type", ct), ("Filename", "f")])
            .unwrap();
    }
    let mut store = Store::new();
    let root = w
        .save(|a: &ChunkAddress, c: &[u8]| {
            store.insert(*a, c.to_vec());
            Ok(())
        })
        .unwrap();
    (root, store)
}

fn lookup(store: &Store, root: Reference, path: &[u8]) -> Result<(Reference, String), Error> {
    let mut buf = vec![0u8; 160 * 1024];
    let mut l = Lookup::new(root, path, LookupMode::Exact, &mut buf)?;
    while let Some(w) = l.wanted() {
        l.handle_node_bytes(&join(store, w.address()))?;
    }
    let e = l.entry().unwrap();
    Ok((e.reference(), e.content_type().unwrap().to_string()))
}

fn listing(store: &Store, root: Reference) -> Vec<(Vec<u8>, Option<Reference>)> {
    let mut buf = vec![0u8; 160 * 1024];
    let mut l = Listing::new(root, &mut buf);
    let mut out = Vec::new();
    loop {
        match l.poll().unwrap() {
            ListStep::Load(r) => l.handle_node_bytes(&join(store, r.address())).unwrap(),
            ListStep::Entry(e) => out.push((e.path().to_vec(), e.reference())),
            ListStep::Done => return out,
        }
    }
}

/// Path pieces: ASCII, separators, multi-byte characters, and long shared stems.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-c]{1,3}",
        "[a-z0-9._-]{1,12}",
        Just("/".to_string()),
        Just("é".to_string()),
        Just("日本語".to_string()),
        Just("🐝".to_string()),
        Just("assets/images/gallery/2024/photo-thumbnail-".to_string()),
        Just("docs/this-is-a-rather-long-file-name-".to_string()),
    ]
}

fn path() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(piece(), 1..6).prop_map(|p| p.concat().into_bytes())
}

fn entry_set(max: usize) -> impl Strategy<Value = BTreeMap<Vec<u8>, (Reference, String)>> {
    prop::collection::btree_map(path(), (any::<[u8; 32]>(), "[a-z/]{0,20}"), 1..max).prop_map(|m| {
        m.into_iter()
            .map(|(p, (r, ct))| (p, (Reference::plain(ChunkAddress(r)), ct)))
            .collect()
    })
}

fn check_round_trip(
    entries: &BTreeMap<Vec<u8>, (Reference, String)>,
    order: &[Vec<u8>],
    probes: &[Vec<u8>],
) -> Result<(), TestCaseError> {
    let (root, store) = write(entries, order);
    for (p, (r, ct)) in entries {
        prop_assert_eq!(lookup(&store, root, p), Ok((*r, ct.clone())), "{:?}", p);
    }
    for p in probes {
        if p.is_empty() || entries.contains_key(p) || p.len() > 1024 {
            continue;
        }
        prop_assert_eq!(lookup(&store, root, p), Err(Error::NotFound), "{:?}", p);
    }
    let listed = listing(&store, root);
    let want: Vec<(Vec<u8>, Option<Reference>)> = entries
        .iter()
        .map(|(p, (r, _))| (p.clone(), Some(*r)))
        .collect();
    prop_assert_eq!(listed, want);
    Ok(())
}

/// Paths that are not in the set but close to it: proper prefixes, extensions, one byte off.
fn near_misses(entries: &BTreeMap<Vec<u8>, (Reference, String)>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for p in entries.keys().take(200) {
        out.push(p[..p.len() / 2].to_vec());
        out.push(p[..p.len() - 1].to_vec());
        let mut longer = p.clone();
        longer.push(b'x');
        out.push(longer);
        let mut changed = p.clone();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        out.push(changed);
        let mut slash = p.clone();
        slash.push(b'/');
        out.push(slash);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Up to 150 entries in a random insertion order.
    #[test]
    fn every_path_and_only_those_resolve(
        entries in entry_set(150),
        seed in any::<u64>(),
        extra in prop::collection::vec(path(), 0..20),
    ) {
        let mut order: Vec<Vec<u8>> = entries.keys().cloned().collect();
        // A deterministic shuffle from the seed: Go's tree depends on the order.
        let mut x = seed | 1;
        for i in (1..order.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            order.swap(i, usize::try_from(x % (i as u64 + 1)).unwrap());
        }
        let mut probes = near_misses(&entries);
        probes.extend(extra);
        check_round_trip(&entries, &order, &probes)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]

    /// Thousands of entries (wide nodes that become chunk trees), sorted order as a directory
    /// upload adds them.
    #[test]
    fn thousands_of_entries_round_trip(entries in entry_set(3000)) {
        let order: Vec<Vec<u8>> = entries.keys().cloned().collect();
        check_round_trip(&entries, &order, &near_misses(&entries))?;
    }
}

#[test]
fn five_thousand_files_in_one_directory() {
    // One directory whose files differ in their first byte after the stem: a node with up
    // to 256 forks with metadata (a chunk tree of several chunks).
    let mut entries = BTreeMap::new();
    for i in 0..5000u32 {
        let p = format!("d/{}{:04}", char::from_u32(0x20 + (i % 90)).unwrap(), i).into_bytes();
        let mut r = [0u8; 32];
        r[..4].copy_from_slice(&i.to_be_bytes());
        r[31] = 1;
        entries.insert(p, (Reference::plain(ChunkAddress(r)), format!("t/{i}")));
    }
    let order: Vec<Vec<u8>> = entries.keys().cloned().collect();
    check_round_trip(&entries, &order, &near_misses(&entries)).unwrap();
}
