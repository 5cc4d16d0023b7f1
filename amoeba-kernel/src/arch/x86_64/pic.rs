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
