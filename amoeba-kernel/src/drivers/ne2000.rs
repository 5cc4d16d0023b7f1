//! NE2000-compatible network cards (QEMU `ne2k_pci`, a Realtek RTL8029 with vendor 0x10EC,
//! device 0x8029): the National Semiconductor DP8390 core behind I/O ports.
//!
//! Registers and bits: DP8390D datasheet (National Semiconductor, "DP8390D/NS32490D NIC Network
//! Interface Controller", 1995), sections 10 (register descriptions) and 11 (initialization).
//! The NE2000 convention adds the data port at base + 0x10, the reset port at base + 0x1F, the
//! station address PROM at buffer address 0 (each byte doubled in word mode), and 16 KiB of
//! buffer memory at 0x4000-0x7FFF (256-byte pages 0x40-0x7F). The RTL8029, and QEMU's model
//! of both cards, have 32 KiB, up to 0xBFFF: [`Ne2000::buffer_end`] finds out which.
//!
//! Buffer layout (ours): pages 0x40-0x45 hold the one frame being sent; the rest is the
//! receive ring (about 9 full frames in 16 KiB, 20 in 32 KiB: what a burst from a faster
//! sender may bring before the driver drains the ring). Transfers to and from buffer memory
//! use remote DMA, a word at a time.

use crate::arch::port::{inb, insw, inw, outb, outsw, outw};
use crate::drivers::pci;
use crate::net::{MAX_FRAME, MIN_FRAME, Nic, SendError};

const VENDOR_REALTEK: u16 = 0x10EC;
const DEVICE_RTL8029: u16 = 0x8029;

/// Page 0 registers (offsets from the I/O base), read (R) and write (W) meanings.
mod reg {
    pub const COMMAND: u16 = 0x00;
    /// W: first receive ring page; W: page after the ring's last.
    pub const PAGE_START: u16 = 0x01;
    pub const PAGE_STOP: u16 = 0x02;
    /// Boundary: the last ring page the host has read.
    pub const BOUNDARY: u16 = 0x03;
    /// W: transmit page start; R: transmit status.
    pub const TRANSMIT_PAGE: u16 = 0x04;
    pub const TRANSMIT_COUNT_LOW: u16 = 0x05;
    pub const TRANSMIT_COUNT_HIGH: u16 = 0x06;
    pub const INTERRUPT_STATUS: u16 = 0x07;
    pub const REMOTE_ADDRESS_LOW: u16 = 0x08;
    pub const REMOTE_ADDRESS_HIGH: u16 = 0x09;
    pub const REMOTE_COUNT_LOW: u16 = 0x0A;
    pub const REMOTE_COUNT_HIGH: u16 = 0x0B;
    pub const RECEIVE_CONFIG: u16 = 0x0C;
    pub const TRANSMIT_CONFIG: u16 = 0x0D;
    pub const DATA_CONFIG: u16 = 0x0E;
    pub const INTERRUPT_MASK: u16 = 0x0F;
    /// Page 1: the station address (6 registers), the current receive page, multicast mask.
    pub const PHYSICAL_ADDRESS: u16 = 0x01;
    pub const CURRENT_PAGE: u16 = 0x07;
    pub const MULTICAST_ADDRESS: u16 = 0x08;
    /// NE2000 additions.
    pub const DATA_PORT: u16 = 0x10;
    pub const RESET_PORT: u16 = 0x1F;
}

/// Command register bits.
mod cmd {
    pub const STOP: u8 = 0x01;
    pub const START: u8 = 0x02;
    pub const TRANSMIT: u8 = 0x04;
    pub const REMOTE_READ: u8 = 0x08;
    pub const REMOTE_WRITE: u8 = 0x10;
    pub const NO_DMA: u8 = 0x20;
    pub const PAGE_1: u8 = 0x40;
}

/// Interrupt status and mask bits.
mod isr {
    pub const RECEIVED: u8 = 0x01;
    pub const TRANSMITTED: u8 = 0x02;
    pub const RECEIVE_ERROR: u8 = 0x04;
    pub const TRANSMIT_ERROR: u8 = 0x08;
    pub const OVERWRITE: u8 = 0x10;
    pub const REMOTE_DMA_DONE: u8 = 0x40;
    pub const RESET: u8 = 0x80;
}

/// Data configuration: word-wide transfers, normal (not loopback) operation, FIFO threshold.
const DATA_CONFIG_WORD: u8 = 0x49;
/// Receive configuration: accept broadcast frames (and frames to our address).
const RECEIVE_BROADCAST: u8 = 0x04;
const RECEIVE_MONITOR: u8 = 0x20;
const TRANSMIT_NORMAL: u8 = 0x00;
const TRANSMIT_LOOPBACK: u8 = 0x02;
const INTERRUPTS_WANTED: u8 =
    isr::RECEIVED | isr::TRANSMITTED | isr::RECEIVE_ERROR | isr::TRANSMIT_ERROR | isr::OVERWRITE;

const PAGE_BYTES: usize = 256;
const TRANSMIT_START: u8 = 0x40;
const RING_START: u8 = 0x46;
/// The page after the last of 16 KiB of buffer memory, and of 32 KiB.
const BUFFER_END_16K: u8 = 0x80;
const BUFFER_END_32K: u8 = 0xC0;
/// The header the card writes before each received frame: status, next page, length (LE).
const RECEIVE_HEADER: usize = 4;
const _: () = assert!((RING_START - TRANSMIT_START) as usize * PAGE_BYTES >= MAX_FRAME);
/// Polls of a status bit before a card is declared dead.
const POLL_LIMIT: u32 = 100_000;

/// What one look at the receive ring found.
enum Step {
    Frame(usize),
    /// A frame of an impossible length, skipped.
    Dropped,
    /// Headers that do not add up: the ring must be restarted.
    Broken,
}

pub struct Ne2000 {
    base: u16,
    line: u8,
    mac: [u8; 6],
    /// The page after the receive ring's last: the end of buffer memory.
    ring_stop: u8,
    /// A frame handed to the card and not yet reported sent.
    sending: bool,
    dropped: u64,
}

/// Finds the first NE2000 (ne2k_pci) on the PCI bus and starts it.
#[inline(never)] // one symbol per component: image checks find selected drivers by name
pub fn probe() -> Option<Ne2000> {
    let device = pci::find(VENDOR_REALTEK, &[DEVICE_RTL8029])?;
    let Some(base) = pci::io_base(&device) else {
        log::warn!("ne2000: BAR 0 does not map I/O ports; card ignored");
        return None;
    };
    let Some(line) = pci::interrupt_line(&device) else {
        log::warn!("ne2000: no legacy interrupt line routed; card ignored");
        return None;
    };
    pci::enable_io_and_dma(&device);
    let mut card = Ne2000 {
        base,
        line,
        mac: [0; 6],
        ring_stop: BUFFER_END_16K,
        sending: false,
        dropped: 0,
    };
    if !card.reset() {
        log::warn!("ne2000: no reset acknowledge at io {base:#x}; card ignored");
        return None;
    }
    card.mac = card.read_station_address();
    card.ring_stop = card.buffer_end();
    log::info!(
        "ne2000: {} KiB of buffer memory, receive ring of {} pages",
        usize::from(card.ring_stop - TRANSMIT_START) / 4,
        card.ring_stop - RING_START
    );
    card.start();
    Some(card)
}

impl Ne2000 {
    fn read(&self, register: u16) -> u8 {
        // SAFETY: `base` is this card's I/O window from its PCI BAR; the driver owns the card
        // and reads only its registers.
        unsafe { inb(self.base + register) }
    }

    fn write(&self, register: u16, value: u8) {
        // SAFETY: as in `read`; the values written follow the DP8390 programming sequences.
        unsafe { outb(self.base + register, value) }
    }

    fn wait_for(&self, bits: u8) -> bool {
        (0..POLL_LIMIT).any(|_| self.read(reg::INTERRUPT_STATUS) & bits != 0)
    }

    /// Resets the card (a read-then-write of the reset port) and waits for it to say so.
    fn reset(&self) -> bool {
        let value = self.read(reg::RESET_PORT);
        self.write(reg::RESET_PORT, value);
        let acknowledged = self.wait_for(isr::RESET);
        self.write(reg::INTERRUPT_STATUS, 0xFF);
        acknowledged
    }

    /// Sets up remote DMA of `count` bytes at buffer address `address`.
    fn remote_dma(&self, address: u16, count: usize, direction: u8) {
        let [count_low, count_high] = (count as u16).to_le_bytes();
        let [address_low, address_high] = address.to_le_bytes();
        self.write(reg::REMOTE_COUNT_LOW, count_low);
        self.write(reg::REMOTE_COUNT_HIGH, count_high);
        self.write(reg::REMOTE_ADDRESS_LOW, address_low);
        self.write(reg::REMOTE_ADDRESS_HIGH, address_high);
        self.write(reg::COMMAND, direction | cmd::START);
    }

    /// Copies buffer memory at `address` into `out` (an even number of bytes is moved; the
    /// last odd byte comes from the final word).
    fn read_buffer(&self, address: u16, out: &mut [u8]) {
        self.remote_dma(address, out.len().next_multiple_of(2), cmd::REMOTE_READ);
        let port = self.base + reg::DATA_PORT;
        // SAFETY: reading the data port moves the next words of the remote DMA set up above,
        // which covers every word read here.
        unsafe { insw(port, out) };
        if let Some(last) = out.len().checked_sub(1).filter(|_| out.len() % 2 == 1) {
            // SAFETY: as above: the DMA's count was rounded up to this final word.
            out[last] = unsafe { inw(port) }.to_le_bytes()[0];
        }
        self.write(reg::INTERRUPT_STATUS, isr::REMOTE_DMA_DONE);
    }

    /// Copies `bytes` into buffer memory at `address`, followed by zeros up to `padded_len`.
    fn write_buffer(&self, address: u16, bytes: &[u8], padded_len: usize) {
        self.remote_dma(address, padded_len.next_multiple_of(2), cmd::REMOTE_WRITE);
        let port = self.base + reg::DATA_PORT;
        let whole_words = bytes.len().min(padded_len) & !1;
        // SAFETY: writing the data port moves words into the remote DMA set up above, whose
        // count covers these and the padding words below.
        unsafe { outsw(port, &bytes[..whole_words]) };
        for i in (whole_words..padded_len).step_by(2) {
            let word = [0, 1].map(|j| bytes.get(i + j).copied().unwrap_or(0));
            // SAFETY: as above.
            unsafe { outw(port, u16::from_le_bytes(word)) };
        }
        if !self.wait_for(isr::REMOTE_DMA_DONE) {
            log::warn!("ne2000: remote DMA did not complete");
        }
        self.write(reg::INTERRUPT_STATUS, isr::REMOTE_DMA_DONE);
    }

    /// Datasheet section 11: stopped, word mode, loopback while the ring is set up.
    fn read_station_address(&self) -> [u8; 6] {
        self.write(reg::COMMAND, cmd::STOP | cmd::NO_DMA);
        self.write(reg::DATA_CONFIG, DATA_CONFIG_WORD);
        self.write(reg::REMOTE_COUNT_LOW, 0);
        self.write(reg::REMOTE_COUNT_HIGH, 0);
        self.write(reg::INTERRUPT_MASK, 0);
        self.write(reg::INTERRUPT_STATUS, 0xFF);
        self.write(reg::RECEIVE_CONFIG, RECEIVE_MONITOR);
        self.write(reg::TRANSMIT_CONFIG, TRANSMIT_LOOPBACK);
        // In word mode the PROM holds each byte twice: read 12, keep every other one.
        let mut prom = [0u8; 12];
        self.read_buffer(0, &mut prom);
        core::array::from_fn(|i| prom[2 * i])
    }

    /// The end of buffer memory, found by writing the last page of 32 KiB and then the page a
    /// 16 KiB card would alias it to: on a 16 KiB card the first write is lost or overwritten.
    /// Runs while the card is stopped, before the ring is set up.
    fn buffer_end(&self) -> u8 {
        const TOP_32K: u16 = (BUFFER_END_32K as u16 - 1) << 8;
        const TOP_16K: u16 = (BUFFER_END_16K as u16 - 1) << 8;
        const MARK: [u8; 2] = [0x5A, 0xC3];
        self.write_buffer(TOP_32K, &MARK, MARK.len());
        self.write_buffer(TOP_16K, &[!MARK[0], !MARK[1]], MARK.len());
        let mut back = [0; 2];
        self.read_buffer(TOP_32K, &mut back);
        if back == MARK {
            BUFFER_END_32K
        } else {
            BUFFER_END_16K
        }
    }

    fn start(&self) {
        self.write(reg::COMMAND, cmd::STOP | cmd::NO_DMA);
        self.write(reg::TRANSMIT_PAGE, TRANSMIT_START);
        self.write(reg::PAGE_START, RING_START);
        self.write(reg::PAGE_STOP, self.ring_stop);
        self.write(reg::BOUNDARY, RING_START);
        self.write(reg::COMMAND, cmd::STOP | cmd::NO_DMA | cmd::PAGE_1);
        for (i, byte) in self.mac.iter().enumerate() {
            self.write(reg::PHYSICAL_ADDRESS + i as u16, *byte);
        }
        for i in 0..8 {
            self.write(reg::MULTICAST_ADDRESS + i, 0xFF);
        }
        self.write(reg::CURRENT_PAGE, RING_START + 1);
        self.write(reg::COMMAND, cmd::START | cmd::NO_DMA);
        self.write(reg::INTERRUPT_STATUS, 0xFF);
        self.write(reg::INTERRUPT_MASK, INTERRUPTS_WANTED);
        self.write(reg::TRANSMIT_CONFIG, TRANSMIT_NORMAL);
        self.write(reg::RECEIVE_CONFIG, RECEIVE_BROADCAST);
    }

    fn current_page(&self) -> u8 {
        self.write(reg::COMMAND, cmd::START | cmd::NO_DMA | cmd::PAGE_1);
        let current = self.read(reg::CURRENT_PAGE);
        self.write(reg::COMMAND, cmd::START | cmd::NO_DMA);
        current
    }

    /// The ring page after `page`, wrapping at the ring's end.
    fn next_ring_page(&self, page: u8) -> u8 {
        if page + 1 >= self.ring_stop {
            RING_START
        } else {
            page + 1
        }
    }

    /// After an overwrite warning the ring's contents cannot be trusted: start it afresh
    /// (frames waiting in it are dropped and counted once).
    fn recover_from_overwrite(&mut self) {
        self.dropped += 1;
        self.write(reg::COMMAND, cmd::STOP | cmd::NO_DMA);
        self.write(reg::REMOTE_COUNT_LOW, 0);
        self.write(reg::REMOTE_COUNT_HIGH, 0);
        self.write(reg::TRANSMIT_CONFIG, TRANSMIT_LOOPBACK);
        self.start();
        self.sending = false;
    }

    /// Reads the frame at ring page `page` into `buffer` and moves the boundary past it.
    fn take_frame(&mut self, page: u8, buffer: &mut [u8; MAX_FRAME]) -> Step {
        let mut header = [0u8; RECEIVE_HEADER];
        let address = u16::from(page) << 8;
        self.read_buffer(address, &mut header);
        let [_status, next, low, high] = header;
        let stored = usize::from(u16::from_le_bytes([low, high]));
        // The header's next page must be where a frame of this length ends.
        let ring = usize::from(self.ring_stop - RING_START);
        let offset = (usize::from(page - RING_START) + stored.div_ceil(PAGE_BYTES)) % ring;
        let expected = usize::from(RING_START) + offset;
        if next == page || usize::from(next) != expected {
            return Step::Broken;
        }
        let length = stored.saturating_sub(RECEIVE_HEADER);
        let step = if (crate::net::ETHERNET_HEADER..=MAX_FRAME).contains(&length) {
            self.read_buffer(address + RECEIVE_HEADER as u16, &mut buffer[..length]);
            Step::Frame(length)
        } else {
            Step::Dropped
        };
        let new_boundary = if next == RING_START {
            self.ring_stop - 1
        } else {
            next - 1
        };
        self.write(reg::BOUNDARY, new_boundary);
        step
    }
}

impl Nic for Ne2000 {
    fn name(&self) -> &'static str {
        "ne2000"
    }

    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn interrupt_line(&self) -> u8 {
        self.line
    }

    fn send(&mut self, frame: &[u8]) -> Result<(), SendError> {
        if frame.len() > MAX_FRAME || frame.len() < crate::net::ETHERNET_HEADER {
            return Err(SendError::BadLength(frame.len()));
        }
        if self.sending && self.read(reg::COMMAND) & cmd::TRANSMIT != 0 {
            return Err(SendError::Busy);
        }
        let length = frame.len().max(MIN_FRAME);
        self.write_buffer(u16::from(TRANSMIT_START) << 8, frame, length);
        let [low, high] = (length as u16).to_le_bytes();
        self.write(reg::TRANSMIT_PAGE, TRANSMIT_START);
        self.write(reg::TRANSMIT_COUNT_LOW, low);
        self.write(reg::TRANSMIT_COUNT_HIGH, high);
        self.write(reg::COMMAND, cmd::START | cmd::NO_DMA | cmd::TRANSMIT);
        self.sending = true;
        Ok(())
    }

    /// The next good frame in the ring. Every value the ring holds is checked before it is
    /// believed (frames come from the LAN; a runt or a giant can leave garbage in headers):
    /// anything inconsistent restarts the ring, dropping what it held.
    fn receive(&mut self, buffer: &mut [u8; MAX_FRAME]) -> Option<usize> {
        // At most one step per ring page: a ring that never empties is broken, not busy.
        for _ in RING_START..self.ring_stop {
            let current = self.current_page();
            let page = self.next_ring_page(self.read(reg::BOUNDARY));
            if !(RING_START..self.ring_stop).contains(&current) {
                self.recover_from_overwrite();
                return None;
            }
            if page == current {
                return None;
            }
            match self.take_frame(page, buffer) {
                Step::Frame(length) => return Some(length),
                Step::Dropped => self.dropped += 1,
                Step::Broken => {
                    self.recover_from_overwrite();
                    return None;
                }
            }
        }
        self.recover_from_overwrite();
        None
    }

    fn service_interrupt(&mut self) -> bool {
        let status = self.read(reg::INTERRUPT_STATUS);
        self.write(reg::INTERRUPT_STATUS, status & !isr::REMOTE_DMA_DONE);
        if status & (isr::TRANSMITTED | isr::TRANSMIT_ERROR) != 0 {
            self.sending = false;
        }
        if status & isr::RECEIVE_ERROR != 0 {
            self.dropped += 1;
        }
        if status & isr::OVERWRITE != 0 {
            self.recover_from_overwrite();
        }
        status & isr::RECEIVED != 0
    }

    fn dropped(&self) -> u64 {
        self.dropped
    }
}
