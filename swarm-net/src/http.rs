//! The sans-IO half of a minimal Bee HTTP/1.1 client: `GET /chunks/{address}` requests and a
//! response parser for `Content-Length` and chunked bodies (`../shared/spec/mantaray-and-api.md`
//! §4.1–4.2).
//!
//! The parser is fed the bytes of one connection in order and never panics; heads are parsed by
//! `httparse`. A 200 answer's body (the chunk) is copied into a buffer the caller lends, any
//! other answer's body is counted and dropped.
//!
//! ```
//! use swarm_net::http::{ResponseParser, Status};
//! let mut body = [0u8; 16];
//! let mut p = ResponseParser::new();
//! let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 404 Not Found\r\n";
//! let (used, status) = p.handle(wire, &mut body)?;
//! let Some(Status { code: 200, body_len: 3, .. }) = status else { panic!() };
//! assert_eq!(&body[..3], b"abc");
//! assert_eq!(&wire[used..], b"HTTP/1.1 404 Not Found\r\n"); // the next answer, incomplete
//! # Ok::<(), swarm_net::Error>(())
//! ```

use core::fmt::Write as _;

use swarm_bmt::ChunkAddress;

use crate::url::NodeAddr;
use crate::Error;

/// The largest response head accepted (status line and headers).
pub const MAX_HEAD_LEN: usize = 8192;
/// The most headers accepted in one response head.
pub const MAX_HEADERS: usize = 32;
/// The largest body of a non-200 answer (Bee's JSON error bodies are tiny).
pub const MAX_ERROR_BODY_LEN: usize = 4096;
/// The longest line of a chunked body's framing (chunk-size line with extensions, trailer).
pub const MAX_CHUNKED_LINE_LEN: usize = 1024;
/// The longest `GET /chunks/…` request [`write_get_chunk`] writes (a 253-byte host name).
pub const MAX_REQUEST_LEN: usize = 400;

/// A complete response, as reported by [`ResponseParser::handle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Status {
    /// The HTTP status code.
    pub code: u16,
    /// Body bytes (copied into the caller's body buffer when `code` is 200).
    pub body_len: usize,
    /// Whether the server will close the connection after this response (`Connection: close`,
    /// or HTTP/1.0 without keep-alive).
    pub close: bool,
}

/// What [`ResponseParser::handle_whole`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whole {
    /// A whole response was consumed.
    Response {
        /// Bytes of the input it took.
        used: usize,
        /// Its status.
        status: Status,
        /// Where its body lies in the input.
        body: core::ops::Range<usize>,
    },
    /// Only this many bytes were consumed (a head, or nothing): continue with
    /// [`ResponseParser::handle`].
    Head(usize),
}

/// Incremental parser of a sequence of HTTP/1.1 responses on one connection.
#[derive(Debug, Clone)]
pub struct ResponseParser {
    state: State,
    code: u16,
    close: bool,
    body_len: usize,
    line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Fixed {
        remaining: usize,
    },
    ChunkSize {
        size: usize,
        digits: usize,
        ext: bool,
        cr: bool,
    },
    ChunkData {
        remaining: usize,
    },
    ChunkDataEnd {
        cr: bool,
    },
    Trailer {
        cr: bool,
        empty: bool,
    },
}

/// Writes `GET /chunks/{hex} HTTP/1.1` with a `Host` header into `out`; returns its length.
///
/// # Errors
/// [`Error::BufferTooSmall`] if `out` is too short (never for [`MAX_REQUEST_LEN`] bytes).
pub fn write_get_chunk(
    out: &mut [u8],
    node: &NodeAddr<'_>,
    address: &ChunkAddress,
) -> Result<usize, Error> {
    let len = out.len();
    let mut w = SliceWriter { buf: out, pos: 0 };
    let res = (|| {
        w.write_str("GET /chunks/")?;
        for b in address.0 {
            write!(w, "{b:02x}")?;
        }
        w.write_str(" HTTP/1.1\r\nHost: ")?;
        node.write_authority(&mut w)?;
        w.write_str("\r\n\r\n")
    })();
    res.map_err(|_| Error::BufferTooSmall {
        len,
        min: MAX_REQUEST_LEN,
    })?;
    Ok(w.pos)
}

impl ResponseParser {
    /// A parser at the start of a connection.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            state: State::Head,
            code: 0,
            close: false,
            body_len: 0,
            line: 0,
        }
    }

    /// Whether the parser is between responses (no partial response consumed).
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.state == State::Head
    }

    /// Consumes bytes from the start of `input`; returns how many it used and, when a response
    /// ended within them, its [`Status`]. Call again with the unused bytes (plus more read from
    /// the connection) for the next response.
    ///
    /// A head is only consumed once it is complete: while `input` holds part of a head, this
    /// returns `(0, None)` and the caller must keep those bytes and read more. The body of a
    /// 200 answer is written to `body` from offset 0.
    ///
    /// # Errors
    /// [`Error::HttpHead`], [`Error::HttpHeadTooLarge`] (head over [`MAX_HEAD_LEN`] bytes or
    /// [`MAX_HEADERS`] headers), [`Error::HttpLength`], [`Error::BodyTooLarge`] (a 200 body
    /// longer than `body`, another body over [`MAX_ERROR_BODY_LEN`]),
    /// [`Error::BadChunkedEncoding`]. All are fatal to the connection.
    pub fn handle(
        &mut self,
        input: &[u8],
        body: &mut [u8],
    ) -> Result<(usize, Option<Status>), Error> {
        let mut used = 0;
        loop {
            let rest = input.get(used..).unwrap_or_default();
            match self.state {
                State::Head => {
                    let Some(n) = self.parse_head(rest)? else {
                        return Ok((used, None));
                    };
                    used += n;
                    if self.is_idle() {
                        continue; // a 1xx head: the real one follows
                    }
                }
                State::Fixed { remaining } => {
                    if remaining == 0 {
                        return Ok((used, Some(self.finish())));
                    }
                    let n = remaining.min(rest.len());
                    if n == 0 {
                        return Ok((used, None));
                    }
                    self.take_body(rest.get(..n).unwrap_or_default(), body)?;
                    used += n;
                    self.state = State::Fixed {
                        remaining: remaining - n,
                    };
                }
                State::ChunkData { remaining } => {
                    let n = remaining.min(rest.len());
                    if n == 0 {
                        return Ok((used, None));
                    }
                    self.take_body(rest.get(..n).unwrap_or_default(), body)?;
                    used += n;
                    self.state = if remaining == n {
                        State::ChunkDataEnd { cr: false }
                    } else {
                        State::ChunkData {
                            remaining: remaining - n,
                        }
                    };
                }
                State::ChunkSize { .. } | State::ChunkDataEnd { .. } | State::Trailer { .. } => {
                    let Some((&b, _)) = rest.split_first() else {
                        return Ok((used, None));
                    };
                    used += 1;
                    if let Some(status) = self.chunked_byte(b)? {
                        return Ok((used, Some(status)));
                    }
                }
            }
        }
    }

    /// Like [`handle`](Self::handle) for a parser between responses, without copying the
    /// body: if `input` starts with a whole response with a `Content-Length` body, consumes
    /// it and returns the bytes used, its [`Status`] and where its body lies in `input`
    /// ([`Whole::Response`]). Otherwise it consumes at most a complete head
    /// ([`Whole::Head`] with the bytes used, maybe 0), and [`handle`](Self::handle) takes the
    /// rest. `max_body` bounds a 200 body as `body.len()` does for `handle`.
    ///
    /// # Errors
    /// As [`handle`](Self::handle).
    pub fn handle_whole(&mut self, input: &[u8], max_body: usize) -> Result<Whole, Error> {
        if self.state != State::Head {
            return Ok(Whole::Head(0));
        }
        let Some(n) = self.parse_head(input)? else {
            return Ok(Whole::Head(0));
        };
        let State::Fixed { remaining } = self.state else {
            return Ok(Whole::Head(n));
        };
        let end = n.saturating_add(remaining);
        if end > input.len() {
            return Ok(Whole::Head(n));
        }
        let max = if self.code == 200 {
            max_body
        } else {
            MAX_ERROR_BODY_LEN
        };
        if remaining > max {
            return Err(Error::BodyTooLarge {
                len: remaining,
                max,
            });
        }
        self.body_len = remaining;
        Ok(Whole::Response {
            used: end,
            status: self.finish(),
            body: n..end,
        })
    }

    /// Parses a complete head at the start of `input`; `None` while incomplete.
    fn parse_head(&mut self, input: &[u8]) -> Result<Option<usize>, Error> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut headers);
        let n = match resp.parse(input) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                if input.len() >= MAX_HEAD_LEN {
                    return Err(Error::HttpHeadTooLarge);
                }
                return Ok(None);
            }
            Err(httparse::Error::TooManyHeaders) => return Err(Error::HttpHeadTooLarge),
            Err(_) => return Err(Error::HttpHead),
        };
        if n > MAX_HEAD_LEN {
            return Err(Error::HttpHeadTooLarge);
        }
        let code = resp.code.ok_or(Error::HttpHead)?;
        if (100..200).contains(&code) {
            if code == 101 {
                return Err(Error::HttpHead);
            }
            return Ok(Some(n)); // informational: stay in Head
        }
        let mut close = resp.version == Some(0);
        let mut length: Option<usize> = None;
        let mut chunked = false;
        for h in resp.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let v = parse_decimal(h.value).ok_or(Error::HttpLength)?;
                if length.is_some_and(|l| l != v) {
                    return Err(Error::HttpLength);
                }
                length = Some(v);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                // Only `chunked` (alone or last) is understood; anything else has no length.
                let last = h.value.rsplit(|&b| b == b',').next().unwrap_or_default();
                if !trim(last).eq_ignore_ascii_case(b"chunked") {
                    return Err(Error::HttpLength);
                }
                chunked = true;
            } else if h.name.eq_ignore_ascii_case("connection") {
                for token in h.value.split(|&b| b == b',') {
                    let token = trim(token);
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        close = false;
                    }
                }
            }
        }
        self.code = code;
        self.close = close;
        self.body_len = 0;
        self.state = if code == 204 || code == 304 {
            State::Fixed { remaining: 0 }
        } else if chunked {
            self.line = 0;
            State::ChunkSize {
                size: 0,
                digits: 0,
                ext: false,
                cr: false,
            }
        } else if let Some(len) = length {
            State::Fixed { remaining: len }
        } else {
            return Err(Error::HttpLength);
        };
        Ok(Some(n))
    }

    /// Appends body bytes: copied for a 200, counted (and bounded) otherwise.
    fn take_body(&mut self, bytes: &[u8], body: &mut [u8]) -> Result<(), Error> {
        let new_len = self.body_len.saturating_add(bytes.len());
        if self.code == 200 {
            let max = body.len();
            let dst = body
                .get_mut(self.body_len..new_len)
                .ok_or(Error::BodyTooLarge { len: new_len, max })?;
            dst.copy_from_slice(bytes);
        } else if new_len > MAX_ERROR_BODY_LEN {
            return Err(Error::BodyTooLarge {
                len: new_len,
                max: MAX_ERROR_BODY_LEN,
            });
        }
        self.body_len = new_len;
        Ok(())
    }

    /// One byte of chunked framing (size line, CRLF after data, trailer section).
    fn chunked_byte(&mut self, b: u8) -> Result<Option<Status>, Error> {
        self.line += 1;
        if self.line > MAX_CHUNKED_LINE_LEN {
            return Err(Error::BadChunkedEncoding);
        }
        match self.state {
            State::ChunkSize {
                size,
                digits,
                ext,
                cr,
            } => {
                if cr {
                    if b != b'\n' || digits == 0 {
                        return Err(Error::BadChunkedEncoding);
                    }
                    self.line = 0;
                    self.state = if size == 0 {
                        State::Trailer {
                            cr: false,
                            empty: true,
                        }
                    } else {
                        State::ChunkData { remaining: size }
                    };
                } else if b == b'\r' {
                    self.state = State::ChunkSize {
                        size,
                        digits,
                        ext,
                        cr: true,
                    };
                } else if ext || b == b';' || b == b' ' || b == b'\t' {
                    self.state = State::ChunkSize {
                        size,
                        digits,
                        ext: true,
                        cr: false,
                    };
                } else {
                    let d = hex_digit(b).ok_or(Error::BadChunkedEncoding)?;
                    let size = size
                        .checked_mul(16)
                        .and_then(|s| s.checked_add(usize::from(d)))
                        .ok_or(Error::BadChunkedEncoding)?;
                    self.state = State::ChunkSize {
                        size,
                        digits: digits + 1,
                        ext: false,
                        cr: false,
                    };
                }
            }
            State::ChunkDataEnd { cr } => match (cr, b) {
                (false, b'\r') => self.state = State::ChunkDataEnd { cr: true },
                (true, b'\n') => {
                    self.line = 0;
                    self.state = State::ChunkSize {
                        size: 0,
                        digits: 0,
                        ext: false,
                        cr: false,
                    };
                }
                _ => return Err(Error::BadChunkedEncoding),
            },
            State::Trailer { cr, empty } => match (cr, b) {
                (false, b'\r') => self.state = State::Trailer { cr: true, empty },
                (true, b'\n') => {
                    if empty {
                        return Ok(Some(self.finish()));
                    }
                    self.line = 0;
                    self.state = State::Trailer {
                        cr: false,
                        empty: true,
                    };
                }
                (true, _) => return Err(Error::BadChunkedEncoding),
                (false, _) => {
                    self.state = State::Trailer {
                        cr: false,
                        empty: false,
                    }
                }
            },
            State::Head | State::Fixed { .. } | State::ChunkData { .. } => {}
        }
        Ok(None)
    }

    fn finish(&mut self) -> Status {
        self.state = State::Head;
        Status {
            code: self.code,
            body_len: self.body_len,
            close: self.close,
        }
    }
}

impl Default for ResponseParser {
    fn default() -> Self {
        Self::new()
    }
}

/// A `core::fmt::Write` into a slice; `pos` bytes written so far.
pub(crate) struct SliceWriter<'a> {
    pub(crate) buf: &'a mut [u8],
    pub(crate) pos: usize,
}

impl core::fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.pos.checked_add(s.len()).ok_or(core::fmt::Error)?;
        let dst = self.buf.get_mut(self.pos..end).ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.pos = end;
        Ok(())
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn parse_decimal(v: &[u8]) -> Option<usize> {
    let v = trim(v);
    if v.is_empty() || v.len() > 19 {
        return None;
    }
    v.iter().try_fold(0usize, |acc, &b| {
        let d = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(usize::from(d))
    })
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Feeds `wire` in pieces of `step` bytes; returns statuses and 200 bodies.
    fn run(wire: &[u8], step: usize) -> Result<Vec<(Status, Vec<u8>)>, Error> {
        let mut p = ResponseParser::new();
        let mut body = [0u8; 4201];
        let mut buf: Vec<u8> = Vec::new();
        let mut out = Vec::new();
        for piece in wire.chunks(step) {
            buf.extend_from_slice(piece);
            loop {
                let (used, st) = p.handle(&buf, &mut body)?;
                buf.drain(..used);
                match st {
                    Some(s) => {
                        let b = if s.code == 200 {
                            body[..s.body_len].to_vec()
                        } else {
                            Vec::new()
                        };
                        out.push((s, b));
                    }
                    None => break,
                }
            }
        }
        Ok(out)
    }

    const BEE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: binary/octet-stream\r\nContent-Length: 11\r\n\r\n\x03\0\0\0\0\0\0\0foo\
HTTP/1.1 404 Not Found\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 42\r\n\r\n{\"code\":404,\"message\":\"chunk not found\"}\n\n\
HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n\x03\0\0\0\r\n7\r\n\0\0\0\0bar\r\n0\r\nX-T: 1\r\n\r\n\
HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

    #[test]
    fn parses_pipelined_answers_in_any_split() {
        for step in [1, 2, 3, 7, 64, BEE.len()] {
            let got = run(BEE, step).unwrap();
            let codes: Vec<_> = got.iter().map(|(s, _)| (s.code, s.close)).collect();
            assert_eq!(
                codes,
                [(200, false), (404, false), (200, false), (500, true)],
                "step {step}"
            );
            assert_eq!(got[0].1, b"\x03\0\0\0\0\0\0\0foo");
            assert_eq!(got[1].0.body_len, 42);
            assert_eq!(got[2].1, b"\x03\0\0\0\0\0\0\0bar");
        }
    }

    #[test]
    fn skips_informational_heads() {
        let got = run(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
            5,
        )
        .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, b"x");
    }

    #[test]
    fn http10_closes() {
        let got = run(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n", 9).unwrap();
        assert!(got[0].0.close);
    }

    #[test]
    fn body_bound_at_n_and_n_plus_1() {
        for (len, ok) in [(4201usize, true), (4202, false)] {
            let mut wire =
                std::format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n").into_bytes();
            wire.resize(wire.len() + len, 7);
            let r = run(&wire, 1000);
            assert_eq!(r.is_ok(), ok, "{len}");
            if !ok {
                assert_eq!(
                    r.unwrap_err(),
                    Error::BodyTooLarge {
                        len: 4202,
                        max: 4201
                    }
                );
            }
        }
        for (len, ok) in [(MAX_ERROR_BODY_LEN, true), (MAX_ERROR_BODY_LEN + 1, false)] {
            let mut wire = std::format!("HTTP/1.1 404 Not Found\r\nContent-Length: {len}\r\n\r\n")
                .into_bytes();
            wire.resize(wire.len() + len, b' ');
            assert_eq!(run(&wire, 512).is_ok(), ok, "{len}");
        }
    }

    #[test]
    fn head_bound_at_n_and_n_plus_1() {
        let make = |head_len: usize| {
            let start = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nX: ";
            let mut h = std::string::String::from(start);
            h.push_str(&"a".repeat(head_len - start.len() - 4));
            h.push_str("\r\n\r\n");
            assert_eq!(h.len(), head_len);
            h.into_bytes()
        };
        assert!(run(&make(MAX_HEAD_LEN), MAX_HEAD_LEN).is_ok());
        assert_eq!(
            run(&make(MAX_HEAD_LEN + 1), MAX_HEAD_LEN + 1),
            Err(Error::HttpHeadTooLarge)
        );
        // Incomplete and already too long: refused without waiting for the end.
        let mut p = ResponseParser::new();
        let big = make(MAX_HEAD_LEN + 10);
        assert_eq!(
            p.handle(&big[..MAX_HEAD_LEN], &mut [0; 8]),
            Err(Error::HttpHeadTooLarge)
        );
    }

    #[test]
    fn rejects_bad_lengths_and_garbage() {
        for wire in [
            &b"HTTP/1.1 200 OK\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        ] {
            assert_eq!(run(wire, 100), Err(Error::HttpLength));
        }
        assert_eq!(run(b"\x00\x01garbage\r\n\r\n", 100), Err(Error::HttpHead));
        for wire in [
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
        ] {
            assert_eq!(run(wire, 3), Err(Error::BadChunkedEncoding));
        }
    }

    #[test]
    fn writes_a_bee_request() {
        let node = NodeAddr::parse("http://127.0.0.1:1633").unwrap();
        let mut buf = [0u8; MAX_REQUEST_LEN];
        let n = write_get_chunk(&mut buf, &node, &ChunkAddress([0xab; 32])).unwrap();
        let want = std::format!(
            "GET /chunks/{} HTTP/1.1\r\nHost: 127.0.0.1:1633\r\n\r\n",
            "ab".repeat(32)
        );
        assert_eq!(&buf[..n], want.as_bytes());
        let long = "h".repeat(crate::url::MAX_HOST_LEN);
        let node = NodeAddr::new(crate::url::Scheme::Http, &long, 65535).unwrap();
        assert!(write_get_chunk(&mut buf, &node, &ChunkAddress([0; 32])).is_ok());
        assert!(write_get_chunk(&mut buf[..100], &node, &ChunkAddress([0; 32])).is_err());
    }
}
