//! The legacy 8259A interrupt controllers: moved out of the way and silenced.
//!
//! After reset they deliver IRQ 0-7 on vectors 8-15, which are CPU exceptions in protected mode
//! (Intel 8259A datasheet, ICW1-ICW4). We move them to vectors 0x20-0x2F and mask every line: the
//! kernel takes no interrupt it did not ask for, so an idle node stays silent.

use super::port::outb;

const MASTER_COMMAND: u16 = 0x20;
const MASTER_DATA: u16 = 0x21;
const SLAVE_COMMAND: u16 = 0xA0;
const SLAVE_DATA: u16 = 0xA1;

/// First vector of the master's IRQs after [`remap_and_mask`].
pub const MASTER_VECTOR_BASE: u8 = 0x20;

/// Interrupt lines (0-15).
pub const LINES: u8 = 16;

static MASK: core::sync::atomic::AtomicU16 = core::sync::atomic::AtomicU16::new(0xFFFF);

fn write_mask(mask: u16) {
    MASK.store(mask, core::sync::atomic::Ordering::Relaxed);
    // SAFETY: the data ports of the two 8259s set their interrupt masks (OCW1); the cascade
    // line 2 stays unmasked whenever a slave line is.
    unsafe {
        let cascade = if mask & 0xFF00 != 0xFF00 { !0x04 } else { 0xFF };
        outb(MASTER_DATA, (mask as u8) & cascade);
        outb(SLAVE_DATA, (mask >> 8) as u8);
    }
}

/// Lets `line` interrupt (vector [`MASTER_VECTOR_BASE`] + line).
pub fn unmask(line: u8) {
    write_mask(MASK.load(core::sync::atomic::Ordering::Relaxed) & !(1 << line));
}

/// Silences `line`.
pub fn mask(line: u8) {
    write_mask(MASK.load(core::sync::atomic::Ordering::Relaxed) | (1 << line));
}

/// Acknowledges `line`'s interrupt (OCW2 non-specific EOI, to the slave too for lines 8-15).
pub fn end_of_interrupt(line: u8) {
    // SAFETY: writing 0x20 to a command port is the 8259's end-of-interrupt command.
    unsafe {
        if line >= 8 {
            outb(SLAVE_COMMAND, 0x20);
        }
        outb(MASTER_COMMAND, 0x20);
    }
}

pub fn remap_and_mask() {
    // SAFETY: the 8259 ports belong to the interrupt controllers, which nothing else drives;
    // the sequence ICW1 (init, ICW4 needed), ICW2 (vector base), ICW3 (cascade on IRQ 2),
    // ICW4 (8086 mode) followed by masking every line is the datasheet's initialisation.
    unsafe {
        outb(MASTER_COMMAND, 0x11);
        outb(SLAVE_COMMAND, 0x11);
        outb(MASTER_DATA, MASTER_VECTOR_BASE);
        outb(SLAVE_DATA, MASTER_VECTOR_BASE + 8);
        outb(MASTER_DATA, 0x04);
        outb(SLAVE_DATA, 0x02);
        outb(MASTER_DATA, 0x01);
        outb(SLAVE_DATA, 0x01);
        outb(MASTER_DATA, 0xFF);
        outb(SLAVE_DATA, 0xFF);
    }
}
