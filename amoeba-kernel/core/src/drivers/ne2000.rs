//! The NE2000 driver's logic: a National Semiconductor DP8390 behind the ports of a
//! [`Dp8390Ports`] (QEMU's `ne2k_pci`, a Realtek RTL8029, in the kernel; a fake DP8390 in the
//! host tests).
//!
//! Source: DP8390D datasheet (National Semiconductor, "DP8390D/NS32490D NIC Network Interface
//! Controller", July 1995): sections 7.0 (the receive ring, its headers, recovery from ring
//! overflow), 8.0 (transmission), 9.0 (remote DMA), 10.0 (registers) and 11.0
//! (initialization). The NE2000 convention adds the data port at base + 0x10, the reset port
//! at base + 0x1F, the station address PROM at buffer address 0 (each byte doubled in word
//! mode), and 16 KiB of buffer memory at 0x4000-0x7FFF (256-byte pages 0x40-0x7F). The
//! RTL8029, and QEMU's model of both cards, have 32 KiB, up to 0xBFFF: bring-up finds out
//! which.
//!
//! Buffer layout (ours): pages 0x40-0x45 hold the one frame being sent; the rest is the
//! receive ring (about 9 full frames in 16 KiB, 20 in 32 KiB: what a burst from a faster
//! sender may bring before the driver drains the ring). Transfers to and from buffer memory
//! use remote DMA, a word at a time.

pub mod ports;
pub mod registers;
pub mod ring;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub use ports::Dp8390Ports;
pub use ring::HeaderFault;

use crate::drivers::ethernet::{ETHERNET_HEADER, MAX_FRAME, MIN_FRAME, SendError};
use registers::{PAGE_BYTES, ReceiveHeader, StationProm, cmd, isr, reg};
use ring::{Ring, Verdict};

const INTERRUPTS_WANTED: u8 =
    isr::RECEIVED | isr::TRANSMITTED | isr::RECEIVE_ERROR | isr::TRANSMIT_ERROR | isr::OVERWRITE;

const TRANSMIT_START: u8 = 0x40;
const RING_START: u8 = 0x46;
/// The page after the last of 16 KiB of buffer memory, and of 32 KiB.
const BUFFER_END_16K: u8 = 0x80;
const BUFFER_END_32K: u8 = 0xC0;
const _: () = assert!((RING_START - TRANSMIT_START) as usize * PAGE_BYTES >= MAX_FRAME);
/// Polls of a status bit before a card is declared dead.
const POLL_LIMIT: u32 = 100_000;
/// Zeros that pad a short frame in buffer memory.
const PADDING: [u8; MIN_FRAME] = [0; MIN_FRAME];

/// Why a card was not brought up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartError {
    /// The card never said it had reset.
    NoResetAcknowledge,
}

/// Why the driver last started the receive ring afresh (dropping what it held).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingRestart {
    /// The card warned that the ring overflowed.
    Overwrite,
    /// The card's current page lies outside the ring.
    CurrentOutsideRing(u8),
    /// A header that does not add up.
    Header(HeaderFault),
    /// A whole ring's worth of frames skipped in one call: the card fills the ring with
    /// frames of impossible lengths as fast as they are read.
    Endless,
}

/// Frames the driver dropped, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Receive ring restarts (each drops whatever the ring held, counted as one).
    pub ring_restarts: u64,
    /// Frames skipped for a length no Ethernet frame has.
    pub bad_lengths: u64,
    /// Receive errors the card reported.
    pub receive_errors: u64,
}

/// One started NE2000 card.
pub struct Ne2000<P: Dp8390Ports> {
    ports: P,
    mac: [u8; 6],
    /// The page after the receive ring's last: the end of buffer memory.
    ring_stop: u8,
    /// The last ring page read, as last written to the card's boundary register: the
    /// driver's own record, so that a card that loses it cannot make the driver read a
    /// frame twice.
    boundary: u8,
    /// A frame handed to the card and not yet reported sent.
    sending: bool,
    counters: Counters,
    last_restart: Option<RingRestart>,
}

impl<P: Dp8390Ports> Ne2000<P> {
    /// Resets the card, reads its station address, finds how much buffer memory it has and
    /// starts it with the receive ring in all of it.
    pub fn start(ports: P) -> Result<Self, StartError> {
        let mut card = Self {
            ports,
            mac: [0; 6],
            ring_stop: BUFFER_END_16K,
            boundary: RING_START,
            sending: false,
            counters: Counters::default(),
            last_restart: None,
        };
        if !card.reset() {
            return Err(StartError::NoResetAcknowledge);
        }
        card.mac = card.read_station_address();
        card.ring_stop = card.buffer_end();
        card.start_ring();
        Ok(card)
    }

    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The card's buffer memory: 16 or 32 KiB.
    pub fn buffer_kib(&self) -> usize {
        usize::from(self.ring_stop - TRANSMIT_START) * PAGE_BYTES / 1024
    }

    /// Pages in the receive ring.
    pub fn ring_pages(&self) -> usize {
        self.ring().pages()
    }

    /// Frames dropped so far: ring restarts, receive errors, frames of impossible lengths.
    pub fn dropped(&self) -> u64 {
        let Counters {
            ring_restarts,
            bad_lengths,
            receive_errors,
        } = self.counters;
        ring_restarts + bad_lengths + receive_errors
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Why the receive ring was last restarted, if it was.
    pub fn last_restart(&self) -> Option<RingRestart> {
        self.last_restart
    }

    fn ring(&self) -> Ring {
        Ring {
            start: RING_START,
            stop: self.ring_stop,
        }
    }
}

/// Registers and buffer memory.
impl<P: Dp8390Ports> Ne2000<P> {
    fn read(&mut self, register: registers::Register) -> u8 {
        self.ports.read(register)
    }

    fn write(&mut self, register: registers::Register, value: u8) {
        self.ports.write(register, value);
    }

    fn wait_for(&mut self, bits: u8) -> bool {
        (0..POLL_LIMIT).any(|_| self.read(reg::INTERRUPT_STATUS) & bits != 0)
    }

    /// Resets the card (a read-then-write of the reset port) and waits for it to say so.
    fn reset(&mut self) -> bool {
        let value = self.read(reg::RESET_PORT);
        self.write(reg::RESET_PORT, value);
        let acknowledged = self.wait_for(isr::RESET);
        self.write(reg::INTERRUPT_STATUS, 0xFF);
        acknowledged
    }

    /// Sets up remote DMA of `count` bytes at buffer address `address`.
    fn remote_dma(&mut self, address: u16, count: usize, direction: u8) {
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
    fn read_buffer(&mut self, address: u16, out: &mut [u8]) {
        self.remote_dma(address, out.len().next_multiple_of(2), cmd::REMOTE_READ);
        self.ports.read_data(out);
        self.write(reg::INTERRUPT_STATUS, isr::REMOTE_DMA_DONE);
    }

    /// Copies `bytes` into buffer memory at `address`, followed by zeros up to `padded_len`.
    fn write_buffer(&mut self, address: u16, bytes: &[u8], padded_len: usize) {
        let total = padded_len.next_multiple_of(2);
        self.remote_dma(address, total, cmd::REMOTE_WRITE);
        let data = &bytes[..bytes.len().min(padded_len)];
        self.ports.write_data(data);
        let mut padding = total - data.len().next_multiple_of(2);
        while padding > 0 {
            let chunk = padding.min(PADDING.len());
            self.ports.write_data(&PADDING[..chunk]);
            padding -= chunk;
        }
        if !self.wait_for(isr::REMOTE_DMA_DONE) {
            log::warn!("ne2000: remote DMA did not complete");
        }
        self.write(reg::INTERRUPT_STATUS, isr::REMOTE_DMA_DONE);
    }
}

/// Bring-up and ring (re)start: datasheet section 11.0.
impl<P: Dp8390Ports> Ne2000<P> {
    /// Stopped, word mode, loopback while the ring is set up; then the PROM.
    fn read_station_address(&mut self) -> [u8; 6] {
        self.write(reg::COMMAND, cmd::STOP | cmd::NO_DMA);
        self.write(reg::DATA_CONFIG, registers::DATA_CONFIG_WORD);
        self.write(reg::REMOTE_COUNT_LOW, 0);
        self.write(reg::REMOTE_COUNT_HIGH, 0);
        self.write(reg::INTERRUPT_MASK, 0);
        self.write(reg::INTERRUPT_STATUS, 0xFF);
        self.write(reg::RECEIVE_CONFIG, registers::RECEIVE_MONITOR);
        self.write(reg::TRANSMIT_CONFIG, registers::TRANSMIT_LOOPBACK);
        let mut prom = [0u8; StationProm::BYTES];
        self.read_buffer(0, &mut prom);
        StationProm::from_bytes(prom).address()
    }

    /// The end of buffer memory, found by writing the last page of 32 KiB and then the page a
    /// 16 KiB card would alias it to: on a 16 KiB card the first write is lost or overwritten.
    /// Runs while the card is stopped, before the ring is set up.
    fn buffer_end(&mut self) -> u8 {
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

    /// Programs an empty ring, the station address and the interrupts, and starts the card.
    fn start_ring(&mut self) {
        self.write(reg::COMMAND, cmd::STOP | cmd::NO_DMA);
        self.write(reg::TRANSMIT_PAGE, TRANSMIT_START);
        self.write(reg::PAGE_START, RING_START);
        self.write(reg::PAGE_STOP, self.ring_stop);
        self.set_boundary(RING_START);
        self.write(reg::COMMAND, cmd::STOP | cmd::NO_DMA | cmd::PAGE_1);
        for (register, byte) in reg::PHYSICAL_ADDRESS.into_iter().zip(self.mac) {
            self.write(register, byte);
        }
        for register in reg::MULTICAST_ADDRESS {
            self.write(register, 0xFF);
        }
        self.write(reg::CURRENT_PAGE, RING_START + 1);
        self.write(reg::COMMAND, cmd::START | cmd::NO_DMA);
        self.write(reg::INTERRUPT_STATUS, 0xFF);
        self.write(reg::INTERRUPT_MASK, INTERRUPTS_WANTED);
        self.write(reg::TRANSMIT_CONFIG, registers::TRANSMIT_NORMAL);
        self.write(reg::RECEIVE_CONFIG, registers::RECEIVE_BROADCAST);
    }

    /// The ring's contents cannot be trusted (an overwrite warning, a header that does not add
    /// up): start it afresh. Frames waiting in it are dropped and counted once.
    fn restart_ring(&mut self, why: RingRestart) {
        self.counters.ring_restarts += 1;
        self.last_restart = Some(why);
        self.write(reg::COMMAND, cmd::STOP | cmd::NO_DMA);
        self.write(reg::REMOTE_COUNT_LOW, 0);
        self.write(reg::REMOTE_COUNT_HIGH, 0);
        self.write(reg::TRANSMIT_CONFIG, registers::TRANSMIT_LOOPBACK);
        self.start_ring();
        self.sending = false;
    }
}

/// What one look at the receive ring found.
enum Step {
    /// A frame of this length, now in the caller's buffer.
    Frame(usize),
    /// The ring holds nothing the driver has not read.
    Empty,
    /// A frame of an impossible length, skipped.
    Skipped,
    /// Nothing in the ring can be trusted.
    Restart(RingRestart),
}

/// Reception: datasheet section 7.0.
impl<P: Dp8390Ports> Ne2000<P> {
    /// The next good frame in the ring, copied into `buffer`: its length. Every value the
    /// ring holds is checked before it is believed (frames come from the LAN; a runt or a
    /// giant can leave garbage in headers): anything inconsistent restarts the ring, dropping
    /// what it held. Frames of impossible lengths are skipped.
    pub fn receive(&mut self, buffer: &mut [u8; MAX_FRAME]) -> Option<usize> {
        // At most one step per ring page: a ring that never empties is broken, not busy.
        for _ in 0..self.ring_pages() {
            match self.step(buffer) {
                Step::Frame(length) => return Some(length),
                Step::Empty => return None,
                Step::Skipped => self.counters.bad_lengths += 1,
                Step::Restart(why) => {
                    self.restart_ring(why);
                    return None;
                }
            }
        }
        self.restart_ring(RingRestart::Endless);
        None
    }

    /// Looks at the frame after the boundary: reads it if it is good, and moves the boundary
    /// past it.
    fn step(&mut self, buffer: &mut [u8; MAX_FRAME]) -> Step {
        let ring = self.ring();
        let current = self.current_page();
        if !ring.contains(current) {
            return Step::Restart(RingRestart::CurrentOutsideRing(current));
        }
        let page = ring.advance(self.boundary, 1);
        if page == current {
            return Step::Empty;
        }
        let address = u16::from(page) << 8;
        let mut header = [0u8; ReceiveHeader::BYTES];
        self.read_buffer(address, &mut header);
        let (step, next) = match ring::judge(ring, page, current, ReceiveHeader::from_bytes(header))
        {
            Verdict::Broken(fault) => return Step::Restart(RingRestart::Header(fault)),
            Verdict::BadLength { next, .. } => (Step::Skipped, next),
            Verdict::Frame { length, next } => {
                // `judge` passes no frame longer than the buffer.
                let payload = address + ReceiveHeader::BYTES as u16;
                self.read_buffer(payload, &mut buffer[..length]);
                (Step::Frame(length), next)
            }
        };
        self.set_boundary(ring.before(next));
        step
    }

    /// Tells the card the ring is read up to `page` (a ring page): it may reuse the pages
    /// before it.
    fn set_boundary(&mut self, page: u8) {
        self.boundary = page;
        self.write(reg::BOUNDARY, page);
    }

    fn current_page(&mut self) -> u8 {
        self.write(reg::COMMAND, cmd::START | cmd::NO_DMA | cmd::PAGE_1);
        let current = self.read(reg::CURRENT_PAGE);
        self.write(reg::COMMAND, cmd::START | cmd::NO_DMA);
        current
    }
}

/// Transmission (datasheet section 8.0) and interrupts.
impl<P: Dp8390Ports> Ne2000<P> {
    /// Hands `frame` (destination, source, EtherType, payload) to the card; short frames are
    /// padded with zeros to [`MIN_FRAME`]. The card has room for one frame at a time.
    pub fn send(&mut self, frame: &[u8]) -> Result<(), SendError> {
        if frame.len() > MAX_FRAME || frame.len() < ETHERNET_HEADER {
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

    /// Acknowledges the card's interrupt causes (after which it may interrupt again), counts
    /// receive errors, recovers from ring overflow; returns whether frames may be waiting.
    pub fn service_interrupt(&mut self) -> bool {
        let status = self.read(reg::INTERRUPT_STATUS);
        // Remote DMA completion is the driver's own business, acknowledged where it waits.
        self.write(reg::INTERRUPT_STATUS, status & !isr::REMOTE_DMA_DONE);
        if status & (isr::TRANSMITTED | isr::TRANSMIT_ERROR) != 0 {
            self.sending = false;
        }
        if status & isr::RECEIVE_ERROR != 0 {
            self.counters.receive_errors += 1;
        }
        if status & isr::OVERWRITE != 0 {
            self.restart_ring(RingRestart::Overwrite);
        }
        status & isr::RECEIVED != 0
    }
}
