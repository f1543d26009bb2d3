//! Feed update bytes: a wrapped chunk through the v1/v2 reader, and a whole single-owner
//! chunk through verification and the feed checks: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarm_bmt::ChunkAddress;
use swarm_core::feed::{FeedLookup, FeedUpdate, Topic};
use swarm_core::soc::{Owner, Soc};
use swarm_core::Retrieval;

fuzz_target!(|data: &[u8]| {
    if let Ok(u) = FeedUpdate::parse(0, data) {
        if let Some(legacy) = u.legacy() {
            assert!(matches!(u.payload().len(), 40 | 72));
            assert_eq!(legacy.reference.len() + 8, u.payload().len());
        }
        let (_, span, payload) = u.wrapped_root().unwrap();
        assert_eq!((span, payload), (u.span(), u.payload()));
    }
    let topic = Topic::from_name("fuzz");
    let owner = Owner([0x11; 20]);
    if let Ok(soc) = Soc::verify(&ChunkAddress([0; 32]), data) {
        let _ = FeedUpdate::from_soc(&soc, &topic, &owner, 0);
    }
    // As the answer to a lookup's first probe: refused or taken, never a panic.
    let mut lookup = FeedLookup::new(owner, topic, 0);
    let probe = lookup.poll_request().unwrap();
    if lookup.handle_chunk(&probe, data).is_err() {
        assert_eq!(lookup.poll_request(), None);
        let _ = lookup.handle_not_found(&probe);
    }
});
