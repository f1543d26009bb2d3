//! Node URLs: `http://HOST[:PORT][/]` (a Bee node's HTTP API) and `tcp://HOST:PORT` (the framed
//! protocol of `docs/PROTOCOL.md`).

use core::fmt;

use crate::Error;

/// How to talk to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Scheme {
    /// Bee's HTTP API, `GET /chunks/{address}` (`http://`).
    Http,
    /// The DeBoot chunk protocol (`tcp://`).
    Framed,
}

/// A parsed node URL; borrows the host from the text it was parsed from.
///
/// ```
/// use swarm_net::url::{NodeAddr, Scheme};
/// let a = NodeAddr::parse("http://127.0.0.1:1633")?;
/// assert_eq!((a.scheme(), a.host(), a.port()), (Scheme::Http, "127.0.0.1", 1633));
/// let b = NodeAddr::parse("tcp://[::1]:7070")?;
/// assert_eq!((b.scheme(), b.host(), b.port()), (Scheme::Framed, "::1", 7070));
/// assert!(NodeAddr::parse("tcp://relay").is_err()); // the framed protocol has no default port
/// # Ok::<(), swarm_net::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NodeAddr<'a> {
    scheme: Scheme,
    host: &'a str,
    port: u16,
}

/// The longest host name accepted (DNS names are at most 253 characters).
pub const MAX_HOST_LEN: usize = 253;

impl<'a> NodeAddr<'a> {
    /// A node address from its parts.
    ///
    /// # Errors
    /// [`Error::BadUrl`] for an empty host, a host over [`MAX_HOST_LEN`] bytes, or one with
    /// characters that cannot appear in a host (`/`, `@`, whitespace, control characters).
    pub fn new(scheme: Scheme, host: &'a str, port: u16) -> Result<Self, Error> {
        if host.is_empty()
            || host.len() > MAX_HOST_LEN
            || host
                .bytes()
                .any(|b| b <= b' ' || matches!(b, b'/' | b'@' | b'?' | b'#' | 0x7f))
        {
            return Err(Error::BadUrl);
        }
        Ok(Self { scheme, host, port })
    }

    /// Parses `http://HOST[:PORT][/]` (port 80 by default) or `tcp://HOST:PORT`; an IPv6 host
    /// is written in brackets.
    ///
    /// # Errors
    /// [`Error::BadUrl`] for any other shape (another scheme, a path, user info, a bad port).
    pub fn parse(url: &'a str) -> Result<Self, Error> {
        let (scheme, rest) = if let Some(r) = url.strip_prefix("http://") {
            (Scheme::Http, r)
        } else if let Some(r) = url.strip_prefix("tcp://") {
            (Scheme::Framed, r)
        } else {
            return Err(Error::BadUrl);
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = if let Some(r) = rest.strip_prefix('[') {
            let (host, after) = r.split_once(']').ok_or(Error::BadUrl)?;
            if !host.contains(':') {
                return Err(Error::BadUrl);
            }
            (host, after)
        } else {
            match rest.find(':') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            }
        };
        let port = match (port.strip_prefix(':'), scheme) {
            (Some(p), _) => parse_port(p)?,
            (None, Scheme::Http) if port.is_empty() => 80,
            _ => return Err(Error::BadUrl),
        };
        Self::new(scheme, host, port)
    }

    /// The protocol.
    #[must_use]
    pub const fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host: a name, an IPv4 literal, or an IPv6 literal without brackets.
    #[must_use]
    pub const fn host(&self) -> &'a str {
        self.host
    }

    /// The TCP port.
    #[must_use]
    pub const fn port(&self) -> u16 {
        self.port
    }

    /// Writes `HOST:PORT` (brackets around an IPv6 host), as in an HTTP `Host` header.
    ///
    /// # Errors
    /// Whatever `w` returns.
    pub fn write_authority<W: fmt::Write>(&self, w: &mut W) -> fmt::Result {
        if self.host.contains(':') {
            write!(w, "[{}]:{}", self.host, self.port)
        } else {
            write!(w, "{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for NodeAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.scheme {
            Scheme::Http => "http://",
            Scheme::Framed => "tcp://",
        })?;
        self.write_authority(f)
    }
}

fn parse_port(p: &str) -> Result<u16, Error> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::BadUrl);
    }
    p.parse().map_err(|_| Error::BadUrl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn parses_and_prints() {
        for (url, shown) in [
            ("http://localhost:1633", "http://localhost:1633"),
            ("http://localhost:1633/", "http://localhost:1633"),
            ("http://bee.example", "http://bee.example:80"),
            ("tcp://10.0.0.2:7070", "tcp://10.0.0.2:7070"),
            ("tcp://[fe80::1]:1", "tcp://[fe80::1]:1"),
        ] {
            assert_eq!(NodeAddr::parse(url).unwrap().to_string(), shown);
        }
    }

    #[test]
    fn rejects_other_shapes() {
        for url in [
            "",
            "https://a:1",
            "ftp://a:1",
            "tcp://a",
            "tcp://a:",
            "tcp://:1",
            "http://a:65536",
            "http://a:-1",
            "http://a:1/chunks",
            "http://u@a:1",
            "http://[::1:1",
            "http://[abc]:1",
            "tcp://a b:1",
        ] {
            assert_eq!(NodeAddr::parse(url), Err(Error::BadUrl), "{url}");
        }
        let long = "a".repeat(MAX_HOST_LEN + 1);
        assert_eq!(NodeAddr::new(Scheme::Http, &long, 1), Err(Error::BadUrl));
        assert!(NodeAddr::new(Scheme::Http, &long[1..], 1).is_ok());
    }
}
