//! The I/O edge of DeBoot: fetch Swarm chunks from designated nodes — a Bee node's HTTP API or
//! a DeBoot relay speaking the framed protocol of `docs/PROTOCOL.md` — and feed them to a
//! sans-IO [`swarm_core::Retrieval`] machine (the joiner, a manifest or feed resolver), which
//! verifies every one. `#![no_std]`, no allocator on the main path.
//!
//! ```text
//!  Retrieval ──poll_request──▶ Driver ──request──▶ ChunkClient ──bytes──▶ stream (TCP, smoltcp)
//!     ▲   ▲                      │  ▲                (Framed | Http)              │
//!     │   └──handle_chunk────────┘  └────────────── poll_answer ◀────────────────┘
//!     └──read (verified bytes only)──▶ sink
//! ```
//!
//! - [`codec`]: the framed protocol's frames and messages, sans-IO;
//! - [`http`]: `GET /chunks/{address}` requests and a response parser, sans-IO;
//! - [`client`]: [`client::FramedClient`] and [`client::HttpClient`] over any
//!   `embedded_io::Read + Write`, pipelined;
//! - [`driver`]: [`driver::Driver`] keeps the retrieval's window full across a node list, with
//!   timeouts, reconnects and failover;
//! - [`url`], [`time`]: node URLs (`http://host:port`, `tcp://host:port`) and the [`time::Clock`];
//! - adapters: `std_net` (feature `std`: `TcpStream`, system clock, `std_net::fetch`) and
//!   `smoltcp_net` (feature `smoltcp`: a smoltcp TCP socket).
//!
//! ```
//! use swarm_net::codec::{decode, Message, MAX_FRAME_LEN};
//! use swarm_net::url::{NodeAddr, Scheme};
//!
//! let node = NodeAddr::parse("tcp://192.168.1.10:7070")?;
//! assert_eq!(node.scheme(), Scheme::Framed);
//! let mut frame = [0u8; MAX_FRAME_LEN];
//! let n = Message::GetChunk { id: 1, address: [0; 32] }.encode(&mut frame)?;
//! assert_eq!(decode(&frame[..n])?, Some((Message::GetChunk { id: 1, address: [0; 32] }, n)));
//! # Ok::<(), swarm_net::Error>(())
//! ```
//!
//! # Retry policy
//! Fixed, and the same for both protocols. For every chunk request of one [`driver::Driver::run`]:
//! 1. It goes to the node with the fewest *demerits* among those not excluded for it and not
//!    down (ties: the order of the node list), once that node has room in its window.
//! 2. A node that **times out** (no answer within `Config::request_timeout_ms`), answers
//!    **not found** (HTTP 404, framed `NotFound`), answers with an **error** (any other HTTP
//!    status, framed `Error`), or returns a chunk that **fails verification** (a peer-fault
//!    error from [`swarm_core::Retrieval::handle_chunk`]) gets a demerit, and the request is
//!    **excluded from that node for the rest of the run** and goes to the next node. So a chunk
//!    that failed verification is never asked of the same node again in that fetch. (On HTTP a
//!    timeout also ends the connection: the answers behind the late one are stuck, and those
//!    requests fail over too.)
//! 3. A node that breaks the protocol (garbage, an oversize frame or response, an unexpected
//!    message) loses its connection; every request on it fails over as in 2.
//! 4. A **dropped connection** (end of stream, reset, I/O error, a `Close` from the server) is
//!    re-opened and its requests are re-sent to the same node, without a demerit, one at a time
//!    at first (the node's pipeline depth restarts at 1 and doubles with every verified chunk,
//!    so a server that mishandles deep pipelines still makes progress). A node whose
//!    connection is lost or cannot be opened more than [`driver::MAX_RECONNECTS`] times in a
//!    row (a verified chunk from it resets the count) is *down* for the rest of the run: its
//!    requests fail over as in 2.
//! 5. Only when every node has failed a request does the retrieval hear of it: if every node
//!    said not found, [`swarm_core::Retrieval::handle_not_found`] (a feed lookup takes it as
//!    "no update"); otherwise (timeouts, lost connections, bad chunks)
//!    [`swarm_core::Retrieval::handle_unavailable`]. A file's joiner with the `recovery`
//!    feature rebuilds such a chunk from its sibling group's parity either way (and accepts
//!    it only if it hashes to its reference). Only if the retrieval cannot do without the
//!    chunk does the run fail: with the retrieval's error for "not found", else with
//!    [`Error::AllNodesFailed`], the chunk address and the last node's [`Fault`].
//!
//! No byte reaches the sink that the retrieval did not verify; a failed run leaves the sink with
//! a verified prefix of the output.
//!
//! # Bounds
//! - [`codec::MAX_FRAME_LEN`] (4352 bytes, header included) per frame, else
//!   [`Error::FrameTooLarge`]; chunk data at most [`codec::MAX_CHUNK_DATA_LEN`] (4201) bytes,
//!   else [`Error::ChunkDataTooLong`] or (HTTP) [`Error::BodyTooLarge`];
//! - HTTP heads at most [`http::MAX_HEAD_LEN`] bytes and [`http::MAX_HEADERS`] headers, error
//!   bodies at most [`http::MAX_ERROR_BODY_LEN`] bytes;
//! - [`client::MAX_IN_FLIGHT`] requests per connection, [`driver::MAX_NODES`] nodes,
//!   [`driver::MAX_RECONNECTS`] reconnects in a row;
//! - memory: one buffer per node, lent by the caller, at least [`client::MIN_BUF_LEN`] bytes.
//!
//! # Features
//! - `std`: `std_net` (a `TcpStream` adapter with connect, read and write timeouts,
//!   `time::SystemClock`, and `std_net::fetch`, the whole client in one call);
//! - `smoltcp`: `smoltcp_net`, a TCP socket adapter for the smoltcp stack (no_std);
//! - `log` / `defmt` (exclusive): log through either; `defmt` also derives `defmt::Format`;
//! - `alloc`: reserved for owned conveniences (nothing needs it yet).
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

#[macro_use]
mod fmt;

pub mod client;
pub mod codec;
pub mod driver;
mod error;
pub mod http;
#[cfg(feature = "smoltcp")]
pub mod smoltcp_net;
#[cfg(feature = "std")]
pub mod std_net;
pub mod time;
pub mod url;

pub use error::{Error, Fault, ProtocolError};
