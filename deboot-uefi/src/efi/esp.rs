//! The app's own configuration sources: its load options, or `deboot.cfg` in the directory the
//! app was loaded from on the ESP.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use deboot_uefi::config;
use uefi::boot;
use uefi::fs::FileSystem;
use uefi::proto::device_path::{DeviceSubType, DeviceType};
use uefi::proto::loaded_image::LoadedImage;
use uefi::CString16;

/// The configuration text: the load options if they carry settings, else `deboot.cfg` next to
/// the app. Also says where it came from.
///
/// # Errors
/// One line: unreadable options, or no options and no readable `deboot.cfg`.
pub(crate) fn config_text() -> Result<(String, String), String> {
    let (options, dir) = {
        let loaded = boot::open_protocol_exclusive::<LoadedImage>(boot::image_handle())
            .map_err(|e| format!("cannot read own loaded image: {:?}", e.status()))?;
        let options = match loaded.load_options_as_bytes() {
            Some(bytes) => config::decode_load_options(bytes).map_err(|e| format!("{e}"))?,
            None => String::new(),
        };
        (options, loaded.file_path().map(image_dir))
    };
    if config::has_settings(&options) {
        return Ok((options, String::from("load options")));
    }
    let dir = dir.unwrap_or_default();
    let path = format!("{dir}\\deboot.cfg");
    let text = read_file(&path).map_err(|e| format!("no settings in the load options and {e}"))?;
    Ok((text, path))
}

/// Reads a file from the app's own ESP.
fn read_file(path: &str) -> Result<String, String> {
    let sfs = boot::get_image_file_system(boot::image_handle())
        .map_err(|e| format!("cannot open the app's file system: {:?}", e.status()))?;
    let cpath = CString16::try_from(path).map_err(|_| format!("bad path {path}"))?;
    let bytes: Vec<u8> = FileSystem::new(sfs)
        .read(cpath.as_ref())
        .map_err(|_| format!("cannot read {path}"))?;
    if bytes.len() > config::MAX_CONFIG_LEN {
        return Err(format!(
            "{path} is longer than {} bytes",
            config::MAX_CONFIG_LEN
        ));
    }
    String::from_utf8(bytes).map_err(|_| format!("{path} is not UTF-8"))
}

/// The directory part of the app's file path (`\EFI\deboot`), from its media file-path nodes.
fn image_dir(path: &uefi::proto::device_path::DevicePath) -> String {
    let mut full = String::new();
    for node in path.node_iter() {
        if node.device_type() == DeviceType::MEDIA
            && node.sub_type() == DeviceSubType::MEDIA_FILE_PATH
        {
            if let Ok(uefi::proto::device_path::DevicePathNodeEnum::MediaFilePath(fp)) =
                node.as_enum()
            {
                if let Ok(s) = fp.path_name().to_cstring16() {
                    if !full.ends_with('\\') && !s.to_string().starts_with('\\') {
                        full.push('\\');
                    }
                    full.push_str(&s.to_string());
                }
            }
        }
    }
    match full.rfind('\\') {
        Some(i) => full.get(..i).unwrap_or_default().to_string(),
        None => String::new(),
    }
}
