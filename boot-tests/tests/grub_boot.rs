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

use std::path::Path;
use std::sync::Arc;

use boot_tests::{
    assert_payload, assert_refused, boot_app, firmware, grub_image, grub_mkstandalone,
    import_payload_collection, pseudo_random, serve, Boot, Firmware, TempDir, HOST_FROM_GUEST,
};
use deboot_menu::{Entry, Menu};
use swarm_relay::{Faults, RelayHandle, Store};

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

/// A store holding `{payload.efi, boot/initrd.img}`; the collection's reference and the initrd.
fn collection(dir: &TempDir) -> (Arc<Store>, String, Vec<u8>) {
    let store = Store::open(dir.path().join("db")).unwrap();
    let initrd = pseudo_random(INITRD_LEN, 0x96b);
    let content = dir.path().join("content");
    let reference = import_payload_collection(&store, &content, &[("boot/initrd.img", &initrd)]);
    (Arc::new(store), reference, initrd)
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
    let modules = format!("--install-modules={GRUB_MODULES}");
    let grub = grub_image(tool, work.path(), &[modules.into()], grub_cfg, &[]);
    boot_app(fw, &grub)
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
    let r = serve(store, Faults::default());
    let cfg = menu(&r, &reference);
    let boot = boot_grub(&fw, &tool, &cfg);
    assert!(boot.serial.contains("Welcome to GRUB!"), "GRUB did not run");
    // deboot.efi got exactly the words after `--`, GRUB's quotes removed.
    assert_payload(&boot, CMDLINE, &initrd);
    boot.figure("GRUB menu -> deboot.efi -> payload (4 MiB initrd)");
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
    let r = serve(
        store,
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
    assert_refused(&boot, "failed verification");
    assert!(
        boot.serial.contains("Falling back to `DeBoot failed'"),
        "GRUB did not report its fallback"
    );
    boot.figure("GRUB menu -> deboot.efi refuses -> GRUB fallback");
}
