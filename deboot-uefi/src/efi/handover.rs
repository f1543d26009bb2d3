//! Hand-over to the fetched image: `LoadImage` from memory, the kernel command line as its load
//! options, the initrd through LoadFile2 on the `LINUX_EFI_INITRD_MEDIA_GUID` device path (as
//! Linux's EFI stub looks for it), then `StartImage`. Any other EFI image is chain-loaded the
//! same way.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;

use uefi::boot::{self, LoadImageSource};
use uefi::proto::loaded_image::LoadedImage;
use uefi::{guid, Guid, Handle, Status};
use uefi_raw::protocol::device_path::DevicePathProtocol;
use uefi_raw::protocol::media::LoadFile2Protocol;
use uefi_raw::Boolean;

/// The vendor media node Linux's EFI stub asks LoadFile2 for its initrd.
const LINUX_EFI_INITRD_MEDIA_GUID: Guid = guid!("5568e427-68fc-4f3d-ac74-ca555231cc68");

/// Loads `image` from memory and starts it with `cmdline` as load options and `initrd`, if
/// any, offered through LoadFile2. Returns only if the image returns (an EFI application, or a
/// kernel that failed early): its status.
///
/// # Errors
/// One line when the firmware refuses the image (not a PE image, or Secure Boot).
pub(crate) fn start(image: &[u8], cmdline: &str, initrd: Option<&[u8]>) -> Result<Status, String> {
    let child = boot::load_image(
        boot::image_handle(),
        LoadImageSource::FromBuffer {
            buffer: image,
            file_path: None,
        },
    )
    .map_err(|e| match e.status() {
        Status::SECURITY_VIOLATION | Status::ACCESS_DENIED => {
            format!(
                "the firmware refused the verified image ({}): Secure Boot needs a signed image",
                super::status_text(e.status())
            )
        }
        s => format!(
            "the firmware cannot load the verified image: {}",
            super::status_text(s)
        ),
    })?;
    // UCS-2 with a terminating NUL; must outlive the child, which it does: we wait for it.
    let options: Vec<u16> = cmdline.encode_utf16().chain(core::iter::once(0)).collect();
    let options_len = u32::try_from(options.len() * 2)
        .map_err(|_| String::from("kernel command line too long"))?;
    {
        let mut loaded = boot::open_protocol_exclusive::<LoadedImage>(child).map_err(|e| {
            format!(
                "cannot set the image's load options: {}",
                super::status_text(e.status())
            )
        })?;
        // SAFETY: `options` is valid UCS-2 of `options_len` bytes and lives until the child
        // returns (below) or never returns (a booted kernel).
        unsafe { loaded.set_load_options(options.as_ptr().cast(), options_len) };
    }
    let initrd = match initrd {
        Some(data) => Some(InitrdHandle::install(data)?),
        None => None,
    };
    let status = match boot::start_image(child) {
        Ok(()) => Status::SUCCESS,
        Err(e) => e.status(),
    };
    if let Some(h) = initrd {
        h.uninstall();
    }
    drop(options);
    Ok(status)
}

/// LoadFile2 whose `this` pointer leads back to the initrd bytes.
#[repr(C)]
struct InitrdLoadFile2 {
    proto: LoadFile2Protocol,
    data: *const u8,
    len: usize,
}

/// The initrd media device path: one vendor media node and the end node (24 bytes).
#[repr(C)]
struct InitrdDevicePath {
    vendor: [u8; 20],
    end: [u8; 4],
}

/// The handle carrying the initrd's device path and LoadFile2, installed until uninstalled.
struct InitrdHandle {
    handle: Handle,
    path: Box<InitrdDevicePath>,
    loader: Box<InitrdLoadFile2>,
}

impl InitrdHandle {
    fn install(data: &[u8]) -> Result<Self, String> {
        let mut vendor = [0u8; 20];
        vendor[0] = 0x04; // MEDIA_DEVICE_PATH
        vendor[1] = 0x03; // MEDIA_VENDOR_DP
        vendor[2] = 20; // node length, little-endian u16
        vendor[4..].copy_from_slice(&LINUX_EFI_INITRD_MEDIA_GUID.to_bytes());
        let path = Box::new(InitrdDevicePath {
            vendor,
            end: [0x7f, 0xff, 4, 0],
        });
        let loader = Box::new(InitrdLoadFile2 {
            proto: LoadFile2Protocol {
                load_file: initrd_load_file,
            },
            data: data.as_ptr(),
            len: data.len(),
        });
        // SAFETY: both interfaces are boxed, so their addresses are stable, and they stay
        // alive while installed: `uninstall` removes them before they are dropped, and when the
        // booted kernel never returns they are never dropped. `data` outlives the handle the
        // same way (the caller keeps it until `start` returns).
        let handle = unsafe {
            boot::install_protocol_interface(
                None,
                &DevicePathProtocol::GUID,
                (&raw const *path).cast::<c_void>(),
            )
        }
        .map_err(|e| {
            format!(
                "cannot install the initrd device path: {}",
                super::status_text(e.status())
            )
        })?;
        // SAFETY: as above.
        let installed = unsafe {
            boot::install_protocol_interface(
                Some(handle),
                &LoadFile2Protocol::GUID,
                (&raw const *loader).cast::<c_void>(),
            )
        };
        if let Err(e) = installed {
            // SAFETY: the device path was installed on `handle` just above.
            let _ = unsafe {
                boot::uninstall_protocol_interface(
                    handle,
                    &DevicePathProtocol::GUID,
                    (&raw const *path).cast::<c_void>(),
                )
            };
            return Err(format!(
                "cannot install the initrd LoadFile2: {}",
                super::status_text(e.status())
            ));
        }
        Ok(Self {
            handle,
            path,
            loader,
        })
    }

    fn uninstall(self) {
        // SAFETY: both interfaces were installed on `handle` by `install`, with these pointers.
        unsafe {
            let _ = boot::uninstall_protocol_interface(
                self.handle,
                &LoadFile2Protocol::GUID,
                (&raw const *self.loader).cast::<c_void>(),
            );
            let _ = boot::uninstall_protocol_interface(
                self.handle,
                &DevicePathProtocol::GUID,
                (&raw const *self.path).cast::<c_void>(),
            );
        }
    }
}

/// `EFI_LOAD_FILE2_PROTOCOL.LoadFile`: copies the initrd into the caller's buffer, or says how
/// big a buffer it needs.
unsafe extern "efiapi" fn initrd_load_file(
    this: *mut LoadFile2Protocol,
    _file_path: *const DevicePathProtocol,
    boot_policy: Boolean,
    buffer_size: *mut usize,
    buffer: *mut c_void,
) -> Status {
    if this.is_null() || buffer_size.is_null() {
        return Status::INVALID_PARAMETER;
    }
    if boot_policy == Boolean::TRUE {
        return Status::UNSUPPORTED; // LoadFile2 never serves boot-policy loads
    }
    // SAFETY: `this` is the `proto` field, first in the `repr(C)` `InitrdLoadFile2` we installed.
    let me = unsafe { &*this.cast::<InitrdLoadFile2>() };
    // SAFETY: the caller passes a valid `buffer_size` (checked non-null above).
    let size = unsafe { &mut *buffer_size };
    if buffer.is_null() || *size < me.len {
        *size = me.len;
        return Status::BUFFER_TOO_SMALL;
    }
    // SAFETY: `me.data` points at `me.len` verified initrd bytes kept alive by the caller of
    // `start`; the firmware caller's `buffer` holds at least `*size >= me.len` bytes.
    unsafe { core::ptr::copy_nonoverlapping(me.data, buffer.cast::<u8>(), me.len) };
    *size = me.len;
    Status::SUCCESS
}
