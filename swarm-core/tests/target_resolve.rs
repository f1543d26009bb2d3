//! One driver loop fetches every kind of target: `bytes://`, `bzz://` (index documents, chunk
//! tree nodes, feed manifests), `feed://` with v1 and v2 updates, with and without a path;
//! the anti-rollback minimum holds across the composition.
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

use k256::ecdsa::SigningKey;
use swarm_bmt::{ChunkAddress, Reference, Span, Splitter};
use swarm_core::feed::{sequence_identifier, Topic};
use swarm_core::joiner::Buffers;
use swarm_core::manifest::{build_feed_manifest, ManifestWriter};
use swarm_core::soc::{owner_of, sign, Owner, MAX_SOC_LEN};
use swarm_core::source::drive;
use swarm_core::target::{Resolver, Target};
use swarm_core::Error;

type Store = HashMap<ChunkAddress, Vec<u8>>;

struct World {
    store: Store,
    key: SigningKey,
    owner: Owner,
}

impl World {
    fn new() -> Self {
        let mut sk = [0u8; 32];
        sk[31] = 42;
        let key = SigningKey::from_bytes(&sk.into()).unwrap();
        let owner = owner_of(key.verifying_key());
        Self {
            store: Store::new(),
            key,
            owner,
        }
    }

    fn file(&mut self, content: &[u8]) -> Reference {
        let store = &mut self.store;
        let mut s = Splitter::with_sink(|a: &ChunkAddress, c: &[u8]| {
            store.insert(*a, c.to_vec());
            Ok(())
        });
        s.write(content).unwrap();
        Reference::plain(s.finish().unwrap())
    }

    fn manifest(&mut self, entries: &[(&str, Reference)], index: Option<&str>) -> Reference {
        let mut w = ManifestWriter::new();
        for (p, r) in entries {
            w.add(
                p.as_bytes(),
                r,
                &[("Content-Type", "application/octet-stream")],
            )
            .unwrap();
        }
        if let Some(i) = index {
            w.add_raw(b"/", &[], &[("website-index-document", i)])
                .unwrap();
        }
        let store = &mut self.store;
        w.save(|a: &ChunkAddress, c: &[u8]| {
            store.insert(*a, c.to_vec());
            Ok(())
        })
        .unwrap()
    }

    /// Publishes update `index` of `topic` wrapping `span || payload`.
    fn publish(&mut self, topic: &Topic, index: u64, span: u64, payload: &[u8]) {
        let mut buf = [0u8; MAX_SOC_LEN];
        let (a, data) = sign(
            &self.key,
            &sequence_identifier(topic, index),
            Span(span),
            payload,
            &mut buf,
        )
        .unwrap();
        self.store.insert(a, data.to_vec());
    }

    /// A v1 update: `timestamp || reference`.
    fn publish_v1(&mut self, topic: &Topic, index: u64, reference: &Reference) {
        let mut payload = 1_700_000_000u64.to_be_bytes().to_vec();
        payload.extend_from_slice(&reference.address().0);
        self.publish(topic, index, 40, &payload);
    }

    /// A v2 update: the root chunk of `reference`'s tree itself.
    fn publish_v2(&mut self, topic: &Topic, index: u64, reference: &Reference) {
        let root = self.store[reference.address()].clone();
        let span = u64::from_le_bytes(root[..8].try_into().unwrap());
        self.publish(topic, index, span, &root[8..]);
    }

    fn fetch(&mut self, target: &str, min_index: u64) -> Result<(Vec<u8>, Option<u64>), Error> {
        self.fetch_with(target, min_index, 64 * 1024)
    }

    fn fetch_with(
        &mut self,
        target: &str,
        min_index: u64,
        node_buf_len: usize,
    ) -> Result<(Vec<u8>, Option<u64>), Error> {
        let target: Target = target.parse()?;
        let mut memory = Box::new(Buffers::<8, 3>::new());
        let Buffers { slots, levels } = &mut *memory;
        let mut node_buf = vec![0u8; node_buf_len];
        let mut r = Resolver::new(&target, min_index, &mut node_buf, slots, levels)?;
        let mut out = Vec::new();
        match drive(&mut r, &mut self.store, &mut out) {
            Ok(n) => {
                assert_eq!(n as usize, out.len());
                assert_eq!(r.size(), Some(n));
                Ok((out, r.feed_index()))
            }
            Err(e) => {
                let e = *e.get_ref().unwrap().downcast_ref::<Error>().unwrap();
                assert_eq!(r.error(), Some(e));
                Err(e)
            }
        }
    }
}

fn feed(w: &World, topic: &Topic, path: &str) -> String {
    format!("feed://{}/{topic}{path}", hex::encode(w.owner.0))
}

#[test]
fn bytes_and_bzz_targets() {
    let mut w = World::new();
    let kernel: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
    let kref = w.file(&kernel);
    let iref = w.file(b"<h1>boot menu</h1>");
    let m = w.manifest(
        &[("vmlinuz", kref), ("index.html", iref)],
        Some("index.html"),
    );
    assert_eq!(w.fetch(&format!("bytes://{kref}"), 0).unwrap().0, kernel);
    assert_eq!(
        w.fetch(&format!("bzz://{m}/vmlinuz"), 0).unwrap(),
        (kernel, None)
    );
    assert_eq!(
        w.fetch(&format!("bzz://{m}"), 0).unwrap().0,
        b"<h1>boot menu</h1>"
    );
    assert_eq!(
        w.fetch(&format!("bzz://{m}/"), 0).unwrap().0,
        b"<h1>boot menu</h1>"
    );
    assert_eq!(
        w.fetch(&format!("bzz://{m}/initrd"), 0),
        Err(Error::NotFound)
    );
    // A chunk the node does not have.
    let missing = Reference::plain(ChunkAddress([9; 32]));
    assert_eq!(
        w.fetch(&format!("bytes://{missing}"), 0),
        Err(Error::ChunkNotFound)
    );
}

#[test]
fn wide_manifest_nodes_are_joined_chunk_trees() {
    let mut w = World::new();
    let files: Vec<(String, Reference)> = (0u8..200)
        .map(|i| {
            let name = format!("{}file-{i}", char::from(b'!' + i % 90));
            let r = w.file(name.as_bytes());
            (name, r)
        })
        .collect();
    let entries: Vec<(&str, Reference)> = files.iter().map(|(n, r)| (n.as_str(), *r)).collect();
    let m = w.manifest(&entries, None);
    // The root node holds 90 forks with metadata: a chunk tree of several chunks.
    assert!(u64::from_le_bytes(w.store[m.address()][..8].try_into().unwrap()) > 4096);
    for (name, _) in files.iter().step_by(17) {
        let got = w.fetch(&format!("bzz://{m}/{name}"), 0).unwrap().0;
        assert_eq!(got, name.as_bytes());
    }
    // A node buffer too small for that root.
    assert!(matches!(
        w.fetch_with(&format!("bzz://{m}/{}", files[0].0), 0, 4096),
        Err(Error::NodeTooLarge { max: 4096, .. })
    ));
}

#[test]
fn feed_targets_with_v1_and_v2_updates() {
    let mut w = World::new();
    let old = w.file(b"old image");
    let new: Vec<u8> = (0..9000u32).map(|i| (i % 251) as u8).collect();
    let newref = w.file(&new);
    let topic = Topic::from_name("deboot/os");
    w.publish_v1(&topic, 0, &old);
    w.publish_v1(&topic, 1, &old);
    w.publish_v2(&topic, 2, &newref); // wraps an intermediate root chunk
    assert_eq!(
        w.fetch(&feed(&w, &topic, ""), 0).unwrap(),
        (new.clone(), Some(2))
    );
    assert_eq!(
        w.fetch(&feed(&w, &topic, ""), 2).unwrap(),
        (new.clone(), Some(2))
    );
    assert_eq!(
        w.fetch(&feed(&w, &topic, ""), 3),
        Err(Error::FeedRollback { min_index: 3 })
    );
    let small = Topic::from_name("deboot/small");
    let sref = w.file(b"tiny payload");
    w.publish_v2(&small, 0, &sref); // wraps a leaf
    assert_eq!(
        w.fetch(&feed(&w, &small, ""), 0).unwrap().0,
        b"tiny payload"
    );
    let v1 = Topic::from_name("deboot/v1");
    w.publish_v1(&v1, 0, &newref);
    assert_eq!(w.fetch(&feed(&w, &v1, ""), 0).unwrap(), (new, Some(0)));
    let none = Topic::from_name("deboot/none");
    assert_eq!(w.fetch(&feed(&w, &none, ""), 0), Err(Error::FeedNotFound));
}

#[test]
fn a_v1_shaped_update_whose_reference_is_not_served_is_v2() {
    let mut w = World::new();
    let topic = Topic::from_name("ambiguous");
    // 40 bytes of content that look like `timestamp || reference` to nothing served.
    let content: Vec<u8> = (0..40u8).collect();
    w.publish(&topic, 0, 40, &content);
    assert_eq!(w.fetch(&feed(&w, &topic, ""), 0).unwrap().0, content);
}

#[test]
fn feed_targets_with_a_path_read_the_update_as_a_manifest() {
    let mut w = World::new();
    let k1 = w.file(b"kernel 1");
    let k2 = w.file(b"kernel 2");
    let m1 = w.manifest(&[("vmlinuz", k1)], None);
    let m2 = w.manifest(&[("vmlinuz", k2)], Some("vmlinuz"));
    let topic = Topic::from_name("deboot/manifests");
    w.publish_v1(&topic, 0, &m1);
    w.publish_v2(&topic, 1, &m2); // the manifest's root node is the wrapped chunk
    assert_eq!(
        w.fetch(&feed(&w, &topic, "/vmlinuz"), 0).unwrap(),
        (b"kernel 2".to_vec(), Some(1))
    );
    assert_eq!(w.fetch(&feed(&w, &topic, "/"), 0).unwrap().0, b"kernel 2");
    let v1only = Topic::from_name("deboot/v1-manifest");
    w.publish_v1(&v1only, 0, &m1);
    assert_eq!(
        w.fetch(&feed(&w, &v1only, "/vmlinuz"), 0).unwrap().0,
        b"kernel 1"
    );
    assert_eq!(
        w.fetch(&feed(&w, &v1only, "/initrd"), 0),
        Err(Error::NotFound)
    );
}

#[test]
fn bzz_through_a_feed_manifest_follows_the_feed_once() {
    let mut w = World::new();
    let k = w.file(b"kernel via feed manifest");
    let m = w.manifest(&[("vmlinuz", k)], None);
    let topic = Topic::from_name("deboot/fm");
    w.publish_v1(&topic, 0, &m);
    w.publish_v1(&topic, 1, &m);
    let store = &mut w.store;
    let fm = build_feed_manifest(&w.owner, &topic, |a: &ChunkAddress, c: &[u8]| {
        store.insert(*a, c.to_vec());
        Ok(())
    })
    .unwrap();
    assert_eq!(
        w.fetch(&format!("bzz://{fm}/vmlinuz"), 0).unwrap(),
        (b"kernel via feed manifest".to_vec(), Some(1))
    );
    assert_eq!(
        w.fetch(&format!("bzz://{fm}/vmlinuz"), 2),
        Err(Error::FeedRollback { min_index: 2 })
    );
    // A feed whose update is itself a feed manifest is not followed again.
    let loop_topic = Topic::from_name("deboot/loop");
    let store = &mut w.store;
    let fm2 = build_feed_manifest(&w.owner, &loop_topic, |a: &ChunkAddress, c: &[u8]| {
        store.insert(*a, c.to_vec());
        Ok(())
    })
    .unwrap();
    w.publish_v1(&loop_topic, 0, &fm2);
    assert_eq!(
        w.fetch(&format!("bzz://{fm2}/vmlinuz"), 0),
        Err(Error::NotFound)
    );
}
