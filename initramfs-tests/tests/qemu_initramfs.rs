//! The dracut module `90deboot` end to end: QEMU (TCG, direct kernel boot) starts Debian's
//! kernel with an initramfs built by dracut with the module; the initramfs brings the network
//! up with dracut's network-legacy (DHCP from QEMU user networking), fetches the root
//! filesystem with `deboot-fetch` from a swarm-relay in this process (reached as 10.0.2.2),
//! mounts it and switches root. Each case asserts QEMU's exact exit status (never 0 for a
//! success) and lines of the serial log.
//!
//! `#[ignore]`d: they need QEMU, dracut and a ~70 MB kernel download. `.ci/run` (stage
//! `vm_initramfs`) runs them with
//! `cargo test -p initramfs-tests --test qemu_initramfs -- --ignored --test-threads 1`.
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

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use boot_tests::{serve, skip};
use initramfs_tests::{
    boot, cache_dir, deboot_fetch, initramfs, kernel, plain_http, rootfs, tools_present, Boot,
    Kernel, TempDir, HOST_FROM_GUEST, ROOTFS_MARKER, ROOTFS_STATUS,
};
use swarm_relay::{import, Faults, RelayHandle, Store};

/// The kernel and the initramfs, made once per test process (in `<cache>/initramfs`,
/// replaced by each run: a static is never dropped, so a temporary directory would leak).
struct Setup {
    kernel: Kernel,
    initrd: PathBuf,
}

fn setup(test: &str) -> Option<&'static Setup> {
    static SETUP: OnceLock<Option<Setup>> = OnceLock::new();
    if !tools_present(test) {
        return None;
    }
    let setup = SETUP.get_or_init(|| {
        let kernel = kernel()?;
        let fetch = deboot_fetch();
        let dir = cache_dir().join("initramfs");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let initrd = initramfs(&kernel, &fetch, &dir);
        Some(Setup { kernel, initrd })
    });
    if setup.is_none() {
        return skip(test, "Debian's kernel package is unavailable");
    }
    setup.as_ref()
}

/// A relay serving a store that holds the collection `{rootfs.squashfs}`; its reference.
fn relay(dir: &TempDir, squashfs: &[u8], faults: Faults) -> (RelayHandle, String) {
    let store = Store::open(dir.path().join("db")).unwrap();
    let (reference, _) =
        import::import_collection(&store, &[("rootfs.squashfs", squashfs)]).unwrap();
    (serve(Arc::new(store), faults), reference.to_string())
}

fn cmdline(reference: &str, nodes: &[String], extra: &str) -> String {
    let nodes: Vec<String> = nodes.iter().map(|n| format!("deboot.node={n}")).collect();
    format!(
        "root=swarm:bzz://{reference}/rootfs.squashfs {} rd.neednet=1 ip=dhcp {extra}",
        nodes.join(" ")
    )
}

/// The `a..b` seconds after `prefix` in `line`.
fn span(line: &str, prefix: &str) -> (f64, f64) {
    let rest = &line[line.find(prefix).unwrap() + prefix.len()..];
    let (a, rest) = rest.split_once("..").unwrap();
    let b = rest.split_whitespace().next().unwrap();
    (a.trim().parse().unwrap(), b.parse().unwrap())
}

fn assert_booted(boot: &Boot) {
    assert_eq!(boot.status, Some(ROOTFS_STATUS), "QEMU's exit status");
    assert!(
        boot.line(ROOTFS_MARKER)
            .is_some_and(|l| l.contains("from the fetched image")),
        "the fetched root filesystem's init did not run"
    );
    let root = boot.line(" / overlay ").expect("/ is not the overlay");
    assert!(root.contains("lowerdir=/run/deboot/lower"), "{root}");
    let lower = boot
        .line("/run/deboot/lower squashfs")
        .expect("no squashfs lower");
    assert!(lower.contains(" ro,"), "{lower}");
}

#[test]
#[ignore = "boots QEMU with Debian's kernel and a dracut initramfs; run by .ci/run"]
fn boots_a_64_mib_root_filesystem_from_a_relay_and_times_it() {
    let Some(setup) = setup("boots_a_64_mib_root_filesystem") else {
        return;
    };
    let dir = TempDir::new("rootfs64");
    // Busybox (~2 MB) and incompressible filler: a squashfs of about 64 MiB.
    let squashfs = Arc::new(rootfs(dir.path(), (64 << 20) - (2 << 20)));
    let (relay, reference) = relay(&dir, &squashfs, Faults::default());
    let port = relay.local_addr().port();
    let raw_port = plain_http(Arc::clone(&squashfs), 1, Duration::from_secs(600));
    let nodes = [
        format!("tcp://{HOST_FROM_GUEST}:{port}"),
        format!("http://{HOST_FROM_GUEST}:{port}"),
    ];
    let extra = format!(
        "rd.shell=0 deboot.reboot_timeout=1 deboot_test.raw=http://{HOST_FROM_GUEST}:{raw_port}/rootfs.squashfs"
    );
    let boot = boot(
        &setup.kernel,
        &setup.initrd,
        &cmdline(&reference, &nodes, &extra),
        None,
        Duration::from_secs(600),
    );
    drop(relay);
    assert_booted(&boot);
    let len = squashfs.len() as f64;
    let verified = boot.line("bytes, fetch ").unwrap();
    assert!(
        verified.contains(&format!("verified {} bytes", squashfs.len())),
        "{verified}"
    );
    let (f0, f1) = span(verified, "bytes, fetch ");
    let mounted = boot.line("deboot: root filesystem mounted at ").unwrap();
    let at: f64 = mounted
        .split("mounted at ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let raw = boot.line("raw-copy: ").unwrap();
    assert!(raw.contains(&format!("{} bytes", squashfs.len())), "{raw}");
    let (r0, r1) = span(raw, "bytes ");
    eprintln!(
        "figure: {} byte squashfs: kernel start to root mounted {at:.2} s; verified fetch \
         {:.2} s ({:.1} MB/s); plain wget of the same bytes {:.2} s ({:.1} MB/s); QEMU wall {:.1} s",
        squashfs.len(),
        f1 - f0,
        len / 1e6 / (f1 - f0).max(0.01),
        r1 - r0,
        len / 1e6 / (r1 - r0).max(0.01),
        boot.wall.as_secs_f64()
    );
}

#[test]
#[ignore = "boots QEMU with Debian's kernel and a dracut initramfs; run by .ci/run"]
fn refuses_a_corrupting_relay_and_reboots_with_rd_shell_0() {
    let Some(setup) = setup("refuses_a_corrupting_relay") else {
        return;
    };
    let dir = TempDir::new("rootfs-corrupt");
    let squashfs = rootfs(dir.path(), 0);
    let faults = Faults {
        corrupt_every: 1,
        ..Faults::default()
    };
    let (relay, reference) = relay(&dir, &squashfs, faults);
    let nodes = [format!(
        "tcp://{HOST_FROM_GUEST}:{}",
        relay.local_addr().port()
    )];
    let boot = boot(
        &setup.kernel,
        &setup.initrd,
        &cmdline(&reference, &nodes, "rd.shell=0 deboot.reboot_timeout=1"),
        None,
        Duration::from_secs(300),
    );
    drop(relay);
    // A reboot under -no-reboot: QEMU exits 0, which no successful boot can produce.
    assert_eq!(boot.status, Some(0), "QEMU's exit status");
    let fatal = boot
        .line("deboot: FATAL: deboot-fetch exit 4")
        .expect("no FATAL line");
    assert!(fatal.contains("failed"), "{fatal}");
    assert!(boot
        .line("refusing to boot an unverified root filesystem")
        .is_some());
    assert!(boot.line("rd.shell=0: reboot in 1 s").is_some());
    assert!(
        boot.line(ROOTFS_MARKER).is_none(),
        "booted unverified bytes"
    );
    assert!(boot.line("deboot: verified").is_none());
    assert!(boot.line("Switching root").is_none());
}

#[test]
#[ignore = "boots QEMU with Debian's kernel and a dracut initramfs; run by .ci/run"]
fn drops_to_the_emergency_shell_on_a_path_not_in_the_manifest() {
    let Some(setup) = setup("drops_to_the_emergency_shell") else {
        return;
    };
    let dir = TempDir::new("rootfs-missing");
    let squashfs = rootfs(dir.path(), 0);
    let (relay, reference) = relay(&dir, &squashfs, Faults::default());
    let nodes = [format!(
        "tcp://{HOST_FROM_GUEST}:{}",
        relay.local_addr().port()
    )];
    let append = cmdline(&reference, &nodes, "").replace("/rootfs.squashfs", "/missing.squashfs");
    // The shell waits on the console: stop QEMU once dracut says it drops to it.
    let boot = boot(
        &setup.kernel,
        &setup.initrd,
        &append,
        Some("Dropping to debug shell"),
        Duration::from_secs(300),
    );
    drop(relay);
    assert_eq!(
        boot.status, None,
        "QEMU should still be waiting in the shell"
    );
    let fatal = boot
        .line("deboot: FATAL: deboot-fetch exit 3")
        .expect("no FATAL line");
    assert!(fatal.contains("missing.squashfs"), "{fatal}");
    assert!(boot.line("Dropping to debug shell").is_some());
    assert!(boot.line(ROOTFS_MARKER).is_none());
}
