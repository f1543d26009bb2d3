//! The redb store: round trips, verification on put and on read, crash safety of imports.

use swarm_bmt::ChunkAddress;
use swarm_relay::{Error, Store};

use crate::support::{beejs, chunk_list, file_vectors, load_json, TempDir};

fn soc_vector() -> (ChunkAddress, Vec<u8>) {
    let json = load_json("vectors/soc.json");
    let v = json["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["valid"] == true)
        .unwrap();
    (
        v["address"].as_str().unwrap().parse().unwrap(),
        hex::decode(v["chunk_hex"].as_str().unwrap()).unwrap(),
    )
}

#[test]
fn content_addressed_and_single_owner_chunks_round_trip() {
    let dir = TempDir::new("roundtrip");
    let store = Store::open(dir.path()).unwrap();
    assert!(store.is_empty().unwrap());
    let cac = std::fs::read(beejs("data/len-4096.bin")).unwrap();
    let mut chunk = 4096u64.to_le_bytes().to_vec();
    chunk.extend_from_slice(&cac);
    let cac_addr = swarm_bmt::chunk_address_of(&chunk).unwrap();
    store.put_chunk(&cac_addr, &chunk).unwrap();
    let (soc_addr, soc) = soc_vector();
    store.put_chunk(&soc_addr, &soc).unwrap();

    assert_eq!(store.len().unwrap(), 2);
    assert_eq!(store.get_chunk(&cac_addr).unwrap().unwrap(), chunk);
    assert_eq!(store.get_verified(&cac_addr).unwrap().unwrap(), chunk);
    assert_eq!(store.get_verified(&soc_addr).unwrap().unwrap(), soc);
    assert!(store.contains(&soc_addr).unwrap());
    assert_eq!(store.get_chunk(&ChunkAddress([7; 32])).unwrap(), None);

    // Still there after closing and reopening.
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.get_verified(&cac_addr).unwrap().unwrap(), chunk);
    assert_eq!(store.len().unwrap(), 2);
}

#[test]
fn put_chunk_refuses_bytes_that_are_not_the_chunk() {
    let dir = TempDir::new("put-refuses");
    let store = Store::open(dir.path()).unwrap();
    let chunk = [3, 0, 0, 0, 0, 0, 0, 0, b'f', b'o', b'o'];
    let addr = swarm_bmt::chunk_address_of(&chunk).unwrap();
    let mut bad = chunk;
    bad[10] ^= 1;
    assert!(matches!(
        store.put_chunk(&addr, &bad),
        Err(Error::Verification { .. })
    ));
    assert!(store.is_empty().unwrap());
}

#[test]
fn a_corrupted_stored_chunk_is_reported_not_returned() {
    let dir = TempDir::new("corrupt");
    let store = Store::open(dir.path()).unwrap();
    let chunk = [3, 0, 0, 0, 0, 0, 0, 0, b'f', b'o', b'o'];
    let addr = swarm_bmt::chunk_address_of(&chunk).unwrap();
    let mut bad = chunk;
    bad[9] ^= 0xff;
    // Import::put stores what it is given (as a disk fault would leave it).
    let mut import = store.begin_import().unwrap();
    import.put(&addr, &bad).unwrap();
    import.commit().unwrap();
    assert_eq!(store.get_chunk(&addr).unwrap().unwrap(), bad);
    assert!(matches!(
        store.get_verified(&addr),
        Err(Error::Verification { .. })
    ));
}

#[test]
fn a_dropped_or_aborted_import_leaves_nothing_visible() {
    let dir = TempDir::new("abort");
    let store = Store::open(dir.path()).unwrap();
    let (_, data, _, list) = file_vectors()
        .into_iter()
        .find(|v| v.0 == "len-128x4096+1")
        .unwrap();
    let chunks = chunk_list(&list);
    assert_eq!(chunks.len(), 131);

    // Dropped after every chunk was written, before the commit.
    let mut import = store.begin_import().unwrap();
    swarm_relay::import::split_into(&mut import, std::fs::File::open(&data).unwrap()).unwrap();
    assert_eq!(import.chunks(), 131);
    drop(import);
    assert_eq!(store.len().unwrap(), 0);
    assert!(chunks.iter().all(|c| !store.contains(c).unwrap()));

    // Aborted explicitly.
    let mut import = store.begin_import().unwrap();
    swarm_relay::import::split_into(&mut import, std::fs::File::open(&data).unwrap()).unwrap();
    import.abort().unwrap();
    assert_eq!(store.len().unwrap(), 0);

    // Nothing reappears after reopening the database.
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.len().unwrap(), 0);

    // And the same import committed is all there.
    swarm_relay::import::import_file(&store, &data).unwrap();
    assert_eq!(store.len().unwrap(), 131);
    assert!(chunks
        .iter()
        .all(|c| store.get_verified(c).unwrap().is_some()));
}

#[test]
fn a_failing_multi_path_import_stores_none_of_its_paths() {
    let dir = TempDir::new("multi-fail");
    let store = Store::open(dir.path().join("store")).unwrap();
    let good = beejs("data/len-8192.bin");
    let missing = dir.path().join("no-such-file");
    let err = swarm_relay::import::import_paths(&store, &[good.clone(), missing]).unwrap_err();
    assert!(matches!(err, Error::File { .. }), "{err}");
    assert_eq!(store.len().unwrap(), 0);
    // The good path alone imports.
    swarm_relay::import::import_paths(&store, &[good]).unwrap();
    assert_eq!(store.len().unwrap(), 3);
}

#[test]
fn the_data_file_holds_each_chunk_once_and_no_leftovers() {
    let dir = TempDir::new("data-file");
    let store = Store::open(dir.path()).unwrap();
    let (_, data, _, list) = file_vectors()
        .into_iter()
        .find(|v| v.0 == "len-129x4096")
        .unwrap();
    let chunks = chunk_list(&list);
    let data_len = || std::fs::metadata(store.data_path()).unwrap().len();

    // An interrupted import leaves bytes past the committed end of the data file...
    let mut import = store.begin_import().unwrap();
    swarm_relay::import::split_into(&mut import, std::fs::File::open(&data).unwrap()).unwrap();
    drop(import);
    assert_eq!(store.len().unwrap(), 0);

    // ...which the next import cuts off before it appends.
    swarm_relay::import::import_file(&store, &data).unwrap();
    let stored: u64 = chunks
        .iter()
        .map(|c| store.get_chunk(c).unwrap().unwrap().len() as u64)
        .sum();
    assert_eq!(data_len(), stored);

    // Importing the same content again writes nothing new.
    swarm_relay::import::import_file(&store, &data).unwrap();
    assert_eq!(data_len(), stored);
    assert_eq!(store.len().unwrap(), chunks.len() as u64);
}

#[test]
fn a_truncated_data_file_is_refused_at_open() {
    let dir = TempDir::new("data-truncated");
    let data_path = {
        let store = Store::open(dir.path()).unwrap();
        swarm_relay::import::import_bytes(&store, &[7u8; 9000]).unwrap();
        store.data_path().to_path_buf()
    };
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&data_path)
        .unwrap();
    f.set_len(100).unwrap();
    drop(f);
    assert!(matches!(Store::open(dir.path()), Err(Error::File { .. })));
}
