//! `deboot.efi`: fetch a kernel (and initrd) from Swarm by reference, verify every byte against
//! that reference, and boot it. On any failure: one line saying why, and an error status back to
//! the firmware so the next boot option runs. Configuration grammar: [`deboot_uefi::config`].
#![no_std]
#![no_main]

extern crate alloc;

mod efi;
mod fetch;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use deboot_uefi::config::Config;
use deboot_uefi::progress;
use efi::clock::Clock;
use efi::net::Net;
use uefi::{boot, println, Status};

/// Why the boot did not happen: printed as one line, returned to the firmware as a status.
struct Failure {
    status: Status,
    reason: String,
}

#[uefi::entry]
fn main() -> Status {
    // BDS arms a 5-minute watchdog before starting a boot option; a slow fetch must not trip it.
    let _ = boot::set_watchdog_timer(0, 0x10000, None);
    println!(
        "deboot: DeBoot {} (verified boot from Swarm)",
        env!("CARGO_PKG_VERSION")
    );
    match run() {
        Ok(status) => {
            println!("deboot: the booted image returned {status:?}");
            status
        }
        Err(f) => {
            println!("deboot: failed: {}", f.reason);
            f.status
        }
    }
}

/// Configure, fetch, verify, hand over. Returns the booted image's status if it returns.
fn run() -> Result<Status, Failure> {
    let (text, source) = efi::esp::config_text().map_err(|r| fail(Status::INVALID_PARAMETER, r))?;
    let cfg = Config::parse(&text)
        .map_err(|e| fail(Status::INVALID_PARAMETER, format!("{source}: {e}")))?;
    println!("deboot: configuration from {source}: target {}", cfg.target);
    let clock = Clock::calibrate();
    let net = Net::up(&cfg.ip, clock).map_err(|r| fail(Status::NO_RESPONSE, r))?;
    let kernel = fetch::fetch(&net, &cfg, &cfg.target, "kernel");
    let initrd = match (&kernel, &cfg.initrd) {
        (Ok(_), Some(t)) => Some(fetch::fetch(&net, &cfg, t, "initrd")),
        _ => None,
    };
    let bench = match (&kernel, cfg.bench) {
        (Ok(k), Some(addr)) => Some(bench(&net, &cfg, addr, &k.bytes)),
        _ => None,
    };
    // Whatever happened, give the firmware its network stack back before going on.
    net.close();
    let kernel = kernel?;
    let initrd = initrd.transpose()?;
    if let Some(b) = bench {
        b?;
    }
    for f in core::iter::once(&kernel).chain(initrd.as_ref()) {
        f.commit().map_err(|r| fail(Status::DEVICE_ERROR, r))?;
    }
    println!(
        "deboot: starting the verified image, command line \"{}\"",
        cfg.cmdline
    );
    efi::handover::start(
        &kernel.bytes,
        &cfg.cmdline,
        initrd.as_ref().map(|i| i.bytes.as_slice()),
    )
    .map_err(|r| fail(Status::LOAD_ERROR, r))
}

/// Diagnostic: a raw unverified TCP read of as many bytes as the kernel, and a hash-only pass
/// over the kernel's bytes, timed in the same run as the verified fetch.
fn bench(
    net: &Net,
    cfg: &Config,
    addr: core::net::SocketAddrV4,
    bytes: &[u8],
) -> Result<(), Failure> {
    use embedded_io::Read as _;
    let timeout = u64::from(cfg.timeout_secs) * 1_000_000;
    let t0 = net.now_us();
    let _ = swarm_bmt::splitter::root_of(bytes)
        .map_err(|e| fail(Status::ABORTED, format!("bench: {e}")))?;
    let hash_us = net.now_us().saturating_sub(t0);
    let mut stream = net.connect(addr, timeout).map_err(|e| {
        fail(
            Status::NO_RESPONSE,
            format!("bench: cannot connect to tcp://{addr}: {e:?}"),
        )
    })?;
    let mut buf: Vec<u8> = alloc::vec![0; 64 << 10];
    let t1 = net.now_us();
    let mut total = 0usize;
    while total < bytes.len() {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) => {
                return Err(fail(
                    Status::NO_RESPONSE,
                    format!("bench: raw read from tcp://{addr}: {e:?}"),
                ))
            }
        }
    }
    let raw_us = net.now_us().saturating_sub(t1);
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    let mut line = String::new();
    let _ = write!(
        line,
        "deboot: bench: hash-only {} bytes {}; raw TCP {total} bytes {}",
        len,
        progress::rate(len, hash_us),
        progress::rate(u64::try_from(total).unwrap_or(u64::MAX), raw_us)
    );
    println!("{line}");
    Ok(())
}

fn fail(status: Status, reason: String) -> Failure {
    Failure { status, reason }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("deboot: failed: internal error: {}", info.message());
    // SAFETY: nothing of ours is installed in the firmware at a panic that could outlive the
    // image except the initrd handle during StartImage, and a panic cannot happen while the
    // child runs. Exit returns ABORTED to whoever started us, so the next boot option runs.
    unsafe {
        let _ = boot::exit(
            boot::image_handle(),
            Status::ABORTED,
            0,
            core::ptr::null_mut(),
        );
    }
    loop {
        core::hint::spin_loop();
    }
}
