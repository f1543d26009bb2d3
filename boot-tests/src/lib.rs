//! The harness behind `tests/qemu_boot.rs`: builds `deboot.efi` and the two test-only EFI apps,
//! lays out an ESP folder, and boots it in QEMU + OVMF (TCG) with `isa-debug-exit`, returning
//! the exit status and the serial log.
//!
//! The QEMU command line and its traps are those measured in `../shared/research/uefi-spike.md`:
//! TCG always (KVM cannot run firmware on these machines; `QEMU_ACCEL` overrides), a writable
//! copy of the OVMF variables, `virtio-net-pci` with OVMF's own driver (`romfile=`), the guest
//! reaching the host's 127.0.0.1 as 10.0.2.2, and exit status `(code << 1) | 1`, so 0 is never
//! a success.
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
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// The payload's marker line, printed when deboot.efi has started it.
pub const PAYLOAD_MARKER: &str = "DEBOOT-PAYLOAD-MARKER-5f1c done";
/// QEMU's exit status when the payload exits (its isa-debug-exit code 0x2a).
pub const PAYLOAD_STATUS: i32 = 85;
/// QEMU's exit status when deboot.efi returned an error status to the runner (code 0x31).
pub const RUNNER_DEBOOT_FAILED: i32 = 99;
/// Hard deadline of one QEMU run.
pub const DEADLINE: Duration = Duration::from_secs(120);
/// The guest's view of the host's 127.0.0.1 under QEMU user networking.
pub const HOST_FROM_GUEST: &str = "10.0.2.2";

/// What one boot did.
#[derive(Debug)]
pub struct Boot {
    /// QEMU's exit status; `None` if it was killed at the deadline or by a signal.
    pub status: Option<i32>,
    /// The serial console, without ANSI escapes and carriage returns.
    pub serial: String,
    /// Wall time from QEMU's start to its exit.
    pub wall: Duration,
    /// Each serial line (cleaned as [`Boot::serial`]) with the time since QEMU's start at
    /// which its end arrived, for timing guest steps from the host (GRUB has no clock).
    pub timed: Vec<(Duration, String)>,
}

impl Boot {
    /// The serial lines that start with `prefix`.
    pub fn lines<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.serial.lines().filter(move |l| l.starts_with(prefix))
    }

    /// When the first serial line equal to `line` (after trimming) arrived.
    #[must_use]
    pub fn time_of(&self, line: &str) -> Option<Duration> {
        self.timed
            .iter()
            .find(|(_, l)| l.trim() == line)
            .map(|(t, _)| *t)
    }
}

/// QEMU and OVMF on this machine.
#[derive(Debug, Clone)]
pub struct Firmware {
    qemu: PathBuf,
    code: PathBuf,
    vars: PathBuf,
}

/// Finds QEMU and OVMF. When missing: panics under `CI=true`, otherwise prints why the test is
/// skipped and returns `None`.
#[must_use]
pub fn firmware(test: &str) -> Option<Firmware> {
    let qemu = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("qemu-system-x86_64"))
            .find(|p| p.is_file())
    });
    let code = PathBuf::from("/usr/share/OVMF/OVMF_CODE_4M.fd");
    let vars = PathBuf::from("/usr/share/OVMF/OVMF_VARS_4M.fd");
    match qemu {
        Some(qemu) if code.is_file() && vars.is_file() => Some(Firmware { qemu, code, vars }),
        _ => {
            let why = "qemu-system-x86_64 or /usr/share/OVMF/OVMF_{CODE,VARS}_4M.fd missing \
                       (apt-get install --no-install-recommends qemu-system-x86 ovmf)";
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: {why}"
            );
            eprintln!("{test}: skipped ({why})");
            None
        }
    }
}

/// The three EFI images the tests boot.
#[derive(Debug)]
pub struct Images {
    /// `deboot.efi`, the app under test.
    pub deboot: PathBuf,
    /// The test-only `BOOTX64.EFI` that starts deboot.efi and reports its return.
    pub runner: PathBuf,
    /// The test-only payload deboot.efi fetches and starts.
    pub payload: PathBuf,
}

/// Builds the images once per test process (release, `x86_64-unknown-uefi`, in
/// `target/uefi`), unless `DEBOOT_EFI`, `DEBOOT_RUNNER_EFI` and `DEBOOT_PAYLOAD_EFI` name
/// prebuilt ones.
///
/// # Panics
/// If the build fails.
pub fn images() -> &'static Images {
    static IMAGES: OnceLock<Images> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let var = |k: &str| std::env::var_os(k).map(PathBuf::from);
        if let (Some(deboot), Some(runner), Some(payload)) = (
            var("DEBOOT_EFI"),
            var("DEBOOT_RUNNER_EFI"),
            var("DEBOOT_PAYLOAD_EFI"),
        ) {
            return Images {
                deboot,
                runner,
                payload,
            };
        }
        let root = repo_root();
        let target_dir = var("DEBOOT_UEFI_TARGET_DIR").unwrap_or_else(|| root.join("target/uefi"));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let t0 = Instant::now();
        let status = Command::new(cargo)
            // Not --locked: deboot-uefi's own lock file follows the path crates' dependencies,
            // which other changes may move; cargo updates only what they changed.
            .args([
                "build",
                "--release",
                "--workspace",
                "--target",
                "x86_64-unknown-uefi",
            ])
            .arg("--manifest-path")
            .arg(root.join("deboot-uefi/Cargo.toml"))
            // Its .cargo/config.toml (size flags) is only read from that directory.
            .current_dir(root.join("deboot-uefi"))
            .env("CARGO_TARGET_DIR", &target_dir)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
        assert!(status.success(), "building deboot-uefi failed: {status}");
        let dir = target_dir.join("x86_64-unknown-uefi/release");
        let images = Images {
            deboot: dir.join("deboot.efi"),
            runner: dir.join("runner.efi"),
            payload: dir.join("payload.efi"),
        };
        let size = std::fs::metadata(&images.deboot)
            .map(|m| m.len())
            .unwrap_or(0);
        eprintln!(
            "boot-tests: built deboot.efi ({size} bytes) and the test apps in {:.1?}",
            t0.elapsed()
        );
        images
    })
}

/// The repository root (this crate's parent).
#[must_use]
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// A fresh directory under the system temp dir, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `$TMPDIR/deboot-<label>-<pid>-<n>`.
    ///
    /// # Panics
    /// If it cannot be created.
    #[must_use]
    pub fn new(label: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("deboot-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        Self(dir)
    }

    /// Its path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An ESP folder: `EFI/BOOT/BOOTX64.EFI` = the runner, `EFI/deboot/deboot.efi`, and the case's
/// configuration, plus the writable OVMF variables beside it.
#[derive(Debug)]
pub struct Esp {
    dir: TempDir,
}

impl Esp {
    /// Lays out the ESP with deboot.efi's load options `options` (as a boot entry or GRUB
    /// would pass them), or with no load options and `deboot.cfg` = `cfg`.
    ///
    /// # Panics
    /// On I/O errors.
    #[must_use]
    pub fn new(images: &Images, config: &Configured<'_>) -> Self {
        let dir = TempDir::new("esp");
        let esp = dir.path().join("esp");
        let copy = |from: &Path, to: &Path| {
            std::fs::create_dir_all(to.parent().unwrap_or(to))
                .unwrap_or_else(|e| panic!("mkdir: {e}"));
            std::fs::copy(from, to)
                .unwrap_or_else(|e| panic!("copy {} -> {}: {e}", from.display(), to.display()));
        };
        if let Configured::FirmwareBootsDeboot(_) = config {
            copy(&images.deboot, &esp.join("EFI/BOOT/BOOTX64.EFI"));
        } else {
            copy(&images.runner, &esp.join("EFI/BOOT/BOOTX64.EFI"));
            copy(&images.deboot, &esp.join("EFI/deboot/deboot.efi"));
        }
        write_config(&esp, config);
        Self { dir }
    }

    /// The ESP folder itself, for cases that put other boot apps on it (GRUB as
    /// `EFI/BOOT/BOOTX64.EFI` in `tests/grub_boot.rs`).
    #[must_use]
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("esp")
    }

    /// Replaces the case's configuration (the OVMF variables, and so deboot.efi's anti-rollback
    /// minimum, stay from the boots before).
    ///
    /// # Panics
    /// On I/O errors.
    pub fn reconfigure(&self, config: &Configured<'_>) {
        let esp = self.dir.path().join("esp");
        let _ = std::fs::remove_file(esp.join("runner-options.txt"));
        let _ = std::fs::remove_file(esp.join("EFI/deboot/deboot.cfg"));
        write_config(&esp, config);
    }

    /// Boots this ESP once (serialised with every other boot of the process, so two QEMUs do
    /// not share the two cores and wall times mean something).
    ///
    /// # Panics
    /// If QEMU cannot be started.
    #[must_use]
    pub fn boot(&self, fw: &Firmware, network: bool) -> Boot {
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        let vars = self.dir.path().join("vars.fd");
        if !vars.exists() {
            std::fs::copy(&fw.vars, &vars).unwrap_or_else(|e| panic!("copy OVMF vars: {e}"));
        }
        let accel = std::env::var("QEMU_ACCEL").unwrap_or_else(|_| "tcg".into());
        let mut cmd = Command::new(&fw.qemu);
        cmd.args([
            "-machine",
            &format!("q35,accel={accel}"),
            "-m",
            "512",
            "-smp",
            "1",
        ])
        .arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,readonly=on,file={}",
            fw.code.display()
        ))
        .arg("-drive")
        .arg(format!("if=pflash,format=raw,file={}", vars.display()))
        .arg("-drive")
        .arg(format!(
            "format=raw,file=fat:rw:{}",
            self.dir.path().join("esp").display()
        ));
        if network {
            cmd.args([
                "-netdev",
                "user,id=n0",
                "-device",
                "virtio-net-pci,netdev=n0,romfile=",
            ]);
        } else {
            cmd.args(["-nic", "none"]);
        }
        cmd.args([
            "-display",
            "none",
            "-serial",
            "stdio",
            "-monitor",
            "none",
            "-no-reboot",
        ])
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let t0 = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start QEMU: {e}"));
        let out = capture(&mut child, t0);
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s.code(),
                Ok(None) if t0.elapsed() < DEADLINE => thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = child.kill(); // our own child, by handle
                    let _ = child.wait();
                    break None;
                }
            }
        };
        let wall = t0.elapsed();
        let (raw, stamps) = out.join();
        let serial = clean(&raw);
        let timed = timed_lines(&raw, &stamps);
        Boot {
            status,
            serial,
            wall,
            timed,
        }
    }
}

/// Where the case's configuration goes.
#[derive(Debug, Clone, Copy)]
pub enum Configured<'a> {
    /// deboot.efi's load options (the runner passes them, as a boot entry would).
    LoadOptions(&'a str),
    /// No load options; `deboot.cfg` next to deboot.efi holds this.
    CfgFile(&'a str),
    /// No runner: the firmware boots deboot.efi as `\EFI\BOOT\BOOTX64.EFI` (its own boot entry
    /// and load options), with this in `\EFI\BOOT\deboot.cfg`. A failure then ends only at
    /// the deadline (the firmware goes on to PXE and its shell).
    FirmwareBootsDeboot(&'a str),
}

fn write_config(esp: &Path, config: &Configured<'_>) {
    let (file, text) = match config {
        Configured::LoadOptions(t) => (esp.join("runner-options.txt"), *t),
        Configured::CfgFile(t) => (esp.join("EFI/deboot/deboot.cfg"), *t),
        Configured::FirmwareBootsDeboot(t) => (esp.join("EFI/BOOT/deboot.cfg"), *t),
    };
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
}

/// What the child wrote, and (time since start, length of the output so far) at each read.
type Output = (Vec<u8>, Vec<(Duration, usize)>);

/// stdout and stderr of a child, read on two threads.
struct Captured {
    threads: Vec<thread::JoinHandle<()>>,
    buf: Arc<Mutex<Output>>,
}

impl Captured {
    fn join(self) -> Output {
        for t in self.threads {
            let _ = t.join();
        }
        std::mem::take(&mut *self.buf.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The lines of `raw`, cleaned, each with the time its newline arrived.
fn timed_lines(raw: &[u8], stamps: &[(Duration, usize)]) -> Vec<(Duration, String)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut stamp = 0;
    for (i, &b) in raw.iter().enumerate() {
        if b == b'\n' {
            while stamps.get(stamp).is_some_and(|(_, end)| *end <= i) {
                stamp += 1;
            }
            let t = stamps.get(stamp).map_or(Duration::ZERO, |(t, _)| *t);
            out.push((t, clean(&raw[start..i])));
            start = i + 1;
        }
    }
    out
}

fn capture(child: &mut Child, t0: Instant) -> Captured {
    let buf = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let mut threads = Vec::new();
    let readers: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    ];
    for mut r in readers.into_iter().flatten() {
        let buf = Arc::clone(&buf);
        threads.push(thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = r.read(&mut chunk) {
                let at = t0.elapsed();
                let mut out = buf.lock().unwrap_or_else(PoisonError::into_inner);
                out.0.extend_from_slice(chunk.get(..n).unwrap_or_default());
                let len = out.0.len();
                out.1.push((at, len));
            }
        }));
    }
    Captured { threads, buf }
}

/// The serial text without ANSI escape sequences, carriage returns and other controls.
#[must_use]
pub fn clean(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ params final-byte (0x40..=0x7e).
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
            }
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// CRC-32 (IEEE), as the payload computes it with the firmware's `CalculateCrc32`.
#[must_use]
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `len` pseudo-random bytes from `seed` (xorshift32), for test files.
#[must_use]
pub fn pseudo_random(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// Debian's `grub-mkstandalone` and its x86_64-efi modules. When missing: panics under
/// `CI=true`, otherwise prints why the test is skipped and returns `None`.
#[must_use]
pub fn grub_mkstandalone(test: &str) -> Option<PathBuf> {
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

/// The marker the test initrd's `/init` prints before it ends QEMU with status 87.
pub const LINUX_INIT_MARKER: &str = "DEBOOT-LINUX-INIT-MARKER-9d2e";
/// QEMU's exit status when the test `/init` ends it (isa-debug-exit code 0x2b).
pub const LINUX_INIT_STATUS: i32 = 87;

/// Debian's current kernel image (`vmlinuz`), from the versioned `linux-image-<v>-amd64`
/// package that the `linux-image-amd64` metapackage depends on: `apt-get download` (not
/// installed) and `dpkg-deb -x`, cached in `target/uefi/linux/`. `None` (with the reason
/// printed) when apt or dpkg cannot provide it.
#[must_use]
pub fn linux_kernel() -> Option<PathBuf> {
    let dir = repo_root().join("target/uefi/linux");
    let cached = dir.join("vmlinuz");
    if cached.is_file() {
        return Some(cached);
    }
    std::fs::create_dir_all(&dir).ok()?;
    let deps = Command::new("apt-cache")
        .args(["depends", "linux-image-amd64"])
        .output()
        .ok()?;
    let deps = String::from_utf8_lossy(&deps.stdout);
    let Some(package) = deps
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| p.starts_with("linux-image-") && p.ends_with("-amd64"))
    else {
        eprintln!("linux kernel: `apt-cache depends linux-image-amd64` names no versioned image (apt-get update?)");
        return None;
    };
    let ok = Command::new("apt-get")
        .args(["download", package])
        .current_dir(&dir)
        .status()
        .is_ok_and(|s| s.success());
    let deb = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"));
    let (true, Some(deb)) = (ok, deb) else {
        eprintln!("linux kernel: `apt-get download {package}` failed");
        return None;
    };
    let root = dir.join("root");
    let ok = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(&root)
        .status()
        .is_ok_and(|s| s.success());
    let vmlinuz = std::fs::read_dir(root.join("boot"))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        });
    let (true, Some(vmlinuz)) = (ok, vmlinuz) else {
        eprintln!("linux kernel: no boot/vmlinuz-* in {}", deb.display());
        return None;
    };
    std::fs::copy(&vmlinuz, &cached).ok()?;
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_file(&deb);
    eprintln!("linux kernel: {package} ({})", vmlinuz.display());
    Some(cached)
}

/// A static `/init` (C, built with `gcc -static`) that prints [`LINUX_INIT_MARKER`] and its
/// command line, then ends QEMU through isa-debug-exit with code 0x2b. `None` without gcc or a
/// static libc.
#[must_use]
pub fn linux_init(dir: &Path) -> Option<Vec<u8>> {
    let src = dir.join("init.c");
    let out = dir.join("init");
    let code = format!(
        r#"#include <stdio.h>
#include <sys/io.h>
#include <sys/reboot.h>
#include <unistd.h>
int main(void) {{
    char cmdline[512] = {{0}};
    FILE *f = fopen("/proc/cmdline", "r");
    if (f) {{ fgets(cmdline, sizeof cmdline, f); fclose(f); }}
    printf("{LINUX_INIT_MARKER} pid=%d\n", getpid());
    fflush(stdout);
    if (ioperm(0xf4, 4, 1) == 0) outb(0x2b, 0xf4);
    reboot(RB_POWER_OFF);
    return 1;
}}
"#
    );
    std::fs::write(&src, code).ok()?;
    let ok = Command::new("gcc")
        .args(["-static", "-Os", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("linux init: `gcc -static` failed");
        return None;
    }
    std::fs::read(&out).ok()
}

/// A `newc` cpio archive (what the kernel unpacks as an initramfs) holding `/dev/console` and
/// the executable `/init`.
#[must_use]
pub fn initramfs(init: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ino = 1u32;
    let mut entry = |out: &mut Vec<u8>, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]| {
        let namesize = name.len() + 1;
        let header = format!(
            "070701{ino:08x}{mode:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{namesize:08x}{:08x}",
            0, 0, 1, 0, data.len(), 0, 0, rdev.0, rdev.1, 0
        );
        ino += 1;
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend_from_slice(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    };
    entry(&mut out, "dev", 0o040_755, (0, 0), &[]);
    entry(&mut out, "dev/console", 0o020_600, (5, 1), &[]);
    entry(&mut out, "init", 0o100_755, (0, 0), init);
    entry(&mut out, "TRAILER!!!", 0, (0, 0), &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_strips_escapes_and_carriage_returns() {
        assert_eq!(clean(b"\x1b[2J\x1b[01;01Hab\r\ncd\x1b[=3h"), "ab\ncd");
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
