//! Reference text parsing: never a panic; what parses prints back as the same (lowercased) text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarm_bmt::Reference;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else { return };
    if let Ok(r) = text.parse::<Reference>() {
        assert_eq!(r.to_string(), text.to_ascii_lowercase());
    }
});
