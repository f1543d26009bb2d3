//! smoltcp's `Device` over the firmware's Simple Network Protocol (SNP), opened exclusively so
//! the firmware's own network stack does not compete for packets.
//!
//! TX buffer ownership: SNP `Transmit` reads the caller's buffer asynchronously, so the one
//! transmit buffer is not written again until `GetStatus` hands it back as recycled.

use alloc::boxed::Box;

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use uefi::boot::{self, ScopedProtocol};
use uefi::proto::device_path::{DevicePath, DeviceSubType, DeviceType};
use uefi::proto::network::snp::{ReceiveFlags, SimpleNetwork};
use uefi::{Handle, Status};

/// Largest Ethernet frame without FCS.
const FRAME_LEN: usize = 1514;
/// Buffer size (SNP may want room beyond the frame for its media header bookkeeping).
const BUF_LEN: usize = 1536;
/// How many `GetStatus` polls to wait for the TX buffer before dropping a frame.
const MAX_RECYCLE_POLLS: u32 = 1_000_000;

/// The NIC, opened exclusively and initialized.
pub(crate) struct SnpDevice {
    snp: ScopedProtocol<SimpleNetwork>,
    handle: Handle,
    rx: Box<[u8; BUF_LEN]>,
    tx: Box<[u8; BUF_LEN]>,
    /// The firmware holds `tx` until it reports it recycled.
    tx_in_flight: bool,
    mac: [u8; 6],
}

/// A received frame.
pub(crate) struct RxToken<'a>(&'a [u8]);

/// Permission to send one frame.
pub(crate) struct TxToken<'a> {
    snp: &'a mut ScopedProtocol<SimpleNetwork>,
    buf: &'a mut [u8; BUF_LEN],
    in_flight: &'a mut bool,
}

impl SnpDevice {
    /// Finds the NIC (the SNP handle whose device path ends in a MAC node, not the IPv4/IPv6
    /// children that PXE and HTTP boot add), opens it exclusively and brings it up.
    pub(crate) fn open() -> Result<Self, &'static str> {
        let handles =
            boot::find_handles::<SimpleNetwork>().map_err(|_| "no network interface (SNP)")?;
        let handle = handles
            .iter()
            .copied()
            .find(|h| ends_in_mac_node(*h))
            .or_else(|| handles.first().copied())
            .ok_or("no network interface (SNP)")?;
        let mut snp = boot::open_protocol_exclusive::<SimpleNetwork>(handle)
            .map_err(|_| "cannot open the network interface exclusively")?;
        // Exclusive open disconnected MNP, which stops the SNP: start it again.
        match snp.start() {
            Ok(()) => {}
            Err(e) if e.status() == Status::ALREADY_STARTED => {}
            Err(_) => return Err("network interface: SNP start failed"),
        }
        match snp.initialize(0, 0) {
            Ok(()) => {}
            Err(e) if e.status() == Status::ALREADY_STARTED => {}
            Err(_) => return Err("network interface: SNP initialize failed"),
        }
        let filters = ReceiveFlags::UNICAST | ReceiveFlags::BROADCAST;
        snp.receive_filters(filters, ReceiveFlags::empty(), false, None)
            .map_err(|_| "network interface: SNP receive filters failed")?;
        let mode = snp.mode();
        let mut mac = [0u8; 6];
        if let Some(src) = mode.current_address.0.get(..6) {
            mac.copy_from_slice(src);
        }
        Ok(Self {
            snp,
            handle,
            rx: Box::new([0; BUF_LEN]),
            tx: Box::new([0; BUF_LEN]),
            tx_in_flight: false,
            mac,
        })
    }

    /// The NIC's MAC address.
    pub(crate) fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Closes the NIC and reconnects the firmware's network stack (MNP, IP4, PXE, ...), so the
    /// booted image finds the firmware as it was.
    pub(crate) fn close(mut self) {
        wait_recycled(&mut self.snp, &self.tx, &mut self.tx_in_flight);
        let handle = self.handle;
        drop(self);
        let _ = boot::connect_controller(handle, &[], None, true);
    }
}

impl phy::Device for SnpDevice {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        // NOT_READY (nothing queued) and errors alike mean no frame now.
        let len = self
            .snp
            .receive(&mut self.rx[..], None, None, None, None)
            .ok()?;
        let frame = self.rx.get(..len)?;
        Some((
            RxToken(frame),
            TxToken {
                snp: &mut self.snp,
                buf: &mut self.tx,
                in_flight: &mut self.tx_in_flight,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            snp: &mut self.snp,
            buf: &mut self.tx,
            in_flight: &mut self.tx_in_flight,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = FRAME_LEN;
        caps.max_burst_size = None;
        caps
    }
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut scratch = [0u8; 0];
        if !wait_recycled(self.snp, self.buf, self.in_flight) {
            // The NIC kept the buffer: build the frame into nothing and drop it (TCP resends).
            return f(&mut scratch);
        }
        let Some(frame) = self.buf.get_mut(..len.min(FRAME_LEN)) else {
            return f(&mut scratch);
        };
        let r = f(frame);
        // The firmware now owns `frame` until `GetStatus` recycles it: `wait_recycled` runs
        // before `buf` is written again (next frame, or `close`).
        for _ in 0..MAX_RECYCLE_POLLS {
            match self.snp.transmit(0, frame, None, None, None) {
                Ok(()) => {
                    *self.in_flight = true;
                    break;
                }
                Err(e) if e.status() == Status::NOT_READY => {
                    // TX queue full: reap completions, try again.
                    let _ = self.snp.get_recycled_transmit_buffer_status();
                }
                Err(_) => break,
            }
        }
        r
    }
}

/// Waits until the firmware has given `buf` back; false if it never did.
fn wait_recycled(snp: &mut SimpleNetwork, buf: &[u8; BUF_LEN], in_flight: &mut bool) -> bool {
    let mut polls = 0;
    while *in_flight {
        match snp.get_recycled_transmit_buffer_status() {
            Ok(Some(p)) if core::ptr::eq(p.as_ptr().cast_const(), buf.as_ptr()) => {
                *in_flight = false
            }
            Ok(_) => {}
            Err(_) => return false,
        }
        polls += 1;
        if polls >= MAX_RECYCLE_POLLS {
            return false;
        }
    }
    true
}

/// Whether `handle`'s device path ends in a MAC address node.
fn ends_in_mac_node(handle: Handle) -> bool {
    let params = boot::OpenProtocolParams {
        handle,
        agent: boot::image_handle(),
        controller: None,
    };
    // SAFETY: GetProtocol does not take ownership; the device path stays installed on the NIC
    // handle for as long as the NIC exists, and we drop this before opening SNP exclusively.
    let Ok(path) = (unsafe {
        boot::open_protocol::<DevicePath>(params, boot::OpenProtocolAttributes::GetProtocol)
    }) else {
        return false;
    };
    path.node_iter().last().is_some_and(|n| {
        n.device_type() == DeviceType::MESSAGING
            && n.sub_type() == DeviceSubType::MESSAGING_MAC_ADDRESS
    })
}
