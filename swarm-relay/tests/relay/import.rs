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

/// Directories laid out like the tar bodies of Bee's own `POST /bzz` collection tests
/// (`tests/vectors/bee/mantaray.json`, kind `manifest_upload`, names `bzz-dir-*`) whose request
/// is the one `import` mirrors: files in sorted order, `Swarm-Index-Document: index.html`
/// exactly when `index.html` is at the top, no error document.
#[test]
fn imported_directories_have_bee_collection_references() {
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/vectors/bee/mantaray.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mirrored = [
        "bzz-dir-non-nested-files-without-extension",
        "bzz-dir-nested-files-with-extension",
        "bzz-dir-explicit-index-filename",
    ];
    let mut ran = 0;
    for v in json["vectors"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        if !mirrored.contains(&name) {
            continue;
        }
        let dir = TempDir::new("import-dir");
        let root = dir.path().join("site");
        for f in v["input"]["files"].as_array().unwrap() {
            let path = root.join(f["tar_name"].as_str().unwrap());
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, f["data_utf8"].as_str().unwrap()).unwrap();
        }
        let store = Store::open(dir.path().join("store")).unwrap();
        let got = swarm_relay::import::import_file(&store, &root).unwrap();
        assert_eq!(
            got.to_string(),
            v["expected"]["root"].as_str().unwrap(),
            "{name}"
        );
        // Every chunk stored verifies (files and manifest nodes).
        assert!(store.get_verified(got.address()).unwrap().is_some());
        ran += 1;
    }
    assert_eq!(ran, mirrored.len());
}

#[test]
fn empty_directories_are_refused_and_links_skipped() {
    let dir = TempDir::new("import-dir-empty");
    let store = Store::open(dir.path().join("store")).unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("empty-sub")).unwrap();
    let err = swarm_relay::import::import_file(&store, &site).unwrap_err();
    assert!(matches!(err, swarm_relay::Error::Import { .. }), "{err}");
    assert_eq!(store.len().unwrap(), 0);

    // A link beside a file does not change the collection.
    std::fs::write(site.join("file1"), "first file data").unwrap();
    let alone = swarm_relay::import::import_file(&store, &site).unwrap();
    std::os::unix::fs::symlink(site.join("file1"), site.join("link")).unwrap();
    let with_link = swarm_relay::import::import_file(&store, &site).unwrap();
    assert_eq!(alone, with_link);
}
