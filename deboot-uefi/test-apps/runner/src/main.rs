//! Test-only `BOOTX64.EFI`: starts `\EFI\deboot\deboot.efi` with the case's load options (from
//! `\runner-options.txt`, if present; else none, so deboot.efi reads its `deboot.cfg`) and, if
//! deboot.efi returns, prints the returned status and ends QEMU through `isa-debug-exit` with a
//! code of its own, so failure cases end at once instead of in PXE or the EFI shell.
//!
//! QEMU exit statuses (`(code << 1) | 1`): 99 = deboot.efi returned an error status,
//! 97 = it returned SUCCESS (the booted image returned without ending QEMU), 101 = the runner
//! itself could not start deboot.efi.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

use uefi::boot::{self, LoadImageSource};
use uefi::fs::FileSystem;
use uefi::proto::device_path::build::{media::FilePath, DevicePathBuilder};
use uefi::proto::device_path::DevicePath;
use uefi::proto::loaded_image::LoadedImage;
use uefi::proto::BootPolicy;
use uefi::{cstr16, println, CStr16, Status};

const DEBOOT: &CStr16 = cstr16!("\\EFI\\deboot\\deboot.efi");
const OPTIONS: &CStr16 = cstr16!("\\runner-options.txt");
const RETURNED_ERROR: u8 = 0x31;
const RETURNED_SUCCESS: u8 = 0x30;
const RUNNER_FAILED: u8 = 0x32;

#[uefi::entry]
fn main() -> Status {
    let _ = boot::set_watchdog_timer(0, 0x10000, None);
    match run() {
        Ok(status) => {
            println!("runner: deboot.efi returned {status:?}");
            qemu_exit(if status.is_success() {
                RETURNED_SUCCESS
            } else {
                RETURNED_ERROR
            })
        }
        Err(what) => {
            println!("runner: {what}");
            qemu_exit(RUNNER_FAILED)
        }
    }
}

fn run() -> Result<Status, &'static str> {
    let device = boot::open_protocol_exclusive::<LoadedImage>(boot::image_handle())
        .map_err(|_| "cannot open own LoadedImage")?
        .device()
        .ok_or("no device handle")?;
    let options: Option<Vec<u16>> = {
        let sfs =
            boot::get_image_file_system(boot::image_handle()).map_err(|_| "no file system")?;
        FileSystem::new(sfs).read_to_string(OPTIONS).ok().map(|s| {
            s.trim_end()
                .encode_utf16()
                .chain(core::iter::once(0))
                .collect()
        })
    };
    let params = boot::OpenProtocolParams {
        handle: device,
        agent: boot::image_handle(),
        controller: None,
    };
    // SAFETY: test-only; the ESP's device path stays installed while we build a copy of it.
    let device_path = unsafe {
        boot::open_protocol::<DevicePath>(params, boot::OpenProtocolAttributes::GetProtocol)
    }
    .map_err(|_| "no device path")?;
    let mut storage = Vec::new();
    let mut builder = DevicePathBuilder::with_vec(&mut storage);
    for node in device_path.node_iter() {
        builder = builder.push(&node).map_err(|_| "device path too long")?;
    }
    let path = builder
        .push(&FilePath { path_name: DEBOOT })
        .and_then(DevicePathBuilder::finalize)
        .map_err(|_| "cannot build the device path")?;
    let child = boot::load_image(
        boot::image_handle(),
        LoadImageSource::FromDevicePath {
            device_path: path,
            boot_policy: BootPolicy::ExactMatch,
        },
    )
    .map_err(|_| "cannot load \\EFI\\deboot\\deboot.efi")?;
    if let Some(opts) = &options {
        let mut loaded = boot::open_protocol_exclusive::<LoadedImage>(child)
            .map_err(|_| "no child LoadedImage")?;
        let len = u32::try_from(opts.len() * 2).map_err(|_| "options too long")?;
        // SAFETY: `opts` lives until the end of `run`, after the child has returned.
        unsafe { loaded.set_load_options(opts.as_ptr().cast(), len) };
    }
    println!(
        "runner: starting deboot.efi ({} load options)",
        if options.is_some() { "with" } else { "without" }
    );
    let status = match boot::start_image(child) {
        Ok(()) => Status::SUCCESS,
        Err(e) => e.status(),
    };
    drop(options);
    Ok(status)
}

fn qemu_exit(code: u8) -> ! {
    // SAFETY: port 0xf4 is QEMU's isa-debug-exit device in the test VM; writing it ends QEMU.
    unsafe {
        core::arch::asm!("out dx, al", in("dx") 0xf4u16, in("al") code, options(nomem, nostack))
    };
    uefi::runtime::reset(uefi::runtime::ResetType::SHUTDOWN, Status::ABORTED, None)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("runner: panic: {}", info.message());
    qemu_exit(RUNNER_FAILED)
}
