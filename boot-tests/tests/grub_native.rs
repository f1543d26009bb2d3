//! GRUB's native `(swarm,HOST:PORT)/…` device (`deboot-grub/swarm.mod`) in QEMU + OVMF: a
//! `grub-mkstandalone` x86_64-efi image with `swarm.mod` embedded in its core image
//! (`--modules=`, as Secure Boot requires), `net_bootp` on virtio-net, and a swarm-relay in this
//! process on 127.0.0.1 (10.0.2.2 for the guest).
//!
//! - `chainloader (swarm,…)/bzz/<ref>/payload.efi` boots the test payload, and `swarm_verify`
//!   recomputes a memdisk file's Swarm reference (right and wrong reference);
//! - `chainloader (swarm,…)/feed/<owner>/<topic>/payload.efi` boots the feed's newest update;
//! - `linux (swarm,…)/bzz/<ref>/boot/vmlinuz` and `initrd (swarm,…)/…` boot Debian's kernel
//!   to a test `/init` (the kernel from `boot_tests::linux_kernel`, as in `qemu_boot.rs`);
//! - bad input: a relay that corrupts every chunk, one that corrupts a chunk in the middle of
//!   a file, a path not in the manifest, an unreachable node, a node that answers garbage, a
//!   path GRUB's device cannot map: each is one `error:` line, `$?` non-zero, nothing booted;
//! - throughput, in one VM run: the same 8 MiB file read through `(swarm,…)` (verified fetch),
//!   hashed from memdisk by `swarm_verify` (hash only), and read through GRUB's plain `http`
//!   from a small HTTP server in this process; timed on the host from serial-line arrival.
//!   Figures are printed, never asserted.
//!
//! `swarm.mod` comes from `DEBOOT_SWARM_MOD` or `target/deboot-grub/swarm.mod`
//! (`deboot-grub/build-mod.sh`). `#[ignore]`d; `.ci/run`'s `vm_grub` stage runs them with
//! `cargo test -p boot-tests --test grub_native -- --ignored --test-threads 1`. Without QEMU/OVMF,
//! `grub-mkstandalone` or `swarm.mod` they print why and pass, except under `CI=true`.
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

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use boot_tests::{
    boot_app, firmware, grub_image, grub_mkstandalone, images, import_payload_collection,
    pseudo_random, put_feed_update, repo_root, serve, skip, Boot, Firmware, TempDir,
    HOST_FROM_GUEST, PAYLOAD_MARKER, PAYLOAD_STATUS,
};
use k256::ecdsa::SigningKey;
use swarm_bmt::Splitter;
use swarm_core::feed::Topic;
use swarm_core::soc;
use swarm_relay::{import, Faults, RelayHandle, Store};

/// `outb 0xf4 0x10` at the end of a script: QEMU's status 33.
const SCRIPT_DONE: i32 = (0x10 << 1) | 1;
/// Modules in the core image (loaded before `grub.cfg`, as under Secure Boot).
const PRELOAD: &str = "swarm efinet http";
/// Modules in the memdisk.
const INSTALL: &str =
    "normal configfile echo test iorw serial terminal memdisk tar chain linux efinet http net swarm";
const GRUB_CFG_HEAD: &str = "serial --unit=0 --speed=115200\nterminal_input serial\n\
                             terminal_output serial\nnet_bootp\n";
/// The throughput file.
const BIG_LEN: usize = 8 << 20;
/// Rounds of the throughput comparison.
const ROUNDS: usize = 3;

struct Setup {
    fw: Firmware,
    tool: PathBuf,
    module: PathBuf,
}

fn setup(test: &str) -> Option<Setup> {
    let fw = firmware(test)?;
    let tool = grub_mkstandalone(test)?;
    let module = std::env::var_os("DEBOOT_SWARM_MOD").map_or_else(
        || repo_root().join("target/deboot-grub/swarm.mod"),
        PathBuf::from,
    );
    if !module.is_file() {
        let why = format!(
            "{} missing (run deboot-grub/build-mod.sh)",
            module.display()
        );
        return skip(test, &why);
    }
    Some(Setup { fw, tool, module })
}

/// Debian's module directory plus `swarm.mod` (and its `moddep.lst` line).
fn module_dir(work: &Path, module: &Path) -> PathBuf {
    let dir = work.join("x86_64-efi");
    let ok = Command::new("cp")
        .arg("-r")
        .arg("/usr/lib/grub/x86_64-efi")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(ok.success(), "cp -r /usr/lib/grub/x86_64-efi failed");
    std::fs::copy(module, dir.join("swarm.mod")).unwrap();
    let mut deps = std::fs::read_to_string(dir.join("moddep.lst")).unwrap();
    deps.push_str("swarm: net\n");
    std::fs::write(dir.join("moddep.lst"), deps).unwrap();
    dir
}

/// Boots a standalone GRUB whose memdisk holds `grub.cfg` (after [`GRUB_CFG_HEAD`]) and
/// `files` as `(memdisk)/boot/files/<name>`.
fn boot_grub(s: &Setup, script: &str, files: &[(&str, &Path)]) -> Boot {
    let work = TempDir::new("grub-native");
    let lib = module_dir(work.path(), &s.module);
    let args = [
        "-d".into(),
        lib.into_os_string(),
        format!("--modules={PRELOAD}").into(),
        format!("--install-modules={INSTALL}").into(),
    ];
    let script = format!("{GRUB_CFG_HEAD}{script}");
    let image = grub_image(&s.tool, work.path(), &args, &script, files);
    boot_app(&s.fw, &image)
}

/// `text` without whitespace: GRUB's serial terminal wraps at 80 columns, in words (error
/// messages) or mid-word (other output), so logs are compared with all whitespace removed.
fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether the serial log holds `text`, whatever GRUB's wrapping.
fn says(boot: &Boot, text: &str) -> bool {
    squash(&boot.serial).contains(&squash(text))
}

/// Script lines running `command` as case `name`: `echo "CASE name"`, the command, then
/// `echo "RESULT name $?"`.
fn case(name: &str, command: &str) -> String {
    format!("echo \"CASE {name}\"\n{command}\necho \"RESULT {name} $?\"\n")
}

/// Seconds from case `name`'s CASE line to its RESULT line, as the host saw them arrive.
fn case_secs(boot: &Boot, name: &str) -> Option<f64> {
    let t0 = boot.time_of(&format!("CASE {name}"))?;
    let result = format!("RESULT {name} ");
    let (t1, _) = boot
        .timed
        .iter()
        .find(|(_, l)| l.trim().starts_with(&result))?;
    Some((*t1 - t0).as_secs_f64())
}

/// `$?` as the script echoed it after case `name` (`echo "RESULT name $?"`).
fn result(boot: &Boot, name: &str) -> Option<i32> {
    let prefix = format!("RESULT {name} ");
    boot.serial
        .lines()
        .find_map(|l| l.trim().strip_prefix(&prefix).map(str::to_owned))
        .and_then(|v| v.trim().parse().ok())
}

fn swarm_root(data: &[u8]) -> String {
    let mut s = Splitter::new();
    s.write(data).unwrap();
    s.finish().unwrap().to_string()
}

struct Collection {
    dir: TempDir,
    store: Arc<Store>,
    /// The collection's manifest: `payload.efi` and, if asked, `big.bin`.
    reference: String,
}

fn collection(big: Option<&[u8]>) -> Collection {
    let dir = TempDir::new("grub-native-store");
    let store = Store::open(dir.path().join("db")).unwrap();
    let files: Vec<(&str, &[u8])> = big.map(|b| ("big.bin", b)).into_iter().collect();
    let reference = import_payload_collection(&store, &dir.path().join("content"), &files);
    Collection {
        dir,
        store: Arc::new(store),
        reference,
    }
}

fn relay(c: &Collection, faults: Faults) -> RelayHandle {
    serve(Arc::clone(&c.store), faults)
}

fn corrupt_every(n: u64) -> Faults {
    Faults {
        corrupt_every: n,
        ..Faults::default()
    }
}

fn device(r: &RelayHandle) -> String {
    format!("(swarm,{HOST_FROM_GUEST}:{})", r.local_addr().port())
}

/// A one-thread TCP server on 127.0.0.1 answering each connection with `answer`; stopped
/// (and joined) on drop.
struct TinyServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl TinyServer {
    fn spawn(answer: impl Fn(&mut TcpStream) + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(mut c) = conn {
                    let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
                    answer(&mut c);
                }
            }
        });
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// Serves `body` as `GET /<name>` over HTTP/1.1 (with `Range: bytes=N-`), 404 otherwise.
    fn http(name: &'static str, body: Arc<Vec<u8>>) -> Self {
        Self::spawn(move |c| {
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 16384 {
                match c.read(&mut buf) {
                    Ok(n @ 1..) => req.extend_from_slice(&buf[..n]),
                    _ => return,
                }
            }
            let req = String::from_utf8_lossy(&req);
            let path = req.split_whitespace().nth(1).unwrap_or("");
            let from = req
                .lines()
                .find_map(|l| l.strip_prefix("Range: bytes="))
                .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok())
                .unwrap_or(0)
                .min(body.len());
            if path.strip_prefix('/') != Some(name) {
                let _ = c.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                return;
            }
            let code = if from > 0 {
                "206 Partial Content"
            } else {
                "200 OK"
            };
            let head = format!(
                "HTTP/1.1 {code}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len() - from
            );
            let _ = c.write_all(head.as_bytes());
            let _ = c.write_all(&body[from..]);
            let _ = c.flush();
        })
    }
}

impl Drop for TinyServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes accept()
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn assert_payload_booted(boot: &Boot) {
    assert_eq!(
        boot.status,
        Some(PAYLOAD_STATUS),
        "the payload did not end QEMU"
    );
    assert!(boot.serial.contains("Welcome to GRUB!"), "GRUB did not run");
    assert!(boot.serial.contains(PAYLOAD_MARKER), "no payload marker");
    assert!(
        !boot.serial.contains("error:"),
        "GRUB reported an error on the way"
    );
}

#[test]
#[ignore = "boots QEMU; run by .ci/run's vm_grub stage"]
fn grub_chainloads_a_verified_payload_from_the_swarm_device_and_verifies_a_memdisk_file() {
    let test = "grub_native_chainloads";
    let Some(s) = setup(test) else { return };
    let c = collection(None);
    let r = relay(&c, Faults::default());
    let dev = device(&r);
    let payload = std::fs::read(&images().payload).unwrap();
    let root = swarm_root(&payload);
    let wrong = swarm_root(b"not the payload");
    let script = format!(
        "swarm_verify (memdisk)/boot/files/payload.efi {root}\n\
         echo \"RESULT verify $?\"\n\
         echo \"VERIFIED $swarm_verify_result\"\n\
         swarm_verify (memdisk)/boot/files/payload.efi {wrong}\n\
         echo \"RESULT verify-wrong $?\"\n\
         set root={dev}\n\
         chainloader {dev}/bzz/{}/payload.efi deboot.grub=native\n\
         echo \"RESULT chainloader $?\"\n\
         boot\n\
         outb 0xf4 0x11\n",
        c.reference
    );
    let host_payload = c.dir.path().join("content/payload.efi");
    let boot = boot_grub(&s, &script, &[("payload.efi", &host_payload)]);
    assert_eq!(boot.status, Some(PAYLOAD_STATUS), "the payload did not run");
    assert!(boot.serial.contains(PAYLOAD_MARKER), "no payload marker");
    assert_eq!(result(&boot, "verify"), Some(0), "swarm_verify refused");
    assert!(
        boot.serial
            .contains(&format!("swarm_verify: {} bytes OK", payload.len())),
        "swarm_verify did not hash the whole file"
    );
    assert!(
        says(&boot, &format!("VERIFIED {root}")),
        "$swarm_verify_result is not the reference"
    );
    assert_ne!(result(&boot, "verify-wrong"), Some(0), "a wrong REF passed");
    assert!(
        says(&boot, &format!("has reference {root}, not {wrong}")),
        "no clear swarm_verify mismatch line"
    );
    assert_eq!(result(&boot, "chainloader"), Some(0), "chainloader failed");
    assert_eq!(
        boot.serial.matches("error:").count(),
        1,
        "only the wrong reference is an error"
    );
    boot.figure("GRUB (swarm,…) chainloader -> payload");
}

#[test]
#[ignore = "boots QEMU; run by .ci/run's vm_grub stage"]
fn grub_boots_the_newest_feed_update_through_the_swarm_device() {
    let test = "grub_native_feed";
    let Some(s) = setup(test) else { return };
    let c = collection(None);
    // An older update points at a collection without payload.efi: only the newest boots.
    let old_dir = c.dir.path().join("old");
    std::fs::create_dir_all(&old_dir).unwrap();
    std::fs::write(old_dir.join("readme.txt"), b"old update").unwrap();
    let old_ref = import::import_paths(&c.store, &[old_dir]).unwrap()[0].to_string();
    let key = SigningKey::from_bytes(&[0x42; 32].into()).unwrap();
    let owner = hex::encode(soc::owner_of(key.verifying_key()).0);
    let topic = Topic::from_name("deboot/grub-native");
    put_feed_update(&c.store, &key, &topic, 0, &old_ref);
    put_feed_update(&c.store, &key, &topic, 1, &c.reference);
    let r = relay(&c, Faults::default());
    let dev = device(&r);
    let script = format!(
        "set root={dev}\n\
         chainloader {dev}/feed/{owner}/{topic}/payload.efi\n\
         echo \"RESULT feed $?\"\n\
         boot\n\
         outb 0xf4 0x11\n"
    );
    let boot = boot_grub(&s, &script, &[]);
    assert_payload_booted(&boot);
    boot.figure("GRUB (swarm,…)/feed/… chainloader -> payload");
}

#[test]
#[ignore = "boots QEMU with Debian's kernel (~70 MB apt-get download once); run by .ci/run"]
fn grub_boots_linux_and_its_initrd_from_the_swarm_device() {
    let test = "grub_native_linux";
    let Some(s) = setup(test) else { return };
    let Some(linux) = boot_tests::linux_collection(test) else {
        return;
    };
    let dev = device(&linux.relay);
    let reference = &linux.reference;
    let script = format!(
        "insmod linux\n\
         linux {dev}/bzz/{reference}/boot/vmlinuz console=ttyS0 panic=-1 quiet\n\
         echo \"RESULT linux $?\"\n\
         initrd {dev}/bzz/{reference}/boot/initrd.img\n\
         echo \"RESULT initrd $?\"\n\
         boot\n\
         outb 0xf4 0x11\n"
    );
    let boot = boot_grub(&s, &script, &[]);
    assert_eq!(result(&boot, "linux"), Some(0), "linux failed");
    assert_eq!(result(&boot, "initrd"), Some(0), "initrd failed");
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
        "GRUB linux + initrd from (swarm,…), {} byte kernel, to /init",
        linux.kernel_len
    ));
}

#[test]
#[ignore = "boots QEMU; run by .ci/run's vm_grub stage"]
fn grub_reports_bad_input_on_one_line_and_boots_nothing() {
    let test = "grub_native_bad_input";
    let Some(s) = setup(test) else { return };
    let c = collection(None);
    // A 1 MiB file: root, 2 intermediate chunks, 256 leaves.
    let mid = pseudo_random(1 << 20, 0x6d1d);
    let mid_ref = import::import_bytes(&c.store, &mid).unwrap().to_string();
    let good = relay(&c, Faults::default());
    let corrupt_all = relay(&c, corrupt_every(1));
    // The 40th chunk served is a leaf: the file opens (size known), then fails mid-read.
    let corrupt_mid = relay(&c, corrupt_every(40));
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let garbage = TinyServer::spawn(|c| {
        let mut buf = [0u8; 256];
        let _ = c.read(&mut buf);
        let _ = c.write_all(&[0x5a; 64]);
        let _ = c.flush();
        thread::sleep(Duration::from_millis(500));
    });
    let reference = &c.reference;
    let cases = [
        (
            "corrupt",
            format!("{}/bzz/{reference}/payload.efi", device(&corrupt_all)),
            "chunk does not hash to its address",
        ),
        (
            "corrupt-mid",
            format!("{}/bytes/{mid_ref}", device(&corrupt_mid)),
            "chunk does not hash to its address",
        ),
        (
            "not-in-manifest",
            format!("{}/bzz/{reference}/nope.efi", device(&good)),
            "path not found in the manifest",
        ),
        (
            "unreachable",
            format!("(swarm,{HOST_FROM_GUEST}:{closed})/bzz/{reference}/payload.efi"),
            "swarm: cannot connect to",
        ),
        (
            "garbage",
            format!(
                "(swarm,{HOST_FROM_GUEST}:{})/bzz/{reference}/payload.efi",
                garbage.addr.port()
            ),
            "the node broke the DBCP protocol",
        ),
        (
            "bad-path",
            format!("{}/ipfs/{reference}", device(&good)),
            "is not /bzz/REF[/PATH]",
        ),
    ];
    let mut script = format!("set root={}\n", device(&good));
    for (name, file, _) in &cases {
        script.push_str(&case(name, &format!("chainloader {file}")));
    }
    script.push_str("echo \"BAD-INPUT-DONE\"\noutb 0xf4 0x10\n");
    let boot = boot_grub(&s, &script, &[]);
    drop(garbage);
    assert_eq!(
        boot.status,
        Some(SCRIPT_DONE),
        "the script did not run to its end"
    );
    assert!(
        !boot.serial.contains("DEBOOT-PAYLOAD-MARKER"),
        "the payload ran"
    );
    let all = squash(&boot.serial);
    for (name, _, want) in &cases {
        if let Some(secs) = case_secs(&boot, name) {
            eprintln!("figure: bad input {name}: {secs:.2} s");
        }
        let status = result(&boot, name);
        assert!(
            status.is_some_and(|s| s != 0),
            "{name}: `$?` = {status:?}, want non-zero"
        );
        // The case's error is between its CASE line and its RESULT line, on one line.
        let from = all.find(&format!("CASE{name}")).unwrap();
        let to = all.find(&format!("RESULT{name}")).unwrap();
        let span = &all[from..to];
        assert_eq!(
            span.matches("error:").count(),
            1,
            "{name}: want exactly one error line, got `{span}`"
        );
        assert!(
            span.contains(&squash(want)),
            "{name}: error does not say `{want}`: `{span}`"
        );
        assert!(
            !span.contains("prematureend") && !span.contains("invalid"),
            "{name}: GRUB saw bytes it should not have: `{span}`"
        );
    }
    assert!(boot.serial.contains("BAD-INPUT-DONE"));
    boot.figure("GRUB (swarm,…) six bad inputs");
}

#[test]
#[ignore = "boots QEMU; run by .ci/run's vm_grub stage"]
fn grub_swarm_device_throughput_against_hash_only_and_plain_http() {
    let test = "grub_native_throughput";
    let Some(s) = setup(test) else { return };
    let big = pseudo_random(BIG_LEN, 0xb16);
    let root = swarm_root(&big);
    let c = collection(Some(&big));
    let r = relay(&c, Faults::default());
    let host_big = c.dir.path().join("content/big.bin");
    let http = TinyServer::http("big.bin", Arc::new(big));
    let dev = device(&r);
    let http_dev = format!("(http,{HOST_FROM_GUEST}:{})", http.addr.port());
    // Three rounds of the three compared reads, interleaved, best of three each (the machine
    // is shared, single runs are noisy); then the fetched bytes checked once more by hash.
    let mut steps: Vec<(String, String)> = Vec::new();
    for round in 0..ROUNDS {
        steps.push((
            format!("swarm{round}"),
            format!("swarm_read {dev}/bzz/{}/big.bin", c.reference),
        ));
        steps.push((
            format!("hash{round}"),
            format!("swarm_verify (memdisk)/boot/files/big.bin {root}"),
        ));
        steps.push((
            format!("http{round}"),
            format!("swarm_read {http_dev}/big.bin"),
        ));
    }
    steps.push((
        "memdisk".into(),
        "swarm_read (memdisk)/boot/files/big.bin".into(),
    ));
    steps.push((
        "swarm-verify".into(),
        format!("swarm_verify {dev}/bzz/{}/big.bin {root}", c.reference),
    ));
    steps.push((
        "http-verify".into(),
        format!("swarm_verify {http_dev}/big.bin {root}"),
    ));
    let mut script: String = steps.iter().map(|(name, cmd)| case(name, cmd)).collect();
    script.push_str("outb 0xf4 0x10\n");
    let boot = boot_grub(&s, &script, &[("big.bin", &host_big)]);
    drop(http);
    assert_eq!(
        boot.status,
        Some(SCRIPT_DONE),
        "the script did not run to its end"
    );
    let mut secs = std::collections::HashMap::new();
    for (name, _) in &steps {
        assert_eq!(result(&boot, name), Some(0), "{name} failed");
        secs.insert(name.clone(), case_secs(&boot, name).unwrap());
    }
    assert_eq!(
        boot.serial
            .matches(&format!("swarm_read: {BIG_LEN} bytes"))
            .count(),
        2 * ROUNDS + 1,
        "a read was short"
    );
    let mb_s = |s: f64| BIG_LEN as f64 / s / 1e6;
    let best = |kind: &str| {
        (0..ROUNDS)
            .map(|r| secs[&format!("{kind}{r}")])
            .fold(f64::INFINITY, f64::min)
    };
    for kind in ["swarm", "hash", "http"] {
        let runs: Vec<String> = (0..ROUNDS)
            .map(|r| format!("{:.2}", secs[&format!("{kind}{r}")]))
            .collect();
        eprintln!(
            "figure: {kind}: {BIG_LEN} B, best {:.2} s = {:.2} MB/s (TCG; runs {} s)",
            best(kind),
            mb_s(best(kind)),
            runs.join(", ")
        );
    }
    for name in ["memdisk", "swarm-verify", "http-verify"] {
        eprintln!(
            "figure: {name}: {BIG_LEN} B in {:.2} s = {:.2} MB/s (TCG)",
            secs[name],
            mb_s(secs[name])
        );
    }
    let slower = mb_s(best("hash")).min(mb_s(best("http")));
    eprintln!(
        "figure: verified fetch / slower of (hash-only, plain http) = {:.2} (bar 0.7)",
        mb_s(best("swarm")) / slower
    );
}
