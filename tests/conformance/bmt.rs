//! swarm-bmt against the vectors: Keccak-256, chunk addresses, invalid chunks, file roots and
//! the order in which the splitter stores a tree's chunks.

use serde_json::Value;
use swarm_bmt::{chunk_address, chunk_address_of, keccak256, ChunkAddress, Splitter};

use crate::common::*;

fn split_collecting(data: &[u8]) -> (ChunkAddress, Vec<ChunkAddress>) {
    let mut seen = Vec::new();
    let mut s = Splitter::with_sink(|a: &ChunkAddress, _: &[u8]| {
        seen.push(*a);
        Ok(())
    });
    for piece in data.chunks(7919) {
        s.write(piece).unwrap();
    }
    let root = s.finish().unwrap();
    (root, seen)
}

/// Whether `data` is a valid content-addressed chunk at `address` (Bee's `cac.Valid`).
fn cac_valid(address: &[u8], data: &[u8]) -> bool {
    let Ok(want) = ChunkAddress::from_slice(address) else {
        return false;
    };
    chunk_address_of(data).is_ok_and(|got| got == want)
}

#[test]
fn bee_keccak_and_cac_vectors() {
    let doc = load_json("bee/bmt.json");
    let (mut keccak, mut cac, mut invalid) = (0, 0, 0);
    for v in vectors(&doc) {
        let input = &v["input"];
        match str_of(v, "kind") {
            "keccak256" => {
                let got = keccak256(&unhex(str_of(input, "data")));
                assert_eq!(
                    hex::encode(got),
                    str_of(&v["expected"], "hash"),
                    "{}",
                    v["name"]
                );
                keccak += 1;
            }
            "cac_address" => {
                let span: [u8; 8] = unhex(str_of(input, "span")).try_into().unwrap();
                let payload = unhex(str_of(input, "payload"));
                let want = str_of(&v["expected"], "address");
                assert_eq!(chunk_address(&span, &payload).unwrap().to_string(), want);
                let data = unhex(str_of(&v["expected"], "chunk_data"));
                assert!(cac_valid(&unhex(want), &data), "{}", v["name"]);
                cac += 1;
            }
            "cac_invalid" => {
                let address = unhex(str_of(input, "address"));
                let data = match input.get("chunk_data").and_then(Value::as_str) {
                    Some(d) => unhex(d),
                    None => vec![0x5a; u64_of(input, "chunk_data_len") as usize],
                };
                assert!(!cac_valid(&address, &data), "{} must be invalid", v["name"]);
                invalid += 1;
            }
            _ => {}
        }
    }
    assert_eq!((keccak, cac, invalid), (2, 5, 6));
}

#[test]
fn beejs_single_chunk_vectors() {
    let doc = load_json("beejs/vectors/chunks.json");
    let mut n = 0;
    for v in vectors(&doc) {
        let span: [u8; 8] = unhex(str_of(v, "span_hex")).try_into().unwrap();
        let payload = unhex(str_of(v, "payload_hex"));
        assert_eq!(
            hex::encode(swarm_bmt::bmt_root(&payload).unwrap()),
            str_of(v, "bmt_root_hex")
        );
        let want = str_of(v, "address");
        assert_eq!(
            chunk_address(&span, &payload).unwrap().to_string(),
            want,
            "{}",
            v["name"]
        );
        let stored = load_bytes(&format!("beejs/{}", str_of(v, "chunk_file")));
        assert_eq!(chunk_address_of(&stored).unwrap().to_string(), want);
        // The incremental hasher, fed byte by byte, agrees.
        let mut h = swarm_bmt::Hasher::new();
        for b in &payload {
            h.update(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(
            h.finalize(swarm_bmt::Span::from_bytes(span)).to_string(),
            want
        );
        n += 1;
    }
    assert_eq!(n, 14);
}

#[test]
fn beejs_file_trees_root_and_chunk_order() {
    let doc = load_json("beejs/vectors/files.json");
    let mut n = 0;
    for v in vectors(&doc) {
        let data = load_bytes(&format!("beejs/{}", str_of(v, "data_file")));
        assert_eq!(
            data,
            xorshift32(u64_of(v, "seed") as u32, u64_of(v, "length") as usize)
        );
        let (root, chunks) = split_collecting(&data);
        assert_eq!(root.to_string(), str_of(v, "reference"), "{}", v["name"]);
        let list =
            std::fs::read_to_string(vector_path(&format!("beejs/{}", str_of(v, "chunk_list"))))
                .unwrap();
        let want: Vec<&str> = list.split_whitespace().collect();
        let got: Vec<String> = chunks.iter().map(ToString::to_string).collect();
        assert_eq!(got, want, "{}: chunks in creation order", v["name"]);
        assert_eq!(chunks.len() as u64, u64_of(v, "chunk_count"));
        n += 1;
    }
    assert_eq!(n, 9);
}

#[test]
fn bee_go_file_trees() {
    let doc = load_json("bee-go/files.json");
    let mut n = 0;
    for v in vectors(&doc) {
        let data = xorshift32(u64_of(v, "seed") as u32, u64_of(v, "length") as usize);
        let (root, chunks) = split_collecting(&data);
        assert_eq!(root.to_string(), str_of(v, "reference"), "{}", v["name"]);
        if let Some(list) = v.get("chunks").and_then(Value::as_array) {
            let got: Vec<String> = chunks.iter().map(ToString::to_string).collect();
            let want: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
            assert_eq!(got, want, "{}", v["name"]);
        }
        n += 1;
    }
    let bee = &doc["bee_test_vectors"]["vectors"];
    for v in bee.as_array().unwrap() {
        let data = seq_mod255(u64_of(v, "length") as usize);
        assert_eq!(
            swarm_bmt::splitter::root_of(&data).unwrap().to_string(),
            str_of(v, "reference")
        );
        n += 1;
    }
    assert_eq!(n, 10 + 21);
}

#[test]
fn bee_file_roots_including_64_mib() {
    let mut n = 0;
    for file in ["bee/file.json", "bee/derived.json"] {
        let doc = load_json(file);
        for v in vectors(&doc)
            .iter()
            .filter(|v| str_of(v, "kind") == "file_root")
        {
            let input = &v["input"];
            let data = match input.get("data").and_then(Value::as_str) {
                Some(d) => unhex(d),
                None => {
                    assert_eq!(str_of(input, "generator"), "seq_mod255");
                    seq_mod255(u64_of(input, "length") as usize)
                }
            };
            let root = swarm_bmt::splitter::root_of(&data).unwrap();
            assert_eq!(
                root.to_string(),
                str_of(&v["expected"], "root"),
                "{}",
                v["name"]
            );
            n += 1;
        }
    }
    assert_eq!(n, 24 + 3);
}
