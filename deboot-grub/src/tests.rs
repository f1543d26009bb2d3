//! Host tests: a session against an in-memory DBCP server (the codec's own frames), over a
//! collection made by swarm-bmt's splitter.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::vec::Vec;

use swarm_bmt::{ChunkAddress, Splitter};
use swarm_net::codec::{self, Message, MAGIC, MAX_FRAME_LEN, PROTOCOL_VERSION};

use super::*;

fn store(data: &[u8]) -> (ChunkAddress, HashMap<[u8; 32], Vec<u8>>) {
    let mut chunks = HashMap::new();
    let mut s = Splitter::with_sink(|a: &ChunkAddress, c: &[u8]| {
        chunks.insert(*a.as_bytes(), c.to_vec());
        Ok(())
    });
    s.write(data).unwrap();
    let root = s.finish().unwrap();
    (root, chunks)
}

fn pseudo(len: usize) -> Vec<u8> {
    let mut x = 0x1234_5678u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// Answers every frame in `from_client`; `corrupt` flips a byte of the n-th chunk answered.
fn serve(
    from_client: &[u8],
    chunks: &HashMap<[u8; 32], Vec<u8>>,
    answered: &mut usize,
    corrupt: Option<usize>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = from_client;
    let mut frame = [0u8; MAX_FRAME_LEN];
    while let Some((m, used)) = codec::decode(buf).unwrap() {
        buf = &buf[used..];
        let reply_data;
        let reply = match m {
            Message::Hello { .. } => Message::HelloAck {
                id: 0,
                magic: MAGIC,
                version: PROTOCOL_VERSION,
                max_in_flight: 64,
            },
            Message::GetChunk { id, address } => match chunks.get(&address) {
                Some(c) => {
                    let mut c = c.clone();
                    if corrupt == Some(*answered) {
                        let last = c.len() - 1;
                        c[last] ^= 1;
                    }
                    *answered += 1;
                    reply_data = c;
                    Message::Chunk {
                        id,
                        data: &reply_data,
                    }
                }
                None => Message::NotFound { id },
            },
            other => panic!("unexpected {other:?}"),
        };
        let n = reply.encode(&mut frame).unwrap();
        out.extend_from_slice(&frame[..n]);
    }
    assert!(buf.is_empty(), "a partial frame from the client");
    out
}

/// Runs a whole fetch of `target`, feeding the node's bytes in `piece`-byte pieces.
fn fetch(
    target: &str,
    chunks: &HashMap<[u8; 32], Vec<u8>>,
    piece: usize,
    corrupt: Option<usize>,
) -> (Vec<u8>, Option<String>) {
    let mut err = -7;
    // SAFETY: a valid pointer and length; `err` is writable.
    let h = unsafe { deboot_grub_open(target.as_ptr(), target.len(), &mut err) };
    assert!(!h.is_null(), "open failed: {err}");
    let mut out = Vec::new();
    let mut answered = 0;
    let mut buf = [0u8; 5000];
    for _ in 0..10_000 {
        let mut len = 0;
        // As the GRUB shim: send only once the last batch has been answered.
        // SAFETY: a live handle.
        let may_send = unsafe { deboot_grub_may_send(h) };
        assert_eq!(may_send, 1, "every batch is answered");
        // SAFETY: a live handle; the bytes are copied before the next call.
        let tx =
            unsafe { std::slice::from_raw_parts(deboot_grub_transmit(h, &mut len), len) }.to_vec();
        // SAFETY: a live handle.
        unsafe { deboot_grub_sent(h, tx.len()) };
        let reply = serve(&tx, chunks, &mut answered, corrupt);
        let mut failed = false;
        for p in reply.chunks(piece) {
            // SAFETY: a live handle and a valid slice.
            if unsafe { deboot_grub_receive(h, p.as_ptr(), p.len()) } != 0 {
                failed = true;
                break;
            }
        }
        loop {
            // SAFETY: a live handle and a writable buffer.
            let n = unsafe { deboot_grub_read(h, buf.as_mut_ptr(), buf.len()) };
            if n < 0 {
                failed = true;
            }
            if n <= 0 {
                break;
            }
            out.extend_from_slice(&buf[..n as usize]);
        }
        if failed {
            let mut msg = [0u8; 200];
            // SAFETY: a live handle and a writable buffer.
            let n = unsafe { deboot_grub_error(h, msg.as_mut_ptr(), msg.len()) };
            // SAFETY: a live handle, closed once.
            unsafe { deboot_grub_close(h) };
            return (out, Some(String::from_utf8_lossy(&msg[..n]).into_owned()));
        }
        // SAFETY: a live handle.
        if unsafe { deboot_grub_finished(h) } == 1 {
            // SAFETY: a live handle.
            assert_eq!(unsafe { deboot_grub_size(h) }, out.len() as i64);
            // SAFETY: a live handle, closed once.
            unsafe { deboot_grub_close(h) };
            return (out, None);
        }
        assert!(!tx.is_empty() || !reply.is_empty(), "stalled");
    }
    panic!("no progress");
}

#[test]
fn fetches_a_multi_level_file_by_bytes_reference_in_any_piece_size() {
    let data = pseudo(700_000); // 171 leaves: two levels of intermediate chunks
    let (root, chunks) = store(&data);
    for piece in [1, 7, 4096, 1 << 20] {
        let (out, err) = fetch(&format!("bytes://{root}"), &chunks, piece, None);
        assert_eq!(err, None);
        assert_eq!(out.len(), data.len(), "piece {piece}");
        assert!(out == data, "piece {piece}: bytes differ");
    }
}

#[test]
fn a_chunk_that_does_not_verify_ends_the_fetch_and_is_never_output() {
    let data = pseudo(100_000);
    let (root, chunks) = store(&data);
    for bad in [0, 5, 20] {
        let (out, err) = fetch(&format!("bytes://{root}"), &chunks, 4096, Some(bad));
        let err = err.expect("the fetch should fail");
        assert!(err.contains("hash"), "error `{err}`");
        assert!(out.len() < data.len());
        assert!(data.starts_with(&out), "output is not a verified prefix");
    }
}

#[test]
fn missing_chunks_and_bad_targets_fail() {
    let data = pseudo(10_000);
    let (root, mut chunks) = store(&data);
    chunks.remove(root.as_bytes());
    let (out, err) = fetch(&format!("bytes://{root}"), &chunks, 4096, None);
    assert!(out.is_empty());
    assert!(err.is_some());
    for bad in ["bytes://xyz", "http://x", ""] {
        let mut e = 0;
        // SAFETY: a valid pointer and length.
        let h = unsafe { deboot_grub_open(bad.as_ptr(), bad.len(), &mut e) };
        assert!(h.is_null());
        assert_eq!(e, 1);
    }
}

#[test]
fn garbage_from_the_node_is_a_protocol_error() {
    let t = format!("bytes://{}", ChunkAddress::from([7u8; 32]));
    let mut e = 0;
    // SAFETY: a valid pointer and length.
    let h = unsafe { deboot_grub_open(t.as_ptr(), t.len(), &mut e) };
    let junk = [0xffu8; 64];
    // SAFETY: a live handle and a valid slice.
    let r = unsafe { deboot_grub_receive(h, junk.as_ptr(), junk.len()) };
    assert_eq!(r, -1);
    let mut msg = [0u8; 100];
    // SAFETY: a live handle and a writable buffer.
    let n = unsafe { deboot_grub_error(h, msg.as_mut_ptr(), msg.len()) };
    assert_eq!(&msg[..n], b"the node broke the DBCP protocol");
    // SAFETY: closed once.
    unsafe { deboot_grub_close(h) };
}

fn hash_via_c_api(data: &[u8], piece: usize) -> String {
    let h = deboot_grub_hash_new();
    for p in data.chunks(piece) {
        // SAFETY: a live hash and a readable slice.
        assert_eq!(unsafe { deboot_grub_hash_write(h, p.as_ptr(), p.len()) }, 0);
    }
    let mut out = [0xffu8; 65];
    // SAFETY: a live hash, given up here, and 65 writable bytes.
    let r = unsafe { deboot_grub_hash_finish(h, out.as_mut_ptr(), out.len()) };
    assert_eq!(r, 0);
    assert_eq!(out[64], 0, "NUL-terminated");
    std::string::String::from_utf8(out[..64].to_vec()).unwrap()
}

#[test]
fn the_hash_api_gives_swarm_references() {
    // The well-known Swarm address of "hello world" (also in grub-spike.md's table).
    assert_eq!(
        hash_via_c_api(b"hello world", 3),
        "92672a471f4419b255d7cb0cf313474a6f5856fb347c5ece85fb706d644b630f"
    );
    let data = pseudo(700_000);
    let (root, _) = store(&data);
    for piece in [1, 4095, 65536] {
        assert_eq!(
            hash_via_c_api(&data, piece),
            root.to_string(),
            "piece {piece}"
        );
    }
    // Too small an output buffer fails (and still frees the hash).
    let h = deboot_grub_hash_new();
    let mut out = [0u8; 64];
    // SAFETY: a live hash, given up here, and 64 writable bytes.
    let r = unsafe { deboot_grub_hash_finish(h, out.as_mut_ptr(), out.len()) };
    assert_eq!(r, -1);
    // SAFETY: NULL is allowed.
    unsafe { deboot_grub_hash_free(core::ptr::null_mut()) };
}

#[test]
fn a_batch_may_be_sent_only_once_the_last_one_is_answered() {
    let data = pseudo(300_000);
    let (root, chunks) = store(&data);
    let (mut node, mut slots, mut levels) = (
        std::vec![0u8; MAX_NODE_LEN],
        std::vec![Slot::default(); WINDOW],
        std::vec![TreeLevel::default(); MAX_TREE_LEVELS],
    );
    let target: Target = std::format!("bytes://{root}").parse().unwrap();
    let mut s = Session::for_target(&target, &mut node, &mut slots, &mut levels).unwrap();
    let mut answered = 0;
    assert!(s.may_send(), "nothing sent yet");
    // The Hello: unconfirmed until the HelloAck.
    let hello = s.transmit().to_vec();
    s.sent(hello.len());
    assert!(!s.may_send(), "the Hello is unanswered");
    assert!(s.transmit().is_empty(), "no requests before the HelloAck");
    s.receive(&serve(&hello, &chunks, &mut answered, None))
        .unwrap();
    assert!(s.may_send(), "the HelloAck answers the Hello");
    // The root, then a batch of leaves: unconfirmed until the first answer's last byte.
    for _ in 0..2 {
        let batch = s.transmit().to_vec();
        assert!(!batch.is_empty() && batch.len() <= session::TX_LEN);
        s.sent(batch.len());
        assert!(!s.may_send(), "the batch is unanswered");
        let reply = serve(&batch, &chunks, &mut answered, None);
        let (_, first) = codec::decode(&reply).unwrap().unwrap();
        s.receive(&reply[..first - 1]).unwrap();
        assert!(!s.may_send(), "a partial answer confirms nothing");
        s.receive(&reply[first - 1..first]).unwrap();
        assert!(s.may_send(), "one whole answer confirms the batch");
        s.receive(&reply[first..]).unwrap();
    }
}
