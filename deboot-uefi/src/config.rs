//! What `deboot.efi` is told to do: the load-options grammar, also used by `deboot.cfg`.
//!
//! ```text
//! [deboot.efi] WORD... [-- KERNEL COMMAND LINE...]
//! WORD = node=tcp://A.B.C.D:PORT        framed protocol to a swarm-relay (repeatable, in order)
//!      | node=http://A.B.C.D:PORT       a Bee node's HTTP API (GET /chunks/{address})
//!      | target=TARGET                  the kernel or EFI image to boot (required)
//!      | initrd=TARGET                  handed to Linux through LoadFile2 (optional)
//!      | ip=A.B.C.D/N                   static address if DHCP gives no lease
//!      | gw=A.B.C.D                     static gateway
//!      | dhcp=on|off                    off: use ip= at once (default on)
//!      | timeout=SECONDS                per-request and connect timeout (default 10)
//!      | bench=tcp://A.B.C.D:PORT       diagnostic: time a raw TCP read and hash-only too
//! TARGET = bzz://<ref>[/path] | bytes://<ref> | feed://<owner>/<topic>[/path]
//! ```
//!
//! Words are separated by white space (GRUB strips quotes and joins words with single spaces);
//! everything after a lone `--` is the kernel command line, re-joined with single spaces. A
//! first word without `=` is the program's own name (firmware shells and GRUB's `chainloader`
//! pass it) and is skipped. In `deboot.cfg`, `#` starts a comment that runs to the end of the
//! line. Hosts are IPv4 literals: there is no DNS before the OS.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::{Ipv4Addr, SocketAddrV4};

use swarm_core::target::Target;
use swarm_net::url::NodeAddr;

/// At most this many `node=` words.
pub const MAX_NODES: usize = 8;
/// Load options or `deboot.cfg` longer than this many bytes are refused.
pub const MAX_CONFIG_LEN: usize = 8192;
/// Default per-request timeout.
pub const DEFAULT_TIMEOUT_SECS: u32 = 10;
/// `timeout=` above this is refused (a boot that hangs longer is worse than one that fails).
pub const MAX_TIMEOUT_SECS: u32 = 600;

/// The parsed configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Node URLs to ask, in order of preference (failover goes down the list), each checked by
    /// [`swarm_net::url::NodeAddr::parse`] to be `tcp://` or `http://` with an IPv4 host.
    pub nodes: Vec<String>,
    /// The kernel or EFI image, checked by [`swarm_core::target::Target`]'s parser.
    pub target: String,
    /// The initrd, if any (checked the same way).
    pub initrd: Option<String>,
    /// Kernel command line (load options of the booted image).
    pub cmdline: String,
    /// How to get an address.
    pub ip: IpConfig,
    /// Per-request and connect timeout in seconds.
    pub timeout_secs: u32,
    /// Diagnostic raw-TCP source: time reading from it and hash-only of the fetched bytes.
    pub bench: Option<SocketAddrV4>,
}

/// Address configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpConfig {
    /// Ask DHCP first.
    pub dhcp: bool,
    /// Static address and prefix length, used when DHCP is off or gives no lease.
    pub address: Option<(Ipv4Addr, u8)>,
    /// Static default gateway.
    pub gateway: Option<Ipv4Addr>,
}

/// Why a configuration was refused; `Display` gives one line naming the offending word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The text is longer than [`MAX_CONFIG_LEN`].
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The load options are neither UCS-2 nor UTF-8 text.
    NotText,
    /// A word that is not `key=value`, or an unknown key.
    UnknownWord(String),
    /// A value that does not parse for its key.
    BadValue(String),
    /// More than [`MAX_NODES`] `node=` words.
    TooManyNodes,
    /// A key that may appear once appeared twice.
    Repeated(&'static str),
    /// No `node=` word.
    NoNode,
    /// No `target=` word.
    NoTarget,
    /// `dhcp=off` without `ip=`.
    NoAddress,
}

impl Config {
    /// Parses the words of a load-options string or `deboot.cfg` file.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first word that does not fit the grammar in the
    /// [module docs](self), or a missing `node=`/`target=`.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        if text.len() > MAX_CONFIG_LEN {
            return Err(ConfigError::TooLong { len: text.len() });
        }
        let mut words = words(text).peekable();
        if words.peek().is_some_and(|w| !w.contains('=') && *w != "--") {
            words.next(); // the program's own name
        }
        let mut nodes = Vec::new();
        let mut target = None;
        let mut initrd = None;
        let mut ip = IpConfig {
            dhcp: true,
            address: None,
            gateway: None,
        };
        let mut timeout_secs = None;
        let mut bench = None;
        let mut cmdline = String::new();
        while let Some(word) = words.next() {
            if word == "--" {
                for (i, w) in words.by_ref().enumerate() {
                    if i > 0 {
                        cmdline.push(' ');
                    }
                    cmdline.push_str(w);
                }
                break;
            }
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| ConfigError::UnknownWord(word.into()))?;
            let bad = || ConfigError::BadValue(word.into());
            match key {
                "node" => {
                    if nodes.len() == MAX_NODES {
                        return Err(ConfigError::TooManyNodes);
                    }
                    check_node(value).ok_or_else(bad)?;
                    nodes.push(value.into());
                }
                "target" => {
                    value.parse::<Target>().map_err(|_| bad())?;
                    set_once(&mut target, "target", value.into())?;
                }
                "initrd" => {
                    value.parse::<Target>().map_err(|_| bad())?;
                    set_once(&mut initrd, "initrd", value.into())?;
                }
                "ip" => {
                    let (a, n) = value.split_once('/').ok_or_else(bad)?;
                    let a = a.parse().map_err(|_| bad())?;
                    let n = n.parse::<u8>().ok().filter(|n| *n <= 32).ok_or_else(bad)?;
                    let mut address = ip.address;
                    set_once(&mut address, "ip", (a, n))?;
                    ip.address = address;
                }
                "gw" => {
                    let mut gateway = ip.gateway;
                    set_once(&mut gateway, "gw", value.parse().map_err(|_| bad())?)?;
                    ip.gateway = gateway;
                }
                "dhcp" => {
                    ip.dhcp = match value {
                        "on" => true,
                        "off" => false,
                        _ => return Err(bad()),
                    }
                }
                "timeout" => {
                    let secs = value.parse::<u32>().ok();
                    let secs = secs.filter(|s| (1..=MAX_TIMEOUT_SECS).contains(s));
                    set_once(&mut timeout_secs, "timeout", secs.ok_or_else(bad)?)?;
                }
                "bench" => {
                    let addr = value.strip_prefix("tcp://").and_then(|a| a.parse().ok());
                    set_once(&mut bench, "bench", addr.ok_or_else(bad)?)?;
                }
                _ => return Err(ConfigError::UnknownWord(word.into())),
            }
        }
        if nodes.is_empty() {
            return Err(ConfigError::NoNode);
        }
        if !ip.dhcp && ip.address.is_none() {
            return Err(ConfigError::NoAddress);
        }
        Ok(Self {
            nodes,
            target: target.ok_or(ConfigError::NoTarget)?,
            initrd,
            cmdline,
            ip,
            timeout_secs: timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS),
            bench,
        })
    }
}

/// A node URL deboot.efi can reach: `tcp://` or `http://` with an IPv4 literal host.
fn check_node(url: &str) -> Option<()> {
    let addr = NodeAddr::parse(url).ok()?;
    addr.host().parse::<Ipv4Addr>().ok().map(|_| ())
}

/// Decodes firmware load options: UCS-2 (what boot entries, the EFI shell and GRUB pass) or,
/// as `efibootmgr` writes without `-u`, 8-bit text. A trailing NUL ends the text.
///
/// # Errors
/// [`ConfigError::NotText`] for unpaired surrogates or invalid UTF-8,
/// [`ConfigError::TooLong`] past [`MAX_CONFIG_LEN`].
pub fn decode_load_options(bytes: &[u8]) -> Result<String, ConfigError> {
    if bytes.len() > 2 * MAX_CONFIG_LEN {
        return Err(ConfigError::TooLong { len: bytes.len() });
    }
    let ucs2 = bytes.len() >= 2 && bytes.len().is_multiple_of(2) && bytes.get(1) == Some(&0);
    if ucs2 {
        let (pairs, _) = bytes.as_chunks::<2>();
        let units = pairs
            .iter()
            .map(|p| u16::from_le_bytes(*p))
            .take_while(|u| *u != 0);
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|_| ConfigError::NotText)
    } else {
        let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
        let text = bytes.get(..end).unwrap_or_default();
        core::str::from_utf8(text)
            .map(String::from)
            .map_err(|_| ConfigError::NotText)
    }
}

/// Whether the decoded load options carry a configuration (rather than only the program name,
/// which some firmware passes): any word containing `=`.
#[must_use]
pub fn has_settings(text: &str) -> bool {
    words(text).any(|w| w.contains('='))
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { len } => {
                write!(f, "configuration of {len} bytes, max {MAX_CONFIG_LEN}")
            }
            Self::NotText => f.write_str("load options are not UCS-2 or UTF-8 text"),
            Self::UnknownWord(w) => write!(f, "unknown word `{w}`"),
            Self::BadValue(w) => write!(f, "bad value in `{w}`"),
            Self::TooManyNodes => write!(f, "more than {MAX_NODES} node= words"),
            Self::Repeated(k) => write!(f, "{k}= given twice"),
            Self::NoNode => f.write_str("no node= given"),
            Self::NoTarget => f.write_str("no target= given"),
            Self::NoAddress => f.write_str("dhcp=off needs ip=A.B.C.D/N"),
        }
    }
}

impl core::error::Error for ConfigError {}

/// The words of `text`, with `#` comments (at the start of a word) dropped to the end of line.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .flat_map(|line| line.split_whitespace().take_while(|w| !w.starts_with('#')))
}

fn set_once<T>(slot: &mut Option<T>, key: &'static str, value: T) -> Result<(), ConfigError> {
    if slot.is_some() {
        return Err(ConfigError::Repeated(key));
    }
    *slot = Some(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use std::vec;

    const REF: &str = "c3fbbd8eec3d5765f76bd8a5e3d4e6ab32e71d2c4ce2a4e2b6f6ea3a2d2d9a1b";

    fn ucs2(s: &str) -> Vec<u8> {
        s.encode_utf16()
            .chain([0])
            .flat_map(u16::to_le_bytes)
            .collect()
    }

    #[test]
    fn parses_the_issue_example() {
        let text = format!(
            "deboot.efi node=tcp://10.0.2.2:7070 node=http://10.0.2.2:1633 \
             target=bzz://{REF}/boot/vmlinuz initrd=bzz://{REF}/boot/initrd.img \
             -- console=ttyS0 quiet"
        );
        let cfg = Config::parse(&decode_load_options(&ucs2(&text)).unwrap()).unwrap();
        assert_eq!(
            cfg.nodes,
            vec!["tcp://10.0.2.2:7070", "http://10.0.2.2:1633"]
        );
        assert_eq!(cfg.target, format!("bzz://{REF}/boot/vmlinuz"));
        assert_eq!(cfg.initrd, Some(format!("bzz://{REF}/boot/initrd.img")));
        assert_eq!(cfg.cmdline, "console=ttyS0 quiet");
        assert!(cfg.ip.dhcp);
        assert_eq!(cfg.timeout_secs, DEFAULT_TIMEOUT_SECS);
        assert_eq!(cfg.bench, None);
    }

    #[test]
    fn program_name_is_optional_and_cmdline_words_are_rejoined() {
        let cfg = Config::parse(&format!(
            "node=tcp://1.2.3.4:5 target=bytes://{REF} --   a=b   --  c\td"
        ))
        .unwrap();
        assert_eq!(cfg.cmdline, "a=b -- c d");
    }

    #[test]
    fn cfg_file_with_comments_and_lines() {
        let text = format!(
            "# deboot.cfg\nnode=tcp://10.0.2.2:7070 # the relay\n\
             target=bytes://{REF}\nip=10.0.2.15/24 gw=10.0.2.2 dhcp=off timeout=3\n\
             bench=tcp://10.0.2.2:9\n-- console=ttyS0\n  quiet\n"
        );
        let cfg = Config::parse(&text).unwrap();
        assert_eq!(cfg.cmdline, "console=ttyS0 quiet");
        assert_eq!(
            cfg.ip,
            IpConfig {
                dhcp: false,
                address: Some((Ipv4Addr::new(10, 0, 2, 15), 24)),
                gateway: Some(Ipv4Addr::new(10, 0, 2, 2)),
            }
        );
        assert_eq!(cfg.timeout_secs, 3);
        assert_eq!(cfg.bench, Some("10.0.2.2:9".parse().unwrap()));
    }

    #[test]
    fn decodes_8bit_options_and_stops_at_nul() {
        assert_eq!(decode_load_options(b"a=b c\0junk").unwrap(), "a=b c");
        assert_eq!(decode_load_options(&ucs2("x=1 é")).unwrap(), "x=1 é");
        assert_eq!(decode_load_options(b"").unwrap(), "");
        assert_eq!(
            decode_load_options(&[0xff, 0xfe, 0x41]),
            Err(ConfigError::NotText)
        );
        // An unpaired surrogate.
        assert_eq!(
            decode_load_options(&[0x41, 0, 0x00, 0xd8]),
            Err(ConfigError::NotText)
        );
    }

    #[test]
    fn has_settings_ignores_a_bare_program_name() {
        assert!(!has_settings("\\EFI\\deboot\\deboot.efi"));
        assert!(!has_settings(""));
        assert!(has_settings("deboot.efi target=x"));
    }

    #[test]
    fn nodes_bound_at_max_and_max_plus_one() {
        let base = format!("target=bytes://{REF}");
        let n = |k: usize| {
            let mut s = base.clone();
            for i in 0..k {
                s.push_str(&format!(" node=tcp://10.0.0.{i}:1"));
            }
            s
        };
        assert_eq!(Config::parse(&n(MAX_NODES)).unwrap().nodes.len(), MAX_NODES);
        assert_eq!(
            Config::parse(&n(MAX_NODES + 1)),
            Err(ConfigError::TooManyNodes)
        );
    }

    #[test]
    fn length_bound_at_max_and_max_plus_one() {
        let head = format!("node=tcp://1.2.3.4:5 target=bytes://{REF} --");
        let at = format!("{head}{}", " ".repeat(MAX_CONFIG_LEN - head.len()));
        assert!(Config::parse(&at).is_ok());
        let over = format!("{at} ");
        assert_eq!(
            Config::parse(&over),
            Err(ConfigError::TooLong {
                len: MAX_CONFIG_LEN + 1
            })
        );
    }

    #[test]
    fn timeout_bound_at_max_and_max_plus_one() {
        let t = |s: u32| {
            Config::parse(&format!(
                "node=tcp://1.2.3.4:5 target=bytes://{REF} timeout={s}"
            ))
        };
        assert_eq!(t(MAX_TIMEOUT_SECS).unwrap().timeout_secs, MAX_TIMEOUT_SECS);
        assert!(matches!(
            t(MAX_TIMEOUT_SECS + 1),
            Err(ConfigError::BadValue(_))
        ));
        assert!(matches!(t(0), Err(ConfigError::BadValue(_))));
    }

    #[test]
    fn refuses_bad_words_with_the_word() {
        let e = |s: &str| Config::parse(s).unwrap_err();
        assert_eq!(
            e(&format!("node=tcp://1.2.3.4:5 target=bytes://{REF} fast")),
            ConfigError::UnknownWord("fast".into())
        );
        assert_eq!(
            e(&format!(
                "node=tcp://1.2.3.4:5 target=bytes://{REF} color=red"
            )),
            ConfigError::UnknownWord("color=red".into())
        );
        assert_eq!(
            e(&format!("node=ftp://1.2.3.4:5 target=bytes://{REF}")),
            ConfigError::BadValue("node=ftp://1.2.3.4:5".into())
        );
        assert_eq!(
            e(&format!("node=tcp://host:5 target=bytes://{REF}")),
            ConfigError::BadValue("node=tcp://host:5".into())
        );
        assert_eq!(
            e(&format!("node=tcp://1.2.3.4 target=bytes://{REF}")),
            ConfigError::BadValue("node=tcp://1.2.3.4".into())
        );
        assert_eq!(
            e(&format!(
                "node=tcp://1.2.3.4:5 target=bytes://{REF} ip=1.2.3.4/33"
            )),
            ConfigError::BadValue("ip=1.2.3.4/33".into())
        );
        assert_eq!(
            e(&format!(
                "node=tcp://1.2.3.4:5 target=bytes://{REF} target=bzz://{REF}"
            )),
            ConfigError::Repeated("target")
        );
        assert_eq!(e(&format!("target=bytes://{REF}")), ConfigError::NoNode);
        assert_eq!(e("node=tcp://1.2.3.4:5"), ConfigError::NoTarget);
        assert_eq!(
            e("node=tcp://1.2.3.4:5 target=bzz://12"),
            ConfigError::BadValue("target=bzz://12".into())
        );
        assert_eq!(
            e(&format!(
                "node=tcp://1.2.3.4:5 target=bytes://{REF} initrd=feed://00/11"
            )),
            ConfigError::BadValue("initrd=feed://00/11".into())
        );
        assert_eq!(
            e(&format!(
                "node=tcp://1.2.3.4:5 target=bytes://{REF} dhcp=off"
            )),
            ConfigError::NoAddress
        );
        assert_eq!(
            format!("{}", e("node=tcp://1.2.3.4:5 x=1")),
            "unknown word `x=1`"
        );
    }
}
