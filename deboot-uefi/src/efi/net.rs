//! The network stack: swarm-net's smoltcp adapter over [`SnpDevice`], with an address from
//! DHCPv4 (or the static fallback) and one TCP socket per node.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::net::Ipv4Addr;

use deboot_uefi::config::IpConfig;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::{dhcpv4, tcp};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Cidr};
use swarm_net::smoltcp_net::{SmolConnector, SmolStack};

use super::clock::Clock;
use super::snp::SnpDevice;

/// How long to wait for a DHCP lease before the static fallback.
pub(crate) const DHCP_TIMEOUT_US: u64 = 4_000_000;
/// TCP receive window per socket: room for a full window of pipelined chunk answers.
const RX_BUF_LEN: usize = 512 << 10;
/// TCP send buffer per socket: requests are small.
const TX_BUF_LEN: usize = 16 << 10;

/// Runs after every poll of the stack; deboot.efi has no other application on it.
pub(crate) type Hook = fn(&mut SocketSet<'static>);
/// The stack type.
pub(crate) type Stack = SmolStack<'static, SnpDevice, Clock, Hook>;
/// Opens connections for swarm-net's driver.
pub(crate) type Connector<'s> = SmolConnector<'s, 'static, SnpDevice, Clock, Hook>;

/// The configured stack and its TCP sockets.
pub(crate) struct Net {
    stack: RefCell<Stack>,
    handles: Vec<SocketHandle>,
    clock: Clock,
}

impl Net {
    /// Opens the NIC, configures an address (DHCP unless `dhcp=off`, for up to
    /// [`DHCP_TIMEOUT_US`], else the static `ip=`/`gw=`) and adds `sockets` TCP sockets.
    pub(crate) fn up(cfg: &IpConfig, clock: Clock, sockets: usize) -> Result<Self, String> {
        let mut dev = SnpDevice::open().map_err(String::from)?;
        let mac = EthernetAddress(dev.mac());
        let mut config = Config::new(HardwareAddress::Ethernet(mac));
        config.random_seed = clock.seed();
        let iface = Interface::new(config, &mut dev, Instant::from_micros(0));
        let hook: Hook = |_| {};
        let mut stack = SmolStack::new(iface, dev, SocketSet::new(Vec::new()), clock, hook);
        let lease = if cfg.dhcp {
            dhcp(&mut stack, &clock)
        } else {
            None
        };
        let (address, gateway, how) = match (lease, cfg.address) {
            (Some((a, g)), _) => (a, g, "DHCP"),
            (None, Some((a, n))) => (Ipv4Cidr::new(a, n), cfg.gateway, "static"),
            (None, None) => {
                return Err(format!(
                    "no DHCP lease within {} s and no ip= fallback configured",
                    DHCP_TIMEOUT_US / 1_000_000
                ))
            }
        };
        stack.iface.update_ip_addrs(|addrs| {
            addrs.clear();
            let _ = addrs.push(IpCidr::Ipv4(address));
        });
        stack.iface.routes_mut().remove_default_ipv4_route();
        if let Some(gw) = gateway {
            let _ = stack.iface.routes_mut().add_default_ipv4_route(gw);
        }
        let handles = (0..sockets)
            .map(|_| {
                let mut s = tcp::Socket::new(
                    tcp::SocketBuffer::new(vec![0; RX_BUF_LEN]),
                    tcp::SocketBuffer::new(vec![0; TX_BUF_LEN]),
                );
                s.set_nagle_enabled(false);
                // ACK every segment at once: the relay's side (slirp on QEMU, any BSD-style stack)
                // runs Nagle, and delayed ACKs would stall each chunk answer (measured: 3.3 vs 5.3 MB/s).
                s.set_ack_delay(None);
                stack.sockets.add(s)
            })
            .collect();
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
        Ok(Self {
            stack: RefCell::new(stack),
            handles,
            clock,
        })
    }

    /// A connector for swarm-net's driver, opening connections on this stack's sockets.
    pub(crate) fn connector(&self) -> Connector<'_> {
        SmolConnector::new(&self.stack, &self.handles)
    }

    /// Microseconds since the clock was calibrated.
    pub(crate) fn now_us(&self) -> u64 {
        self.clock.now_us()
    }

    /// Closes the NIC and gives the firmware its network stack back.
    pub(crate) fn close(self) {
        self.stack.into_inner().device.close();
    }
}

/// Runs DHCP until a lease or [`DHCP_TIMEOUT_US`]; the address and router.
fn dhcp(stack: &mut Stack, clock: &Clock) -> Option<(Ipv4Cidr, Option<Ipv4Addr>)> {
    let handle = stack.sockets.add(dhcpv4::Socket::new());
    let deadline = clock.now_us().saturating_add(DHCP_TIMEOUT_US);
    let mut lease = None;
    while lease.is_none() && clock.now_us() < deadline {
        stack.poll();
        if let Some(dhcpv4::Event::Configured(c)) =
            stack.sockets.get_mut::<dhcpv4::Socket>(handle).poll()
        {
            lease = Some((c.address, c.router));
        }
    }
    stack.sockets.remove(handle);
    lease
}
