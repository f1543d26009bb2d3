//! Mantaray node bytes through the decoder and a lookup: never a panic; a decoded node's forks
//! can all be walked; decoding the (now plain) buffer again gives the same node.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarm_bmt::{ChunkAddress, Reference};
use swarm_core::manifest::{Lookup, LookupMode, Node};

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.to_vec();
    if let Ok(node) = Node::decode(&mut bytes) {
        let forks = node.forks().count();
        assert_eq!(forks, node.fork_count());
        for f in node.forks() {
            assert!((1..=30).contains(&f.prefix().len()));
            assert_eq!(
                node.fork(f.first_byte()).map(|g| g.prefix()),
                Some(f.prefix())
            );
            let _ = f.metadata().iter().count();
        }
        let (entry, count) = (node.entry().to_vec(), node.fork_count());
        let again = Node::decode(&mut bytes).unwrap();
        assert_eq!((again.entry(), again.fork_count()), (&entry[..], count));
    }
    // The same bytes as every node of a lookup (a self-referencing manifest must end).
    let path = data.get(..data.len().min(40)).unwrap_or_default();
    let root = Reference::plain(ChunkAddress([7; 32]));
    let mut buf = vec![0u8; 64 * 1024];
    for mode in [LookupMode::Exact, LookupMode::Website { follow_feed: true }] {
        let Ok(mut lookup) = Lookup::new(root, path, mode, &mut buf) else {
            return;
        };
        let mut steps = 0;
        while lookup.wanted().is_some() {
            steps += 1;
            assert!(steps <= 200, "lookup does not end");
            if lookup.handle_node_bytes(data).is_err() {
                break;
            }
        }
    }
});
