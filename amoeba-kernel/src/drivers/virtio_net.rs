//! virtio network cards (QEMU `virtio-net-pci`), through the `virtio-drivers` crate.
//!
//! Spec: OASIS "Virtual I/O Device (VIRTIO) Version 1.1", 4.1 (virtio over PCI: the vendor
//! capabilities that place the common configuration, notification, ISR and device
//! configuration structures in memory BARs), 5.1 (network device: receive queue 0, transmit
//! queue 1, a `virtio_net_hdr` before every frame). The crate drives the modern (virtio 1.x)
//! interface only; a transitional device (id 0x1000) offers it beside the legacy I/O BAR, a
//! modern-only one (0x1041) offers nothing else.
//!
//! Interrupts: MSI-X stays off, so the device raises its legacy INTx line (level triggered).
//! Reading the ISR status register acknowledges it and drops the line
//! ([`Nic::service_interrupt`]).
//!
//! Buffers (ours): [`QUEUE_SIZE`] receive buffers, one frame each, always on the receive queue
//! but while a received frame is copied out; [`TRANSMIT_SLOTS`] transmit buffers, each on the
//! transmit queue from `send` until the device reports it sent. All are on the kernel heap,
//! which is identity mapped: the device reads and writes them in place.

use super::virtio_hal::KernelHal;
use super::virtio_pci;
use crate::net::{ETHERNET_HEADER, MAX_FRAME, MIN_FRAME, Nic, SendError};
use alloc::boxed::Box;
use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::pci::PciTransport;

/// PCI device ids of a network card (virtio 1.1, 4.1.2.1 and 4.1.2.3).
const DEVICE_NET_TRANSITIONAL: u16 = 0x1000;
const DEVICE_NET_MODERN: u16 = 0x1041;

/// Descriptors per virtqueue (a power of two, at most the device's 256).
const QUEUE_SIZE: usize = 16;
/// The largest `virtio_net_hdr` (12 bytes with VIRTIO_F_VERSION_1, 5.1.6) in front of a frame.
const HEADER_MAX: usize = 12;
/// One frame and its header: 1526 bytes, the least a receive buffer may be without mergeable
/// buffers or receive offloads (5.1.6.3.1), which the crate does not negotiate.
const BUFFER_BYTES: usize = HEADER_MAX + MAX_FRAME;
/// Frames on their way out at once; each takes one descriptor of the transmit queue.
const TRANSMIT_SLOTS: usize = 8;
const _: () = assert!(TRANSMIT_SLOTS <= QUEUE_SIZE);

type Device = VirtIONetRaw<KernelHal, PciTransport, QUEUE_SIZE>;
type Buffer = Box<[u8; BUFFER_BYTES]>;

struct TransmitSlot {
    buffer: Buffer,
    /// The device's token while the buffer is on the transmit queue, and the bytes it holds.
    queued: Option<(u16, usize)>,
}

pub struct VirtioNet {
    /// Declared first so that it is dropped (and the device reset) before the buffers it uses.
    device: Device,
    line: u8,
    mac: [u8; 6],
    /// Receive buffers on the queue, by the token (descriptor index) the device returns them by.
    receiving: [Option<Buffer>; QUEUE_SIZE],
    transmit: [TransmitSlot; TRANSMIT_SLOTS],
    dropped: u64,
    /// The device returned a buffer we never gave it: the queues can no longer be trusted and
    /// the card is left alone.
    broken: bool,
}

fn new_buffer() -> Buffer {
    Box::new([0; BUFFER_BYTES])
}

/// Finds the first virtio network card on the PCI bus and starts it.
#[inline(never)] // one symbol per component: image checks find selected drivers by name
pub fn probe() -> Option<VirtioNet> {
    let (transport, line) =
        virtio_pci::open("virtio-net", &[DEVICE_NET_TRANSITIONAL, DEVICE_NET_MODERN])?;
    let device = match Device::new(transport) {
        Ok(device) => device,
        Err(error) => {
            log::warn!("virtio-net: cannot start the card: {error}; card ignored");
            return None;
        }
    };
    let mut card = VirtioNet {
        mac: device.mac_address(),
        device,
        line,
        receiving: core::array::from_fn(|_| None),
        transmit: core::array::from_fn(|_| TransmitSlot {
            buffer: new_buffer(),
            queued: None,
        }),
        dropped: 0,
        broken: false,
    };
    for _ in 0..QUEUE_SIZE {
        card.give_receive_buffer(new_buffer());
    }
    card.device.enable_interrupts();
    Some(card)
}

impl VirtioNet {
    /// Puts `buffer` on the receive queue.
    fn give_receive_buffer(&mut self, mut buffer: Buffer) {
        // SAFETY: the buffer is kept in `receiving` under its token and not touched until the
        // device returns that token, when `receive` completes it with the same buffer; the Box
        // keeps its address while it moves.
        match unsafe { self.device.receive_begin(buffer.as_mut_slice()) } {
            Ok(token) => match self.receiving.get_mut(usize::from(token)) {
                Some(slot @ None) => *slot = Some(buffer),
                _ => {
                    // Never happens (tokens are free descriptor indices); the device may write
                    // the buffer, so it must never be freed.
                    log::error!("virtio-net: receive token {token} already in use");
                    Box::leak(buffer);
                    self.broken = true;
                }
            },
            Err(error) => {
                log::warn!("virtio-net: receive buffer not queued: {error}");
                self.dropped += 1;
            }
        }
    }

    /// Takes back the transmit buffers the device is done with.
    fn reclaim_sent(&mut self) {
        while let Some(token) = self.device.poll_transmit() {
            let Some(slot) = self
                .transmit
                .iter_mut()
                .find(|slot| slot.queued.is_some_and(|(queued, _)| queued == token))
            else {
                log::error!("virtio-net: the device returned an unknown transmit token {token}");
                self.broken = true;
                return;
            };
            let Some((_, length)) = slot.queued.take() else {
                return;
            };
            // SAFETY: the same buffer and length that `send` queued under this token.
            let sent = unsafe { self.device.transmit_complete(token, &slot.buffer[..length]) };
            if sent.is_err() {
                self.dropped += 1;
            }
        }
    }
}

impl Nic for VirtioNet {
    fn name(&self) -> &'static str {
        "virtio-net"
    }

    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn interrupt_line(&self) -> u8 {
        self.line
    }

    fn send(&mut self, frame: &[u8]) -> Result<(), SendError> {
        if frame.len() > MAX_FRAME || frame.len() < ETHERNET_HEADER {
            return Err(SendError::BadLength(frame.len()));
        }
        if self.broken {
            return Err(SendError::Failed);
        }
        self.reclaim_sent();
        let Some(slot) = self.transmit.iter_mut().find(|slot| slot.queued.is_none()) else {
            return Err(SendError::Busy);
        };
        let Ok(header) = self.device.fill_buffer_header(slot.buffer.as_mut_slice()) else {
            return Err(SendError::Failed);
        };
        let padded = frame.len().max(MIN_FRAME);
        let Some(body) = slot.buffer.get_mut(header..header + padded) else {
            return Err(SendError::Failed);
        };
        let (data, padding) = body.split_at_mut(frame.len());
        data.copy_from_slice(frame);
        padding.fill(0);
        let length = header + padded;
        // SAFETY: the buffer stays in its slot, untouched, until `reclaim_sent` completes the
        // token with the same slice; the Box keeps its address.
        match unsafe { self.device.transmit_begin(&slot.buffer[..length]) } {
            Ok(token) => {
                slot.queued = Some((token, length));
                Ok(())
            }
            Err(_) => Err(SendError::Busy),
        }
    }

    fn receive(&mut self, out: &mut [u8; MAX_FRAME]) -> Option<usize> {
        while !self.broken {
            let token = self.device.poll_receive()?;
            let Some(mut buffer) = self
                .receiving
                .get_mut(usize::from(token))
                .and_then(Option::take)
            else {
                log::error!("virtio-net: the device returned an unknown receive token {token}");
                self.broken = true;
                return None;
            };
            // SAFETY: the buffer `give_receive_buffer` queued under this token.
            let completed = unsafe { self.device.receive_complete(token, buffer.as_mut_slice()) };
            let frame = completed
                .ok()
                .filter(|&(_, length)| (ETHERNET_HEADER..=MAX_FRAME).contains(&length))
                .and_then(|(header, length)| buffer.get(header..header + length));
            let kept = frame.map(|frame| {
                out[..frame.len()].copy_from_slice(frame);
                frame.len()
            });
            if kept.is_none() {
                self.dropped += 1;
            }
            self.give_receive_buffer(buffer);
            if kept.is_some() {
                return kept;
            }
        }
        None
    }

    fn service_interrupt(&mut self) -> bool {
        // Reading the ISR status acknowledges the interrupt: the device drops its line.
        let _status = self.device.ack_interrupt();
        self.reclaim_sent();
        !self.broken && self.device.poll_receive().is_some()
    }

    fn dropped(&self) -> u64 {
        self.dropped
    }
}
