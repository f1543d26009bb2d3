//! Shared helpers for the conformance tests: vector loading and the vectors' generators.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;

/// Path of a file under `tests/vectors/`.
pub fn vector_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("vectors")
        .join(rel)
}

/// A JSON vector file under `tests/vectors/`.
pub fn load_json(rel: &str) -> Value {
    let path = vector_path(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON in {}: {e}", path.display()))
}

/// Raw bytes of a file under `tests/vectors/`.
pub fn load_bytes(rel: &str) -> Vec<u8> {
    let path = vector_path(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Decodes lowercase hex from a vector.
pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex in vector ({e}): {s}"))
}

/// A string field of a JSON object.
pub fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("missing string {key} in {v}"))
}

/// An integer field of a JSON object.
pub fn u64_of(v: &Value, key: &str) -> u64 {
    v.get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("missing integer {key} in {v}"))
}

/// The `vectors` list of a vector file.
pub fn vectors(v: &Value) -> &Vec<Value> {
    v.get("vectors")
        .and_then(Value::as_array)
        .expect("no vectors list")
}

/// First `len` bytes of the xorshift32 stream of `seed` (the vectors' PRNG).
pub fn xorshift32(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed;
    let mut out = Vec::with_capacity(len + 4);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Bee's `seq_mod255` generator: byte `i` is `i mod 255`.
pub fn seq_mod255(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 255) as u8).collect()
}

#[test]
fn xorshift32_matches_the_documented_check() {
    assert_eq!(
        hex::encode(xorshift32(1, 16)),
        "2120040001060804c5a8cc9d4f995512"
    );
}
