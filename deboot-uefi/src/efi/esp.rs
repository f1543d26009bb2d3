//! The app's own configuration sources: its load options, or `deboot.cfg` in the directory the
//! app was loaded from on the ESP.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use deboot_uefi::config;
use uefi::boot;
use uefi::proto::device_path::{DeviceSubType, DeviceType};
use uefi::proto::loaded_image::LoadedImage;
use uefi::proto::media::file::{File, FileAttribute, FileHandle, FileMode};
use uefi::CString16;

/// The configuration text: the load options if they carry settings, else `deboot.cfg` next to
/// the app. Also says where it came from.
///
/// # Errors
/// One line: unreadable options, or no options and no readable `deboot.cfg`.
pub(crate) fn config_text() -> Result<(String, String), String> {
    let (options, dir) = {
        let loaded = boot::open_protocol_exclusive::<LoadedImage>(boot::image_handle())
            .map_err(|_| String::from("cannot read own loaded image"))?;
        // Firmware boot entries may carry binary data here (EDK2's auto-created entries pass a
        // GUID): options that are not text count as "no settings", like empty ones.
        let options = match loaded.load_options_as_bytes() {
            Some(bytes) => config::decode_load_options(bytes),
            None => Ok(String::new()),
        };
        (options, loaded.file_path().map(image_dir))
    };
    let why_not = match options {
        Ok(text) if config::has_settings(&text) => return Ok((text, String::from("load options"))),
        Ok(_) => String::from("no settings in the load options"),
        Err(e) => format!("{e}"),
    };
    let dir = dir.unwrap_or_default();
    let path = format!("{dir}\\deboot.cfg");
    let text = read_file(&path).map_err(|e| format!("{why_not} and {e}"))?;
    Ok((text, path))
}

/// Reads a file of at most [`config::MAX_CONFIG_LEN`] bytes from the app's own ESP.
fn read_file(path: &str) -> Result<String, String> {
    let mut sfs = boot::get_image_file_system(boot::image_handle())
        .map_err(|_| String::from("cannot open the app's file system"))?;
    let cpath = CString16::try_from(path).map_err(|_| format!("bad path {path}"))?;
    let mut file = sfs
        .open_volume()
        .and_then(|mut root| root.open(&cpath, FileMode::Read, FileAttribute::empty()))
        .ok()
        .and_then(FileHandle::into_regular_file)
        .ok_or_else(|| format!("cannot read {path}"))?;
    let mut bytes: Vec<u8> = vec![0; config::MAX_CONFIG_LEN + 1];
    let mut len = 0;
    loop {
        let rest = bytes.get_mut(len..).unwrap_or_default();
        match file.read(rest) {
            Ok(0) => break,
            Ok(n) if len + n <= config::MAX_CONFIG_LEN => len += n,
            Ok(_) => {
                return Err(format!(
                    "{path} is longer than {} bytes",
                    config::MAX_CONFIG_LEN
                ))
            }
            Err(_) => return Err(format!("cannot read {path}")),
        }
    }
    bytes.truncate(len);
    String::from_utf8(bytes).map_err(|_| format!("{path} is not UTF-8"))
}

/// The directory part of the app's file path (`\EFI\deboot`), from its media file-path nodes
/// (each holds a NUL-terminated UCS-2 path piece).
fn image_dir(path: &uefi::proto::device_path::DevicePath) -> String {
    let mut full = String::new();
    for node in path.node_iter() {
        if node.device_type() != DeviceType::MEDIA
            || node.sub_type() != DeviceSubType::MEDIA_FILE_PATH
        {
            continue;
        }
        let (units, _) = node.data().as_chunks::<2>();
        let piece = char::decode_utf16(
            units
                .iter()
                .map(|u| u16::from_le_bytes(*u))
                .take_while(|u| *u != 0),
        )
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER));
        if !full.ends_with('\\') {
            full.push('\\');
        }
        full.extend(piece);
    }
    let full = full.replace("\\\\", "\\");
    match full.rfind('\\') {
        Some(i) => full.get(..i).unwrap_or_default().to_string(),
        None => String::new(),
    }
}
