//! `import` gives the references of Bee's `POST /bytes` (level 0), from the beejs vectors.

use swarm_relay::Store;

use crate::support::{chunk_list, file_vectors, TempDir};

#[test]
fn imported_files_have_the_vector_references_and_chunks() {
    let dir = TempDir::new("import-vectors");
    let store = Store::open(dir.path()).unwrap();
    let vectors = file_vectors();
    let mut ran = 0;
    let mut expected_chunks = std::collections::HashSet::new();
    for (name, data, reference, list) in &vectors {
        let got = swarm_relay::import::import_file(&store, data).unwrap();
        assert_eq!(got.to_string(), *reference, "{name}");
        // Every chunk Bee's tree has is stored, verified, under its address.
        for addr in chunk_list(list) {
            assert!(
                store.get_verified(&addr).unwrap().is_some(),
                "{name} {addr}"
            );
            expected_chunks.insert(addr);
        }
        ran += 1;
    }
    assert_eq!(ran, 9, "files.json vector count");
    // And nothing else.
    assert_eq!(store.len().unwrap(), expected_chunks.len() as u64);
}

#[test]
fn import_bytes_matches_import_file() {
    let dir = TempDir::new("import-bytes");
    let store = Store::open(dir.path()).unwrap();
    let (_, data, reference, _) = file_vectors()
        .into_iter()
        .find(|v| v.0 == "len-4097")
        .unwrap();
    let bytes = std::fs::read(data).unwrap();
    let got = swarm_relay::import::import_bytes(&store, &bytes).unwrap();
    assert_eq!(got.to_string(), reference);
}

#[test]
fn a_directory_is_refused_until_manifests_exist() {
    let dir = TempDir::new("import-dir");
    let store = Store::open(dir.path().join("store")).unwrap();
    let err = swarm_relay::import::import_file(&store, dir.path()).unwrap_err();
    assert!(matches!(err, swarm_relay::Error::Import { .. }), "{err}");
}
