//! The DBCP frame codec on arbitrary receive buffers: never a panic; a message that decodes
//! re-encodes to a frame that decodes to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarm_net::codec::{decode, decode_frame, MAX_FRAME_LEN};

fuzz_target!(|data: &[u8]| {
    let _ = decode_frame(data);
    if let Ok(Some((message, used))) = decode(data) {
        assert!(used <= data.len());
        let mut out = [0u8; MAX_FRAME_LEN];
        let n = message.encode(&mut out).expect("a decoded message re-encodes");
        let (again, used_again) = decode(&out[..n]).expect("re-encoded frame decodes").unwrap();
        assert_eq!(again, message);
        assert_eq!(used_again, n);
    }
});
