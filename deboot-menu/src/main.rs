//! `deboot-menu`: prints a `grub.cfg` whose entries chain-load `deboot.efi`.
//!
//! ```text
//! deboot-menu --node tcp://192.168.1.10:7070 --cmdline "console=ttyS0 quiet" \
//!     <ref> feed://<owner>/<topic> "Rescue|bzz://<ref>/boot/vmlinuz|bzz://<ref>/boot/initrd.img|single"
//! ```
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use deboot_menu::{Entry, Menu};

/// Writes a GRUB menu whose entries chain-load deboot.efi, which boots only verified bytes.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// A node, tried in order: tcp://A.B.C.D:PORT (swarm-relay) or http://A.B.C.D:PORT (Bee).
    #[arg(long = "node", required = true)]
    nodes: Vec<String>,
    /// Kernel command line of entries that do not give their own.
    #[arg(long, default_value = "")]
    cmdline: String,
    /// deboot.efi's path on the ESP.
    #[arg(long, default_value = deboot_menu::DEFAULT_EFI_PATH)]
    efi: String,
    /// Seconds before the default entry boots.
    #[arg(long, default_value_t = 5)]
    timeout: u32,
    /// Index of the default entry.
    #[arg(long, default_value_t = 0)]
    default: usize,
    /// Also use the first serial port as GRUB's terminal.
    #[arg(long)]
    serial: bool,
    /// GRUB commands of a last entry run when the default entry fails (e.g. `reboot`).
    #[arg(long)]
    fallback: Option<String>,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    output: Option<std::path::PathBuf>,
    /// Entries, in menu order: a collection's reference (boots boot/vmlinuz with
    /// boot/initrd.img), `feed://<owner>/<topic>` (the same paths in the feed's newest
    /// collection), or `TITLE|TARGET[|INITRD[|CMDLINE]]`.
    #[arg(required = true)]
    entries: Vec<String>,
}

fn entry(spec: &str, cmdline: &str) -> Entry {
    if let Some(owner_topic) = spec.strip_prefix("feed://").filter(|s| !s.contains('|')) {
        return Entry::from_feed(owner_topic, cmdline);
    }
    let mut parts = spec.splitn(4, '|');
    match (parts.next(), parts.next()) {
        (Some(title), Some(target)) => Entry {
            title: title.into(),
            target: target.into(),
            initrd: parts.next().filter(|s| !s.is_empty()).map(Into::into),
            cmdline: parts.next().unwrap_or(cmdline).into(),
        },
        _ => Entry::from_reference(spec, cmdline),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut menu = Menu::new(args.nodes);
    menu.entries = args
        .entries
        .iter()
        .map(|s| entry(s, &args.cmdline))
        .collect();
    menu.efi_path = args.efi;
    menu.timeout = args.timeout;
    menu.default = args.default;
    menu.serial = args.serial;
    menu.fallback = args.fallback;
    let text = match menu.render() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("deboot-menu: {e}");
            return ExitCode::from(2);
        }
    };
    match args.output {
        None => print!("{text}"),
        Some(path) => {
            if let Err(e) = std::fs::write(&path, text) {
                eprintln!("deboot-menu: {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
