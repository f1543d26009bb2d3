//! `std::net::TcpStream` adapter (feature `std`): a [`Connector`] with connect and read
//! timeouts, and [`fetch`], the whole client in one call.

use core::time::Duration;
use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs};
use std::vec;
use std::vec::Vec;

use embedded_io::ErrorKind;
use swarm_core::Retrieval;

use crate::driver::{Config, Connector, Driver, Node, Stats};
use crate::time::SystemClock;
use crate::url::NodeAddr;
use crate::Error;

/// How long a read waits for data before it reports "nothing yet" (the driver's poll tick).
pub const READ_POLL_MS: u64 = 20;
/// Per-node buffer [`fetch`] allocates: 256 KiB, so one read takes in the answers a window
/// of 64–256 leaves has in flight (on loopback those windows fetch at 0.71–0.88 of
/// verification throughput, most runs above 0.8; 0.65–0.80 with 64 KiB).
pub const FETCH_BUF_LEN: usize = 256 * 1024;

/// A `TcpStream` that speaks `embedded_io` and follows the
/// [stream contract](crate::client#the-stream-contract).
#[derive(Debug)]
pub struct StdStream(TcpStream);

/// Opens [`StdStream`]s: resolves the host, connects with a timeout, disables Nagle, and sets a
/// read timeout of [`READ_POLL_MS`] and a write timeout.
#[derive(Debug, Clone, Copy)]
pub struct StdConnector {
    /// Read poll tick in milliseconds.
    pub read_poll_ms: u64,
    /// Time a blocked write may take before the connection counts as lost.
    pub write_timeout_ms: u64,
}

impl StdStream {
    /// Wraps a connected stream, setting its read timeout to `read_poll_ms`.
    ///
    /// # Errors
    /// [`Error::Io`] if the socket options cannot be set.
    pub fn new(stream: TcpStream, read_poll_ms: u64) -> Result<Self, Error> {
        stream
            .set_read_timeout(Some(Duration::from_millis(read_poll_ms.max(1))))
            .map_err(|e| Error::Io(kind_of(&e)))?;
        stream
            .set_nodelay(true)
            .map_err(|e| Error::Io(kind_of(&e)))?;
        Ok(Self(stream))
    }

    /// The wrapped `TcpStream`.
    pub fn get_ref(&self) -> &TcpStream {
        &self.0
    }
}

impl Default for StdConnector {
    fn default() -> Self {
        Self {
            read_poll_ms: READ_POLL_MS,
            write_timeout_ms: 10_000,
        }
    }
}

impl Connector for StdConnector {
    type Stream = StdStream;

    fn connect(&mut self, node: &NodeAddr<'_>, timeout_ms: u64) -> Result<StdStream, Error> {
        let addrs = (node.host(), node.port())
            .to_socket_addrs()
            .map_err(|e| Error::Connect(kind_of(&e)))?;
        let mut last = Error::Connect(ErrorKind::NotFound);
        for a in addrs {
            match TcpStream::connect_timeout(&a, Duration::from_millis(timeout_ms.max(1))) {
                Ok(s) => {
                    s.set_write_timeout(Some(Duration::from_millis(self.write_timeout_ms.max(1))))
                        .map_err(|e| Error::Io(kind_of(&e)))?;
                    return StdStream::new(s, self.read_poll_ms);
                }
                Err(e) => last = Error::Connect(kind_of(&e)),
            }
        }
        Err(last)
    }
}

impl embedded_io::ErrorType for StdStream {
    type Error = ErrorKind;
}

impl embedded_io::Read for StdStream {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        self.0.read(buf).map_err(|e| kind_of(&e))
    }
}

impl embedded_io::Write for StdStream {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        self.0.write(buf).map_err(|e| match kind_of(&e) {
            // A write that hit its timeout: the peer stopped reading.
            ErrorKind::TimedOut => ErrorKind::BrokenPipe,
            k => k,
        })
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        self.0.flush().map_err(|e| kind_of(&e))
    }
}

impl embedded_io::ReadReady for StdStream {
    fn read_ready(&mut self) -> Result<bool, ErrorKind> {
        let mut b = [0u8; 1];
        self.0.set_nonblocking(true).map_err(|e| kind_of(&e))?;
        let r = self.0.peek(&mut b);
        self.0.set_nonblocking(false).map_err(|e| kind_of(&e))?;
        match r {
            Ok(_) => Ok(true), // data, or end of stream: a read will not block
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
            Err(_) => Ok(true), // the error surfaces on the read
        }
    }
}

/// Maps a `std::io::Error` to `embedded_io`'s kinds; a read timeout (`WouldBlock` on Unix)
/// becomes `TimedOut`.
#[must_use]
pub fn kind_of(e: &std::io::Error) -> ErrorKind {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::WouldBlock | K::TimedOut => ErrorKind::TimedOut,
        K::Interrupted => ErrorKind::Interrupted,
        K::NotFound => ErrorKind::NotFound,
        K::PermissionDenied => ErrorKind::PermissionDenied,
        K::ConnectionRefused => ErrorKind::ConnectionRefused,
        K::ConnectionReset => ErrorKind::ConnectionReset,
        K::ConnectionAborted => ErrorKind::ConnectionAborted,
        K::NotConnected => ErrorKind::NotConnected,
        K::AddrInUse => ErrorKind::AddrInUse,
        K::AddrNotAvailable => ErrorKind::AddrNotAvailable,
        K::BrokenPipe => ErrorKind::BrokenPipe,
        K::InvalidInput => ErrorKind::InvalidInput,
        K::InvalidData => ErrorKind::InvalidData,
        K::UnexpectedEof => ErrorKind::ConnectionReset,
        K::WriteZero => ErrorKind::WriteZero,
        K::OutOfMemory => ErrorKind::OutOfMemory,
        K::Unsupported => ErrorKind::Unsupported,
        _ => ErrorKind::Other,
    }
}

/// Fetches everything `retrieval` wants from the nodes at `urls` (in order of preference),
/// over `std::net`, passing verified output to `sink`; the whole client in one call.
///
/// ```no_run
/// # fn demo(joiner: &mut impl swarm_core::Retrieval) -> Result<(), swarm_net::Error> {
/// let mut file = Vec::new();
/// let stats = swarm_net::std_net::fetch(
///     &["tcp://127.0.0.1:7070", "http://127.0.0.1:1633"],
///     joiner,
///     swarm_net::driver::Config::default(),
///     |bytes| { file.extend_from_slice(bytes); Ok(()) },
/// )?;
/// println!("{} bytes in {} chunks", stats.bytes, stats.chunks);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::BadUrl`], and everything [`Driver::run`] returns.
pub fn fetch<R, W>(
    urls: &[&str],
    retrieval: &mut R,
    config: Config,
    sink: W,
) -> Result<Stats, Error>
where
    R: Retrieval + ?Sized,
    W: FnMut(&[u8]) -> Result<(), Error>,
{
    let addrs = urls
        .iter()
        .map(|u| NodeAddr::parse(u))
        .collect::<Result<Vec<_>, _>>()?;
    let mut bufs: Vec<Vec<u8>> = addrs.iter().map(|_| vec![0u8; FETCH_BUF_LEN]).collect();
    let mut nodes = addrs
        .into_iter()
        .zip(bufs.iter_mut())
        .map(|(a, b)| Node::new(a, b))
        .collect::<Result<Vec<_>, _>>()?;
    let mut driver = Driver::new(
        &mut nodes,
        StdConnector::default(),
        SystemClock::new(),
        config,
    )?;
    let res = driver.run(retrieval, sink);
    driver.close();
    res
}
