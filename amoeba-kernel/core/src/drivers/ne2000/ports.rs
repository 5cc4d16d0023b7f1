//! The driver's one way to the card: byte registers and the data port of its I/O window. The
//! kernel implements it with x86 port instructions, the host tests with a fake DP8390.

use super::registers::Register;

/// Access to one NE2000's I/O window.
pub trait Dp8390Ports {
    /// Reads a register of the page the command register selects.
    fn read(&mut self, register: Register) -> u8;

    fn write(&mut self, register: Register, value: u8);

    /// Reads `out.len().div_ceil(2)` words from the data port (the remote DMA the driver set
    /// up) into `out`, each little-endian; of an odd last word only the low byte is kept.
    fn read_data(&mut self, out: &mut [u8]);

    /// Writes `bytes.len().div_ceil(2)` words from `bytes` to the data port, each
    /// little-endian; an odd last byte goes out as the low byte of a word whose high byte is 0.
    fn write_data(&mut self, bytes: &[u8]);
}
