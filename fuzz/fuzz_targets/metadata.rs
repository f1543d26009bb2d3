//! Metadata JSON through the tokenizer: never a panic; what parses iterates to exactly `len`
//! pairs, every value decodes within its raw length budget, and `get` agrees with iteration.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarm_core::metadata::Metadata;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Metadata::parse(data) else { return };
    let pairs: Vec<_> = m.iter().collect();
    assert_eq!(pairs.len(), m.len());
    let mut buf = [0u8; 4096];
    for (k, v) in &pairs {
        // Decoding never grows a string by more than 3 bytes per raw byte (U+FFFD for one).
        assert!(v.decoded_len() <= 3 * v.raw().len());
        if v.decoded_len() <= buf.len() {
            let s = v.decode_into(&mut buf).unwrap();
            assert!(v.eq_str(s));
        }
        let key = k.to_string();
        let last = pairs
            .iter()
            .rev()
            .find(|(k2, _)| k2.eq_str(&key))
            .map(|(_, v)| *v);
        assert_eq!(m.get(&key), last);
    }
});
