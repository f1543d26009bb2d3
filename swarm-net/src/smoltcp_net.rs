//! smoltcp TCP socket adapter (feature `smoltcp`): the whole client on a no_std network stack.
//!
//! [`SmolStack`] owns the interface, the device and the socket set, and is shared through a
//! `RefCell` by the [`SmolConnector`] and every [`SmolStream`] it opens. Each stream operation
//! polls the interface (with the time of the caller's [`Clock`]) until it can make progress or
//! its timeout passes, so a blocking-looking `read` is a bounded poll loop. After every poll the
//! stack runs a caller-supplied *hook* on the socket set: the place for other applications on
//! the same stack (in tests, the server side of a loopback connection).
//!
//! Hosts must be IPv4 literals (no DNS here). The connector takes TCP sockets the caller has
//! added to the set (one per node is enough) and reuses any that is closed.

use core::cell::RefCell;

use embedded_io::ErrorKind;
use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::phy::Device;
use smoltcp::socket::tcp;

use crate::driver::Connector;
use crate::time::{Clock, Instant};
use crate::url::NodeAddr;
use crate::Error;

/// How long a read waits for data before it reports "nothing yet".
pub const READ_POLL_MS: u64 = 20;
/// How long a write may wait for room in the socket's send buffer.
pub const WRITE_TIMEOUT_MS: u64 = 10_000;
/// First local port the connector uses (the IANA dynamic range).
pub const FIRST_LOCAL_PORT: u16 = 49152;

/// An interface, its device and its sockets, polled with time from `K`; `H` runs after every
/// poll.
pub struct SmolStack<'a, D, K, H> {
    /// The interface.
    pub iface: Interface,
    /// The device.
    pub device: D,
    /// The sockets.
    pub sockets: SocketSet<'a>,
    clock: K,
    hook: H,
}

/// Opens [`SmolStream`]s on a shared [`SmolStack`].
pub struct SmolConnector<'s, 'a, D, K, H> {
    stack: &'s RefCell<SmolStack<'a, D, K, H>>,
    handles: &'s [SocketHandle],
    next_port: u16,
}

/// One TCP connection on a [`SmolStack`], following the
/// [stream contract](crate::client#the-stream-contract); aborted when dropped.
pub struct SmolStream<'s, 'a, D, K, H>
where
    D: Device,
    K: Clock,
    H: FnMut(&mut SocketSet<'a>),
{
    stack: &'s RefCell<SmolStack<'a, D, K, H>>,
    handle: SocketHandle,
}

impl<'a, D, K, H> SmolStack<'a, D, K, H>
where
    D: Device,
    K: Clock,
    H: FnMut(&mut SocketSet<'a>),
{
    /// A stack from its parts.
    pub fn new(iface: Interface, device: D, sockets: SocketSet<'a>, clock: K, hook: H) -> Self {
        Self {
            iface,
            device,
            sockets,
            clock,
            hook,
        }
    }

    /// Polls the interface once at the clock's time, then runs the hook.
    pub fn poll(&mut self) {
        let now = smol_now(&self.clock);
        let _ = self.iface.poll(now, &mut self.device, &mut self.sockets);
        (self.hook)(&mut self.sockets);
    }

    /// The clock's current time.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }
}

impl<'s, 'a, D, K, H> SmolConnector<'s, 'a, D, K, H> {
    /// A connector that opens connections on the TCP sockets `handles` of `stack`.
    pub fn new(stack: &'s RefCell<SmolStack<'a, D, K, H>>, handles: &'s [SocketHandle]) -> Self {
        Self {
            stack,
            handles,
            next_port: FIRST_LOCAL_PORT,
        }
    }
}

impl<'s, 'a, D, K, H> Connector for SmolConnector<'s, 'a, D, K, H>
where
    D: Device,
    K: Clock,
    H: FnMut(&mut SocketSet<'a>),
{
    type Stream = SmolStream<'s, 'a, D, K, H>;

    fn connect(&mut self, node: &NodeAddr<'_>, timeout_ms: u64) -> Result<Self::Stream, Error> {
        let ip: core::net::Ipv4Addr = node
            .host()
            .parse()
            .map_err(|_| Error::Connect(ErrorKind::InvalidInput))?;
        let mut guard = self
            .stack
            .try_borrow_mut()
            .map_err(|_| Error::Connect(ErrorKind::Other))?;
        let stack = &mut *guard;
        let handle = self
            .handles
            .iter()
            .copied()
            .find(|h| stack.sockets.get::<tcp::Socket<'_>>(*h).state() == tcp::State::Closed)
            .ok_or(Error::Connect(ErrorKind::OutOfMemory))?;
        let port = self.next_port;
        self.next_port = self.next_port.checked_add(1).unwrap_or(FIRST_LOCAL_PORT);
        let cx = stack.iface.context();
        stack
            .sockets
            .get_mut::<tcp::Socket<'_>>(handle)
            .connect(cx, (ip, node.port()), port)
            .map_err(|_| Error::Connect(ErrorKind::InvalidInput))?;
        let deadline = stack.now().add_millis(timeout_ms);
        loop {
            stack.poll();
            let late = stack.now() >= deadline;
            let socket = stack.sockets.get_mut::<tcp::Socket<'_>>(handle);
            match socket.state() {
                tcp::State::Established => break,
                tcp::State::Closed => return Err(Error::Connect(ErrorKind::ConnectionRefused)),
                _ if late => {
                    socket.abort();
                    return Err(Error::Connect(ErrorKind::TimedOut));
                }
                _ => {}
            }
        }
        drop(guard);
        Ok(SmolStream {
            stack: self.stack,
            handle,
        })
    }
}

impl<'a, D, K, H> SmolStream<'_, 'a, D, K, H>
where
    D: Device,
    K: Clock,
    H: FnMut(&mut SocketSet<'a>),
{
    /// Polls until `ready` says the socket can make progress or `timeout_ms` pass; runs `op`
    /// on the socket then.
    fn wait<T>(
        &mut self,
        timeout_ms: u64,
        mut op: impl FnMut(&mut tcp::Socket<'a>) -> Option<Result<T, ErrorKind>>,
    ) -> Result<T, ErrorKind> {
        let mut stack = self.stack.try_borrow_mut().map_err(|_| ErrorKind::Other)?;
        let deadline = stack.now().add_millis(timeout_ms);
        loop {
            stack.poll();
            let late = stack.now() >= deadline;
            let socket = stack.sockets.get_mut::<tcp::Socket<'a>>(self.handle);
            if let Some(r) = op(socket) {
                return r;
            }
            if late {
                return Err(ErrorKind::TimedOut);
            }
        }
    }
}

impl<'a, D, K, H> embedded_io::ErrorType for SmolStream<'_, 'a, D, K, H>
where
    D: Device,
    K: Clock,
    H: FnMut(&mut SocketSet<'a>),
{
    type Error = ErrorKind;
}

impl<'a, D, K, H> embedded_io::Read for SmolStream<'_, 'a, D, K, H>
where
    D: Device,
    K: Clock,
    H: FnMut(&mut SocketSet<'a>),
{
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        self.wait(READ_POLL_MS, |s| {
            if s.can_recv() {
                Some(s.recv_slice(buf).map_err(|_| ErrorKind::ConnectionReset))
            } else if !s.may_recv() {
                Some(Ok(0)) // the peer closed (or reset) the connection
            } else {
                None
            }
        })
    }
}

impl<'a, D, K, H> embedded_io::Write for SmolStream<'_, 'a, D, K, H>
where
    D: Device,
    K: Clock,
    H: FnMut(&mut SocketSet<'a>),
{
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.wait(WRITE_TIMEOUT_MS, |s| {
            if !s.may_send() {
                Some(Err(ErrorKind::BrokenPipe))
            } else if s.can_send() {
                match s.send_slice(buf) {
                    Ok(0) => None,
                    Ok(n) => Some(Ok(n)),
                    Err(_) => Some(Err(ErrorKind::BrokenPipe)),
                }
            } else {
                None
            }
        })
        .map_err(|k| match k {
            ErrorKind::TimedOut => ErrorKind::BrokenPipe,
            k => k,
        })
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        // Queued data leaves at the next poll (every read polls).
        let mut stack = self.stack.try_borrow_mut().map_err(|_| ErrorKind::Other)?;
        stack.poll();
        Ok(())
    }
}

impl<'a, D, K, H> embedded_io::ReadReady for SmolStream<'_, 'a, D, K, H>
where
    D: Device,
    K: Clock,
    H: FnMut(&mut SocketSet<'a>),
{
    fn read_ready(&mut self) -> Result<bool, ErrorKind> {
        let mut stack = self.stack.try_borrow_mut().map_err(|_| ErrorKind::Other)?;
        stack.poll();
        let s = stack.sockets.get::<tcp::Socket<'a>>(self.handle);
        Ok(s.can_recv() || !s.may_recv())
    }
}

impl<'a, D, K, H> Drop for SmolStream<'_, 'a, D, K, H>
where
    D: Device,
    K: Clock,
    H: FnMut(&mut SocketSet<'a>),
{
    fn drop(&mut self) {
        if let Ok(mut stack) = self.stack.try_borrow_mut() {
            stack
                .sockets
                .get_mut::<tcp::Socket<'a>>(self.handle)
                .abort();
            stack.poll();
        }
    }
}

fn smol_now<K: Clock>(clock: &K) -> smoltcp::time::Instant {
    let ms = i64::try_from(clock.now().as_millis()).unwrap_or(i64::MAX);
    smoltcp::time::Instant::from_millis(ms)
}
