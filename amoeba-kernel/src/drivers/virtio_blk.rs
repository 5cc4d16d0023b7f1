//! virtio block devices (QEMU `virtio-blk-pci`), through the `virtio-drivers` crate.
//!
//! Spec: OASIS "Virtual I/O Device (VIRTIO) Version 1.1", 5.2 (block device: one request queue;
//! a request is a header naming the type and the first 512-byte sector, the data, and a status
//! byte the device writes last), 4.1 (virtio over PCI, [`super::virtio_pci`]).
//!
//! Interrupt driven: a read or a write is put on the queue, and the calling thread (the vdisk
//! server's) waits for the device's legacy INTx line until the device has used the request,
//! then acknowledges it (reading the ISR status drops the line). A line that another driver's
//! thread already waits on (a card sharing it) cannot be awaited by a second thread: then the
//! wait is a short sleep instead, and the log says so once. Flush (VIRTIO_BLK_F_FLUSH) is
//! waited for by the crate, which has no queued form of it; it is rare (a commit).
//!
//! One request at a time: the vdisk server serves one transaction after another.

use super::virtio_hal::KernelHal;
use super::virtio_pci;
use crate::sched;
use alloc::boxed::Box;
use alloc::vec;
use libamoeba::servers::vdisk::{BLOCK_BYTES, BlockDevice, DeviceError};
use libamoeba::syscall::Error;
use virtio_drivers::device::blk::{BlkReq, BlkResp, SECTOR_SIZE, VirtIOBlk};
use virtio_drivers::transport::pci::PciTransport;

/// PCI device ids of a block device (virtio 1.1, 4.1.2.1 and 4.1.2.3).
const DEVICE_BLK_TRANSITIONAL: u16 = 0x1001;
const DEVICE_BLK_MODERN: u16 = 0x1042;
/// How long a wait for the device lasts when its line cannot be awaited (nanoseconds).
const POLL_NANOS: u64 = 50_000;
/// Longest wait for one request before the device counts as broken (nanoseconds).
const REQUEST_LIMIT_NANOS: u64 = 10_000_000_000;

const _: () = assert!(SECTOR_SIZE == BLOCK_BYTES);

type Device = VirtIOBlk<KernelHal, PciTransport>;

pub struct VirtioBlk {
    device: Device,
    line: u8,
    blocks: u64,
    /// The line is awaited by another thread: wait by sleeping.
    polling: bool,
}

/// Finds the first virtio block device on the PCI bus and starts it.
#[inline(never)] // one symbol per component: image checks find selected drivers by name
pub fn probe() -> Option<VirtioBlk> {
    let (transport, line) =
        virtio_pci::open("virtio-blk", &[DEVICE_BLK_TRANSITIONAL, DEVICE_BLK_MODERN])?;
    let mut device = match Device::new(transport) {
        Ok(device) => device,
        Err(error) => {
            log::warn!("virtio-blk: cannot start the device: {error}; disk ignored");
            return None;
        }
    };
    device.enable_interrupts();
    let blocks = device.capacity();
    log::info!(
        "virtio-blk: {blocks} blocks of {BLOCK_BYTES} bytes ({} MiB) on irq {line}{}",
        blocks * BLOCK_BYTES as u64 >> 20,
        if device.readonly() { ", read-only" } else { "" }
    );
    Some(VirtioBlk {
        device,
        line,
        blocks,
        polling: false,
    })
}

/// Which way a request moves data.
enum Transfer<'a> {
    In(&'a mut [u8]),
    Out(&'a [u8]),
}

impl VirtioBlk {
    /// Puts one request on the queue and waits for the device to finish it.
    fn transfer(&mut self, first: u64, transfer: Transfer<'_>) -> Result<(), DeviceError> {
        let block = usize::try_from(first).map_err(|_| DeviceError::OutOfRange)?;
        // On the heap, which the device reaches as it is (identity mapped), like the data.
        let mut request = Box::new(BlkReq::default());
        let mut response = Box::new(BlkResp::default());
        // A bounce buffer the request owns while the device uses it, so the caller's buffer is
        // never borrowed by the device past this function, whatever happens.
        let len = match &transfer {
            Transfer::In(buffer) => buffer.len(),
            Transfer::Out(data) => data.len(),
        };
        let mut bounce = vec![0u8; len];
        if let Transfer::Out(data) = &transfer {
            bounce.copy_from_slice(data);
        }
        // SAFETY: `request`, `bounce` and `response` live until the request is completed
        // below with the same three, and are not touched in between; if the device never
        // finishes, they are leaked rather than freed under it.
        let token = unsafe {
            match transfer {
                Transfer::In(_) => {
                    self.device
                        .read_blocks_nb(block, &mut request, &mut bounce, &mut response)
                }
                Transfer::Out(_) => {
                    self.device
                        .write_blocks_nb(block, &mut request, &bounce, &mut response)
                }
            }
        }
        .map_err(|_| DeviceError::Failed)?;
        if !self.wait_for(token) {
            log::error!("virtio-blk: request for block {first} not finished in 10 s");
            core::mem::forget((request, response, bounce));
            return Err(DeviceError::Failed);
        }
        // SAFETY: the same buffers as given with the token, which the device has used.
        let done = unsafe {
            match transfer {
                Transfer::In(buffer) => {
                    let done = self.device.complete_read_blocks(
                        token,
                        &request,
                        &mut bounce,
                        &mut response,
                    );
                    buffer.copy_from_slice(&bounce);
                    done
                }
                Transfer::Out(_) => {
                    self.device
                        .complete_write_blocks(token, &request, &bounce, &mut response)
                }
            }
        };
        done.map_err(|_| DeviceError::Failed)
    }

    /// Waits until the device has used the request `token`; false after the limit.
    fn wait_for(&mut self, token: u16) -> bool {
        let mut waited = 0;
        while self.device.peek_used() != Some(token) {
            if waited >= REQUEST_LIMIT_NANOS {
                return false;
            }
            if self.polling {
                sched::sleep(POLL_NANOS);
                waited += POLL_NANOS;
                continue;
            }
            match sched::interrupt_await(u64::from(self.line), Some(REQUEST_LIMIT_NANOS)) {
                Ok(()) => {
                    self.device.ack_interrupt();
                }
                Err(Error::TimedOut) => waited = REQUEST_LIMIT_NANOS,
                Err(_) => {
                    log::warn!(
                        "virtio-blk: irq {} is awaited by another driver; waiting by polling",
                        self.line
                    );
                    self.polling = true;
                }
            }
        }
        true
    }
}

impl BlockDevice for VirtioBlk {
    fn blocks(&self) -> u64 {
        self.blocks
    }

    fn read(&mut self, first: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        self.transfer(first, Transfer::In(buffer))
    }

    fn write(&mut self, first: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.transfer(first, Transfer::Out(data))
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        self.device.flush().map_err(|_| DeviceError::Failed)
    }
}
