//! Bee's chunk endpoint over HTTP/1.1, for clients configured with a Bee API URL
//! (`../shared/spec/mantaray-and-api.md` §4.1, §4.2).
//!
//! | request | answer |
//! |---|---|
//! | `GET /chunks/{address}`, `GET /v1/chunks/{address}` | 200, `Content-Type: binary/octet-stream`, body = chunk bytes |
//! | same, chunk absent (or withheld) | 404 `{"code":404,"message":"chunk not found"}` |
//! | same, address not hex | 400 `invalid path params` with a reason for `address` |
//! | same, address not 32 bytes, upstream error, corrupt stored chunk | 500 `read chunk failed` |
//! | `HEAD /chunks/{address}` | 200 or 404 from the cache and store only, no body (as Bee) |
//! | other method on `/chunks/…` | 405 `{"message":"Method Not Allowed","code":405}`, `Allow` |
//! | `GET /`, `GET /health`, `GET /readiness` | 200, a short text or JSON status |
//! | anything else | 404 `{"code":404,"message":"Not Found"}` |
//!
//! Error bodies are JSON followed by two newlines, `Content-Type: application/json;
//! charset=utf-8`, as Bee's `jsonhttp` writes them. Connections are kept alive (HTTP/1.1
//! default; `Connection: close` and HTTP/1.0 without `keep-alive` close after the answer).
//! Pipelined requests are answered in order. A request with a body is answered, then the
//! connection is closed (no endpoint here takes a body). A request head over
//! [`MAX_HEAD_LEN`] bytes or with more than [`MAX_HEADERS`] headers gets 431 and a close;
//! malformed HTTP gets 400 and a close.

use std::io;

use swarm_bmt::ChunkAddress;

use crate::backend::{Backend, Lookup};
use crate::serve::{Conn, Fill};

/// Largest request head (request line and headers) accepted, in bytes.
pub const MAX_HEAD_LEN: usize = 8 * 1024;

/// Most request headers accepted.
pub const MAX_HEADERS: usize = 32;

/// A parsed request head (owned, so the input buffer can be consumed).
#[derive(Debug)]
struct Head {
    method: String,
    path: String,
    keep_alive: bool,
    has_body: bool,
}

/// Why a request head could not be read.
enum HeadError {
    /// Malformed HTTP: 400.
    Malformed,
    /// Too long or too many headers: 431.
    TooLarge,
}

/// Serves HTTP requests on `conn` until the client closes, asks to close, or errs.
pub(crate) fn serve(conn: &mut Conn<'_>) -> io::Result<()> {
    loop {
        let head = match parse_head(&conn.buf) {
            Ok(Some((len, head))) => {
                conn.consume(len);
                head
            }
            Ok(None) => {
                if conn.buf.len() >= MAX_HEAD_LEN {
                    return close_with(conn, too_large());
                }
                // Nothing complete is pending: push out what was answered, then wait.
                conn.flush()?;
                let want = conn.buf.len().saturating_add(1);
                if conn.fill(want, conn.shared.config.idle_timeout, &|| true)? != Fill::Ready {
                    return Ok(());
                }
                continue;
            }
            Err(HeadError::TooLarge) => return close_with(conn, too_large()),
            Err(HeadError::Malformed) => {
                return close_with(conn, json(400, "Bad Request", "Bad Request", false, true))
            }
        };
        let close = !head.keep_alive || head.has_body;
        let response = answer(conn, &head, close);
        conn.send(&response)?;
        if close {
            conn.flush()?;
            return Ok(());
        }
    }
}

fn close_with(conn: &Conn<'_>, response: Vec<u8>) -> io::Result<()> {
    conn.send(&response)?;
    conn.flush()
}

fn too_large() -> Vec<u8> {
    json(
        431,
        "Request Header Fields Too Large",
        "Request Header Fields Too Large",
        false,
        true,
    )
}

/// `Ok(None)`: the head is not complete yet.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, Head)>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(_) => return Err(HeadError::Malformed),
    };
    if len > MAX_HEAD_LEN {
        return Err(HeadError::TooLarge);
    }
    let version = req.version.unwrap_or(1);
    let mut keep_alive = version >= 1;
    let mut has_body = false;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("connection") {
            let value = String::from_utf8_lossy(h.value);
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            has_body = true;
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let value = String::from_utf8_lossy(h.value);
            has_body |= value.trim() != "0";
        }
    }
    Ok(Some((
        len,
        Head {
            method: req.method.unwrap_or_default().to_owned(),
            path: req.path.unwrap_or_default().to_owned(),
            keep_alive,
            has_body,
        },
    )))
}

/// The full response to one request.
fn answer(conn: &Conn<'_>, head: &Head, close: bool) -> Vec<u8> {
    let path = head.path.split(['?', '#']).next().unwrap_or_default();
    let path = path
        .strip_prefix("/v1")
        .filter(|p| p.starts_with('/'))
        .unwrap_or(path);
    let head_only = head.method == "HEAD";
    let readable = head.method == "GET" || head_only;
    if let Some(addr) = path.strip_prefix("/chunks/") {
        if !readable {
            return method_not_allowed(close);
        }
        return chunk(conn, addr, head_only, close);
    }
    match (path, readable) {
        ("/", true) => response(
            200,
            "OK",
            "text/plain; charset=utf-8",
            b"swarm-relay: Bee's GET /chunks/{address} and DeBoot's framed protocol\n",
            head_only,
            close,
        ),
        ("/health" | "/readiness", true) => {
            let body = format!(
                "{{\"status\":\"ok\",\"version\":\"swarm-relay {}\"}}\n",
                env!("CARGO_PKG_VERSION")
            );
            response(
                200,
                "OK",
                "application/json; charset=utf-8",
                body.as_bytes(),
                head_only,
                close,
            )
        }
        _ => json(404, "Not Found", "Not Found", head_only, close),
    }
}

fn chunk(conn: &Conn<'_>, addr: &str, head_only: bool, close: bool) -> Vec<u8> {
    let bytes = match hex::decode(addr) {
        Ok(bytes) => bytes,
        Err(e) => {
            let reason = match e {
                hex::FromHexError::OddLength => "odd length hex string".to_owned(),
                e => e.to_string(),
            };
            let body = format!(
                "{{\"code\":400,\"message\":\"invalid path params\",\"reasons\":[{{\"field\":\"address\",\"error\":\"{reason}\"}}]}}\n\n"
            );
            return response(
                400,
                "Bad Request",
                "application/json; charset=utf-8",
                body.as_bytes(),
                head_only,
                close,
            );
        }
    };
    let Ok(address) = ChunkAddress::from_slice(&bytes) else {
        // Bee hands any even-length hex to retrieval, which rejects it: 500.
        return json(
            500,
            "Internal Server Error",
            "read chunk failed",
            head_only,
            close,
        );
    };
    let shared = conn.shared;
    if head_only {
        // As Bee: HEAD looks only at what is held locally (cache and store), never upstream.
        let present = !shared.config.faults.withhold.contains(&address)
            && (shared.chunks.cache.get(&address).is_some()
                || match &shared.chunks.backend {
                    Backend::Store(store) => store.contains(&address).unwrap_or(false),
                    Backend::Upstream(_) => false,
                });
        return if present {
            json(200, "OK", "OK", true, close)
        } else {
            json(404, "Not Found", "Not Found", true, close)
        };
    }
    match shared.serve_chunk(&address, false) {
        Some(Lookup::Found(data)) => {
            response(200, "OK", "binary/octet-stream", &data, false, close)
        }
        Some(Lookup::NotFound) => json(404, "Not Found", "chunk not found", false, close),
        Some(Lookup::Failed) | None => json(
            500,
            "Internal Server Error",
            "read chunk failed",
            false,
            close,
        ),
    }
}

fn method_not_allowed(close: bool) -> Vec<u8> {
    let body = b"{\"message\":\"Method Not Allowed\",\"code\":405}\n\n";
    let mut out = head_bytes(
        405,
        "Method Not Allowed",
        "application/json; charset=utf-8",
        body.len(),
        close,
    );
    // Insert Allow before the blank line that ends the head.
    out.truncate(out.len().saturating_sub(2));
    out.extend_from_slice(b"Allow: GET, HEAD\r\n\r\n");
    out.extend_from_slice(body);
    out
}

/// A Bee-style JSON status body: `{"code":N,"message":"..."}` and two newlines.
fn json(status: u16, reason: &str, message: &str, head_only: bool, close: bool) -> Vec<u8> {
    let body = format!("{{\"code\":{status},\"message\":\"{message}\"}}\n\n");
    response(
        status,
        reason,
        "application/json; charset=utf-8",
        body.as_bytes(),
        head_only,
        close,
    )
}

fn response(
    status: u16,
    reason: &str,
    content_type: &str,
    body: &[u8],
    head_only: bool,
    close: bool,
) -> Vec<u8> {
    let mut out = head_bytes(status, reason, content_type, body.len(), close);
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}

fn head_bytes(
    status: u16,
    reason: &str,
    content_type: &str,
    content_len: usize,
    close: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(160 + content_len);
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {content_len}\r\n"
        )
        .as_bytes(),
    );
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keep_alive_and_close() {
        let (len, h) = parse_head(b"GET /chunks/ab HTTP/1.1\r\nHost: x\r\n\r\nrest")
            .ok()
            .flatten()
            .unwrap();
        assert_eq!(len, 36);
        assert!(h.keep_alive && !h.has_body);
        let (_, h) = parse_head(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            .ok()
            .flatten()
            .unwrap();
        assert!(!h.keep_alive);
        let (_, h) = parse_head(b"GET / HTTP/1.0\r\n\r\n")
            .ok()
            .flatten()
            .unwrap();
        assert!(!h.keep_alive);
        let (_, h) = parse_head(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
            .ok()
            .flatten()
            .unwrap();
        assert!(h.has_body);
    }

    #[test]
    fn partial_head_is_not_an_error() {
        assert!(matches!(
            parse_head(b"GET /chunks/ab HTTP/1.1\r\n"),
            Ok(None)
        ));
        assert!(matches!(
            parse_head(b"\x01\x02 garbage\r\n\r\n"),
            Err(HeadError::Malformed)
        ));
    }

    #[test]
    fn accepts_max_headers_and_refuses_one_more() {
        let request = |n: usize| {
            let mut req = b"GET / HTTP/1.1\r\n".to_vec();
            for i in 0..n {
                req.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
            }
            req.extend_from_slice(b"\r\n");
            req
        };
        assert!(matches!(parse_head(&request(MAX_HEADERS)), Ok(Some(_))));
        assert!(matches!(
            parse_head(&request(MAX_HEADERS + 1)),
            Err(HeadError::TooLarge)
        ));
    }
}
