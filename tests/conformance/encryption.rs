//! Swarm chunk encryption against Bee: the keystream vector from Bee's tests, an encrypted leaf,
//! Go Bee's encrypted uploads rebuilt byte for byte by the encrypting splitter (same keys, same
//! padding), and the decrypted, level-marked spans of Go Bee's encrypted redundancy trees.

use std::collections::HashMap;

use swarm_bmt::{keccak256, ChunkAddress, Reference, Span};
use swarm_core::chunk::VerifiedChunk;
use swarm_core::crypt::{
    decrypt_chunk, encrypt_chunk, keystream_block, keystream_xor, EncryptingSplitter, SPAN_COUNTER,
};
use swarm_core::Error;

use crate::common::*;

fn key(hex_key: &str) -> [u8; 32] {
    unhex(hex_key).try_into().unwrap()
}

#[test]
fn bee_cipher_vectors() {
    let doc = load_json("bee/encryption.json");
    let mut n = 0;
    for v in vectors(&doc) {
        let input = &v["input"];
        let k = key(str_of(input, "key"));
        match str_of(v, "name") {
            "transform-4096-zeros" => {
                let mut data = vec![0u8; u64_of(input, "data_len") as usize];
                keystream_xor(&k, u64_of(input, "init_ctr") as u32, &mut data);
                assert_eq!(hex::encode(&data), str_of(&v["expected"], "output"));
            }
            "encrypt-longer-than-padding" => {
                // Bee pads to a fixed length; DeBoot's chunk padding is the 4096-byte payload.
                let mut out = [0u8; 4104];
                let long = vec![0u8; 4097];
                let e = encrypt_chunk(
                    &k,
                    Span(4097),
                    &long,
                    &mut |p: &mut [u8]| p.fill(0),
                    &mut out,
                );
                assert_eq!(
                    e,
                    Err(Error::Bmt(swarm_bmt::Error::PayloadTooLong { len: 4097 }))
                );
            }
            "decrypt-length-not-padding" => {
                // An encrypted chunk whose payload is not exactly 4096 bytes is refused.
                let chunk = vec![0u8; 8 + 4095];
                let addr = swarm_bmt::chunk_address_of(&chunk).unwrap();
                let c = VerifiedChunk::verify(&addr, &chunk).unwrap();
                let mut out = [0u8; 4104];
                assert_eq!(
                    decrypt_chunk(&c, &k, &mut out),
                    Err(Error::Truncated {
                        len: 4095,
                        expected: 4096
                    })
                );
            }
            other => panic!("unknown vector {other}"),
        }
        n += 1;
    }
    assert_eq!(n, 3);
}

#[test]
fn derived_encrypted_leaf() {
    let doc = load_json("bee/derived.json");
    let v = vectors(&doc)
        .iter()
        .find(|v| str_of(v, "kind") == "encrypted_chunk")
        .unwrap();
    let r: Reference = str_of(&v["input"], "reference").parse().unwrap();
    let data = unhex(str_of(&v["input"], "chunk_data"));
    let exp = &v["expected"];
    assert_eq!(r.address().to_string(), str_of(exp, "address"));
    let k = *r.key().unwrap();
    assert_eq!(
        hex::encode(&keystream_block(&k, SPAN_COUNTER)[..8]),
        str_of(exp, "span_keystream")
    );
    let chunk = VerifiedChunk::verify(r.address(), &data).unwrap();
    let mut out = [0u8; 4104];
    let plain = decrypt_chunk(&chunk, &k, &mut out).unwrap();
    assert_eq!(hex::encode(&plain[..8]), str_of(exp, "decrypted_span"));
    assert_eq!(hex::encode(&plain[8..]), str_of(exp, "decrypted_payload"));
}

/// Go Bee's key hook: `keccak256("deboot-key" || u32be(k))`.
fn gobee_key(k: u32) -> [u8; 32] {
    let mut m = b"deboot-key".to_vec();
    m.extend_from_slice(&k.to_be_bytes());
    keccak256(&m)
}

#[test]
fn gobee_encrypted_uploads_rebuilt_byte_for_byte() {
    let doc = load_json("bee-go/encrypted.json");
    let mut n = 0;
    for v in vectors(&doc) {
        let name = str_of(v, "name");
        let data = xorshift32(u64_of(v, "seed") as u32, u64_of(v, "length") as usize);
        let mut made: Vec<(ChunkAddress, Vec<u8>)> = Vec::new();
        let mut k = 0;
        let keys = || {
            let key = gobee_key(k);
            k += 1;
            key
        };
        let sink = |a: &ChunkAddress, c: &[u8]| {
            made.push((*a, c.to_vec()));
            Ok(())
        };
        let mut s = EncryptingSplitter::new(keys, |p: &mut [u8]| p.fill(0), sink);
        for piece in data.chunks(3000) {
            s.write(piece).unwrap();
        }
        let root = s.finish().unwrap();
        assert_eq!(root.to_string(), str_of(v, "reference"), "{name}");
        let chunks = v["chunks"].as_array().unwrap();
        assert_eq!(made.len(), chunks.len(), "{name}");
        for ((addr, bytes), c) in made.iter().zip(chunks) {
            // Same creation order, same key, byte-identical stored chunk.
            assert_eq!(
                addr.to_string(),
                str_of(c, "address"),
                "{name} k={}",
                c["k"]
            );
            assert_eq!(bytes, &load_bytes(&format!("bee-go/{}", str_of(c, "file"))));
            let chunk = VerifiedChunk::verify(addr, bytes).unwrap();
            let mut out = [0u8; 4104];
            let plain = decrypt_chunk(&chunk, &key(str_of(c, "key")), &mut out).unwrap();
            let span = u64::from_le_bytes(plain[..8].try_into().unwrap());
            assert_eq!(span, u64_of(c, "plain_span"));
            assert_eq!(plain.len() - 8, u64_of(c, "plain_payload_length") as usize);
        }
        n += 1;
    }
    assert_eq!(n, 6);
}

#[test]
fn gobee_encrypted_redundancy_spans_decrypt_with_their_marker() {
    let doc = load_json("bee-go/redundancy/trees.json");
    let (mut trees, mut chunks) = (0, 0);
    for v in vectors(&doc)
        .iter()
        .filter(|v| v["encrypted"].as_bool().unwrap())
    {
        let mut keys: HashMap<String, [u8; 32]> = HashMap::new();
        for c in v["creation_order"].as_array().unwrap() {
            if let Some(k) = c.get("key").and_then(|k| k.as_str()) {
                keys.insert(str_of(c, "address").to_string(), key(k));
            }
        }
        for i in v["intermediates"].as_array().unwrap() {
            let r: Reference = str_of(i, "reference").parse().unwrap();
            assert_eq!(r.key(), keys.get(str_of(i, "address")));
            let bytes = load_bytes(&format!("bee-go/redundancy/chunks/{}", r.address()));
            let chunk = VerifiedChunk::verify(r.address(), &bytes).unwrap();
            let mut out = [0u8; 4104];
            let plain = decrypt_chunk(&chunk, r.key().unwrap(), &mut out).unwrap();
            assert_eq!(hex::encode(&plain[..8]), str_of(i, "span_le_hex"));
            assert_eq!(plain.len() - 8, u64_of(i, "payload_length") as usize);
            chunks += 1;
        }
        trees += 1;
    }
    assert_eq!(trees, 4);
    assert_eq!(chunks, 9);
}
