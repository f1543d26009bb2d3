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
use core::net::SocketAddrV4;

use deboot_uefi::config::Config;
use deboot_uefi::progress;
use efi::clock::Clock;
use efi::net::Net;
use embedded_io::{ErrorKind, Read as _};
use fetch::Fetched;
use swarm_net::driver::{Connector as _, Driver};
use swarm_net::url::NodeAddr;
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
            println!(
                "deboot: the booted image returned {}",
                efi::status_text(status)
            );
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
    let sockets = cfg.nodes.len() + usize::from(cfg.bench.is_some());
    let net = Net::up(&cfg.ip, clock, sockets).map_err(|r| fail(Status::NO_RESPONSE, r))?;
    let fetched = fetch_all(&net, &cfg, clock);
    // Whatever happened, give the firmware its network stack back before going on.
    net.close();
    let (kernel, initrd) = fetched?;
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

/// Fetches the kernel and the initrd through one driver (connections stay open between them).
fn fetch_all(net: &Net, cfg: &Config, clock: Clock) -> Result<(Fetched, Option<Fetched>), Failure> {
    let mut bufs = fetch::node_buffers(cfg);
    let mut nodes = fetch::nodes(cfg, &mut bufs)?;
    let mut driver = Driver::new(
        &mut nodes,
        net.connector(),
        clock,
        fetch::driver_config(cfg),
    )
    .map_err(|e| fail(Status::INVALID_PARAMETER, format!("{e}")))?;
    let kernel = fetch::fetch(&mut driver, net, &cfg.target, "kernel");
    let initrd = match (&kernel, &cfg.initrd) {
        (Ok(_), Some(t)) => Some(fetch::fetch(&mut driver, net, t, "initrd")),
        _ => None,
    };
    driver.close();
    let kernel = kernel?;
    let initrd = initrd.transpose()?;
    if let Some(addr) = cfg.bench {
        let biggest = initrd
            .as_ref()
            .filter(|i| i.bytes.len() > kernel.bytes.len())
            .unwrap_or(&kernel);
        bench(net, cfg, addr, &biggest.bytes)?;
    }
    Ok((kernel, initrd))
}

/// Diagnostic: a hash-only pass over `bytes` (the address of each 4096-byte chunk, as
/// verification computes it) and a raw unverified TCP read of as many bytes, timed in the same
/// run as the verified fetch.
fn bench(net: &Net, cfg: &Config, addr: SocketAddrV4, bytes: &[u8]) -> Result<(), Failure> {
    let t0 = net.now_us();
    for piece in bytes.chunks(swarm_bmt::MAX_PAYLOAD_LEN) {
        let span = u64::try_from(piece.len()).unwrap_or(0).to_le_bytes();
        let _ = swarm_bmt::chunk_address(&span, piece)
            .map_err(|e| fail(Status::ABORTED, format!("bench: {e}")))?;
    }
    let hash_us = net.now_us().saturating_sub(t0);
    let url = format!("tcp://{addr}");
    let node = NodeAddr::parse(&url)
        .map_err(|e| fail(Status::INVALID_PARAMETER, format!("bench {url}: {e}")))?;
    let timeout_us = u64::from(cfg.timeout_secs) * 1_000_000;
    let mut connector = net.connector();
    let mut stream = connector
        .connect(&node, timeout_us / 1000)
        .map_err(|e| fail(Status::NO_RESPONSE, format!("bench: {url}: {e}")))?;
    let mut buf: Vec<u8> = alloc::vec![0; 64 << 10];
    let t1 = net.now_us();
    let mut total = 0usize;
    let mut last = t1;
    while total < bytes.len() {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                total += n;
                last = net.now_us();
            }
            Err(ErrorKind::TimedOut | ErrorKind::Interrupted)
                if net.now_us() - last < timeout_us => {}
            Err(e) => {
                return Err(fail(
                    Status::NO_RESPONSE,
                    format!("bench: raw read from {url}: {e:?}"),
                ))
            }
        }
    }
    let raw_us = last.saturating_sub(t1);
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    let total = u64::try_from(total).unwrap_or(u64::MAX);
    println!(
        "deboot: bench: hash-only {len} bytes {}; raw TCP {total} bytes {}",
        progress::rate(len, hash_us),
        progress::rate(total, raw_us)
    );
    Ok(())
}

fn fail(status: Status, reason: String) -> Failure {
    Failure { status, reason }
}

/// A panic would be a bug (no code of ours panics by design). Its message and location are not
/// printed on purpose: reading `info` keeps every panic site's message, location and formatting
/// in the image (30 KB of deboot.efi's 256 KiB bar, 287,232 against 257,536 bytes).
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    println!("deboot: failed: internal error (a bug in deboot.efi)");
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
