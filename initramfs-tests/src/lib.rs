//! The harness behind `tests/qemu_initramfs.rs`: Debian's kernel (downloaded once into
//! `target/initramfs-cache`), an initramfs built by `dracut` with `dracut/90deboot` and a static
//! `deboot-fetch`, a busybox root filesystem packed by `mksquashfs`, and one QEMU run (TCG,
//! direct kernel boot, `isa-debug-exit`) returning the exit status and the serial log.
//!
//! Host tools: `qemu-system-x86_64`, `dracut` (Debian: `dracut-core dracut-network`, not
//! `dracut`, which removes initramfs-tools), `mksquashfs` (`squashfs-tools`), a static busybox
//! (`busybox-static`), `dpkg-deb`, `depmod`, and `apt-get` for the kernel package.
// A test harness: a panic is how it fails a test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use boot_tests::{apt_unpack, cargo_build, debian_kernel_package, run_qemu, skip, which, USER_NET};
pub use boot_tests::{pseudo_random, repo_root, Boot, TempDir, HOST_FROM_GUEST};

/// The marker the root filesystem's `/sbin/init` prints once it runs from the fetched image.
pub const ROOTFS_MARKER: &str = "DEBOOT-ROOTFS-MARKER-9c2e";
/// QEMU's exit status when that init ends it (isa-debug-exit code 0x2c: `(0x2c << 1) | 1`).
pub const ROOTFS_STATUS: i32 = 89;
/// The drivers the test initramfs carries beyond what `90deboot` asks for.
pub const DRIVERS: &str = "virtio_pci virtio_net squashfs loop overlay";

/// A tool is missing: panics under `CI=true`, otherwise prints why the test is skipped.
/// Returns `false` when the caller should skip.
#[must_use]
pub fn tools_present(test: &str) -> bool {
    let missing: Vec<&str> = [
        "qemu-system-x86_64",
        "dracut",
        "mksquashfs",
        "dpkg-deb",
        "depmod",
        "apt-get",
    ]
    .into_iter()
    .filter(|t| which(t).is_none())
    .collect();
    let busybox = Path::new("/bin/busybox").is_file();
    if missing.is_empty() && busybox {
        return true;
    }
    let why = format!(
        "missing {missing:?}{} (apt-get install --no-install-recommends qemu-system-x86 \
         dracut-core dracut-network squashfs-tools busybox-static cpio)",
        if busybox { "" } else { " and /bin/busybox" }
    );
    let skipped: Option<()> = skip(test, &why);
    skipped.is_some()
}

fn run(cmd: &mut Command) -> bool {
    match cmd.status() {
        Ok(s) if s.success() => true,
        Ok(s) => {
            eprintln!("{cmd:?}: {s}");
            false
        }
        Err(e) => {
            eprintln!("{cmd:?}: {e}");
            false
        }
    }
}

/// Where the kernel (and the musl `deboot-fetch`, unless prebuilt) are kept between runs:
/// `$DEBOOT_INITRAMFS_CACHE`, else `target/initramfs-cache`.
#[must_use]
pub fn cache_dir() -> PathBuf {
    std::env::var_os("DEBOOT_INITRAMFS_CACHE")
        .map_or_else(|| repo_root().join("target/initramfs-cache"), PathBuf::from)
}

/// Debian's kernel, unpacked: the image and its module tree (with `modules.dep`).
#[derive(Debug, Clone)]
pub struct Kernel {
    /// The package it came from, e.g. `linux-image-6.1.0-56-amd64`.
    pub package: String,
    /// Its release, e.g. `6.1.0-56-amd64`.
    pub kver: String,
    /// `boot/vmlinuz-<kver>`.
    pub vmlinuz: PathBuf,
    /// `lib/modules/<kver>`.
    pub kmoddir: PathBuf,
}

/// The kernel `linux-image-amd64` depends on, from the cache or `apt-get download`ed into it
/// (`dpkg-deb -x`, `depmod -b`); the `.deb` is deleted after unpacking. `None` (with the
/// reason on stderr) when apt cannot name or fetch it.
#[must_use]
pub fn kernel() -> Option<Kernel> {
    let dir = cache_dir();
    std::fs::create_dir_all(&dir).ok()?;
    let package = debian_kernel_package()?;
    let kver = package.strip_prefix("linux-image-")?.to_owned();
    let root = dir.join(&package);
    let kernel = Kernel {
        vmlinuz: root.join(format!("boot/vmlinuz-{kver}")),
        kmoddir: root.join(format!("lib/modules/{kver}")),
        package: package.clone(),
        kver: kver.clone(),
    };
    let ready = root.join(".ready");
    if ready.is_file() {
        return Some(kernel);
    }
    let _ = std::fs::remove_dir_all(&root);
    let t0 = Instant::now();
    let ok =
        apt_unpack(&package, &root) && run(Command::new("depmod").arg("-b").arg(&root).arg(&kver));
    if !ok || !kernel.vmlinuz.is_file() || !kernel.kmoddir.join("modules.dep").is_file() {
        eprintln!("kernel: {package} has no boot/vmlinuz-{kver} or modules");
        return None;
    }
    std::fs::write(&ready, "").ok()?;
    eprintln!(
        "kernel: {package} downloaded and unpacked in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    Some(kernel)
}

/// A static `deboot-fetch`: `$DEBOOT_FETCH`, else built here (`--release --target
/// x86_64-unknown-linux-musl`, in `<cache>/musl`).
///
/// # Panics
/// If the build fails.
#[must_use]
pub fn deboot_fetch() -> PathBuf {
    if let Some(p) = std::env::var_os("DEBOOT_FETCH") {
        return PathBuf::from(p);
    }
    let target_dir = cache_dir().join("musl");
    let args = [
        "--target",
        "x86_64-unknown-linux-musl",
        "-p",
        "deboot-fetch",
    ];
    cargo_build(&repo_root(), &target_dir, &args);
    target_dir.join("x86_64-unknown-linux-musl/release/deboot-fetch")
}

/// Builds an initramfs with `dracut --no-hostonly`, modules `base network-legacy deboot`
/// (this repository's `dracut/90deboot`, through a private copy of dracut's module
/// directory, so the host's dracut is left as it is) and [`DRIVERS`], uncompressed (faster
/// under TCG than decompressing). Returns its path in `dir`.
///
/// # Panics
/// If dracut fails.
#[must_use]
pub fn initramfs(kernel: &Kernel, fetch: &Path, dir: &Path) -> PathBuf {
    let system = Path::new("/usr/lib/dracut");
    let base = dir.join("dracut");
    let modules = base.join("modules.d");
    std::fs::create_dir_all(&modules).unwrap();
    for entry in std::fs::read_dir(system).unwrap().filter_map(Result::ok) {
        if entry.file_name() != "modules.d" {
            std::os::unix::fs::symlink(entry.path(), base.join(entry.file_name())).unwrap();
        }
    }
    for entry in std::fs::read_dir(system.join("modules.d"))
        .unwrap()
        .filter_map(Result::ok)
    {
        if entry.file_name() != "90deboot" {
            std::os::unix::fs::symlink(entry.path(), modules.join(entry.file_name())).unwrap();
        }
    }
    std::os::unix::fs::symlink(
        repo_root().join("dracut/90deboot"),
        modules.join("90deboot"),
    )
    .unwrap();
    let conf = dir.join("dracut.conf.d");
    std::fs::create_dir_all(&conf).unwrap();
    let out = dir.join("initrd.img");
    let t0 = Instant::now();
    let ok = run(Command::new("dracut")
        .args([
            "--force",
            "--quiet",
            "--no-hostonly",
            "--no-hostonly-cmdline",
        ])
        .args(["--conf", "/dev/null", "--confdir"])
        .arg(&conf)
        .args(["--kver", &kernel.kver, "--kmoddir"])
        .arg(&kernel.kmoddir)
        .args(["--modules", "base network-legacy deboot"])
        .args(["--add-drivers", DRIVERS, "--no-compress"])
        .arg(&out)
        .env("dracutbasedir", &base)
        .env("DEBOOT_FETCH", fetch));
    assert!(ok, "dracut failed");
    eprintln!(
        "initramfs: {} bytes in {:.1} s",
        std::fs::metadata(&out).unwrap().len(),
        t0.elapsed().as_secs_f64()
    );
    out
}

/// The test root filesystem's `/sbin/init` (busybox sh): prints [`ROOTFS_MARKER`] and its
/// mounts; if the command line has `deboot_test.raw=URL`, times a plain, unverified `wget`
/// of URL into the same tmpfs; then ends QEMU with isa-debug-exit code 0x2c (busybox has no
/// `outb`: one byte written to `/dev/port` at 0xf4).
pub const INIT: &str = r#"#!/bin/sh
export PATH=/bin
busybox mount -t proc proc /proc 2>/dev/null
read -r up _ < /proc/uptime
echo "DEBOOT-ROOTFS-MARKER-9c2e from the fetched image at $up s"
busybox grep -E ' / |deboot' /proc/mounts
for a in $(busybox cat /proc/cmdline); do
    case "$a" in deboot_test.raw=*) raw=${a#*=} ;; esac
done
if [ -n "$raw" ]; then
    read -r t0 _ < /proc/uptime
    if busybox wget -q -O /run/raw.img "$raw"; then
        read -r t1 _ < /proc/uptime
        echo "raw-copy: $(busybox wc -c < /run/raw.img) bytes $t0..$t1 s"
        busybox rm -f /run/raw.img
    else
        echo "raw-copy: wget failed"
    fi
fi
printf '\054' | busybox dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
echo "isa-debug-exit failed"
busybox poweroff -f
"#;

/// A squashfs root filesystem: static busybox, [`INIT`], the mount points, and `filler`
/// bytes of incompressible data in `/filler` (to reach a size). Returns its bytes.
///
/// # Panics
/// On I/O errors or if `mksquashfs` fails.
#[must_use]
pub fn rootfs(dir: &Path, filler: usize) -> Vec<u8> {
    let root = dir.join("rootfs");
    for d in ["bin", "sbin", "proc", "sys", "dev", "run", "tmp", "etc"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    std::fs::write(root.join("sbin/init"), INIT).unwrap();
    std::fs::set_permissions(
        root.join("sbin/init"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    if filler > 0 {
        std::fs::write(root.join("filler"), pseudo_random(filler, 0x64b1)).unwrap();
    }
    let out = dir.join("rootfs.squashfs");
    assert!(
        run(Command::new("mksquashfs")
            .arg(&root)
            .arg(&out)
            .args(["-noappend", "-quiet", "-no-progress", "-all-root"])
            .stdout(Stdio::null())),
        "mksquashfs failed"
    );
    std::fs::read(out).unwrap()
}

/// Boots `kernel` + `initrd` with command line `append` (plus `console=ttyS0 panic=-1`) on
/// QEMU's user network, 1 GiB of RAM, through [`run_qemu`]: ends when QEMU exits, when the
/// serial log contains `stop_at`, or at `deadline`.
///
/// # Panics
/// If QEMU cannot be started.
#[must_use]
pub fn boot(
    kernel: &Kernel,
    initrd: &Path,
    append: &str,
    stop_at: Option<&str>,
    deadline: Duration,
) -> Boot {
    let mut qemu = Command::new("qemu-system-x86_64");
    qemu.args(["-m", "1024", "-kernel"])
        .arg(&kernel.vmlinuz)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(format!("console=ttyS0 panic=-1 {append}"))
        .args(USER_NET);
    run_qemu(qemu, stop_at, deadline)
}

/// Serves `body` to plain HTTP/1.0 `GET`s (any path) on 127.0.0.1 until `deadline`, at most
/// `max` requests: the unverified baseline the guest copies with `wget`. Returns the port.
#[must_use]
pub fn plain_http(body: Arc<Vec<u8>>, max: usize, deadline: Duration) -> u16 {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    thread::spawn(move || {
        let end = Instant::now() + deadline;
        let mut served = 0;
        while served < max && Instant::now() < end {
            let Ok((mut s, _)) = listener.accept() else {
                thread::sleep(Duration::from_millis(20));
                continue;
            };
            served += 1;
            let _ = s.set_nonblocking(false);
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = s.set_write_timeout(Some(Duration::from_secs(60)));
            let mut req = [0u8; 2048];
            let _ = s.read(&mut req);
            let head = format!(
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
                body.len()
            );
            let _ = s
                .write_all(head.as_bytes())
                .and_then(|()| s.write_all(&body));
        }
    });
    port
}
