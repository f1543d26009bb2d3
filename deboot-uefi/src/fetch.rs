//! Fetching a target through swarm-core's resolver and swarm-net's driver, with a progress line.
//! (Filled in when those land.)

use alloc::string::String;
use alloc::vec::Vec;

use deboot_uefi::config::Config;
use uefi::Status;

use crate::efi::net::Net;
use crate::Failure;

/// A fetched and verified file, plus what must be persisted once the boot goes ahead.
pub(crate) struct Fetched {
    /// The verified bytes.
    pub(crate) bytes: Vec<u8>,
}

impl Fetched {
    /// Persists the feed anti-rollback minimum, if the target was a feed.
    pub(crate) fn commit(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Fetches `target`, verifying every chunk; `label` names it in progress and error lines.
pub(crate) fn fetch(
    _net: &Net,
    _cfg: &Config,
    target: &str,
    label: &str,
) -> Result<Fetched, Failure> {
    Err(crate::fail(
        Status::UNSUPPORTED,
        alloc::format!("{label} {target}: fetch not implemented yet"),
    ))
}
