//! smoltcp's `Device` over the firmware's Simple Network Protocol (SNP), opened exclusively so
//! the firmware's own network stack does not compete for packets.
//!
//! TX buffer ownership: SNP `Transmit` reads the caller's buffer asynchronously, so a transmit
//! buffer is not written again until `GetStatus` hands it back as recycled. A ring of
//! [`TX_BUFFERS`] lets ACKs go out without waiting for each one to complete.

use alloc::boxed::Box;

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use uefi::boot::{self, ScopedProtocol};
use uefi::proto::device_path::{DevicePath, DeviceSubType, DeviceType};
use uefi::proto::network::snp::{ReceiveFlags, SimpleNetwork};
use uefi::{Handle, Status};

/// Largest Ethernet frame without FCS.
const FRAME_LEN: usize = 1514;
/// Buffer size (room beyond the frame, as SNP drivers like).
const BUF_LEN: usize = 1536;
/// How many `GetStatus` polls to wait for a free TX buffer before dropping a frame.
const MAX_RECYCLE_POLLS: u32 = 1_000_000;
/// Transmit buffers in the ring.
const TX_BUFFERS: usize = 16;

/// The NIC, opened exclusively and initialized.
pub(crate) struct SnpDevice {
    snp: ScopedProtocol<SimpleNetwork>,
    handle: Handle,
    rx: Box<[u8; BUF_LEN]>,
    tx: TxRing,
    mac: [u8; 6],
}

/// Transmit buffers; the firmware holds a buffer from `Transmit` until `GetStatus` recycles it.
struct TxRing {
    bufs: Box<[[u8; BUF_LEN]; TX_BUFFERS]>,
    /// Each buffer's address, as `GetStatus` reports a recycled one.
    bases: [usize; TX_BUFFERS],
    in_flight: [bool; TX_BUFFERS],
}

/// A received frame.
pub(crate) struct RxToken<'a>(&'a [u8]);

/// Permission to send one frame.
pub(crate) struct TxToken<'a> {
    snp: &'a mut ScopedProtocol<SimpleNetwork>,
    tx: &'a mut TxRing,
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
        let mut mac = [0u8; 6];
        if let Some(src) = snp.mode().current_address.0.get(..6) {
            mac.copy_from_slice(src);
        }
        Ok(Self {
            snp,
            handle,
            rx: Box::new([0; BUF_LEN]),
            tx: TxRing::new(),
            mac,
        })
    }

    /// The NIC's MAC address.
    pub(crate) fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Waits for the firmware to give back every TX buffer, closes the NIC and reconnects the
    /// firmware's network stack (MNP, IP4, PXE, ...), so the booted image finds it as it was.
    pub(crate) fn close(mut self) {
        let mut polls = 0;
        while self.tx.in_flight.iter().any(|f| *f) && polls < MAX_RECYCLE_POLLS {
            self.tx.reap(&mut self.snp);
            polls += 1;
        }
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
                tx: &mut self.tx,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            snp: &mut self.snp,
            tx: &mut self.tx,
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
        let Some(i) = self.tx.free(self.snp) else {
            // The NIC kept every buffer: build the frame into nothing and drop it (TCP resends).
            return f(&mut scratch);
        };
        let TxRing {
            bufs,
            bases,
            in_flight,
        } = &mut *self.tx;
        let Some(frame) = bufs
            .get_mut(i)
            .and_then(|b| b.get_mut(..len.min(FRAME_LEN)))
        else {
            return f(&mut scratch);
        };
        let r = f(frame);
        // From here the firmware owns `frame` until `GetStatus` recycles it: `free` never hands
        // out a buffer in flight, and `close` waits for all of them.
        let mut sent = false;
        for _ in 0..MAX_RECYCLE_POLLS {
            match self.snp.transmit(0, frame, None, None, None) {
                Ok(()) => {
                    sent = true;
                    break;
                }
                Err(e) if e.status() == Status::NOT_READY => {
                    // TX queue full: wait for a completion, then try again.
                    if let Ok(Some(p)) = self.snp.get_recycled_transmit_buffer_status() {
                        mark_recycled(bases, in_flight, p.as_ptr());
                    }
                }
                Err(_) => break,
            }
        }
        if let Some(flag) = in_flight.get_mut(i) {
            *flag = sent;
        }
        r
    }
}

impl TxRing {
    fn new() -> Self {
        let bufs = Box::new([[0; BUF_LEN]; TX_BUFFERS]);
        let mut bases = [0; TX_BUFFERS];
        for (base, buf) in bases.iter_mut().zip(bufs.iter()) {
            *base = buf.as_ptr() as usize;
        }
        Self {
            bufs,
            bases,
            in_flight: [false; TX_BUFFERS],
        }
    }

    /// Marks the buffer `GetStatus` reports as recycled, if any, free again.
    fn reap(&mut self, snp: &mut SimpleNetwork) {
        if let Ok(Some(p)) = snp.get_recycled_transmit_buffer_status() {
            mark_recycled(&self.bases, &mut self.in_flight, p.as_ptr());
        }
    }

    /// A buffer the firmware does not hold, reaping completions as needed.
    fn free(&mut self, snp: &mut SimpleNetwork) -> Option<usize> {
        for _ in 0..MAX_RECYCLE_POLLS {
            if let Some(i) = self.in_flight.iter().position(|f| !*f) {
                return Some(i);
            }
            self.reap(snp);
        }
        None
    }
}

fn mark_recycled(bases: &[usize; TX_BUFFERS], in_flight: &mut [bool; TX_BUFFERS], p: *mut u8) {
    for (base, f) in bases.iter().zip(in_flight.iter_mut()) {
        if *base == p as usize {
            *f = false;
        }
    }
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
