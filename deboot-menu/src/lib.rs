//! Writes GRUB menu entries that chain-load `deboot.efi`, so an operator's menu of Swarm
//! references is generated, not hand-typed.
//!
//! Each entry is one `chainloader` line in `deboot.efi`'s load-options grammar
//! (`deboot-uefi/src/config.rs`): `node=` words, `target=`, optional `initrd=`, then `--` and
//! the kernel command line. GRUB hands the words after the file name to `deboot.efi` joined by
//! single spaces, with its own quotes removed, so every word is quoted for GRUB here and
//! `deboot.efi` sees exactly the words given. `deboot.efi` fetches the target from the nodes,
//! verifies every chunk, and boots only verified bytes; when it refuses, GRUB goes on to the
//! menu's fallback entry.
//!
//! ```
//! use deboot_menu::{Entry, Menu};
//! let reference = "c3fbbd8eec3d5765f76bd8a5e3d4e6ab32e71d2c4ce2a4e2b6f6ea3a2d2d9a1b";
//! let mut menu = Menu::new(vec!["tcp://192.168.1.10:7070".into()]);
//! menu.entries.push(Entry::from_reference(reference, "console=ttyS0 quiet"));
//! let cfg = menu.render()?;
//! assert!(cfg.contains(&format!(
//!     "chainloader /EFI/deboot/deboot.efi node=tcp://192.168.1.10:7070 \
//!      target=bzz://{reference}/boot/vmlinuz initrd=bzz://{reference}/boot/initrd.img \
//!      -- console=ttyS0 quiet"
//! )));
//! # Ok::<(), deboot_menu::MenuError>(())
//! ```
#![forbid(unsafe_code)]

use core::fmt::{self, Write as _};
use core::net::Ipv4Addr;
use std::borrow::Cow;

use swarm_core::target::Target;
use swarm_net::url::NodeAddr;

/// At most this many nodes (`deboot.efi`'s `MAX_NODES`).
pub const MAX_NODES: usize = 8;
/// The longest load-options text of one entry, in bytes as `deboot.efi` receives it
/// (`deboot.efi`'s `MAX_CONFIG_LEN`).
pub const MAX_OPTIONS_LEN: usize = 8192;
/// Where `deboot.efi` sits on the ESP unless told otherwise.
pub const DEFAULT_EFI_PATH: &str = "/EFI/deboot/deboot.efi";
/// The kernel's path inside a collection, for [`Entry::from_reference`] and [`Entry::from_feed`].
pub const DEFAULT_KERNEL_PATH: &str = "boot/vmlinuz";
/// The initrd's path inside a collection, for [`Entry::from_reference`] and
/// [`Entry::from_feed`].
pub const DEFAULT_INITRD_PATH: &str = "boot/initrd.img";

/// One menu entry: what `deboot.efi` fetches and boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The title GRUB shows.
    pub title: String,
    /// `bzz://<ref>[/path]`, `bytes://<ref>` or `feed://<owner>/<topic>[/path]`.
    pub target: String,
    /// The initrd's target, if any.
    pub initrd: Option<String>,
    /// The kernel command line (split into words on white space).
    pub cmdline: String,
}

impl Entry {
    /// The kernel and initrd of a collection at `reference`
    /// (`bzz://<ref>/boot/vmlinuz`, `bzz://<ref>/boot/initrd.img`).
    #[must_use]
    pub fn from_reference(reference: &str, cmdline: &str) -> Self {
        Self {
            title: format!("Swarm {}", short(reference)),
            target: format!("bzz://{reference}/{DEFAULT_KERNEL_PATH}"),
            initrd: Some(format!("bzz://{reference}/{DEFAULT_INITRD_PATH}")),
            cmdline: cmdline.into(),
        }
    }

    /// The kernel and initrd of the newest collection a feed points at (`owner_topic` is
    /// `<owner>/<topic>`): `feed://<owner>/<topic>/boot/vmlinuz` and `…/boot/initrd.img`.
    #[must_use]
    pub fn from_feed(owner_topic: &str, cmdline: &str) -> Self {
        let owner = owner_topic.split('/').next().unwrap_or_default();
        Self {
            title: format!("Swarm feed {} (newest)", short(owner)),
            target: format!("feed://{owner_topic}/{DEFAULT_KERNEL_PATH}"),
            initrd: Some(format!("feed://{owner_topic}/{DEFAULT_INITRD_PATH}")),
            cmdline: cmdline.into(),
        }
    }
}

fn short(hex: &str) -> String {
    match hex.get(..12) {
        Some(head) if hex.len() > 12 => format!("{head}..."),
        _ => hex.into(),
    }
}

/// A GRUB menu of [`Entry`]s that share the nodes and the menu settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    /// `tcp://A.B.C.D:PORT` (framed protocol) or `http://A.B.C.D:PORT` (Bee API), tried in
    /// order.
    pub nodes: Vec<String>,
    /// The entries, in menu order.
    pub entries: Vec<Entry>,
    /// `deboot.efi`'s path on the ESP ([`DEFAULT_EFI_PATH`]).
    pub efi_path: String,
    /// Seconds GRUB waits before booting the default entry.
    pub timeout: u32,
    /// The default entry's index.
    pub default: usize,
    /// Put GRUB's terminal on the first serial port as well as the console.
    pub serial: bool,
    /// GRUB commands of a last entry, "DeBoot failed", that GRUB runs when the default entry
    /// does not boot (`set fallback=`); e.g. `reboot` or `fwsetup`.
    pub fallback: Option<String>,
}

impl Menu {
    /// A menu over `nodes` with no entries yet, a 5 s timeout, the first entry by default, and
    /// no serial terminal or fallback.
    #[must_use]
    pub fn new(nodes: Vec<String>) -> Self {
        Self {
            nodes,
            entries: Vec::new(),
            efi_path: DEFAULT_EFI_PATH.into(),
            timeout: 5,
            default: 0,
            serial: false,
            fallback: None,
        }
    }

    /// The `chainloader` arguments of `entry` as `deboot.efi` receives them (GRUB's quotes
    /// removed), one word per item.
    ///
    /// # Errors
    /// As [`Menu::render`].
    pub fn load_options<'a>(&'a self, entry: &'a Entry) -> Result<Vec<Cow<'a, str>>, MenuError> {
        if self.nodes.is_empty() {
            return Err(MenuError::NoNode);
        }
        if self.nodes.len() > MAX_NODES {
            return Err(MenuError::TooManyNodes(self.nodes.len()));
        }
        let mut words: Vec<Cow<'a, str>> = Vec::new();
        for node in &self.nodes {
            check_node(node)?;
            words.push(format!("node={node}").into());
        }
        check_target(&entry.target)?;
        words.push(format!("target={}", entry.target).into());
        if let Some(initrd) = &entry.initrd {
            check_target(initrd)?;
            words.push(format!("initrd={initrd}").into());
        }
        let mut cmdline = entry.cmdline.split_whitespace().peekable();
        if cmdline.peek().is_some() {
            words.push("--".into());
            words.extend(cmdline.map(Cow::Borrowed));
        }
        for w in &words {
            check_text(w)?;
        }
        let len = words.iter().map(|w| w.len()).sum::<usize>() + words.len().saturating_sub(1);
        if len > MAX_OPTIONS_LEN {
            return Err(MenuError::OptionsTooLong(len));
        }
        Ok(words)
    }

    /// The `grub.cfg` text.
    ///
    /// # Errors
    /// [`MenuError`] for no entries or nodes, a bad node or target, a default past the last
    /// entry, control characters, or load options over [`MAX_OPTIONS_LEN`].
    pub fn render(&self) -> Result<String, MenuError> {
        if self.entries.is_empty() {
            return Err(MenuError::NoEntry);
        }
        if self.default >= self.entries.len() {
            return Err(MenuError::NoSuchDefault(self.default));
        }
        check_text(&self.efi_path)?;
        let mut out = String::new();
        let w = &mut out;
        // Writing to a String cannot fail.
        let _ = writeln!(
            w,
            "# Generated by deboot-menu. Each entry chain-loads deboot.efi, which fetches its target\n\
             # from the nodes, verifies every chunk and boots only verified bytes."
        );
        if self.serial {
            let _ = writeln!(
                w,
                "serial --unit=0 --speed=115200\nterminal_input serial console\nterminal_output serial console"
            );
        }
        let _ = writeln!(
            w,
            "set timeout={}\nset default={}",
            self.timeout, self.default
        );
        if self.fallback.is_some() {
            let _ = writeln!(w, "set fallback={}", self.entries.len());
        }
        let _ = writeln!(
            w,
            "insmod part_gpt\ninsmod part_msdos\ninsmod fat\ninsmod chain\n\
             search --no-floppy --set=deboot_esp --file {}",
            quote(&self.efi_path)
        );
        for entry in &self.entries {
            check_text(&entry.title)?;
            let words = self.load_options(entry)?;
            let _ = write!(
                w,
                "\nmenuentry {} {{\n\tset root=$deboot_esp\n\tchainloader {}",
                quote(&entry.title),
                quote(&self.efi_path)
            );
            for word in &words {
                let _ = write!(w, " {}", quote(word));
            }
            let _ = writeln!(w, "\n}}");
        }
        if let Some(fallback) = &self.fallback {
            check_text(fallback)?;
            let _ = writeln!(w, "\nmenuentry 'DeBoot failed' {{\n\t{fallback}\n}}");
        }
        Ok(out)
    }
}

fn check_node(node: &str) -> Result<(), MenuError> {
    let bad = || MenuError::BadNode(node.into());
    let addr = NodeAddr::parse(node).map_err(|_| bad())?;
    // deboot.efi has no DNS: hosts are IPv4 literals.
    addr.host().parse::<Ipv4Addr>().map_err(|_| bad())?;
    if node.ends_with('/') {
        return Err(bad());
    }
    Ok(())
}

fn check_target(target: &str) -> Result<(), MenuError> {
    target
        .parse::<Target>()
        .map(drop)
        .map_err(|_| MenuError::BadTarget(target.into()))
}

fn check_text(text: &str) -> Result<(), MenuError> {
    match text.chars().find(|c| c.is_control()) {
        Some(_) => Err(MenuError::ControlCharacter(text.into())),
        None => Ok(()),
    }
}

/// `word` as one GRUB script word: unchanged when it has only characters GRUB's lexer takes
/// literally, otherwise in single quotes (a `'` inside becomes `'\''`).
///
/// ```
/// use deboot_menu::quote;
/// assert_eq!(quote("console=ttyS0"), "console=ttyS0");
/// assert_eq!(quote("Debian 12 (Swarm)"), "'Debian 12 (Swarm)'");
/// assert_eq!(quote("it's"), r"'it'\''s'");
/// ```
#[must_use]
pub fn quote(word: &str) -> Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._/:=,+@%-".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return Cow::Borrowed(word);
    }
    Cow::Owned(format!("'{}'", word.replace('\'', r"'\''")))
}

/// Why a menu cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MenuError {
    /// No node given.
    NoNode,
    /// More than [`MAX_NODES`] nodes.
    TooManyNodes(usize),
    /// Not `tcp://A.B.C.D:PORT` or `http://A.B.C.D[:PORT]`.
    BadNode(String),
    /// Not a `bzz://`, `bytes://` or `feed://` target.
    BadTarget(String),
    /// No entry given.
    NoEntry,
    /// The default index is past the last entry.
    NoSuchDefault(usize),
    /// A title, word or command holds a control character (a newline would end GRUB's line).
    ControlCharacter(String),
    /// An entry's load options are longer than [`MAX_OPTIONS_LEN`] bytes.
    OptionsTooLong(usize),
}

impl fmt::Display for MenuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoNode => f.write_str("no node given"),
            Self::TooManyNodes(n) => write!(f, "{n} nodes (at most {MAX_NODES})"),
            Self::BadNode(n) => write!(
                f,
                "bad node `{n}` (want tcp://A.B.C.D:PORT or http://A.B.C.D[:PORT])"
            ),
            Self::BadTarget(t) => write!(
                f,
                "bad target `{t}` (want bzz://<ref>[/path], bytes://<ref> or feed://<owner>/<topic>[/path])"
            ),
            Self::NoEntry => f.write_str("no entry given"),
            Self::NoSuchDefault(i) => write!(f, "default entry {i} does not exist"),
            Self::ControlCharacter(t) => write!(f, "control character in {t:?}"),
            Self::OptionsTooLong(n) => {
                write!(f, "load options of {n} bytes (at most {MAX_OPTIONS_LEN})")
            }
        }
    }
}

impl core::error::Error for MenuError {}

#[cfg(test)]
mod tests {
    use super::*;

    const REF: &str = "c3fbbd8eec3d5765f76bd8a5e3d4e6ab32e71d2c4ce2a4e2b6f6ea3a2d2d9a1b";
    const OWNER: &str = "8d3766440f0d7b949a5e32995d09619a7f86e632";

    fn menu() -> Menu {
        let mut m = Menu::new(vec![
            "tcp://10.0.2.2:7070".into(),
            "http://10.0.2.2:1633".into(),
        ]);
        m.entries
            .push(Entry::from_reference(REF, "console=ttyS0 quiet"));
        m
    }

    #[test]
    fn renders_one_chainloader_line_per_entry_with_the_double_dash_rule() {
        let mut m = menu();
        m.entries
            .push(Entry::from_feed(&format!("{OWNER}/{REF}"), ""));
        m.serial = true;
        m.timeout = 0;
        m.fallback = Some("reboot".into());
        let cfg = m.render().unwrap();
        let lines: Vec<&str> = cfg
            .lines()
            .filter(|l| l.trim_start().starts_with("chainloader "))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0].trim(),
            format!(
                "chainloader /EFI/deboot/deboot.efi node=tcp://10.0.2.2:7070 node=http://10.0.2.2:1633 \
                 target=bzz://{REF}/boot/vmlinuz initrd=bzz://{REF}/boot/initrd.img -- console=ttyS0 quiet"
            )
        );
        // No command line: no `--`.
        assert!(lines[1].ends_with(&format!("initrd=feed://{OWNER}/{REF}/boot/initrd.img")));
        assert!(cfg.contains("set timeout=0\nset default=0\nset fallback=2\n"));
        assert!(cfg.contains("terminal_output serial console"));
        assert!(cfg.contains("menuentry 'DeBoot failed' {\n\treboot\n}"));
        assert!(cfg.contains(&format!("menuentry 'Swarm {}...' {{", &REF[..12])));
    }

    #[test]
    fn grub_example_is_what_the_generator_writes() {
        let example = include_str!("../../grub/deboot.cfg.example");
        let mut m = Menu::new(vec![
            "tcp://192.168.1.10:7070".into(),
            "http://192.168.1.11:1633".into(),
        ]);
        m.entries
            .push(Entry::from_reference(REF, "console=ttyS0 quiet"));
        m.entries.push(Entry::from_feed(
            &format!("{OWNER}/5f0c9d1a7e8b2c4d6e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d"),
            "console=ttyS0 quiet",
        ));
        m.fallback = Some("reboot".into());
        let strip = |t: &str| -> String {
            t.lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| format!("{l}\n"))
                .collect()
        };
        assert_eq!(strip(&m.render().unwrap()), strip(example));
    }

    #[test]
    fn quotes_words_grub_would_interpret() {
        let mut m = menu();
        m.entries[0].cmdline = "root=LABEL=x init='/bin/sh' a$b ;".into();
        m.entries[0].title = "Debian {test}".into();
        let cfg = m.render().unwrap();
        assert!(cfg.contains(r"-- root=LABEL=x 'init='\''/bin/sh'\''' 'a$b' ';'"));
        assert!(cfg.contains("menuentry 'Debian {test}' {"));
        // deboot.efi receives the words without GRUB's quotes.
        let words = m.load_options(&m.entries[0]).unwrap();
        assert_eq!(words[words.len() - 3..], ["init='/bin/sh'", "a$b", ";"]);
    }

    #[test]
    fn refuses_bad_input() {
        let e = |f: &dyn Fn(&mut Menu)| {
            let mut m = menu();
            f(&mut m);
            m.render().unwrap_err()
        };
        assert_eq!(e(&|m| m.nodes.clear()), MenuError::NoNode);
        assert_eq!(e(&|m| m.entries.clear()), MenuError::NoEntry);
        assert_eq!(e(&|m| m.default = 1), MenuError::NoSuchDefault(1));
        for node in [
            "tcp://relay.lan:7070",
            "ftp://1.2.3.4:5",
            "tcp://1.2.3.4",
            "1.2.3.4:5",
        ] {
            assert_eq!(
                e(&|m| m.nodes = vec![node.into()]),
                MenuError::BadNode(node.into())
            );
        }
        assert_eq!(
            e(&|m| m.entries[0].target = "bzz://xyz/boot/vmlinuz".into()),
            MenuError::BadTarget("bzz://xyz/boot/vmlinuz".into())
        );
        assert!(matches!(
            e(&|m| m.entries[0].title = "a\nb".into()),
            MenuError::ControlCharacter(_)
        ));
        assert!(matches!(
            e(&|m| m.fallback = Some("reboot\nboot".into())),
            MenuError::ControlCharacter(_)
        ));
    }

    #[test]
    fn node_count_bound_at_n_and_n_plus_1() {
        let mut m = menu();
        m.nodes = (0..MAX_NODES)
            .map(|i| format!("tcp://10.0.0.{i}:1"))
            .collect();
        assert!(m.render().is_ok());
        m.nodes.push("tcp://10.0.1.1:1".into());
        assert_eq!(m.render(), Err(MenuError::TooManyNodes(MAX_NODES + 1)));
    }

    #[test]
    fn options_length_bound_at_n_and_n_plus_1() {
        let mut m = menu();
        m.entries[0].cmdline = String::new();
        let base: usize = m
            .load_options(&m.entries[0])
            .unwrap()
            .iter()
            .map(|w| w.len() + 1)
            .sum();
        // " -- " adds `--` and the word, each after one space.
        let fill = MAX_OPTIONS_LEN - base - 3;
        m.entries[0].cmdline = "x".repeat(fill);
        let len = |m: &Menu| -> usize {
            let w = m.load_options(&m.entries[0]).unwrap();
            w.iter().map(|w| w.len()).sum::<usize>() + w.len() - 1
        };
        assert_eq!(len(&m), MAX_OPTIONS_LEN);
        m.entries[0].cmdline.push('x');
        assert_eq!(
            m.render(),
            Err(MenuError::OptionsTooLong(MAX_OPTIONS_LEN + 1))
        );
    }
}
