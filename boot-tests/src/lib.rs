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

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use k256::ecdsa::SigningKey;
use swarm_bmt::{ChunkAddress, Reference, Span};
use swarm_core::feed::{self, Topic};
use swarm_core::soc;
use swarm_relay::{import, Backend, Config, Faults, Relay, RelayHandle, Store};

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
    /// QEMU's exit status; `None` if it was killed (at the deadline, once the serial log held
    /// what [`run_qemu`] stops at, or by a signal).
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

    /// The first serial line containing `needle`.
    #[must_use]
    pub fn line(&self, needle: &str) -> Option<&str> {
        self.serial.lines().find(|l| l.contains(needle))
    }

    /// When the first serial line equal to `line` (after trimming) arrived.
    #[must_use]
    pub fn time_of(&self, line: &str) -> Option<Duration> {
        self.timed
            .iter()
            .find(|(_, l)| l.trim() == line)
            .map(|(t, _)| *t)
    }

    /// Prints `figure: <what>, wall time <s> s`.
    pub fn figure(&self, what: &str) {
        eprintln!("figure: {what}, wall time {:.2} s", self.wall.as_secs_f64());
    }
}

/// A host tool or file is missing: panics under `CI=true` (CI must run every case), otherwise
/// prints why `test` is skipped. Always `None`, for `return skip(…)`.
#[must_use]
pub fn skip<T>(test: &str, why: &str) -> Option<T> {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: {why}"
    );
    eprintln!("{test}: skipped ({why})");
    None
}

/// `tool` on `PATH` (or in `/usr/sbin`, `/sbin`).
#[must_use]
pub fn which(tool: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&paths)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|p| p.join(tool))
        .find(|p| p.is_file())
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
    let code = PathBuf::from("/usr/share/OVMF/OVMF_CODE_4M.fd");
    let vars = PathBuf::from("/usr/share/OVMF/OVMF_VARS_4M.fd");
    match which("qemu-system-x86_64") {
        Some(qemu) if code.is_file() && vars.is_file() => Some(Firmware { qemu, code, vars }),
        _ => skip(
            test,
            "qemu-system-x86_64 or /usr/share/OVMF/OVMF_{CODE,VARS}_4M.fd missing \
             (apt-get install --no-install-recommends qemu-system-x86 ovmf)",
        ),
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
        let target_dir =
            var("DEBOOT_UEFI_TARGET_DIR").unwrap_or_else(|| repo_root().join("target/uefi"));
        let t0 = Instant::now();
        let dir = build_uefi(&target_dir, &["--workspace"]);
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

/// Builds `deboot-uefi`'s workspace with `args` (`--release --target x86_64-unknown-uefi`,
/// in `target_dir`); returns the folder of the images.
///
/// # Panics
/// If the build fails.
pub fn build_uefi(target_dir: &Path, args: &[&str]) -> PathBuf {
    // Its .cargo/config.toml (size flags) is only read from that directory. Not --locked:
    // deboot-uefi's own lock file follows the path crates' dependencies, which other changes
    // may move; cargo updates only what they changed.
    cargo_build(
        &repo_root().join("deboot-uefi"),
        target_dir,
        &[args, &["--target", "x86_64-unknown-uefi"]].concat(),
    );
    target_dir.join("x86_64-unknown-uefi/release")
}

/// `cargo build --release <args>` run in `dir`, into `target_dir`, without the caller's
/// `RUSTFLAGS`.
///
/// # Panics
/// If the build fails.
pub fn cargo_build(dir: &Path, target_dir: &Path, args: &[&str]) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release"])
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    assert!(
        status.success(),
        "cargo build --release {args:?} in {} failed: {status}",
        dir.display()
    );
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

    /// Boots this ESP once (with `virtio-net` on QEMU's user network if `network`) and
    /// prints the serial log.
    ///
    /// # Panics
    /// If QEMU cannot be started.
    #[must_use]
    pub fn boot(&self, fw: &Firmware, network: bool) -> Boot {
        let vars = self.dir.path().join("vars.fd");
        if !vars.exists() {
            std::fs::copy(&fw.vars, &vars).unwrap_or_else(|e| panic!("copy OVMF vars: {e}"));
        }
        let mut cmd = Command::new(&fw.qemu);
        cmd.args(["-m", "512"])
            .arg("-drive")
            .arg(format!(
                "if=pflash,format=raw,readonly=on,file={}",
                fw.code.display()
            ))
            .arg("-drive")
            .arg(format!("if=pflash,format=raw,file={}", vars.display()))
            .arg("-drive")
            .arg(format!("format=raw,file=fat:rw:{}", self.root().display()));
        if network {
            cmd.args(USER_NET);
        } else {
            cmd.args(["-nic", "none"]);
        }
        run_qemu(cmd, None, DEADLINE)
    }
}

/// QEMU's user network on `virtio-net-pci`, without the NIC's option ROM (OVMF and Linux
/// bring their own drivers); the guest reaches the host's 127.0.0.1 as [`HOST_FROM_GUEST`].
pub const USER_NET: [&str; 4] = [
    "-netdev",
    "user,id=n0",
    "-device",
    "virtio-net-pci,netdev=n0,romfile=",
];

/// Runs `qemu` (a QEMU command with its memory, firmware or kernel, disks and network) on a
/// q35 machine (TCG unless `QEMU_ACCEL`) with one CPU, the serial console on stdio, no
/// display, monitor or reboot, and `isa-debug-exit` at 0xf4; prints the serial log. Ends
/// when QEMU exits, when the log contains `stop_at` (QEMU is then killed: our own child, by
/// handle), or at `deadline`. Serialised with every other run of the process, so two QEMUs
/// do not share the two cores and wall times mean something.
///
/// # Panics
/// If QEMU cannot be started.
#[must_use]
pub fn run_qemu(mut qemu: Command, stop_at: Option<&str>, deadline: Duration) -> Boot {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let accel = std::env::var("QEMU_ACCEL").unwrap_or_else(|_| "tcg".into());
    qemu.args(["-machine", &format!("q35,accel={accel}"), "-smp", "1"])
        .args(["-display", "none", "-serial", "stdio", "-monitor", "none"])
        .args([
            "-no-reboot",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let t0 = Instant::now();
    let mut child = qemu
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start QEMU: {e}"));
    let out = capture(&mut child, t0);
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s.code(),
            Ok(None) if t0.elapsed() < deadline && !stop_at.is_some_and(|n| out.holds(n)) => {
                thread::sleep(Duration::from_millis(20));
            }
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
    eprintln!("--- serial ({wall:.1?}, status {status:?}) ---\n{serial}\n---");
    Boot {
        status,
        serial,
        wall,
        timed,
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
    /// Whether the output so far holds `needle`.
    fn holds(&self, needle: &str) -> bool {
        let out = self.buf.lock().unwrap_or_else(PoisonError::into_inner);
        out.0.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

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
    let modules = Path::new("/usr/lib/grub/x86_64-efi/chain.mod").is_file();
    match which("grub-mkstandalone") {
        Some(tool) if modules => Some(tool),
        _ => skip(
            test,
            "grub-mkstandalone or /usr/lib/grub/x86_64-efi missing (apt-get install \
             --no-install-recommends grub-efi-amd64-bin grub-common grub2-common)",
        ),
    }
}

/// A `grub-mkstandalone` x86_64-efi image `dir/grubx64.efi` made with `args` (module
/// options), whose memdisk holds `grub_cfg` as `boot/grub/grub.cfg` and each `(name, path)`
/// of `files` as `boot/files/<name>`.
///
/// # Panics
/// If grub-mkstandalone fails.
#[must_use]
pub fn grub_image(
    tool: &Path,
    dir: &Path,
    args: &[OsString],
    grub_cfg: &str,
    files: &[(&str, &Path)],
) -> PathBuf {
    let cfg = dir.join("grub.cfg");
    std::fs::write(&cfg, grub_cfg).unwrap();
    let out = dir.join("grubx64.efi");
    let t0 = Instant::now();
    let mut cmd = Command::new(tool);
    cmd.args(["-O", "x86_64-efi", "--locales=", "--fonts=", "--themes="])
        .args(args)
        .arg("-o")
        .arg(&out)
        .arg(format!("boot/grub/grub.cfg={}", cfg.display()));
    for (name, path) in files {
        cmd.arg(format!("boot/files/{name}={}", path.display()));
    }
    let status = cmd.status().unwrap();
    assert!(status.success(), "grub-mkstandalone failed: {status}");
    eprintln!(
        "grub image: {} bytes in {:.2?}",
        std::fs::metadata(&out).unwrap().len(),
        t0.elapsed()
    );
    out
}

/// Boots `app` (GRUB) as the ESP's `EFI/BOOT/BOOTX64.EFI`, with deboot.efi at
/// `EFI/deboot/deboot.efi` and QEMU's user network.
///
/// # Panics
/// On I/O errors.
#[must_use]
pub fn boot_app(fw: &Firmware, app: &Path) -> Boot {
    let esp = Esp::new(images(), &Configured::LoadOptions(""));
    std::fs::copy(app, esp.root().join("EFI/BOOT/BOOTX64.EFI")).unwrap();
    esp.boot(fw, true)
}

/// A relay on 127.0.0.1 (the guest's [`HOST_FROM_GUEST`]) serving `store` with `faults`.
///
/// # Panics
/// If it cannot bind.
#[must_use]
pub fn serve(store: Arc<Store>, faults: Faults) -> RelayHandle {
    let config = Config {
        faults,
        ..Config::default()
    };
    Relay::bind("127.0.0.1:0", Backend::Store(store), config).unwrap()
}

/// Imports the folder `content`, after writing into it the test payload as `payload.efi` and
/// each `(path, bytes)` of `files`, as `swarm-relay import DIR` does; the collection's
/// reference.
///
/// # Panics
/// On I/O or import errors.
#[must_use]
pub fn import_payload_collection(store: &Store, content: &Path, files: &[(&str, &[u8])]) -> String {
    std::fs::create_dir_all(content).unwrap();
    std::fs::copy(&images().payload, content.join("payload.efi")).unwrap();
    for (name, data) in files {
        let path = content.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
    import::import_paths(store, &[content.to_path_buf()]).unwrap()[0].to_string()
}

/// Signs feed update `index` of (`key`, `topic`) pointing at `reference` (v1 payload:
/// timestamp and reference) and puts it into `store`; returns its chunk address.
///
/// # Panics
/// If `reference` does not parse or the store fails.
pub fn put_feed_update(
    store: &Store,
    key: &SigningKey,
    topic: &Topic,
    index: u64,
    reference: &str,
) -> ChunkAddress {
    let reference: Reference = reference.parse().unwrap();
    let mut payload = (1_700_000_000 + index).to_be_bytes().to_vec();
    payload.extend_from_slice(reference.address().as_bytes());
    let mut out = vec![0u8; 4200];
    let id = feed::sequence_identifier(topic, index);
    let (address, chunk) =
        soc::sign(key, &id, Span(payload.len() as u64), &payload, &mut out).unwrap();
    store.put_chunk(&address, chunk).unwrap();
    address
}

/// Asserts the payload ran and ended QEMU, with `cmdline` and `initrd` handed over intact.
pub fn assert_payload(boot: &Boot, cmdline: &str, initrd: &[u8]) {
    assert_eq!(
        boot.status,
        Some(PAYLOAD_STATUS),
        "the payload did not end QEMU"
    );
    assert!(boot.serial.contains(PAYLOAD_MARKER), "no payload marker");
    let want = format!("payload: cmdline=[{cmdline}]");
    assert!(
        boot.serial.contains(&want),
        "command line not passed: want `{want}`"
    );
    let want = format!(
        "payload: initrd len={} crc32={:08x}",
        initrd.len(),
        crc32(initrd)
    );
    assert!(
        boot.serial.contains(&want),
        "initrd not handed over intact: want `{want}`"
    );
}

/// Asserts deboot.efi refused: the payload did not run and the log has exactly one
/// `deboot: failed: ` line, which says `reason`.
pub fn assert_refused(boot: &Boot, reason: &str) {
    assert!(
        !boot.serial.contains("DEBOOT-PAYLOAD-MARKER"),
        "the payload ran"
    );
    let failed: Vec<&str> = boot.lines("deboot: failed: ").collect();
    assert_eq!(failed.len(), 1, "want exactly one deboot.efi failure line");
    assert!(
        failed[0].contains(reason),
        "failure line `{}` lacks `{reason}`",
        failed[0]
    );
}

/// The marker the test initrd's `/init` prints before it ends QEMU with status 87.
pub const LINUX_INIT_MARKER: &str = "DEBOOT-LINUX-INIT-MARKER-9d2e";
/// QEMU's exit status when the test `/init` ends it (isa-debug-exit code 0x2b).
pub const LINUX_INIT_STATUS: i32 = 87;

/// The versioned kernel package `linux-image-amd64` depends on (`linux-image-<v>-amd64`), as
/// `apt-cache depends` names it; `None` (with the reason printed) when it names none.
#[must_use]
pub fn debian_kernel_package() -> Option<String> {
    let deps = Command::new("apt-cache")
        .args(["depends", "linux-image-amd64"])
        .output()
        .ok()?;
    let package = String::from_utf8_lossy(&deps.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| p.starts_with("linux-image-") && p.ends_with("-amd64"))
        .map(str::to_owned);
    if package.is_none() {
        eprintln!("linux kernel: `apt-cache depends linux-image-amd64` names no versioned image (apt-get update?)");
    }
    package
}

/// `apt-get download`s `package` (not installed) and unpacks it into `root` with
/// `dpkg-deb -x`; the `.deb` is deleted. `false` (with the reason printed) on failure.
#[must_use]
pub fn apt_unpack(package: &str, root: &Path) -> bool {
    let debs = TempDir::new("deb");
    let ok = Command::new("apt-get")
        .args(["download", package])
        .current_dir(debs.path())
        .status()
        .is_ok_and(|s| s.success());
    let deb = std::fs::read_dir(debs.path())
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"));
    let (true, Some(deb)) = (ok, deb) else {
        eprintln!("`apt-get download {package}` failed");
        return false;
    };
    let ok = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(root)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("`dpkg-deb -x {}` failed", deb.display());
    }
    ok
}

/// Debian's current kernel image (`vmlinuz`, from [`debian_kernel_package`] by
/// [`apt_unpack`]), cached in `target/uefi/linux/`. `None` (with the reason printed) when apt
/// or dpkg cannot provide it.
#[must_use]
pub fn linux_kernel() -> Option<PathBuf> {
    let dir = repo_root().join("target/uefi/linux");
    let cached = dir.join("vmlinuz");
    if cached.is_file() {
        return Some(cached);
    }
    std::fs::create_dir_all(&dir).ok()?;
    let package = debian_kernel_package()?;
    let root = dir.join("root");
    let ok = apt_unpack(&package, &root);
    let vmlinuz = std::fs::read_dir(root.join("boot"))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        });
    let (true, Some(vmlinuz)) = (ok, vmlinuz) else {
        eprintln!("linux kernel: no boot/vmlinuz-* in {package}");
        return None;
    };
    std::fs::copy(&vmlinuz, &cached).ok()?;
    let _ = std::fs::remove_dir_all(&root);
    eprintln!("linux kernel: {package} ({})", vmlinuz.display());
    Some(cached)
}

/// Debian's kernel and an initramfs whose `/init` is [`linux_init`], imported as an operator
/// would publish them (`boot/vmlinuz`, `boot/initrd.img`) and served by a relay.
#[derive(Debug)]
pub struct LinuxCollection {
    /// The relay serving it.
    pub relay: RelayHandle,
    /// The collection's reference.
    pub reference: String,
    /// The kernel's size.
    pub kernel_len: u64,
    /// The initramfs's size.
    pub initrd_len: usize,
    /// The store, the content and the init's build.
    pub dir: TempDir,
}

/// The [`LinuxCollection`], or (through [`skip`]) `None` when the kernel package or a static
/// init is unavailable.
///
/// # Panics
/// On I/O or import errors.
#[must_use]
pub fn linux_collection(test: &str) -> Option<LinuxCollection> {
    let dir = TempDir::new("linux");
    let (Some(kernel), Some(init)) = (linux_kernel(), linux_init(dir.path())) else {
        return skip(test, "kernel package or static init unavailable");
    };
    let content = dir.path().join("content");
    std::fs::create_dir_all(content.join("boot")).unwrap();
    std::fs::copy(&kernel, content.join("boot/vmlinuz")).unwrap();
    let initrd = initramfs(&init);
    std::fs::write(content.join("boot/initrd.img"), &initrd).unwrap();
    let store = Store::open(dir.path().join("db")).unwrap();
    let reference = import::import_paths(&store, &[content]).unwrap()[0].to_string();
    Some(LinuxCollection {
        relay: serve(Arc::new(store), Faults::default()),
        reference,
        kernel_len: std::fs::metadata(&kernel).unwrap().len(),
        initrd_len: initrd.len(),
        dir,
    })
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
