//! The feed anti-rollback minimum in a non-volatile UEFI variable under DeBoot's vendor GUID
//! (rules in [`deboot_uefi::rollback`]). Written with boot-service access only, so the running
//! OS cannot lower it; a variable that has runtime access was not written by us and is ignored.

use alloc::format;
use alloc::string::String;

use deboot_uefi::rollback;
use uefi::runtime::{self, VariableAttributes, VariableVendor};
use uefi::{guid, CString16, Status};

const VENDOR: VariableVendor = VariableVendor(guid!("4baa309a-0c4c-4a91-959c-b5aefffb1e93"));

/// The stored minimum index for the feed of `owner` under `topic`, `None` if never stored.
///
/// # Errors
/// A stored value of the wrong size, or a firmware error.
pub(crate) fn feed_minimum(owner: &[u8; 20], topic: &[u8]) -> Result<Option<u64>, String> {
    let name = name(owner, topic)?;
    let mut buf = [0u8; 16];
    match runtime::get_variable(&name, &VENDOR, &mut buf) {
        Ok((data, attrs)) => {
            if attrs.contains(VariableAttributes::RUNTIME_ACCESS) {
                // The OS could have written this: not ours, drop it.
                let _ = runtime::delete_variable(&name, &VENDOR);
                return Ok(None);
            }
            rollback::decode(data).map(Some).map_err(|e| format!("{e}"))
        }
        Err(e) if e.status() == Status::NOT_FOUND => Ok(None),
        Err(e) => Err(format!(
            "cannot read the anti-rollback variable: {}",
            super::status_text(e.status())
        )),
    }
}

/// Raises the stored minimum to `index` if that is higher; never lowers it.
///
/// # Errors
/// A firmware error writing the variable.
pub(crate) fn raise_feed_minimum(owner: &[u8; 20], topic: &[u8], index: u64) -> Result<(), String> {
    let Some(new) = rollback::raised(feed_minimum(owner, topic)?, index) else {
        return Ok(());
    };
    let attrs = VariableAttributes::NON_VOLATILE | VariableAttributes::BOOTSERVICE_ACCESS;
    runtime::set_variable(&name(owner, topic)?, &VENDOR, attrs, &rollback::encode(new)).map_err(
        |e| {
            format!(
                "cannot store the anti-rollback minimum: {}",
                super::status_text(e.status())
            )
        },
    )
}

fn name(owner: &[u8; 20], topic: &[u8]) -> Result<CString16, String> {
    CString16::try_from(rollback::variable_name(owner, topic).as_str())
        .map_err(|_| String::from("anti-rollback variable name is not UCS-2"))
}
