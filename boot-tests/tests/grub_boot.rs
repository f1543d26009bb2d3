//! deboot.efi chain-loaded from a GRUB menu: OVMF boots a `grub-mkstandalone` x86_64-efi image
//! whose `grub.cfg` is written by `deboot-menu`; its default entry chain-loads deboot.efi with
//! `node=… target=bzz://… initrd=… -- <kernel command line>`; deboot.efi fetches from a
//! swarm-relay in this process, verifies and starts the payload, which prints its load options
//! and ends QEMU. When deboot.efi refuses, GRUB falls back to the menu's last entry, which ends
//! QEMU with GRUB's own code.
//!
//! `#[ignore]`d like `qemu_boot.rs`; `.ci/run`'s `vm_grub` stage runs them with
//! `cargo test -p boot-tests --test grub_boot -- --ignored --test-threads 1`. Without QEMU/OVMF
//! or `grub-mkstandalone` they print why and pass, except under `CI=true`, where they fail.
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

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use boot_tests::{
    crc32, firmware, images, pseudo_random, Boot, Configured, Esp, Firmware, TempDir,
    HOST_FROM_GUEST, PAYLOAD_MARKER, PAYLOAD_STATUS,
};
use deboot_menu::{Entry, Menu};
use swarm_relay::{import, Backend, Config, Faults, Relay, RelayHandle, Store};

/// A multi-word command line with words GRUB's lexer would otherwise interpret (`;`, `$`):
/// deboot-menu quotes them, GRUB removes the quotes, deboot.efi passes the words on.
const CMDLINE: &str = "console=ttyS0 quiet x=a;b $y deboot.grub=1";
/// The fallback entry's isa-debug-exit code, and QEMU's status for it.
const GRUB_FALLBACK_CODE: u8 = 0x21;
const GRUB_FALLBACK_STATUS: i32 = (0x21 << 1) | 1;
/// The GRUB modules the image holds (the menu's `insmod`s, `search`, `outb`).
const GRUB_MODULES: &str = "normal configfile echo test search search_fs_file part_msdos \
                            part_gpt fat chain iorw serial terminal";
const INITRD_LEN: usize = 4 << 20;

fn grub_mkstandalone(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("grub-mkstandalone"))
            .find(|p| p.is_file())
    });
    let modules = Path::new("/usr/lib/grub/x86_64-efi/chain.mod").is_file();
    if let (Some(tool), true) = (found, modules) {
        return Some(tool);
    }
    let why = "grub-mkstandalone or /usr/lib/grub/x86_64-efi missing (apt-get install \
               --no-install-recommends grub-efi-amd64-bin grub-common grub2-common)";
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: {why}"
    );
    eprintln!("{test}: skipped ({why})");
    None
}

/// A standalone GRUB image whose memdisk holds `grub_cfg` as `boot/grub/grub.cfg`.
fn grub_image(tool: &Path, dir: &Path, grub_cfg: &str) -> PathBuf {
    let cfg = dir.join("grub.cfg");
    std::fs::write(&cfg, grub_cfg).unwrap();
    let out = dir.join("grubx64.efi");
    let t0 = Instant::now();
    let status = Command::new(tool)
        .args(["-O", "x86_64-efi", "--locales=", "--fonts=", "--themes="])
        .arg(format!("--install-modules={GRUB_MODULES}"))
        .arg("-o")
        .arg(&out)
        .arg(format!("boot/grub/grub.cfg={}", cfg.display()))
        .status()
        .unwrap();
    assert!(status.success(), "grub-mkstandalone failed: {status}");
    eprintln!(
        "grub image: {} bytes in {:.2?}",
        std::fs::metadata(&out).unwrap().len(),
        t0.elapsed()
    );
    out
}

/// A store holding `{payload.efi, boot/initrd.img}`; the collection's reference and the initrd.
fn collection(dir: &TempDir) -> (Arc<Store>, String, Vec<u8>) {
    let store = Store::open(dir.path().join("db")).unwrap();
    let content = dir.path().join("content");
    std::fs::create_dir_all(content.join("boot")).unwrap();
    std::fs::copy(&images().payload, content.join("payload.efi")).unwrap();
    let initrd = pseudo_random(INITRD_LEN, 0x96b);
    std::fs::write(content.join("boot/initrd.img"), &initrd).unwrap();
    let refs = import::import_paths(&store, &[content]).unwrap();
    (Arc::new(store), refs[0].to_string(), initrd)
}

fn relay(store: &Arc<Store>, faults: Faults) -> RelayHandle {
    let config = Config {
        faults,
        ..Config::default()
    };
    Relay::bind("127.0.0.1:0", Backend::Store(Arc::clone(store)), config).unwrap()
}

/// The operator's menu: one entry for the collection, a serial terminal, no wait, and a
/// fallback entry that ends QEMU.
fn menu(r: &RelayHandle, reference: &str) -> String {
    let mut menu = Menu::new(vec![format!(
        "tcp://{HOST_FROM_GUEST}:{}",
        r.local_addr().port()
    )]);
    menu.entries.push(Entry {
        title: "Swarm payload (verified)".into(),
        target: format!("bzz://{reference}/payload.efi"),
        initrd: Some(format!("bzz://{reference}/boot/initrd.img")),
        cmdline: CMDLINE.into(),
    });
    menu.serial = true;
    menu.timeout = 0;
    menu.fallback = Some(format!("insmod iorw; outb 0xf4 {GRUB_FALLBACK_CODE:#x}"));
    menu.render().unwrap()
}

/// Boots GRUB (as `EFI/BOOT/BOOTX64.EFI`) with deboot.efi at `EFI/deboot/deboot.efi`.
fn boot_grub(fw: &Firmware, tool: &Path, grub_cfg: &str) -> Boot {
    let work = TempDir::new("grub");
    let grub = grub_image(tool, work.path(), grub_cfg);
    let esp = Esp::new(images(), &Configured::LoadOptions(""));
    std::fs::copy(&grub, esp.root().join("EFI/BOOT/BOOTX64.EFI")).unwrap();
    let boot = esp.boot(fw, true);
    eprintln!(
        "--- serial ({:?}, status {:?}) ---\n{}\n---",
        boot.wall, boot.status, boot.serial
    );
    boot
}

#[test]
#[ignore = "boots QEMU; run by .ci/run's vm_grub stage"]
fn grub_menu_chainloads_deboot_which_boots_the_payload_with_the_cmdline() {
    let test = "grub_menu_chainloads_deboot";
    let (Some(fw), Some(tool)) = (firmware(test), grub_mkstandalone(test)) else {
        return;
    };
    let dir = TempDir::new("grub-store");
    let (store, reference, initrd) = collection(&dir);
    let r = relay(&store, Faults::default());
    let cfg = menu(&r, &reference);
    let boot = boot_grub(&fw, &tool, &cfg);
    assert_eq!(
        boot.status,
        Some(PAYLOAD_STATUS),
        "the payload did not end QEMU"
    );
    assert!(boot.serial.contains("Welcome to GRUB!"), "GRUB did not run");
    assert!(boot.serial.contains(PAYLOAD_MARKER), "no payload marker");
    // deboot.efi got exactly the words after `--`, GRUB's quotes removed.
    let want = format!("payload: cmdline=[{CMDLINE}]");
    assert!(
        boot.serial.contains(&want),
        "command line not passed: want `{want}`"
    );
    let want = format!(
        "payload: initrd len={} crc32={:08x}",
        initrd.len(),
        crc32(&initrd)
    );
    assert!(
        boot.serial.contains(&want),
        "initrd not handed over intact: want `{want}`"
    );
    eprintln!(
        "figure: GRUB menu -> deboot.efi -> payload (4 MiB initrd), wall time {:.2} s",
        boot.wall.as_secs_f64()
    );
}

#[test]
#[ignore = "boots QEMU; run by .ci/run's vm_grub stage"]
fn grub_falls_back_when_deboot_refuses_a_corrupt_relay() {
    let test = "grub_falls_back_when_deboot_refuses";
    let (Some(fw), Some(tool)) = (firmware(test), grub_mkstandalone(test)) else {
        return;
    };
    let dir = TempDir::new("grub-store");
    let (store, reference, _) = collection(&dir);
    let r = relay(
        &store,
        Faults {
            corrupt_every: 1,
            ..Faults::default()
        },
    );
    let cfg = menu(&r, &reference);
    let boot = boot_grub(&fw, &tool, &cfg);
    assert_eq!(
        boot.status,
        Some(GRUB_FALLBACK_STATUS),
        "GRUB's fallback entry did not end QEMU"
    );
    assert!(
        !boot.serial.contains("DEBOOT-PAYLOAD-MARKER"),
        "the payload ran"
    );
    let failed: Vec<&str> = boot.lines("deboot: failed: ").collect();
    assert_eq!(failed.len(), 1, "want exactly one deboot.efi failure line");
    assert!(
        failed[0].contains("failed verification"),
        "failure line `{}` does not name the bad chunk",
        failed[0]
    );
    assert!(
        boot.serial.contains("Falling back to `DeBoot failed'"),
        "GRUB did not report its fallback"
    );
    eprintln!(
        "figure: GRUB menu -> deboot.efi refuses -> GRUB fallback, wall time {:.2} s",
        boot.wall.as_secs_f64()
    );
}
