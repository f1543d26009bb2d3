//! Test-only payload that deboot.efi fetches, verifies and chain-loads: prints its marker, its
//! load options (the kernel command line deboot.efi passed) and the length and CRC32 of the
//! initrd it finds through LoadFile2 on the Linux initrd media device path, then ends QEMU
//! through `isa-debug-exit` with code 0x2a (QEMU exit status 85).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

use uefi::boot;
use uefi::proto::device_path::build::{media::Vendor, DevicePathBuilder};
use uefi::proto::loaded_image::LoadedImage;
use uefi::proto::media::load_file::LoadFile2;
use uefi::{guid, println, Status};

const MARKER: &str = "DEBOOT-PAYLOAD-MARKER-5f1c";
const EXIT_CODE: u8 = 0x2a;

#[uefi::entry]
fn main() -> Status {
    println!("{MARKER} started");
    if let Ok(loaded) = boot::open_protocol_exclusive::<LoadedImage>(boot::image_handle()) {
        match loaded.load_options_as_cstr16() {
            Ok(s) => println!("payload: cmdline=[{s}]"),
            Err(_) => println!("payload: cmdline=[]"),
        }
    }
    match initrd() {
        Some(data) => {
            let crc = boot::calculate_crc32(&data).unwrap_or(0);
            println!("payload: initrd len={} crc32={crc:08x}", data.len());
        }
        None => println!("payload: initrd none"),
    }
    println!("{MARKER} done");
    qemu_exit(EXIT_CODE)
}

/// The initrd as Linux's EFI stub gets it: LoadFile2 on the vendor media device path.
fn initrd() -> Option<alloc::boxed::Box<[u8]>> {
    let mut storage = Vec::new();
    let path = DevicePathBuilder::with_vec(&mut storage)
        .push(&Vendor {
            vendor_guid: guid!("5568e427-68fc-4f3d-ac74-ca555231cc68"),
            vendor_defined_data: &[],
        })
        .ok()?
        .finalize()
        .ok()?;
    let mut remaining = path;
    let handle = boot::locate_device_path::<LoadFile2>(&mut remaining).ok()?;
    let mut lf2 = boot::open_protocol_exclusive::<LoadFile2>(handle).ok()?;
    lf2.load_file(remaining).ok()
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
    println!("payload: panic: {}", info.message());
    qemu_exit(0x33)
}
