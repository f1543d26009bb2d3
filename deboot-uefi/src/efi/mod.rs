//! The firmware edges: every `unsafe` block of the app lives below, each with its `// SAFETY:`.

pub(crate) mod clock;
pub(crate) mod esp;
pub(crate) mod handover;
pub(crate) mod net;
pub(crate) mod snp;
pub(crate) mod vars;

use alloc::format;
use alloc::string::String;

use uefi::Status;

/// A status as its UEFI name for the ones deboot.efi meets, else its number (the derived
/// `Debug` of every status costs more code than the whole table).
pub(crate) fn status_text(s: Status) -> String {
    let name = match s {
        Status::SUCCESS => "SUCCESS",
        Status::LOAD_ERROR => "LOAD_ERROR",
        Status::INVALID_PARAMETER => "INVALID_PARAMETER",
        Status::UNSUPPORTED => "UNSUPPORTED",
        Status::NOT_READY => "NOT_READY",
        Status::DEVICE_ERROR => "DEVICE_ERROR",
        Status::OUT_OF_RESOURCES => "OUT_OF_RESOURCES",
        Status::NOT_FOUND => "NOT_FOUND",
        Status::ACCESS_DENIED => "ACCESS_DENIED",
        Status::NO_RESPONSE => "NO_RESPONSE",
        Status::TIMEOUT => "TIMEOUT",
        Status::ABORTED => "ABORTED",
        Status::SECURITY_VIOLATION => "SECURITY_VIOLATION",
        Status::WRITE_PROTECTED => "WRITE_PROTECTED",
        _ => return format!("status {:#x}", s.0),
    };
    String::from(name)
}
