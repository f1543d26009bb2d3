//! The latest-update search against hostile and random nodes: updates signed by another key,
//! a node withholding the newest updates against the anti-rollback minimum, gaps, the probe
//! bound at N and N + 1, and (proptest) any feed length and window.
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

use k256::ecdsa::SigningKey;
use proptest::prelude::*;
use swarm_bmt::{ChunkAddress, Span};
use swarm_core::feed::{sequence_identifier, FeedLookup, Topic, MAX_FEED_PROBES};
use swarm_core::soc::{owner_of, sign, MAX_SOC_LEN};
use swarm_core::{Error, Retrieval};

fn key(byte: u8) -> SigningKey {
    let mut sk = [0u8; 32];
    sk[31] = byte;
    SigningKey::from_bytes(&sk.into()).unwrap()
}

/// The signed v1 update `index` of `(topic, signer)`.
fn update(signer: &SigningKey, topic: &Topic, index: u64) -> (ChunkAddress, Vec<u8>) {
    let mut payload = [0u8; 40];
    payload[..8].copy_from_slice(&index.to_be_bytes());
    payload[8..].copy_from_slice(&[0xab; 32]);
    let mut buf = [0u8; MAX_SOC_LEN];
    let (a, data) = sign(
        signer,
        &sequence_identifier(topic, index),
        Span(40),
        &payload,
        &mut buf,
    )
    .unwrap();
    (a, data.to_vec())
}

/// A node that serves the updates for which `serves(index)` holds. Returns the result.
fn run(
    lookup: &mut FeedLookup,
    signer: &SigningKey,
    serves: impl Fn(u64) -> bool,
) -> Result<u64, Error> {
    let topic = *lookup.topic();
    for _ in 0..10_000 {
        let mut asked = Vec::new();
        while let Some(a) = lookup.poll_request() {
            asked.push((a, lookup.probe_index(&a).unwrap()));
        }
        if asked.is_empty() {
            break;
        }
        for (a, index) in asked {
            if serves(index) {
                let (addr, data) = update(signer, &topic, index);
                assert_eq!(addr, a);
                lookup.handle_chunk(&a, &data)?;
            } else {
                lookup.handle_not_found(&a)?;
            }
        }
    }
    assert!(lookup.is_finished());
    Ok(lookup.latest().unwrap().index())
}

#[test]
fn an_update_signed_by_another_key_is_refused_and_the_probe_stays_open() {
    let (good, evil) = (key(1), key(2));
    let owner = owner_of(good.verifying_key());
    let topic = Topic::from_name("deboot/boot");
    let mut l = FeedLookup::new(owner, topic, 0);
    let a = l.poll_request().unwrap();
    // The attacker's update 0 of the same topic: another address, and its own owner.
    let (evil_addr, evil_data) = update(&evil, &topic, 0);
    assert_ne!(evil_addr, a);
    let err = l.handle_chunk(&a, &evil_data).unwrap_err();
    assert_eq!(err, Error::AddressMismatch);
    assert!(err.is_peer_fault());
    // A correctly signed update of another index, sent for this address.
    let (_, other) = update(&good, &topic, 1);
    assert_eq!(l.handle_chunk(&a, &other), Err(Error::AddressMismatch));
    // Unchanged: nothing new to ask, the probe still takes the right answer.
    assert_eq!(l.poll_request(), None);
    let (_, right) = update(&good, &topic, 0);
    l.handle_chunk(&a, &right).unwrap();
    // An answer for something never asked.
    assert_eq!(
        l.handle_chunk(&evil_addr, &evil_data),
        Err(Error::UnexpectedChunk)
    );
}

#[test]
fn withheld_newest_updates_cannot_go_below_the_minimum() {
    let k = key(3);
    let owner = owner_of(k.verifying_key());
    let topic = Topic::from_name("deboot/boot");
    // Updates 0..=10 exist; the node hides 8, 9 and 10.
    let serves = |i: u64| i <= 7;
    assert_eq!(
        run(&mut FeedLookup::new(owner, topic, 0), &k, serves),
        Ok(7)
    );
    assert_eq!(
        run(&mut FeedLookup::new(owner, topic, 5), &k, serves),
        Ok(7)
    );
    assert_eq!(
        run(&mut FeedLookup::new(owner, topic, 9), &k, serves),
        Err(Error::FeedRollback { min_index: 9 })
    );
    // A node that serves nothing at all.
    assert_eq!(
        run(&mut FeedLookup::new(owner, topic, 0), &k, |_| false),
        Err(Error::FeedNotFound)
    );
}

#[test]
fn a_verified_update_beyond_a_gap_wins() {
    let k = key(4);
    let owner = owner_of(k.verifying_key());
    let topic = Topic::from_name("gaps");
    // 3 is missing but 4..=20 exist: with window 8, index 4 (min + 2^2) is probed and wins.
    let serves = |i: u64| i <= 20 && i != 3;
    let got = run(&mut FeedLookup::new(owner, topic, 0), &k, serves).unwrap();
    assert_eq!(got, 20);
    // Whatever the window, the answer is an update the node serves, at or above the minimum.
    for window in 1..=8 {
        let got = run(
            &mut FeedLookup::new(owner, topic, 0).with_window(window),
            &k,
            serves,
        );
        let got = got.unwrap();
        assert!(serves(got), "window {window}: {got}");
    }
}

#[test]
fn probe_bound_at_n_and_n_plus_1() {
    let k = key(5);
    let owner = owner_of(k.verifying_key());
    let topic = Topic::from_name("bound");
    let serves = |i: u64| i <= 1000;
    let mut l = FeedLookup::new(owner, topic, 0).with_window(1);
    assert_eq!(run(&mut l, &k, serves), Ok(1000));
    let needed = l.probes();
    assert!(needed <= MAX_FEED_PROBES);
    let mut l = FeedLookup::new(owner, topic, 0)
        .with_window(1)
        .with_max_probes(needed);
    assert_eq!(run(&mut l, &k, serves), Ok(1000));
    let mut l = FeedLookup::new(owner, topic, 0)
        .with_window(1)
        .with_max_probes(needed - 1);
    assert_eq!(
        run(&mut l, &k, serves),
        Err(Error::FeedProbeLimit { max: needed - 1 })
    );
}

#[test]
fn huge_indices_stay_within_the_probe_bound() {
    let k = key(6);
    let owner = owner_of(k.verifying_key());
    let topic = Topic::from_name("huge");
    let latest = (1u64 << 40) + 12_345;
    for window in [1, 8] {
        let mut l = FeedLookup::new(owner, topic, 0).with_window(window);
        assert_eq!(run(&mut l, &k, |i| i <= latest), Ok(latest));
        assert!(l.probes() <= MAX_FEED_PROBES, "{}", l.probes());
    }
    // The very top of the index space.
    let mut l = FeedLookup::new(owner, topic, u64::MAX - 3);
    assert_eq!(run(&mut l, &k, |_| true), Ok(u64::MAX));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any gap-free feed, any minimum at or below its latest index, any window: the latest
    /// index is found; above it, the minimum is refused.
    #[test]
    fn finds_the_latest_of_any_gap_free_feed(latest in 0u64..600, min_frac in 0u64..=100, window in 1usize..=8) {
        let k = key(7);
        let owner = owner_of(k.verifying_key());
        let topic = Topic::from_name("prop");
        let min = latest * min_frac / 100;
        let mut l = FeedLookup::new(owner, topic, min).with_window(window);
        prop_assert_eq!(run(&mut l, &k, |i| i <= latest), Ok(latest));
        let mut l = FeedLookup::new(owner, topic, latest + 1).with_window(window);
        prop_assert_eq!(
            run(&mut l, &k, |i| i <= latest),
            Err(Error::FeedRollback { min_index: latest + 1 })
        );
    }
}
