//! deboot.efi end to end: QEMU + OVMF (TCG) boot the test runner, which starts deboot.efi with
//! the case's configuration; deboot.efi fetches from swarm-relays in this process (stores seeded
//! by `swarm-relay`'s import), verifies, and starts the payload, which prints its marker and
//! ends QEMU with its own status. Each case asserts the exact QEMU exit status (never 0) and
//! lines of the serial log.
//!
//! The cases are `#[ignore]`d so `cargo test --workspace` stays fast without QEMU; `.ci/run`
//! runs them with `cargo test -p boot-tests --test qemu_boot -- --ignored --test-threads 1`.
//! Without QEMU/OVMF they print why and pass, except under `CI=true`, where they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(
    unreachable_pub,
    clippy::std_instead_of_core,
    clippy::alloc_instead_of_core
)]

use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use boot_tests::{
    assert_payload, crc32, firmware, images, import_payload_collection, pseudo_random,
    put_feed_update, serve, Boot, Configured, Esp, Firmware, TempDir, HOST_FROM_GUEST,
    RUNNER_DEBOOT_FAILED,
};
use k256::ecdsa::SigningKey;
use swarm_bmt::{ChunkAddress, Reference};
use swarm_core::feed::Topic;
use swarm_core::soc;
use swarm_relay::{import, Faults, RelayHandle, Store};

/// Size of the collection's big file (the initrd of the boot cases).
const BIG_LEN: usize = 8 << 20;
const CMDLINE: &str = "console=ttyS0 deboot.test=1";

/// A store holding a collection `{payload.efi, boot/initrd.img}`.
struct Collection {
    dir: TempDir,
    store: Arc<Store>,
    reference: String,
    big: Vec<u8>,
}

fn collection() -> Collection {
    let dir = TempDir::new("store");
    let store = Store::open(dir.path().join("db")).unwrap();
    let (reference, big) = add_collection(&dir, &store, 0x5eed);
    Collection {
        dir,
        store: Arc::new(store),
        reference,
        big,
    }
}

/// Imports `{payload.efi, boot/initrd.img}` with an initrd made from `seed`; its reference and
/// the initrd.
fn add_collection(dir: &TempDir, store: &Store, seed: u32) -> (String, Vec<u8>) {
    let content = dir.path().join(format!("content-{seed:x}"));
    let big = pseudo_random(BIG_LEN, seed);
    let reference = import_payload_collection(store, &content, &[("boot/initrd.img", &big)]);
    (reference, big)
}

fn relay(c: &Collection, faults: Faults) -> RelayHandle {
    serve(Arc::clone(&c.store), faults)
}

fn node(r: &RelayHandle) -> String {
    format!("node=tcp://{HOST_FROM_GUEST}:{}", r.local_addr().port())
}

fn corrupt_every(n: u64) -> Faults {
    Faults {
        corrupt_every: n,
        ..Faults::default()
    }
}

fn withhold(chunks: &[ChunkAddress]) -> Faults {
    Faults {
        withhold: chunks.iter().copied().collect(),
        ..Faults::default()
    }
}

/// Serves `len` unverified bytes once, for deboot.efi's raw-TCP bench; returns the port.
fn raw_source(len: usize) -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let t = thread::spawn(move || {
        let deadline = Instant::now() + boot_tests::DEADLINE;
        while Instant::now() < deadline {
            if let Ok((mut s, _)) = listener.accept() {
                s.set_nonblocking(false).unwrap();
                s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
                let block = vec![0x5a; 64 << 10];
                let mut left = len;
                while left > 0 {
                    let n = left.min(block.len());
                    if s.write_all(&block[..n]).is_err() {
                        return;
                    }
                    left -= n;
                }
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
    });
    (port, t)
}

fn run(fw: &Firmware, config: Configured<'_>) -> Boot {
    Esp::new(images(), &config).boot(fw, true)
}

fn assert_booted(boot: &Boot, c: &Collection) {
    assert_payload(boot, CMDLINE, &c.big);
}

fn assert_refused(boot: &Boot, reason: &str) {
    assert_eq!(
        boot.status,
        Some(RUNNER_DEBOOT_FAILED),
        "deboot.efi did not return an error"
    );
    boot_tests::assert_refused(boot, reason);
}

#[test]
#[ignore = "boots QEMU; run by .ci/run (cargo test -p boot-tests --test qemu_boot -- --ignored)"]
fn boots_the_payload_by_bzz_path_with_initrd_and_cmdline() {
    let Some(fw) = firmware("boots_the_payload_by_bzz_path") else {
        return;
    };
    let c = collection();
    let r = relay(&c, Faults::default());
    let options = format!(
        "deboot.efi {} target=bzz://{reference}/payload.efi initrd=bzz://{reference}/boot/initrd.img \
         -- {CMDLINE}",
        node(&r),
        reference = c.reference
    );
    let boot = run(&fw, Configured::LoadOptions(&options));
    assert_booted(&boot, &c);
    boot.figure("boot by bzz:// path");
}

#[test]
#[ignore = "boots QEMU; run by .ci/run"]
fn firmware_boots_deboot_with_its_cfg_by_bytes_reference_and_measures_throughput() {
    let Some(fw) = firmware("boots_the_payload_by_bytes_reference") else {
        return;
    };
    let dir = TempDir::new("store");
    let store = Store::open(dir.path().join("db")).unwrap();
    let payload = std::fs::read(&images().payload).unwrap();
    let big = pseudo_random(BIG_LEN, 0xb16);
    let pref = import::import_bytes(&store, &payload).unwrap();
    let bref = import::import_bytes(&store, &big).unwrap();
    let r = serve(Arc::new(store), Faults::default());
    let (raw_port, raw) = raw_source(BIG_LEN);
    // The firmware itself boots deboot.efi here (no runner), as from a USB stick: its boot
    // entry's load options are not ours, so deboot.efi reads \EFI\BOOT\deboot.cfg.
    let cfg = format!(
        "node=tcp://{HOST_FROM_GUEST}:{}\ntarget=bytes://{pref}\ninitrd=bytes://{bref}\n\
         bench=tcp://{HOST_FROM_GUEST}:{raw_port}\n-- {CMDLINE}\n",
        r.local_addr().port()
    );
    let boot = run(&fw, Configured::FirmwareBootsDeboot(&cfg));
    assert!(
        boot.serial
            .contains("configuration from \\EFI\\BOOT\\deboot.cfg"),
        "deboot.cfg not read"
    );
    raw.join().unwrap();
    assert_payload(&boot, CMDLINE, &big);
    let figures: Vec<&str> = boot
        .lines("deboot: initrd ")
        .chain(boot.lines("deboot: bench: "))
        .collect();
    assert!(
        figures
            .iter()
            .any(|l| l.starts_with("deboot: bench: ") && l.contains("hash-only")),
        "no bench line"
    );
    for line in figures {
        eprintln!("figure: {line}");
    }
}

#[test]
#[ignore = "boots QEMU; run by .ci/run"]
fn boots_the_newest_feed_update_and_refuses_a_rollback() {
    let Some(fw) = firmware("boots_the_newest_feed_update") else {
        return;
    };
    let c = collection();
    let (old_ref, old_big) = add_collection(&c.dir, &c.store, 0x01d);
    let key = SigningKey::from_bytes(&[0x42; 32].into()).unwrap();
    let owner = soc::owner_of(key.verifying_key());
    let topic = Topic::from_name("deboot/boot-tests");
    put_feed_update(&c.store, &key, &topic, 0, &old_ref);
    let newest = put_feed_update(&c.store, &key, &topic, 1, &c.reference);
    let owner_hex = hex::encode(owner.0);
    let options = |r: &RelayHandle| {
        format!(
            "{} target=feed://{owner_hex}/{topic}/payload.efi initrd=feed://{owner_hex}/{topic}/boot/initrd.img \
             -- {CMDLINE}",
            node(r)
        )
    };
    // First boot: the newest update (index 1) wins, and deboot.efi stores 1 as the minimum.
    let r = relay(&c, Faults::default());
    let first = options(&r);
    let esp = Esp::new(images(), &Configured::LoadOptions(&first));
    let boot = esp.boot(&fw, true);
    assert_booted(&boot, &c);
    assert!(boot
        .serial
        .contains("deboot: initrd: feed update 1 (anti-rollback minimum was 0)"));
    drop(r);
    // Second boot, same machine (same OVMF variables): a node that hides update 1 would roll
    // the device back to update 0; the stored minimum refuses that.
    let hiding = relay(&c, withhold(&[newest]));
    let second = options(&hiding);
    esp.reconfigure(&Configured::LoadOptions(&second));
    let boot = esp.boot(&fw, true);
    assert_refused(&boot, "feed");
    let old_initrd = format!("crc32={:08x}", crc32(&old_big));
    assert!(
        !boot.serial.contains(&old_initrd),
        "the rolled-back initrd was handed over"
    );
}

#[test]
#[ignore = "boots QEMU; run by .ci/run"]
fn fails_over_from_a_corrupting_relay_to_an_honest_one() {
    let Some(fw) = firmware("fails_over_from_a_corrupting_relay") else {
        return;
    };
    let c = collection();
    let liar = relay(&c, corrupt_every(7));
    let honest = relay(&c, Faults::default());
    // The honest node is asked through Bee's HTTP API (the relay answers GET /chunks on the
    // same port), so both of swarm-net's clients run in the firmware.
    let options = format!(
        "{} node=http://{HOST_FROM_GUEST}:{} target=bzz://{reference}/payload.efi \
         initrd=bzz://{reference}/boot/initrd.img -- {CMDLINE}",
        node(&liar),
        honest.local_addr().port(),
        reference = c.reference
    );
    let boot = run(&fw, Configured::LoadOptions(&options));
    assert_booted(&boot, &c);
    let liar_port = liar.local_addr().port();
    assert!(
        boot.lines("deboot: ")
            .any(|l| l.contains(&format!(":{liar_port}")) && l.contains("verif")),
        "no line reporting the corrupt chunk from the first relay"
    );
}

#[test]
#[ignore = "boots QEMU; run by .ci/run"]
fn gives_up_on_a_garbage_node_and_a_silent_node() {
    let Some(fw) = firmware("gives_up_on_a_garbage_node_and_a_silent_node") else {
        return;
    };
    let (garbage, g_stop, g) = bad_server(Some(
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n\xff\xfe",
    ));
    let (silent, s_stop, s) = bad_server(None);
    let options = format!(
        "node=tcp://{HOST_FROM_GUEST}:{garbage} node=tcp://{HOST_FROM_GUEST}:{silent} timeout=2 \
         target=bytes://{} -- {CMDLINE}",
        "ab".repeat(32)
    );
    let boot = run(&fw, Configured::LoadOptions(&options));
    g_stop.store(true, Ordering::Relaxed);
    s_stop.store(true, Ordering::Relaxed);
    g.join().unwrap();
    s.join().unwrap();
    assert_refused(&boot, "no node supplied it");
}

/// A node that answers every connection with `reply` (garbage) or says nothing at all, until
/// told to stop; its port, the stop flag and the thread.
fn bad_server(reply: Option<&'static [u8]>) -> (u16, Arc<AtomicBool>, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    let t = thread::spawn(move || {
        let deadline = Instant::now() + boot_tests::DEADLINE;
        let mut open = Vec::new();
        while Instant::now() < deadline && !stopped.load(Ordering::Relaxed) {
            if let Ok((mut s, _)) = listener.accept() {
                if let Some(r) = reply {
                    let _ = s.write_all(r);
                }
                open.push(s); // kept open, silent from now on
            } else {
                thread::sleep(Duration::from_millis(20));
            }
        }
    });
    (port, stop, t)
}

#[test]
#[ignore = "boots QEMU; run by .ci/run"]
fn refuses_to_boot_when_every_node_corrupts() {
    let Some(fw) = firmware("refuses_to_boot_when_every_node_corrupts") else {
        return;
    };
    let c = collection();
    let liar = relay(&c, corrupt_every(1));
    let options = format!(
        "{} target=bzz://{}/payload.efi -- {CMDLINE}",
        node(&liar),
        c.reference
    );
    let boot = run(&fw, Configured::LoadOptions(&options));
    assert_refused(&boot, "verif");
}

#[test]
#[ignore = "boots QEMU; run by .ci/run"]
fn reads_deboot_cfg_and_reports_a_missing_path() {
    let Some(fw) = firmware("reads_deboot_cfg_and_reports_a_missing_path") else {
        return;
    };
    let c = collection();
    let r = relay(&c, Faults::default());
    let cfg = format!(
        "# deboot.cfg\n{}\ntarget=bzz://{}/no/such/file\n-- {CMDLINE}\n",
        node(&r),
        c.reference
    );
    let boot = run(&fw, Configured::CfgFile(&cfg));
    assert!(
        boot.serial
            .contains("configuration from \\EFI\\deboot\\deboot.cfg"),
        "deboot.cfg not read"
    );
    assert_refused(&boot, "not found");
}

#[test]
#[ignore = "boots QEMU; run by .ci/run"]
fn fails_cleanly_without_a_network() {
    let Some(fw) = firmware("fails_cleanly_without_a_network") else {
        return;
    };
    let options = format!(
        "node=tcp://{HOST_FROM_GUEST}:9 target=bytes://{} -- {CMDLINE}",
        "ab".repeat(32)
    );
    let boot = Esp::new(images(), &Configured::LoadOptions(&options)).boot(&fw, false);
    assert_refused(&boot, "no network interface");
}

#[test]
#[ignore = "boots QEMU with Debian's kernel (~70 MB apt-get download once); run by .ci/run"]
fn boots_a_real_linux_kernel_and_initrd_to_init() {
    let Some(fw) = firmware("boots_a_real_linux_kernel") else {
        return;
    };
    let Some(linux) = boot_tests::linux_collection("boots_a_real_linux_kernel") else {
        return;
    };
    let options = format!(
        "node=tcp://{HOST_FROM_GUEST}:{} target=bzz://{reference}/boot/vmlinuz \
         initrd=bzz://{reference}/boot/initrd.img -- console=ttyS0 panic=-1 quiet",
        linux.relay.local_addr().port(),
        reference = linux.reference
    );
    let boot = run(&fw, Configured::LoadOptions(&options));
    assert_eq!(
        boot.status,
        Some(boot_tests::LINUX_INIT_STATUS),
        "/init did not end QEMU"
    );
    assert!(
        boot.serial.contains(boot_tests::LINUX_INIT_MARKER),
        "no /init marker"
    );
    boot.figure(&format!(
        "Linux {} byte kernel + {} byte initrd to /init",
        linux.kernel_len, linux.initrd_len
    ));
}

/// deboot.efi built without its default `recovery` feature, with the default build's test
/// apps: `DEBOOT_PLAIN_EFI` names a prebuilt one, otherwise it is built once in
/// `target/uefi-plain`.
fn plain_images() -> boot_tests::Images {
    let base = images();
    let deboot = std::env::var_os("DEBOOT_PLAIN_EFI").map_or_else(
        || {
            let target_dir = boot_tests::repo_root().join("target/uefi-plain");
            let args = ["-p", "deboot-uefi", "--no-default-features"];
            boot_tests::build_uefi(&target_dir, &args).join("deboot.efi")
        },
        std::path::PathBuf::from,
    );
    let size = std::fs::metadata(&deboot).map(|m| m.len()).unwrap_or(0);
    eprintln!("figure: deboot.efi without recovery: {size} bytes");
    boot_tests::Images {
        deboot,
        runner: base.runner.clone(),
        payload: base.payload.clone(),
    }
}

/// The references of `root`'s first `n` children (an intermediate chunk of `store`).
fn children(store: &Store, root: &Reference, n: usize) -> Vec<ChunkAddress> {
    let chunk = store.get_verified(root.address()).unwrap().unwrap();
    (0..n)
        .map(|i| ChunkAddress::from_slice(&chunk[8 + 32 * i..8 + 32 * (i + 1)]).unwrap())
        .collect()
}

/// What `swarm-relay import` publishes by default (Bee's MEDIUM): deboot.efi boots it; with
/// a leaf of each file withheld by the only node, deboot.efi without `recovery` refuses to
/// boot, and with it rebuilds both leaves from parity and boots.
#[test]
#[ignore = "boots QEMU; run by .ci/run"]
fn boots_a_medium_collection_with_chunks_no_node_has() {
    let Some(fw) = firmware("boots_a_medium_collection_with_chunks_no_node_has") else {
        return;
    };
    // As `swarm-relay import DIR` publishes it by default (Bee's MEDIUM).
    let dir = TempDir::new("store");
    let store = Store::open(dir.path().join("db")).unwrap();
    let payload = std::fs::read(&images().payload).unwrap();
    let big = pseudo_random(BIG_LEN, 0x4ec0);
    let (collection, refs) = import::import_collection_at(
        &store,
        &[("payload.efi", &payload), ("boot/initrd.img", &big)],
        import::DEFAULT_LEVEL,
    )
    .unwrap();
    // payload.efi (5 leaves under a MEDIUM root with 3 parities): its 2nd leaf. The initrd
    // (2048 leaves, 18 groups): the first leaf of its 3rd group. No node has either.
    let payload_leaf = children(&store, &refs[0], 2)[1];
    let group = children(&store, &refs[1], 3)[2];
    let initrd_leaf = children(&store, &Reference::plain(group), 1)[0];
    let c = Collection {
        dir,
        store: Arc::new(store),
        reference: collection.to_string(),
        big,
    };
    let options = |r: &RelayHandle| {
        format!(
            "deboot.efi {} target=bzz://{reference}/payload.efi \
             initrd=bzz://{reference}/boot/initrd.img -- {CMDLINE}",
            node(r),
            reference = c.reference
        )
    };
    // Every chunk there: the default deboot.efi reads MEDIUM trees.
    let whole = relay(&c, Faults::default());
    let boot = run(&fw, Configured::LoadOptions(&options(&whole)));
    assert_booted(&boot, &c);
    assert!(!boot.serial.contains("rebuilt"));
    whole.shutdown();

    let r = relay(&c, withhold(&[payload_leaf, initrd_leaf]));
    // Without recovery: no node has the leaf, so no boot.
    let boot = Esp::new(&plain_images(), &Configured::LoadOptions(&options(&r))).boot(&fw, true);
    assert_refused(&boot, &format!("chunk {payload_leaf}"));

    // The shipped deboot.efi (with `recovery`) rebuilds both leaves.
    let boot = run(&fw, Configured::LoadOptions(&options(&r)));
    assert_booted(&boot, &c);
    for label in ["kernel", "initrd"] {
        let line = format!(
            "deboot: {label}: 1 chunk(s) no node had were rebuilt from parity or a root replica"
        );
        assert!(boot.serial.contains(&line), "no `{line}`");
    }
    assert!(r.stats().requests > 0);
    boot.figure("MEDIUM collection with 2 chunks withheld, recovered");
}
