//! Properties of the sans-IO codec and HTTP parser: round trips, any split of the input, and
//! no panic on any bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(
    unreachable_pub,
    clippy::std_instead_of_core,
    clippy::alloc_instead_of_core
)]

use proptest::prelude::*;
use swarm_net::codec::{
    self, decode, decode_frame, Message, MAX_BODY_LEN, MAX_CHUNK_DATA_LEN, MAX_FRAME_LEN,
};
use swarm_net::http::{ResponseParser, Whole};
use swarm_net::Error;

/// Messages with owned data (the codec borrows from the caller).
#[derive(Debug, Clone)]
enum Owned {
    Hello(u32, [u8; 4], u16, u16),
    HelloAck(u32, [u8; 4], u16, u16),
    GetChunk(u32, [u8; 32]),
    Chunk(u32, Vec<u8>),
    NotFound(u32),
    Error(u32, u16),
    GetFeedUpdate(u32, [u8; 20], [u8; 32], u64),
    FeedUpdate(u32, u64, Vec<u8>),
    Ping(u32),
    Pong(u32),
    Close(u32, u16),
}

impl Owned {
    fn msg(&self) -> Message<'_> {
        match self {
            Self::Hello(id, magic, a, b) => Message::Hello {
                id: *id,
                magic: *magic,
                min_version: *a,
                max_version: *b,
            },
            Self::HelloAck(id, magic, v, m) => Message::HelloAck {
                id: *id,
                magic: *magic,
                version: *v,
                max_in_flight: *m,
            },
            Self::GetChunk(id, a) => Message::GetChunk {
                id: *id,
                address: *a,
            },
            Self::Chunk(id, d) => Message::Chunk { id: *id, data: d },
            Self::NotFound(id) => Message::NotFound { id: *id },
            Self::Error(id, c) => Message::Error { id: *id, code: *c },
            Self::GetFeedUpdate(id, o, t, a) => Message::GetFeedUpdate {
                id: *id,
                owner: *o,
                topic: *t,
                after: *a,
            },
            Self::FeedUpdate(id, i, d) => Message::FeedUpdate {
                id: *id,
                index: *i,
                data: d,
            },
            Self::Ping(id) => Message::Ping { id: *id },
            Self::Pong(id) => Message::Pong { id: *id },
            Self::Close(id, c) => Message::Close { id: *id, code: *c },
        }
    }
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(any::<u8>(), MAX_CHUNK_DATA_LEN - 8..=MAX_CHUNK_DATA_LEN),
    ]
}

fn owned() -> impl Strategy<Value = Owned> {
    prop_oneof![
        (any::<u32>(), any::<[u8; 4]>(), any::<u16>(), any::<u16>())
            .prop_map(|(a, b, c, d)| Owned::Hello(a, b, c, d)),
        (any::<u32>(), any::<[u8; 4]>(), any::<u16>(), any::<u16>())
            .prop_map(|(a, b, c, d)| Owned::HelloAck(a, b, c, d)),
        (any::<u32>(), any::<[u8; 32]>()).prop_map(|(a, b)| Owned::GetChunk(a, b)),
        (any::<u32>(), data()).prop_map(|(a, b)| Owned::Chunk(a, b)),
        any::<u32>().prop_map(Owned::NotFound),
        (any::<u32>(), any::<u16>()).prop_map(|(a, b)| Owned::Error(a, b)),
        (
            any::<u32>(),
            any::<[u8; 20]>(),
            any::<[u8; 32]>(),
            any::<u64>()
        )
            .prop_map(|(a, b, c, d)| Owned::GetFeedUpdate(a, b, c, d)),
        (any::<u32>(), any::<u64>(), data()).prop_map(|(a, b, c)| Owned::FeedUpdate(a, b, c)),
        any::<u32>().prop_map(Owned::Ping),
        any::<u32>().prop_map(Owned::Pong),
        (any::<u32>(), any::<u16>()).prop_map(|(a, b)| Owned::Close(a, b)),
    ]
}

proptest! {
    #[test]
    fn decode_of_encode_is_identity(o in owned()) {
        let m = o.msg();
        let mut buf = [0u8; MAX_FRAME_LEN];
        let n = m.encode(&mut buf).unwrap();
        prop_assert!(n <= MAX_FRAME_LEN);
        prop_assert_eq!(decode(&buf[..n]).unwrap(), Some((m, n)));
        // Every strict prefix is "need more bytes", never an error.
        for cut in [0, 1, 3, 4, 5, n / 2, n - 1] {
            prop_assert_eq!(decode(&buf[..cut.min(n - 1)]).unwrap(), None);
        }
        prop_assert_eq!(codec::peek_header(&buf[4..n]).unwrap(), (m.tag(), m.id()));
    }

    #[test]
    fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode(&bytes);
        let _ = Message::decode(&bytes);
        let _ = codec::peek_header(&bytes);
    }

    #[test]
    fn oversize_headers_are_typed_errors(len in (MAX_BODY_LEN as u32 + 1)..=u32::MAX, tail in proptest::collection::vec(any::<u8>(), 0..16)) {
        let mut bytes = len.to_le_bytes().to_vec();
        bytes.extend_from_slice(&tail);
        prop_assert_eq!(decode_frame(&bytes), Err(Error::FrameTooLarge { len: len as usize, max: MAX_BODY_LEN }));
    }

    #[test]
    fn http_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), step in 1usize..50) {
        let mut p = ResponseParser::new();
        let mut body = [0u8; MAX_CHUNK_DATA_LEN];
        let mut buf = Vec::new();
        for piece in bytes.chunks(step) {
            buf.extend_from_slice(piece);
            loop {
                match p.handle(&buf, &mut body) {
                    Ok((used, st)) => {
                        buf.drain(..used);
                        if st.is_none() { break; }
                    }
                    Err(_) => return Ok(()),
                }
            }
        }
    }

    #[test]
    fn http_parser_result_ignores_how_input_is_split(
        bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..5),
        chunked in any::<bool>(),
        step in 1usize..64,
    ) {
        let mut wire = Vec::new();
        for b in &bodies {
            push_response(&mut wire, 200, b, chunked);
        }
        let mut p = ResponseParser::new();
        let mut body = [0u8; MAX_CHUNK_DATA_LEN];
        let mut buf = Vec::new();
        let mut got = Vec::new();
        for piece in wire.chunks(step) {
            buf.extend_from_slice(piece);
            loop {
                let (used, st) = p.handle(&buf, &mut body).unwrap();
                buf.drain(..used);
                match st {
                    Some(s) => got.push(body[..s.body_len].to_vec()),
                    None => break,
                }
            }
        }
        prop_assert_eq!(got, bodies);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn http_parser_in_place_path_gives_the_same_responses(
        bodies in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..300), any::<bool>(), prop_oneof![Just(200u16), Just(404), Just(500)]), 1..6),
        step in 1usize..400,
    ) {
        // As the HTTP client reads: whole Content-Length responses in place, the rest (split
        // heads and bodies, chunked bodies) through `handle`.
        let mut wire = Vec::new();
        for (b, chunked, code) in &bodies {
            push_response(&mut wire, *code, b, *chunked);
        }
        let mut p = ResponseParser::new();
        let mut body = [0u8; MAX_CHUNK_DATA_LEN];
        let mut buf = Vec::new();
        let mut got = Vec::new();
        for piece in wire.chunks(step) {
            buf.extend_from_slice(piece);
            loop {
                match p.handle_whole(&buf, MAX_CHUNK_DATA_LEN).unwrap() {
                    Whole::Response { used, status, body } => {
                        got.push((status.code, buf[body].to_vec()));
                        buf.drain(..used);
                        continue;
                    }
                    Whole::Head(used) => {
                        buf.drain(..used);
                    }
                }
                let (used, st) = p.handle(&buf, &mut body).unwrap();
                buf.drain(..used);
                match st {
                    // Non-200 bodies are counted, not kept, on this path.
                    Some(s) if s.code == 200 => got.push((s.code, body[..s.body_len].to_vec())),
                    Some(s) => got.push((s.code, Vec::new())),
                    None => break,
                }
            }
        }
        let want: Vec<(u16, Vec<u8>)> = bodies.iter().map(|(b, _, c)| (*c, b.clone())).collect();
        prop_assert_eq!(got.len(), want.len());
        for ((gc, gb), (wc, wb)) in got.iter().zip(&want) {
            prop_assert_eq!(gc, wc);
            if !gb.is_empty() || *gc == 200 {
                prop_assert_eq!(gb, wb);
            }
        }
        prop_assert!(buf.is_empty());
    }
}

/// Appends one HTTP/1.1 response with status `code` and `body` to `wire`: chunked in 7-byte
/// pieces, or with a `Content-Length`.
fn push_response(wire: &mut Vec<u8>, code: u16, body: &[u8], chunked: bool) {
    if chunked {
        wire.extend_from_slice(
            format!("HTTP/1.1 {code} X\r\nTransfer-Encoding: chunked\r\n\r\n").as_bytes(),
        );
        for part in body.chunks(7) {
            wire.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            wire.extend_from_slice(part);
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"0\r\n\r\n");
    } else {
        wire.extend_from_slice(
            format!(
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        wire.extend_from_slice(body);
    }
}
