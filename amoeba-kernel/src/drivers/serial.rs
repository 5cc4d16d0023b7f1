//! The 16550 UART on COM1: the kernel's console.
//!
//! Register offsets and bits: National Semiconductor PC16550D datasheet, table II.

use crate::arch::port::{inb, outb};

/// COM1's I/O base on every PC.
pub const COM1: u16 = 0x3F8;

const DATA: u16 = 0; // with DLAB=1: divisor low byte
const INTERRUPT_ENABLE: u16 = 1; // with DLAB=1: divisor high byte
const FIFO_CONTROL: u16 = 2;
const LINE_CONTROL: u16 = 3;
const MODEM_CONTROL: u16 = 4;
const LINE_STATUS: u16 = 5;

const LINE_STATUS_TRANSMIT_EMPTY: u8 = 1 << 5;
const LINE_CONTROL_DLAB: u8 = 1 << 7;
const LINE_CONTROL_8N1: u8 = 0x03;
/// 115200 baud: the UART's 1.8432 MHz clock / 16 / 1.
const DIVISOR_115200: u8 = 1;

pub struct Uart16550 {
    base: u16,
}

/// The console's UART. COM1 belongs to the kernel console alone (see `crate::console`): this is
/// the one place that vouches for it.
pub const fn console_uart() -> Uart16550 {
    // SAFETY: COM1 is a 16550 on every PC and QEMU machine, and only the console drives it (its
    // emergency writer may interleave with an interrupted write, which it accepts).
    unsafe { Uart16550::new(COM1) }
}

impl Uart16550 {
    /// # Safety
    /// `base` must be the I/O base of a 16550-compatible UART no other code drives.
    pub const unsafe fn new(base: u16) -> Self {
        Self { base }
    }

    /// 115200 baud, 8 data bits, no parity, one stop bit, FIFOs on, no interrupts.
    pub fn init(&mut self) {
        // SAFETY: `new`'s contract gives us the UART's ports; this is the datasheet's programming
        // sequence (divisor latch, line format, FIFO reset, DTR/RTS/OUT2).
        unsafe {
            outb(self.base + INTERRUPT_ENABLE, 0);
            outb(self.base + LINE_CONTROL, LINE_CONTROL_DLAB);
            outb(self.base + DATA, DIVISOR_115200);
            outb(self.base + INTERRUPT_ENABLE, 0);
            outb(self.base + LINE_CONTROL, LINE_CONTROL_8N1);
            outb(self.base + FIFO_CONTROL, 0xC7);
            outb(self.base + MODEM_CONTROL, 0x0B);
        }
    }

    pub fn write_byte(&mut self, byte: u8) {
        // SAFETY: `new`'s contract gives us the UART's ports; we wait for the transmitter to take
        // a byte before writing the next.
        unsafe {
            while inb(self.base + LINE_STATUS) & LINE_STATUS_TRANSMIT_EMPTY == 0 {}
            outb(self.base + DATA, byte);
        }
    }
}

impl core::fmt::Write for Uart16550 {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        for byte in text.bytes() {
            if byte == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(byte);
        }
        Ok(())
    }
}
