//! The DP8390's registers and bits as an NE2000 card shows them in its window of I/O ports.
//!
//! Source: DP8390D datasheet (National Semiconductor, "DP8390D/NS32490D NIC Network Interface
//! Controller", July 1995): section 10.0 (internal registers: the page 0 and page 1 maps, the
//! command, interrupt status, receive status and configuration bits), section 7.0 (the header
//! stored before each received frame). The data port at 0x10, the reset port at 0x1F and the
//! doubled station address PROM are the NE2000's additions, not the DP8390's.

use core::mem::size_of;

/// An offset in the card's window of [`IO_PORTS`] I/O ports. Values exist only as the named
/// registers of this module, so a port implementation may rely on every offset it is given
/// lying inside the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Register(u8);

/// The NE2000's I/O window (BAR 0 of the PCI card): 32 ports.
pub const IO_PORTS: u16 = 0x20;

impl Register {
    const fn new(offset: u8) -> Self {
        assert!((offset as u16) < IO_PORTS);
        Self(offset)
    }

    /// The register's port, counted from the card's first.
    pub const fn offset(self) -> u16 {
        self.0 as u16
    }

    /// `N` consecutive registers from `first` (the station address and multicast filter).
    const fn run<const N: usize>(first: u8) -> [Self; N] {
        let mut registers = [Self(0); N];
        let mut i = 0;
        while i < N {
            registers[i] = Self::new(first + i as u8);
            i += 1;
        }
        registers
    }
}

/// Register offsets. Page 0 unless said otherwise; where a read and a write of one offset
/// mean different registers, the name is the one the driver uses.
pub mod reg {
    use super::Register;

    /// Every page: commands, remote DMA direction and the register page (bits 6-7).
    pub const COMMAND: Register = Register::new(0x00);
    /// W: first page of the receive ring.
    pub const PAGE_START: Register = Register::new(0x01);
    /// W: the page after the receive ring's last.
    pub const PAGE_STOP: Register = Register::new(0x02);
    /// R/W: the last ring page the host has read; the card never writes into it.
    pub const BOUNDARY: Register = Register::new(0x03);
    /// W: first page of the frame to send (R: transmit status).
    pub const TRANSMIT_PAGE: Register = Register::new(0x04);
    pub const TRANSMIT_COUNT_LOW: Register = Register::new(0x05);
    pub const TRANSMIT_COUNT_HIGH: Register = Register::new(0x06);
    /// R: what happened; W: ones clear those bits.
    pub const INTERRUPT_STATUS: Register = Register::new(0x07);
    pub const REMOTE_ADDRESS_LOW: Register = Register::new(0x08);
    pub const REMOTE_ADDRESS_HIGH: Register = Register::new(0x09);
    pub const REMOTE_COUNT_LOW: Register = Register::new(0x0A);
    pub const REMOTE_COUNT_HIGH: Register = Register::new(0x0B);
    pub const RECEIVE_CONFIG: Register = Register::new(0x0C);
    pub const TRANSMIT_CONFIG: Register = Register::new(0x0D);
    pub const DATA_CONFIG: Register = Register::new(0x0E);
    pub const INTERRUPT_MASK: Register = Register::new(0x0F);
    /// Page 1: the station address the card accepts frames for.
    pub const PHYSICAL_ADDRESS: [Register; 6] = Register::run(0x01);
    /// Page 1: the page the card stores the next received frame in.
    pub const CURRENT_PAGE: Register = Register::new(0x07);
    /// Page 1: the multicast hash filter.
    pub const MULTICAST_ADDRESS: [Register; 8] = Register::run(0x08);
    /// NE2000: reading or writing it moves the next word of a remote DMA.
    pub const DATA_PORT: Register = Register::new(0x10);
    /// NE2000: a read, then a write, resets the card.
    pub const RESET_PORT: Register = Register::new(0x1F);
}

/// Command register bits.
pub mod cmd {
    pub const STOP: u8 = 0x01;
    pub const START: u8 = 0x02;
    /// Set to send; the card clears it when the frame is out.
    pub const TRANSMIT: u8 = 0x04;
    pub const REMOTE_READ: u8 = 0x08;
    pub const REMOTE_WRITE: u8 = 0x10;
    /// Abort or complete remote DMA.
    pub const NO_DMA: u8 = 0x20;
    pub const PAGE_1: u8 = 0x40;
    /// The register page bits.
    pub const PAGE_MASK: u8 = 0xC0;
    /// The remote DMA bits.
    pub const DMA_MASK: u8 = 0x38;
}

/// Interrupt status and mask bits.
pub mod isr {
    pub const RECEIVED: u8 = 0x01;
    pub const TRANSMITTED: u8 = 0x02;
    pub const RECEIVE_ERROR: u8 = 0x04;
    pub const TRANSMIT_ERROR: u8 = 0x08;
    /// The receive ring filled up: the card stopped storing frames.
    pub const OVERWRITE: u8 = 0x10;
    pub const REMOTE_DMA_DONE: u8 = 0x40;
    /// The card is in reset (stopped); a start command clears it, writing it does not.
    pub const RESET: u8 = 0x80;
}

/// Receive status bits, in the receive status register and in each stored frame's header.
pub mod rsr {
    /// Received intact: with [`RECEIVE_BROADCAST`](super::RECEIVE_BROADCAST) (no "save errored
    /// packets" bit) the card stores only such frames, so every header it writes has it.
    pub const INTACT: u8 = 0x01;
    pub const CRC_ERROR: u8 = 0x02;
    pub const FRAME_ALIGNMENT_ERROR: u8 = 0x04;
    /// Sent to a multicast or broadcast address.
    pub const MULTICAST: u8 = 0x20;
}

/// Data configuration: word-wide transfers, normal (not loopback) operation, FIFO threshold.
pub const DATA_CONFIG_WORD: u8 = 0x49;
/// Receive configuration: accept broadcast frames (and frames to our address).
pub const RECEIVE_BROADCAST: u8 = 0x04;
/// Receive configuration: check addresses but store nothing.
pub const RECEIVE_MONITOR: u8 = 0x20;
pub const TRANSMIT_NORMAL: u8 = 0x00;
/// Transmit configuration: internal loopback (nothing reaches the wire).
pub const TRANSMIT_LOOPBACK: u8 = 0x02;

/// Buffer memory comes in pages of this many bytes; ring registers hold page numbers.
pub const PAGE_BYTES: usize = 256;

/// The header the card writes before each frame it stores in the receive ring (section 7.0).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiveHeader {
    /// [`rsr`] bits of the frame.
    pub status: u8,
    /// The ring page the card stores the frame after this one in.
    pub next_page: u8,
    /// Bytes stored, this header included, little-endian.
    pub count: [u8; 2],
}
const _: () = assert!(size_of::<ReceiveHeader>() == 4);

impl ReceiveHeader {
    pub const BYTES: usize = size_of::<Self>();

    pub const fn from_bytes([status, next_page, low, high]: [u8; Self::BYTES]) -> Self {
        Self {
            status,
            next_page,
            count: [low, high],
        }
    }

    pub const fn to_bytes(self) -> [u8; Self::BYTES] {
        [self.status, self.next_page, self.count[0], self.count[1]]
    }

    /// Bytes stored, this header included.
    pub const fn count(self) -> usize {
        u16::from_le_bytes(self.count) as usize
    }
}

/// The NE2000's station address PROM at buffer address 0, as read in word mode: the card
/// puts each byte of the address in both halves of a word.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StationProm {
    pub doubled: [[u8; 2]; 6],
}
const _: () = assert!(size_of::<StationProm>() == 12);

impl StationProm {
    pub const BYTES: usize = size_of::<Self>();

    pub fn from_bytes(bytes: [u8; Self::BYTES]) -> Self {
        Self {
            doubled: core::array::from_fn(|i| [bytes[2 * i], bytes[2 * i + 1]]),
        }
    }

    pub fn address(&self) -> [u8; 6] {
        self.doubled.map(|[byte, _]| byte)
    }
}
