//! The firmware-independent half of `deboot.efi`: the configuration grammar, the feed
//! anti-rollback rule and the progress line. The binary (`src/main.rs`) holds the firmware edges
//! (Simple Network, LoadImage, LoadFile2, variables); everything here is plain logic that host
//! tests exercise (`cargo test --lib --target <host>`).
//!
//! ```
//! use deboot_uefi::config::Config;
//! let cfg = Config::parse(
//!     "deboot.efi node=tcp://10.0.2.2:7070 target=bytes://\
//!      c3fbbd8eec3d5765f76bd8a5e3d4e6ab32e71d2c4ce2a4e2b6f6ea3a2d2d9a1b -- console=ttyS0 quiet",
//! )?;
//! assert_eq!(cfg.cmdline, "console=ttyS0 quiet");
//! # Ok::<(), deboot_uefi::config::ConfigError>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod config;
pub mod progress;
pub mod rollback;
