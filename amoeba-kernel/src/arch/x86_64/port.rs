//! x86 I/O port access (Intel SDM vol. 1, 19.2): the one place the kernel reaches ports from.
//!
//! Single reads and writes go through the `x86_64` crate's `PortRead`/`PortWrite`, which are the
//! same single `in`/`out` instructions; the names here are what drivers call. The string forms
//! `rep insw`/`rep outsw` stay by hand: the crate has no string port I/O.

use x86_64::instructions::port::{PortRead, PortWrite};

/// Reads a byte from an I/O port.
///
/// # Safety
/// The port must belong to a device the caller owns; reads can have side effects.
#[inline]
pub unsafe fn inb(port: u16) -> u8 {
    // SAFETY: the caller guarantees the port read is harmless to the machine's state.
    unsafe { u8::read_from_port(port) }
}

/// Writes a byte to an I/O port.
///
/// # Safety
/// The port must belong to a device the caller owns and the value must be valid for it.
#[inline]
pub unsafe fn outb(port: u16, value: u8) {
    // SAFETY: the caller guarantees the write is valid for the device at `port`.
    unsafe { u8::write_to_port(port, value) };
}

/// Reads a 32-bit value from an I/O port.
#[cfg_attr(
    not(feature = "driver-pci"),
    expect(dead_code, reason = "only PCI uses 32-bit ports yet")
)]
///
/// # Safety
/// As for [`inb`].
#[inline]
pub unsafe fn inl(port: u16) -> u32 {
    // SAFETY: the caller guarantees the port read is harmless to the machine's state.
    unsafe { u32::read_from_port(port) }
}

/// Writes a 32-bit value to an I/O port.
#[cfg_attr(
    not(feature = "driver-pci"),
    expect(dead_code, reason = "only PCI uses 32-bit ports yet")
)]
///
/// # Safety
/// As for [`outb`].
#[inline]
pub unsafe fn outl(port: u16, value: u32) {
    // SAFETY: the caller guarantees the write is valid for the device at `port`.
    unsafe { u32::write_to_port(port, value) };
}

/// Writes a 16-bit value to an I/O port.
///
/// # Safety
/// As for [`outb`].
#[inline]
pub unsafe fn outw(port: u16, value: u16) {
    // SAFETY: the caller guarantees the write is valid for the device at `port`.
    unsafe { u16::write_to_port(port, value) };
}

/// Reads a 16-bit value from an I/O port.
///
/// # Safety
/// As for [`inb`].
#[cfg(feature = "driver-ne2000")]
#[inline]
pub unsafe fn inw(port: u16) -> u16 {
    // SAFETY: the caller guarantees the port read is harmless to the machine's state.
    unsafe { u16::read_from_port(port) }
}

/// Reads `bytes.len() / 2` 16-bit values from an I/O port into `bytes`, each in little-endian
/// order (`rep insw`: one instruction for the whole transfer, not a loop of `in`s); an odd last
/// byte is left alone.
///
/// # Safety
/// As for [`inb`], for every one of the reads.
#[cfg(feature = "driver-ne2000")]
#[inline]
pub unsafe fn insw(port: u16, bytes: &mut [u8]) {
    let words = bytes.len() / 2;
    // SAFETY: the caller guarantees the reads are harmless; `rep insw` stores `words` words
    // from `bytes`' start upwards (the direction flag is clear, as the ABI keeps it), all
    // within the slice. x86 allows the unaligned stores.
    unsafe {
        core::arch::asm!(
            "rep insw",
            in("dx") port,
            inout("rdi") bytes.as_mut_ptr() => _,
            inout("rcx") words => _,
            options(nostack, preserves_flags)
        )
    };
}

/// Writes `bytes.len() / 2` 16-bit values from `bytes` to an I/O port, each in little-endian
/// order (`rep outsw`); an odd last byte is not sent.
///
/// # Safety
/// As for [`outb`], for every one of the writes.
#[cfg(feature = "driver-ne2000")]
#[inline]
pub unsafe fn outsw(port: u16, bytes: &[u8]) {
    let words = bytes.len() / 2;
    // SAFETY: the caller guarantees the writes are valid for the device; `rep outsw` loads
    // `words` words from `bytes`' start upwards, all within the slice.
    unsafe {
        core::arch::asm!(
            "rep outsw",
            in("dx") port,
            inout("rsi") bytes.as_ptr() => _,
            inout("rcx") words => _,
            options(nostack, preserves_flags, readonly)
        )
    };
}
