//! Sequence feeds against bee-js (`beejs/vectors/feeds.json`) and Go Bee
//! (`bee-go/feeds.json`): identifiers, SOC addresses, the latest index from any anti-rollback
//! minimum, update payloads (v1 and v2) and their content; plus the collector's derived
//! identifiers and signed updates (`bee/derived.json`).

use serde_json::Value;
use sha2::{Digest, Sha256};
use swarm_bmt::{ChunkAddress, Reference};
use swarm_core::feed::{
    epoch_identifier, sequence_address, sequence_identifier, FeedLookup, FeedUpdate, Topic,
};
use swarm_core::manifest::LookupMode;
use swarm_core::soc::{Owner, Soc};
use swarm_core::{Error, Retrieval};

use crate::common::{load_json, str_of, u64_of, unhex, vectors, xorshift32};
use crate::manifest::{join, load_chunk_dir, resolve, Resolved, Store};

fn owner(hex_text: &str) -> Owner {
    Owner(unhex(hex_text).try_into().unwrap())
}

/// Runs a feed lookup against `store` (an address not in it is absent); returns the result
/// and the number of probes.
fn drive(lookup: &mut FeedLookup, store: &Store) -> Result<u64, Error> {
    for _ in 0..1000 {
        let mut asked = Vec::new();
        while let Some(a) = lookup.poll_request() {
            asked.push(a);
        }
        if asked.is_empty() {
            break;
        }
        for a in asked {
            match store.get(&a) {
                Some(data) => lookup.handle_chunk(&a, data)?,
                None => lookup.handle_not_found(&a)?,
            }
        }
    }
    assert!(lookup.is_finished(), "{lookup:?}");
    Ok(lookup.latest().unwrap().index())
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Content of an update: v1 joins the reference; v2 joins from the wrapped chunk as root.
fn content(update: &FeedUpdate<'_>, store: &Store) -> Vec<u8> {
    if let Some(legacy) = update.legacy() {
        if store.contains_key(legacy.reference.address()) {
            return join(store, legacy.reference.address());
        }
    }
    let (address, span, payload) = update.wrapped_root().unwrap();
    let mut with_root = store.clone();
    let mut chunk = span.to_bytes().to_vec();
    chunk.extend_from_slice(payload);
    with_root.insert(address, chunk);
    join(&with_root, &address)
}

fn check_feed(f: &Value, store: &Store, label: &str) -> (usize, usize) {
    let name = str_of(f, "name");
    let owner = owner(str_of(f, "owner"));
    let topic: Topic = str_of(f, "topic_hex").parse().unwrap();
    assert_eq!(
        topic,
        Topic::from_name(str_of(f, "topic_string")),
        "{label} {name}"
    );
    let mut ids = 0;
    for u in f["updates"].as_array().unwrap() {
        let index = u64_of(u, "index");
        assert_eq!(
            hex::encode(sequence_identifier(&topic, index)),
            str_of(u, "identifier_hex"),
            "{label} {name} {index}"
        );
        assert_eq!(
            sequence_address(&topic, index, &owner).to_string(),
            str_of(u, "soc_address"),
            "{label} {name} {index}"
        );
        ids += 1;
    }
    for (i, a) in f
        .get("absent_indices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .zip(
            f.get("absent_soc_addresses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
    {
        let index = i.as_u64().unwrap();
        assert_eq!(
            sequence_address(&topic, index, &owner).to_string(),
            a.as_str().unwrap()
        );
        assert!(!store.contains_key(&a.as_str().unwrap().parse::<ChunkAddress>().unwrap()));
        ids += 1;
    }
    // The latest index from every anti-rollback minimum up to it, in every window; one above
    // it is refused.
    // bee-js states the latest index; Go Bee's file gives its finder's result where it ran it.
    let latest = f.get("latest_index").and_then(Value::as_u64).or_else(|| {
        f.get("gobee_sequence_finder")
            .and_then(|g| g["finder_current"].as_str())
            .and_then(|s| s.parse().ok())
    });
    let Some(latest) = latest else {
        return (ids, 0);
    };
    let mut lookups = 0;
    for min in 0..=latest {
        for window in [1, 2, 8] {
            let mut l = FeedLookup::new(owner, topic, min).with_window(window);
            assert_eq!(drive(&mut l, store), Ok(latest), "{label} {name} min {min}");
            lookups += 1;
        }
    }
    let mut l = FeedLookup::new(owner, topic, latest + 1);
    assert_eq!(
        drive(&mut l, store),
        Err(Error::FeedRollback {
            min_index: latest + 1
        }),
        "{label} {name}"
    );
    lookups += 1;
    (ids, lookups)
}

/// bee-js's and Go Bee's feeds: identifiers, addresses, latest index, payloads and content.
#[test]
fn feeds_resolve_to_their_latest_update() {
    let mut beejs = Store::new();
    load_chunk_dir(&mut beejs, "beejs/chunks");
    let mut gobee = Store::new();
    load_chunk_dir(&mut gobee, "bee-go/chunks");
    let (mut ids, mut lookups, mut updates) = (0, 0, 0);

    let file = load_json("beejs/vectors/feeds.json");
    for f in file["feeds"].as_array().unwrap() {
        let (i, l) = check_feed(f, &beejs, "bee-js");
        ids += i;
        lookups += l;
        let owner = owner(str_of(f, "owner"));
        let topic: Topic = str_of(f, "topic_hex").parse().unwrap();
        for u in f["updates"].as_array().unwrap() {
            let index = u64_of(u, "index");
            let address: ChunkAddress = str_of(u, "soc_address").parse().unwrap();
            let soc = Soc::verify_owned_by(&address, &beejs[&address], &owner).unwrap();
            let update = FeedUpdate::from_soc(&soc, &topic, &owner, index).unwrap();
            match u.get("reference") {
                Some(r) => {
                    let legacy = update.legacy().unwrap();
                    assert_eq!(legacy.timestamp, u64_of(u, "timestamp"));
                    assert_eq!(
                        legacy.reference,
                        r.as_str().unwrap().parse::<Reference>().unwrap()
                    );
                }
                None => {
                    assert!(update.legacy().is_none());
                    let (w, span, _) = update.wrapped_root().unwrap();
                    assert_eq!(w.to_string(), str_of(u, "wrapped_cac_address"));
                    assert_eq!(span.get().to_string(), str_of(u, "span"));
                }
            }
            let data = content(&update, &beejs);
            assert_eq!(data.len() as u64, u64_of(u, "content_length"));
            assert_eq!(sha256_hex(&data), str_of(u, "content_sha256"));
            if let Some(recipe) = u.get("content_recipe") {
                let seed = u64_of(recipe, "seed") as u32;
                assert_eq!(data, xorshift32(seed, u64_of(recipe, "length") as usize));
            }
            updates += 1;
        }
        if let Some(r) = f.get("latest_reference") {
            let mut l = FeedLookup::new(owner, topic, 0);
            drive(&mut l, &beejs).unwrap();
            let legacy = l.latest().unwrap().legacy().unwrap();
            assert_eq!(legacy.reference.to_string(), r.as_str().unwrap());
        }
    }

    let file = load_json("bee-go/feeds.json");
    for f in file["feeds"].as_array().unwrap() {
        // Go Bee published feed-ref itself (other signatures, same addresses); feed-payload
        // was read from bee-js's chunks.
        let published = f["updates"][0]["published"] == true;
        let store = if published { &gobee } else { &beejs };
        let (i, l) = check_feed(f, store, "bee-go");
        ids += i;
        lookups += l;
        let owner = owner(str_of(f, "owner"));
        for u in f["updates"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["published"] == true)
        {
            let address: ChunkAddress = str_of(u, "soc_address").parse().unwrap();
            let soc = Soc::verify_owned_by(&address, &gobee[&address], &owner).unwrap();
            assert_eq!(hex::encode(soc.payload()), str_of(u, "payload_hex"));
            updates += 1;
        }
    }
    assert_eq!((ids, lookups, updates), (25, 42, 13));
}

/// A feed manifest (bee-js) points at feed-ref, whose latest update is the listed content.
#[test]
fn feed_manifest_resolves_through_the_feed() {
    let mut store = Store::new();
    load_chunk_dir(&mut store, "beejs/chunks");
    let m = load_json("beejs/vectors/manifests/feed-manifest/expected.json");
    let root: Reference = str_of(&m, "reference").parse().unwrap();
    let Resolved::Feed(owner, topic) =
        resolve(&store, root, b"", LookupMode::Website { follow_feed: true })
    else {
        panic!("not a feed manifest");
    };
    let topic = Topic::from_slice(&topic).unwrap();
    let mut l = FeedLookup::new(owner, topic, 0);
    assert_eq!(drive(&mut l, &store), Ok(4));
    let legacy = l.latest().unwrap().legacy().unwrap();
    assert_eq!(legacy.reference.to_string(), str_of(&m, "resolves_to"));
}

/// `bee/derived.json` (computed by the collector, not by Bee): sequence and epoch identifiers
/// and two signed updates.
#[test]
fn derived_feed_identifiers_and_updates() {
    let file = load_json("bee/derived.json");
    let (mut seq, mut epoch, mut signed) = (0, 0, 0);
    for v in vectors(&file) {
        let input = &v["input"];
        let exp = &v["expected"];
        match str_of(v, "kind") {
            "feed_sequence_identifier" => {
                let topic = Topic::from_slice(&unhex(str_of(input, "topic"))).unwrap();
                let index = u64_of(input, "index");
                assert_eq!(
                    hex::encode(sequence_identifier(&topic, index)),
                    str_of(exp, "identifier")
                );
                let o = owner(str_of(input, "owner"));
                assert_eq!(
                    sequence_address(&topic, index, &o).to_string(),
                    str_of(exp, "soc_address")
                );
                seq += 1;
            }
            "feed_epoch_identifier" => {
                let topic = Topic::from_slice(&unhex(str_of(input, "topic"))).unwrap();
                let start = u64_of(input, "epoch_start");
                let level = u8::try_from(u64_of(input, "epoch_level")).unwrap();
                assert_eq!(
                    hex::encode(epoch_identifier(&topic, start, level)),
                    str_of(exp, "identifier")
                );
                epoch += 1;
            }
            "feed_update" => {
                let topic = Topic::from_slice(&unhex(str_of(input, "topic"))).unwrap();
                let index = u64_of(input, "index");
                let address: ChunkAddress = str_of(exp, "soc_address").parse().unwrap();
                let data = unhex(str_of(exp, "chunk_data"));
                let soc = Soc::verify(&address, &data).unwrap();
                let o = *soc.owner();
                let update = FeedUpdate::from_soc(&soc, &topic, &o, index).unwrap();
                match input.get("reference") {
                    Some(r) => {
                        let legacy = update.legacy().unwrap();
                        assert_eq!(legacy.reference.to_string(), r.as_str().unwrap());
                        assert_eq!(legacy.timestamp, u64_of(input, "timestamp"));
                    }
                    None => {
                        assert!(update.legacy().is_none());
                        assert_eq!(update.payload(), &unhex(str_of(input, "payload"))[..]);
                    }
                }
                // The same chunk under the next index is another feed's update.
                assert_eq!(
                    FeedUpdate::from_soc(&soc, &topic, &o, index + 1),
                    Err(Error::FeedIdentifier)
                );
                signed += 1;
            }
            _ => {}
        }
    }
    assert_eq!((seq, epoch, signed), (7, 2, 2));
}

/// `feed://` targets over the vector feeds: the newest update's content through one driver
/// loop (v1: the referenced file; v2: the wrapped root and its tree), from every
/// anti-rollback minimum up to the latest; above it, refused.
#[test]
fn feed_targets_fetch_the_latest_content() {
    let mut store = Store::new();
    load_chunk_dir(&mut store, "beejs/chunks");
    let file = load_json("beejs/vectors/feeds.json");
    let mut fetched = 0;
    for f in file["feeds"].as_array().unwrap() {
        let target = format!("feed://{}/{}", str_of(f, "owner"), str_of(f, "topic_hex"));
        let latest = u64_of(f, "latest_index");
        let update = &f["updates"][latest as usize];
        for min in 0..=latest {
            let content = crate::manifest::fetch_target(&mut store, &target, min).unwrap();
            assert_eq!(content.len() as u64, u64_of(update, "content_length"));
            assert_eq!(sha256_hex(&content), str_of(update, "content_sha256"));
            fetched += 1;
        }
        assert_eq!(
            crate::manifest::fetch_target(&mut store, &target, latest + 1),
            Err(Error::FeedRollback {
                min_index: latest + 1
            })
        );
    }
    assert_eq!(fetched, 8);
}
