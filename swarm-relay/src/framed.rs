//! DeBoot's framed protocol (DBCP, `docs/PROTOCOL.md`), server side, on `swarm-net`'s codec.
//!
//! - Handshake: the first frame must be `Hello` within [`Config::handshake_timeout`]; the relay
//!   answers `HelloAck { version: 1, max_in_flight: MAX_IN_FLIGHT }`, or `Close` with
//!   `BAD_MAGIC`, `UNSUPPORTED_VERSION`, `MALFORMED` or `HANDSHAKE_TIMEOUT`.
//! - `GetChunk` → `Chunk`, `NotFound`, or `Error` (`UPSTREAM` when the source failed or what it
//!   had failed verification, `BUSY` past [`MAX_IN_FLIGHT`] upstream requests). Store lookups
//!   and cache hits are answered at once, in request order; upstream misses are answered by a
//!   worker when they arrive, so answers may come out of order (ids match them).
//! - `Ping` → `Pong`; `GetFeedUpdate` and unknown tags → `Error { UNSUPPORTED }`; `Close` ends
//!   the connection; `Pong` is ignored; any other message, an empty or undecodable body →
//!   `Close { MALFORMED }`; an oversize frame header → `Close { FRAME_TOO_LARGE }`.
//! - Idle: no frame for [`Config::idle_timeout`] with nothing in flight → `Close
//!   { IDLE_TIMEOUT }`. Shutdown → `Close { NORMAL }`.
//!
//! [`Config::handshake_timeout`]: crate::Config::handshake_timeout
//! [`Config::idle_timeout`]: crate::Config::idle_timeout

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use swarm_bmt::ChunkAddress;
use swarm_net::codec::{
    close_code, decode_frame, error_code, Message, MAGIC, MAX_FRAME_LEN, PROTOCOL_VERSION,
};

use crate::backend::Lookup;
use crate::serve::{Conn, Fill};

/// Requests a client may have in flight, announced in `HelloAck` (the reference relay's 256).
pub const MAX_IN_FLIGHT: u16 = 256;

/// A request decoded from one frame, owned so the input buffer can be consumed.
enum Request {
    GetChunk { id: u32, address: ChunkAddress },
    Ping { id: u32 },
    Unsupported { id: u32 },
    Close,
    Ignore,
}

/// Serves DBCP on `conn` until the client closes, misbehaves, idles out or the relay stops.
pub(crate) fn serve(conn: &mut Conn<'_>) -> io::Result<()> {
    let mut scratch = vec![0u8; MAX_FRAME_LEN];
    if !handshake(conn, &mut scratch)? {
        return conn.flush();
    }
    let in_flight = Arc::new(AtomicUsize::new(0));
    loop {
        // Answer every whole frame already buffered, then flush once.
        loop {
            let (len, request) = match decode_frame(&conn.buf) {
                Ok(None) => break,
                Ok(Some(frame)) => (frame.len(), request_of(frame.message())),
                Err(swarm_net::Error::FrameTooLarge { len, .. }) => {
                    tracing::debug!(len, "oversize frame");
                    return close(conn, &mut scratch, close_code::FRAME_TOO_LARGE);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "bad frame");
                    return close(conn, &mut scratch, close_code::MALFORMED);
                }
            };
            conn.consume(len);
            match request {
                Ok(Request::GetChunk { id, address }) => {
                    get_chunk(conn, &mut scratch, &in_flight, id, address)?;
                }
                Ok(Request::Ping { id }) => send(conn, &mut scratch, &Message::Pong { id })?,
                Ok(Request::Unsupported { id }) => {
                    let code = error_code::UNSUPPORTED;
                    send(conn, &mut scratch, &Message::Error { id, code })?;
                }
                Ok(Request::Close) => return conn.flush(),
                Ok(Request::Ignore) => {}
                Err(()) => return close(conn, &mut scratch, close_code::MALFORMED),
            }
        }
        conn.flush()?;
        let want = conn.buf.len().saturating_add(1);
        let timeout = conn.shared.config.idle_timeout;
        let idle = || in_flight.load(Ordering::Acquire) == 0;
        match conn.fill(want, timeout, &idle)? {
            Fill::Ready => {}
            Fill::Eof => return Ok(()),
            Fill::Stopping => return close(conn, &mut scratch, close_code::NORMAL),
            Fill::TimedOut => return close(conn, &mut scratch, close_code::IDLE_TIMEOUT),
        }
    }
}

/// Waits for `Hello` and answers it. `Ok(false)`: the connection is to be closed (a `Close`
/// was sent when there was a reason to).
fn handshake(conn: &mut Conn<'_>, scratch: &mut [u8]) -> io::Result<bool> {
    let timeout = conn.shared.config.handshake_timeout;
    loop {
        let (len, code) = match decode_frame(&conn.buf) {
            Ok(Some(frame)) => {
                let code = match frame.message() {
                    Ok(Message::Hello {
                        magic,
                        min_version,
                        max_version,
                        ..
                    }) => {
                        if magic != MAGIC {
                            Some(close_code::BAD_MAGIC)
                        } else if !(min_version..=max_version).contains(&PROTOCOL_VERSION) {
                            Some(close_code::UNSUPPORTED_VERSION)
                        } else {
                            None
                        }
                    }
                    _ => Some(close_code::MALFORMED),
                };
                (frame.len(), code)
            }
            Ok(None) => {
                match conn.fill(conn.buf.len().saturating_add(1), timeout, &|| true)? {
                    Fill::Ready => continue,
                    Fill::Eof => return Ok(false),
                    Fill::Stopping => close(conn, scratch, close_code::NORMAL)?,
                    Fill::TimedOut => close(conn, scratch, close_code::HANDSHAKE_TIMEOUT)?,
                }
                return Ok(false);
            }
            Err(swarm_net::Error::FrameTooLarge { .. }) => {
                close(conn, scratch, close_code::FRAME_TOO_LARGE)?;
                return Ok(false);
            }
            Err(_) => {
                close(conn, scratch, close_code::MALFORMED)?;
                return Ok(false);
            }
        };
        if let Some(code) = code {
            tracing::debug!(code, "refusing handshake");
            close(conn, scratch, code)?;
            return Ok(false);
        }
        conn.consume(len);
        let ack = Message::HelloAck {
            id: 0,
            magic: MAGIC,
            version: PROTOCOL_VERSION,
            max_in_flight: MAX_IN_FLIGHT,
        };
        send(conn, scratch, &ack)?;
        conn.flush()?;
        return Ok(true);
    }
}

/// What the server does with a decoded message; `Err(())` is `MALFORMED`.
fn request_of(message: Result<Message<'_>, swarm_net::Error>) -> Result<Request, ()> {
    match message {
        Ok(Message::GetChunk { id, address }) => Ok(Request::GetChunk {
            id,
            address: ChunkAddress(address),
        }),
        Ok(Message::Ping { id }) => Ok(Request::Ping { id }),
        Ok(Message::GetFeedUpdate { id, .. }) => Ok(Request::Unsupported { id }),
        Ok(Message::Close { code, .. }) => {
            tracing::debug!(code, "client closed");
            Ok(Request::Close)
        }
        Ok(Message::Pong { .. }) => Ok(Request::Ignore),
        // Hello again, or an answer sent to the server: a message in the wrong place.
        Ok(_) => Err(()),
        Err(swarm_net::Error::UnknownMessage { tag, id }) => {
            tracing::debug!(tag, id, "unknown message tag");
            Ok(Request::Unsupported { id })
        }
        Err(_) => Err(()),
    }
}

/// Answers one `GetChunk`: at once when local, through an upstream worker otherwise.
fn get_chunk(
    conn: &Conn<'_>,
    scratch: &mut [u8],
    in_flight: &Arc<AtomicUsize>,
    id: u32,
    address: ChunkAddress,
) -> io::Result<()> {
    if let Some(lookup) = conn.shared.serve_chunk(&address, true) {
        return send(conn, scratch, &answer(id, &lookup));
    }
    // A remote miss: hand it to the upstream pool, bounded per connection.
    if in_flight.load(Ordering::Acquire) >= usize::from(MAX_IN_FLIGHT) {
        let code = error_code::BUSY;
        return send(conn, scratch, &Message::Error { id, code });
    }
    in_flight.fetch_add(1, Ordering::AcqRel);
    let sender = conn.sender();
    let in_flight = Arc::clone(in_flight);
    conn.shared.submit(
        address,
        Box::new(move |lookup| {
            let mut buf = [0u8; MAX_FRAME_LEN];
            if let Ok(n) = answer(id, &lookup).encode(&mut buf) {
                sender.send(buf.get(..n).unwrap_or_default());
            }
            in_flight.fetch_sub(1, Ordering::AcqRel);
        }),
    );
    Ok(())
}

/// The answer to `GetChunk { id }` for a lookup result.
fn answer(id: u32, lookup: &Lookup) -> Message<'_> {
    match lookup {
        Lookup::Found(data) => Message::Chunk {
            id,
            data: &data[..],
        },
        Lookup::NotFound => Message::NotFound { id },
        Lookup::Failed => Message::Error {
            id,
            code: error_code::UPSTREAM,
        },
    }
}

fn send(conn: &Conn<'_>, scratch: &mut [u8], message: &Message<'_>) -> io::Result<()> {
    let n = message
        .encode(scratch)
        .map_err(|e| io::Error::other(format!("encoding {message:?}: {e}")))?;
    conn.send(scratch.get(..n).unwrap_or_default())
}

/// Sends `Close { code }` and flushes; the caller then drops the connection.
fn close(conn: &Conn<'_>, scratch: &mut [u8], code: u16) -> io::Result<()> {
    send(conn, scratch, &Message::Close { id: 0, code })?;
    conn.flush()
}
