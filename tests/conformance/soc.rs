//! Single-owner chunks against Bee's tests, bee-js's SOC set (valid and invalid, as stored
//! chunks), Go Bee's signed SOCs (byte-identical signatures: both sign with RFC 6979) and Bee's
//! dispersed root replicas.

use k256::ecdsa::SigningKey;
use swarm_bmt::{keccak256, ChunkAddress, Span};
use swarm_core::soc::{
    owner_of, recover_owner, sign, soc_address, Owner, Soc, ID_SIZE, MAX_SOC_LEN, REPLICAS_OWNER,
};

use crate::common::*;

fn owner(hex_owner: &str) -> Owner {
    Owner(unhex(hex_owner).try_into().unwrap())
}

fn id(hex_id: &str) -> [u8; ID_SIZE] {
    unhex(hex_id).try_into().unwrap()
}

fn address(hex_addr: &str) -> ChunkAddress {
    hex_addr.parse().unwrap()
}

fn key(hex_key: &str) -> SigningKey {
    SigningKey::from_slice(&unhex(hex_key)).unwrap()
}

/// Bee's signer: ECDSA (RFC 6979) over the Ethereum personal-message hash of `data`.
fn eth_sign(key: &SigningKey, data: &[u8]) -> Vec<u8> {
    let mut m = format!("\x19Ethereum Signed Message:\n{}", data.len()).into_bytes();
    m.extend_from_slice(data);
    let (sig, recid) = key.sign_prehash_recoverable(&keccak256(&m)).unwrap();
    let mut out = sig.to_bytes().to_vec();
    out.push(27 + recid.to_byte());
    out
}

#[test]
fn bee_soc_vectors() {
    let doc = load_json("bee/soc.json");
    let (mut valid, mut invalid, mut other) = (0, 0, 0);
    for v in vectors(&doc) {
        let (input, exp) = (&v["input"], &v["expected"]);
        let name = str_of(v, "name");
        match str_of(v, "kind") {
            "soc_valid" => {
                let data = unhex(str_of(input, "chunk_data"));
                let soc = Soc::verify(&address(str_of(input, "address")), &data).unwrap();
                assert_eq!(soc.owner(), &owner(str_of(exp, "owner")));
                assert_eq!(soc.identifier(), &id(str_of(exp, "identifier")));
                assert_eq!(
                    soc.wrapped_address(),
                    &address(str_of(exp, "wrapped_address"))
                );
                assert_eq!(
                    hex::encode(soc.span().to_bytes()),
                    str_of(exp, "wrapped_span")
                );
                assert_eq!(hex::encode(soc.payload()), str_of(exp, "wrapped_payload"));
                assert_eq!(hex::encode(&data[32..97]), str_of(exp, "signature"));
                valid += 1;
            }
            "soc_invalid" => {
                let data = match input.get("chunk_data").and_then(|d| d.as_str()) {
                    Some(d) => unhex(d),
                    None => vec![0x61; u64_of(input, "chunk_data_len") as usize],
                };
                let addr = address(str_of(input, "address"));
                assert!(Soc::verify(&addr, &data).is_err(), "{name}");
                invalid += 1;
            }
            "soc_address" => {
                let got = soc_address(
                    &id(str_of(input, "identifier")),
                    &owner(str_of(input, "owner")),
                );
                assert_eq!(got.to_string(), str_of(exp, "address"));
                other += 1;
            }
            "soc_recover" => {
                let sig: [u8; 65] = unhex(str_of(input, "signature")).try_into().unwrap();
                let got = recover_owner(
                    &sig,
                    &id(str_of(input, "identifier")),
                    &address(str_of(input, "wrapped_address")),
                )
                .unwrap();
                assert_eq!(got, owner(str_of(exp, "owner")));
                other += 1;
            }
            "eth_address_from_private_key" => {
                let k = key(str_of(input, "private_key"));
                assert_eq!(
                    owner_of(k.verifying_key()),
                    owner(str_of(exp, "owner")),
                    "{name}"
                );
                if name == "replicas-owner" {
                    assert_eq!(owner_of(k.verifying_key()), REPLICAS_OWNER);
                }
                other += 1;
            }
            "eth_sign" => {
                let k = key(str_of(input, "private_key"));
                let sig = eth_sign(&k, &unhex(str_of(input, "data")));
                assert_eq!(hex::encode(sig), str_of(exp, "signature"));
                other += 1;
            }
            kind => panic!("unknown kind {kind}"),
        }
    }
    assert_eq!((valid, invalid, other), (1, 7, 5));
}

#[test]
fn beejs_soc_vectors() {
    let doc = load_json("beejs/vectors/soc.json");
    let (mut valid, mut invalid) = (0, 0);
    for v in vectors(&doc) {
        let name = str_of(v, "name");
        let addr = address(str_of(v, "address"));
        let data = load_bytes(&format!("beejs/{}", str_of(v, "chunk_file")));
        assert_eq!(hex::encode(&data), str_of(v, "chunk_hex"), "{name}");
        let claimed = owner(str_of(v, "owner"));
        if v["valid"].as_bool().unwrap() {
            let soc = Soc::verify_owned_by(&addr, &data, &claimed).unwrap();
            assert_eq!(soc.identifier(), &id(str_of(v, "identifier_hex")));
            assert_eq!(soc.span().get().to_string(), str_of(v, "span"));
            assert_eq!(hex::encode(soc.payload()), str_of(v, "payload_hex"));
            assert_eq!(
                soc.wrapped_address(),
                &address(str_of(v, "wrapped_cac_address"))
            );
            // Our signature (RFC 6979) differs from bee-js's but names the same chunk.
            let mut out = [0u8; MAX_SOC_LEN];
            let (mine, _) = sign(
                &key(str_of(v, "private_key_hex")),
                soc.identifier(),
                soc.span(),
                soc.payload(),
                &mut out,
            )
            .unwrap();
            assert_eq!(mine, addr);
            valid += 1;
        } else {
            assert!(Soc::verify(&addr, &data).is_err(), "{name}");
            assert!(
                Soc::verify_owned_by(&addr, &data, &claimed).is_err(),
                "{name}"
            );
            // The same chunk before tampering verifies, so the vector tests what it says.
            let untampered = unhex(str_of(v, "untampered_chunk_hex"));
            let good = soc_address(&id(str_of(v, "identifier_hex")), &claimed);
            if name != "soc-wrong-owner" {
                assert!(
                    Soc::verify_owned_by(&good, &untampered, &claimed).is_ok(),
                    "{name}"
                );
            }
            invalid += 1;
        }
    }
    assert_eq!((valid, invalid), (4, 4));
}

#[test]
fn gobee_soc_vectors() {
    let doc = load_json("bee-go/soc.json");
    let mut n = 0;
    for v in vectors(&doc) {
        let name = str_of(v, "name");
        let addr = address(str_of(v, "address"));
        let data = load_bytes(&format!("bee-go/{}", str_of(v, "chunk_file")));
        assert_eq!(hex::encode(&data), str_of(v, "chunk_hex"));
        let soc = Soc::verify_owned_by(&addr, &data, &owner(str_of(v, "owner"))).unwrap();
        let identifier = id(str_of(v, "identifier_hex"));
        let payload = unhex(str_of(v, "payload_hex"));
        assert_eq!(soc.payload(), &payload[..], "{name}");
        assert_eq!(soc.span().get(), u64_of(v, "span"));
        // The digests Bee signs.
        let mut m = identifier.to_vec();
        m.extend_from_slice(soc.wrapped_address().as_bytes());
        let digest = keccak256(&m);
        assert_eq!(hex::encode(digest), str_of(v, "sign_digest_hex"));
        let mut m = b"\x19Ethereum Signed Message:\n32".to_vec();
        m.extend_from_slice(&digest);
        assert_eq!(hex::encode(keccak256(&m)), str_of(v, "eth_signed_hash_hex"));
        // RFC 6979 on both sides: the whole chunk is byte-identical.
        let mut out = [0u8; MAX_SOC_LEN];
        let (got, bytes) = sign(
            &key(str_of(v, "private_key_hex")),
            &identifier,
            Span(u64_of(v, "span")),
            &payload,
            &mut out,
        )
        .unwrap();
        assert_eq!(got, addr, "{name}");
        assert_eq!(hex::encode(bytes), str_of(v, "chunk_hex"), "{name}");
        n += 1;
    }
    assert_eq!(n, 4);

    // Go Bee's verdicts on bee-js's SOCs are ours.
    let beejs = load_json("beejs/vectors/soc.json");
    let mut agreed = 0;
    for g in doc["gobee_validates_beejs_soc_vectors"].as_array().unwrap() {
        let v = vectors(&beejs)
            .iter()
            .find(|v| v["name"] == g["name"])
            .unwrap();
        let data = load_bytes(&format!("beejs/{}", str_of(v, "chunk_file")));
        let ours = Soc::verify(&address(str_of(v, "address")), &data).is_ok();
        assert_eq!(
            ours,
            g["gobee_soc_valid"].as_bool().unwrap(),
            "{}",
            g["name"]
        );
        agreed += 1;
    }
    assert_eq!(agreed, 8);
}

#[test]
fn gobee_dispersed_replicas() {
    let doc = load_json("bee-go/redundancy/replicas.json");
    let (mut roots, mut socs, mut listed) = (0, 0, 0);
    for v in vectors(&doc) {
        let root = address(str_of(v, "reference"));
        let list = v["socs_in_bee_order"].as_array().unwrap();
        assert_eq!(
            list.len(),
            2 << (u64_of(v, "level") - 1),
            "2, 4, 8 or 16 per level"
        );
        listed += list.len();
        for r in list {
            let addr = address(str_of(r, "address"));
            let data = load_bytes(&format!("bee-go/redundancy/{}", str_of(r, "file")));
            let soc = Soc::verify_owned_by(&addr, &data, &REPLICAS_OWNER).unwrap();
            assert_eq!(soc.wrapped_address(), &root, "a replica wraps the root");
            assert_eq!(hex::encode(soc.identifier()), str_of(r, "id"));
            assert_eq!(soc.identifier()[0] as u64, u64_of(r, "id_byte0"));
            assert_eq!(
                8 + soc.payload().len() as u64,
                u64_of(v, "wrapped_chunk_length")
            );
            socs += 1;
        }
        roots += 1;
    }
    assert_eq!((roots, socs), (5, listed));
    assert!(socs >= 30);
}
