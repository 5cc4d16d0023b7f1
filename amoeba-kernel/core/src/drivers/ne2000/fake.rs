//! A DP8390 with NE2000 buffer memory, on the host: the register pages, remote DMA (wrapping
//! at the ring's end as the card's does), the station address PROM, interrupt status bits,
//! transmission, and reception the way QEMU's model stores frames. Tests also write buffer
//! memory and registers directly, to give the driver rings no honest card would.
//!
//! Every port access counts against a budget: a driver that does not stop fails the test
//! instead of hanging it. Things an honest driver never does are noted in `violations`.

use super::Dp8390Ports;
use super::registers::{PAGE_BYTES, ReceiveHeader, Register, cmd, isr, rsr};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// Buffer memory: how much, and what a 16 KiB card does with addresses above it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Memory {
    /// 0x4000-0xBFFF (the RTL8029, QEMU).
    Kib32,
    /// 0x4000-0x7FFF; above it writes are lost and reads give 0xFF.
    Kib16,
    /// 0x4000-0x7FFF, which 0x8000-0xBFFF aliases.
    Kib16Aliased,
}

/// How the fake lays out a received frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// The next frame starts in the page after the frame's last byte.
    Packed,
    /// As QEMU's model: 4 bytes of room for a CRC it does not store (and does not count)
    /// follow the frame, so the next frame may start a page later.
    CrcRoom,
}

pub const DEFAULT_BUDGET: u64 = 20_000;
pub const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

pub struct FakeDp8390 {
    /// The whole 64 KiB address space of remote DMA; which of it exists is `memory`'s.
    pub mem: Vec<u8>,
    pub memory: Memory,
    pub layout: Layout,
    pub command: u8,
    pub isr: u8,
    pub imr: u8,
    pub page_start: u8,
    pub page_stop: u8,
    pub boundary: u8,
    pub current: u8,
    pub transmit_page: u8,
    pub transmit_count: u16,
    remote_address: u16,
    remote_count: u16,
    pub rcr: u8,
    pub tcr: u8,
    pub dcr: u8,
    pub par: [u8; 6],
    pub mar: [u8; 8],
    /// Direction of the remote DMA under way (`cmd::REMOTE_READ` or `REMOTE_WRITE`).
    dma: Option<u8>,
    /// Whether a read of the reset port resets the card (a dead card never does).
    pub resets: bool,
    /// Whether a frame is sent the moment it is handed over (else at `finish_transmit`).
    pub instant_transmit: bool,
    pub sent: Vec<Vec<u8>>,
    /// Frames refused for want of room in the ring.
    pub missed: u64,
    /// Registers that read as the test says rather than as the card would.
    pub stuck_current: Option<u8>,
    pub stuck_boundary: Option<u8>,
    /// The current page reads as the boundary: a card storing frames as fast as the driver
    /// reads them, always a whole ring ahead.
    pub current_chases_boundary: bool,
    pub stuck_isr: Option<u8>,
    pub accesses: u64,
    pub budget: u64,
    pub violations: Vec<String>,
}

impl FakeDp8390 {
    pub fn new(memory: Memory) -> Self {
        let mut mem = vec![0u8; 0x10000];
        for (i, byte) in MAC.iter().enumerate() {
            mem[2 * i] = *byte;
            mem[2 * i + 1] = *byte;
        }
        // The NE2000 signature after the address, doubled as the rest of the PROM.
        mem[28..32].fill(0x57);
        Self {
            mem,
            memory,
            layout: Layout::Packed,
            command: cmd::STOP | cmd::NO_DMA,
            isr: 0,
            imr: 0,
            page_start: 0,
            page_stop: 0,
            boundary: 0,
            current: 0,
            transmit_page: 0,
            transmit_count: 0,
            remote_address: 0,
            remote_count: 0,
            rcr: 0,
            tcr: 0,
            dcr: 0,
            par: [0; 6],
            mar: [0; 8],
            dma: None,
            resets: true,
            instant_transmit: true,
            sent: Vec::new(),
            missed: 0,
            stuck_current: None,
            stuck_boundary: None,
            current_chases_boundary: false,
            stuck_isr: None,
            accesses: 0,
            budget: DEFAULT_BUDGET,
            violations: Vec::new(),
        }
    }

    /// Allows the driver `accesses` more port accesses before the test fails.
    pub fn allow(&mut self, accesses: u64) {
        self.accesses = 0;
        self.budget = accesses;
    }

    fn count_access(&mut self) {
        self.accesses += 1;
        assert!(
            self.accesses <= self.budget,
            "the driver made more than {} port accesses without stopping",
            self.budget
        );
    }

    fn violation(&mut self, what: String) {
        self.violations.push(what);
    }

    fn started(&self) -> bool {
        self.command & (cmd::STOP | cmd::START) == cmd::START
    }

    fn register_page(&self) -> u8 {
        (self.command & cmd::PAGE_MASK) >> 6
    }
}

/// Buffer memory as remote DMA sees it.
impl FakeDp8390 {
    /// Where `address` really is, if anywhere (the PROM reads as its first 32 bytes).
    fn cell(&self, address: u16) -> Option<usize> {
        let address = usize::from(address);
        match (self.memory, address) {
            (_, 0..32) => Some(address),
            (_, 0x4000..0x8000) => Some(address),
            (Memory::Kib32, 0x8000..0xC000) => Some(address),
            (Memory::Kib16Aliased, 0x8000..0xC000) => Some(address - 0x4000),
            _ => None,
        }
    }

    pub fn peek(&self, address: u16) -> u8 {
        self.cell(address).map_or(0xFF, |cell| self.mem[cell])
    }

    fn poke(&mut self, address: u16, value: u8) {
        match self.cell(address) {
            Some(cell) if cell >= 32 => self.mem[cell] = value,
            Some(_) => self.violation(format!("remote write into the PROM at {address:#x}")),
            None => {}
        }
    }

    /// The next remote DMA word's address; the card's DMA wraps from the ring's end to its
    /// start (datasheet section 9.0).
    fn dma_word(&mut self, direction: u8) -> Option<u16> {
        if self.dma != Some(direction) {
            self.violation(format!("data port used with remote DMA {:?}", self.dma));
            return None;
        }
        let address = self.remote_address;
        self.remote_address = address.wrapping_add(2);
        if self.page_stop != 0 && self.remote_address == u16::from(self.page_stop) << 8 {
            self.remote_address = u16::from(self.page_start) << 8;
        }
        self.remote_count = self.remote_count.saturating_sub(2);
        if self.remote_count == 0 {
            self.dma = None;
            self.isr |= isr::REMOTE_DMA_DONE;
        }
        Some(address)
    }

    /// Copies `bytes` into ring memory from page `page` on, wrapping at the ring's end.
    pub fn write_ring(&mut self, page: u8, bytes: &[u8]) {
        let (start, stop) = (
            usize::from(self.page_start) << 8,
            usize::from(self.page_stop) << 8,
        );
        let mut address = usize::from(page) << 8;
        for byte in bytes {
            self.mem[address] = *byte;
            address += 1;
            if address == stop {
                address = start;
            }
        }
    }

    /// Writes a header at ring page `page`, then `payload` after it.
    pub fn put_frame(&mut self, page: u8, header: ReceiveHeader, payload: &[u8]) {
        let mut bytes = header.to_bytes().to_vec();
        bytes.extend_from_slice(payload);
        self.write_ring(page, &bytes);
    }
}

/// The card's own doings: receiving, sending, resetting.
impl FakeDp8390 {
    fn ring_pages(&self) -> usize {
        usize::from(self.page_stop - self.page_start)
    }

    /// Stores `frame` as the card does when it receives it (padded to 60 bytes), or refuses
    /// it when the ring is full (setting the overwrite warning). Whether it was stored.
    pub fn deliver(&mut self, frame: &[u8]) -> bool {
        assert!(self.started(), "frames arrive only while the card runs");
        let mut stored = frame.to_vec();
        stored.resize(frame.len().max(60), 0);
        let count = stored.len() + ReceiveHeader::BYTES;
        let room = match self.layout {
            Layout::Packed => count,
            Layout::CrcRoom => count + 4,
        };
        let pages = room.div_ceil(PAGE_BYTES);
        let ring = self.ring_pages();
        let free = (usize::from(self.boundary) + ring - usize::from(self.current)) % ring;
        if pages > free {
            self.missed += 1;
            self.isr |= isr::OVERWRITE;
            return false;
        }
        let offset = usize::from(self.current - self.page_start);
        let next = self.page_start + ((offset + pages) % ring) as u8;
        let multicast = frame.first().is_some_and(|byte| byte & 1 != 0);
        let status = rsr::INTACT | if multicast { rsr::MULTICAST } else { 0 };
        let [low, high] = (count as u16).to_le_bytes();
        let header = ReceiveHeader::from_bytes([status, next, low, high]);
        self.put_frame(self.current, header, &stored);
        self.current = next;
        self.isr |= isr::RECEIVED;
        true
    }

    /// The frame handed over last goes out.
    pub fn finish_transmit(&mut self) {
        if self.command & cmd::TRANSMIT == 0 {
            self.violation("no frame was being sent".into());
            return;
        }
        self.command &= !cmd::TRANSMIT;
        let start = usize::from(self.transmit_page) << 8;
        let end = (start + usize::from(self.transmit_count)).min(self.mem.len());
        let frame = self.mem[start..end].to_vec();
        self.sent.push(frame);
        self.isr |= isr::TRANSMITTED;
    }

    fn reset(&mut self) {
        if self.resets {
            self.command = cmd::STOP | cmd::NO_DMA;
            self.isr = isr::RESET;
            self.dma = None;
        }
    }

    fn write_command(&mut self, value: u8) {
        let was_sending = self.command & cmd::TRANSMIT != 0;
        self.command = value;
        if value & cmd::STOP != 0 {
            self.command &= !cmd::TRANSMIT;
            return;
        }
        // Only the card clears the transmit bit, when the frame is out.
        if was_sending {
            self.command |= cmd::TRANSMIT;
        }
        self.isr &= !isr::RESET;
        let dma = value & cmd::DMA_MASK;
        if value & cmd::START != 0 && (dma == cmd::REMOTE_READ || dma == cmd::REMOTE_WRITE) {
            self.dma = (self.remote_count != 0).then_some(dma);
            if self.remote_count == 0 {
                self.isr |= isr::REMOTE_DMA_DONE;
            }
        }
        if value & cmd::TRANSMIT != 0 && !was_sending {
            if self.transmit_page != 0x40 || usize::from(self.transmit_count) > 6 * PAGE_BYTES {
                self.violation(format!(
                    "transmit of {} bytes from page {:#x}",
                    self.transmit_count, self.transmit_page
                ));
            }
            if self.instant_transmit {
                self.finish_transmit();
            }
        }
    }
}

/// Register pages (datasheet section 10.0); offsets 0x10-0x1F are the NE2000's ports.
impl FakeDp8390 {
    fn read_register(&mut self, offset: u16) -> u8 {
        match (self.register_page(), offset) {
            (_, 0x00) => self.command,
            (_, 0x10) => {
                self.violation("byte read of the data port".into());
                0xFF
            }
            (_, 0x1F) => {
                self.reset();
                0
            }
            (0, 0x03) => self.stuck_boundary.unwrap_or(self.boundary),
            (0, 0x04) => 0x01,
            (0, 0x07) => self.stuck_isr.unwrap_or(self.isr),
            (0, 0x08) => self.remote_address.to_le_bytes()[0],
            (0, 0x09) => self.remote_address.to_le_bytes()[1],
            (1, 0x01..=0x06) => self.par[usize::from(offset - 0x01)],
            (1, 0x07) if self.current_chases_boundary => self.boundary,
            (1, 0x07) => self.stuck_current.unwrap_or(self.current),
            (1, 0x08..=0x0F) => self.mar[usize::from(offset - 0x08)],
            _ => 0,
        }
    }

    fn write_register(&mut self, offset: u16, value: u8) {
        let [low, high] = [u16::from(value), u16::from(value) << 8];
        match (self.register_page(), offset) {
            (_, 0x00) => self.write_command(value),
            (_, 0x10) => self.violation("byte write of the data port".into()),
            (_, 0x1F) => {}
            (0, 0x01 | 0x02) if self.started() => {
                self.violation("ring bounds changed while running".into());
            }
            (0, 0x01) => self.page_start = value,
            (0, 0x02) => self.page_stop = value,
            (0, 0x03) => {
                if !(self.page_start..self.page_stop).contains(&value) {
                    self.violation(format!("boundary {value:#x} outside the ring"));
                }
                self.boundary = value;
            }
            (0, 0x04) => self.transmit_page = value,
            (0, 0x05) => self.transmit_count = self.transmit_count & 0xFF00 | low,
            (0, 0x06) => self.transmit_count = self.transmit_count & 0x00FF | high,
            (0, 0x07) => self.isr &= !(value & 0x7F),
            (0, 0x08) => self.remote_address = self.remote_address & 0xFF00 | low,
            (0, 0x09) => self.remote_address = self.remote_address & 0x00FF | high,
            (0, 0x0A) => self.remote_count = self.remote_count & 0xFF00 | low,
            (0, 0x0B) => self.remote_count = self.remote_count & 0x00FF | high,
            (0, 0x0C) => self.rcr = value,
            (0, 0x0D) => self.tcr = value,
            (0, 0x0E) => self.dcr = value,
            (0, 0x0F) => self.imr = value,
            (1, 0x01..=0x06) => self.par[usize::from(offset - 0x01)] = value,
            (1, 0x07) => self.current = value,
            (1, 0x08..=0x0F) => self.mar[usize::from(offset - 0x08)] = value,
            (page, _) => self.violation(format!("write of {offset:#x} in page {page}")),
        }
    }
}

impl Dp8390Ports for FakeDp8390 {
    fn read(&mut self, register: Register) -> u8 {
        self.count_access();
        self.read_register(register.offset())
    }

    fn write(&mut self, register: Register, value: u8) {
        self.count_access();
        self.write_register(register.offset(), value);
    }

    fn read_data(&mut self, out: &mut [u8]) {
        self.count_access();
        for pair in out.chunks_mut(2) {
            let word = match self.dma_word(cmd::REMOTE_READ) {
                Some(address) => [self.peek(address), self.peek(address.wrapping_add(1))],
                None => [0xFF; 2],
            };
            pair.copy_from_slice(&word[..pair.len()]);
        }
    }

    fn write_data(&mut self, bytes: &[u8]) {
        self.count_access();
        for pair in bytes.chunks(2) {
            if let Some(address) = self.dma_word(cmd::REMOTE_WRITE) {
                self.poke(address, pair[0]);
                self.poke(address.wrapping_add(1), pair.get(1).copied().unwrap_or(0));
            }
        }
    }
}
