//! The network stack: smoltcp over [`SnpDevice`], an address by DHCPv4 (or the static
//! fallback), and TCP connections as `embedded_io` `Read + Write` streams.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::net::{Ipv4Addr, SocketAddrV4};

use deboot_uefi::config::IpConfig;
use embedded_io::ErrorKind;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::{dhcpv4, tcp};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Cidr};

use super::clock::Clock;
use super::snp::SnpDevice;

/// How long to wait for a DHCP lease before the static fallback.
pub(crate) const DHCP_TIMEOUT_US: u64 = 4_000_000;
/// TCP receive window: large enough to keep a fast path busy under TCG (window scaling).
const RX_BUF_LEN: usize = 1 << 20;
/// TCP send buffer: requests are small.
const TX_BUF_LEN: usize = 64 << 10;

/// The interface and its sockets. Streams borrow it shared, so several may be open at once.
pub(crate) struct Net {
    inner: RefCell<Inner>,
    clock: Clock,
    /// The address in use.
    pub(crate) address: Ipv4Cidr,
}

struct Inner {
    iface: Interface,
    dev: SnpDevice,
    sockets: SocketSet<'static>,
    next_port: u16,
}

/// One TCP connection; closed (aborted) when dropped.
pub(crate) struct TcpStream<'a> {
    net: &'a Net,
    handle: SocketHandle,
    timeout_us: u64,
}

impl Net {
    /// Opens the NIC and configures an address: DHCP (unless `dhcp=off`) for up to
    /// [`DHCP_TIMEOUT_US`], else the static `ip=`/`gw=`.
    pub(crate) fn up(cfg: &IpConfig, clock: Clock) -> Result<Self, String> {
        let mut dev = SnpDevice::open().map_err(String::from)?;
        let mac = EthernetAddress(dev.mac());
        let mut config = Config::new(HardwareAddress::Ethernet(mac));
        config.random_seed = clock.seed();
        let iface = Interface::new(config, &mut dev, Instant::from_micros_const(0));
        let port = 49152 + u16::try_from(clock.seed() % 16384).unwrap_or(0);
        let net = Self {
            inner: RefCell::new(Inner {
                iface,
                dev,
                sockets: SocketSet::new(Vec::new()),
                next_port: port,
            }),
            clock,
            address: Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 0),
        };
        let (address, gateway, how) = match (cfg.dhcp, net.dhcp()) {
            (true, Some((a, g))) => (a, g, "DHCP"),
            _ => match cfg.address {
                Some((a, n)) => (Ipv4Cidr::new(a, n), cfg.gateway, "static"),
                None => {
                    return Err(format!(
                        "no DHCP lease within {} s and no ip= fallback configured",
                        DHCP_TIMEOUT_US / 1_000_000
                    ))
                }
            },
        };
        let mut net = net;
        net.address = address;
        {
            let inner = net.inner.get_mut();
            inner.iface.update_ip_addrs(|addrs| {
                addrs.clear();
                let _ = addrs.push(IpCidr::Ipv4(address));
            });
            inner.iface.routes_mut().remove_default_ipv4_route();
            if let Some(gw) = gateway {
                let _ = inner.iface.routes_mut().add_default_ipv4_route(gw);
            }
        }
        let m = mac.0;
        uefi::println!(
            "deboot: {address} ({how}), gateway {}, MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            gateway.map_or(String::from("none"), |g| format!("{g}")),
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5]
        );
        Ok(net)
    }

    /// Microseconds since the clock was calibrated.
    pub(crate) fn now_us(&self) -> u64 {
        self.clock.now_us()
    }

    /// Moves packets: everything received is processed, everything queued is sent.
    pub(crate) fn poll(&self) {
        let now = self.instant();
        let mut inner = self.inner.borrow_mut();
        let Inner {
            iface,
            dev,
            sockets,
            ..
        } = &mut *inner;
        iface.poll(now, dev, sockets);
    }

    /// Opens a TCP connection, waiting up to `timeout_us` for the handshake.
    pub(crate) fn connect(
        &self,
        addr: SocketAddrV4,
        timeout_us: u64,
    ) -> Result<TcpStream<'_>, ErrorKind> {
        let handle = {
            let mut inner = self.inner.borrow_mut();
            let mut socket = tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; RX_BUF_LEN]),
                tcp::SocketBuffer::new(vec![0; TX_BUF_LEN]),
            );
            socket.set_nagle_enabled(false);
            socket.set_ack_delay(None);
            let port = inner.next_port;
            inner.next_port = port.checked_add(1).unwrap_or(49152);
            let Inner { iface, sockets, .. } = &mut *inner;
            socket
                .connect(iface.context(), (*addr.ip(), addr.port()), port)
                .map_err(|_| ErrorKind::InvalidInput)?;
            sockets.add(socket)
        };
        let stream = TcpStream {
            net: self,
            handle,
            timeout_us,
        };
        let deadline = self.now_us().saturating_add(timeout_us);
        loop {
            self.poll();
            match stream.with(|s| s.state()) {
                tcp::State::Established => return Ok(stream),
                tcp::State::Closed | tcp::State::TimeWait => {
                    return Err(ErrorKind::ConnectionRefused)
                }
                _ => {}
            }
            if self.now_us() > deadline {
                return Err(ErrorKind::TimedOut);
            }
        }
    }

    /// Closes the NIC and gives the firmware its network stack back.
    pub(crate) fn close(self) {
        self.inner.into_inner().dev.close();
    }

    fn instant(&self) -> Instant {
        Instant::from_micros(i64::try_from(self.clock.now_us()).unwrap_or(i64::MAX))
    }

    /// Runs DHCP until a lease or [`DHCP_TIMEOUT_US`]; the address and router.
    fn dhcp(&self) -> Option<(Ipv4Cidr, Option<Ipv4Addr>)> {
        let handle = self.inner.borrow_mut().sockets.add(dhcpv4::Socket::new());
        let deadline = self.now_us().saturating_add(DHCP_TIMEOUT_US);
        let mut lease = None;
        while lease.is_none() && self.now_us() < deadline {
            self.poll();
            let mut inner = self.inner.borrow_mut();
            if let Some(dhcpv4::Event::Configured(c)) =
                inner.sockets.get_mut::<dhcpv4::Socket>(handle).poll()
            {
                lease = Some((c.address, c.router));
            }
        }
        self.inner.borrow_mut().sockets.remove(handle);
        lease
    }
}

impl TcpStream<'_> {
    fn with<R>(&self, f: impl FnOnce(&mut tcp::Socket<'static>) -> R) -> R {
        let mut inner = self.net.inner.borrow_mut();
        f(inner.sockets.get_mut::<tcp::Socket>(self.handle))
    }
}

impl Drop for TcpStream<'_> {
    fn drop(&mut self) {
        self.with(tcp::Socket::abort);
        self.net.poll(); // sends the RST
        self.net.inner.borrow_mut().sockets.remove(self.handle);
    }
}

impl embedded_io::ErrorType for TcpStream<'_> {
    type Error = ErrorKind;
}

impl embedded_io::Read for TcpStream<'_> {
    /// Blocks until at least one byte arrived; `Ok(0)` at the peer's orderly close.
    ///
    /// # Errors
    /// `TimedOut` after the stream's timeout without data, `ConnectionReset` on a reset.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        if buf.is_empty() {
            return Ok(0);
        }
        let deadline = self.net.now_us().saturating_add(self.timeout_us);
        loop {
            self.net.poll();
            let r = self.with(|s| {
                if s.can_recv() {
                    Some(s.recv_slice(buf).map_err(|_| ErrorKind::ConnectionReset))
                } else if !s.may_recv() {
                    // Closed by the peer (FIN after data: EOF) or reset before any FIN.
                    Some(match s.state() {
                        tcp::State::CloseWait | tcp::State::LastAck | tcp::State::TimeWait => Ok(0),
                        _ => Err(ErrorKind::ConnectionReset),
                    })
                } else {
                    None
                }
            });
            if let Some(r) = r {
                return r;
            }
            if self.net.now_us() > deadline {
                return Err(ErrorKind::TimedOut);
            }
        }
    }
}

impl embedded_io::Write for TcpStream<'_> {
    /// Queues at least one byte, waiting for room if the send buffer is full.
    ///
    /// # Errors
    /// `TimedOut` when no room frees up in time, `ConnectionReset` when the peer is gone.
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        if buf.is_empty() {
            return Ok(0);
        }
        let deadline = self.net.now_us().saturating_add(self.timeout_us);
        loop {
            let r = self.with(|s| {
                if s.can_send() {
                    Some(s.send_slice(buf).map_err(|_| ErrorKind::ConnectionReset))
                } else if !s.may_send() {
                    Some(Err(ErrorKind::ConnectionReset))
                } else {
                    None
                }
            });
            if let Some(r) = r {
                self.net.poll();
                return r;
            }
            self.net.poll();
            if self.net.now_us() > deadline {
                return Err(ErrorKind::TimedOut);
            }
        }
    }

    /// Hands everything queued to the NIC (as far as the peer's window allows).
    fn flush(&mut self) -> Result<(), ErrorKind> {
        self.net.poll();
        Ok(())
    }
}
