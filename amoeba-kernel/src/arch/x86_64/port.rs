//! x86 I/O port access: the one place that executes `in` and `out`.

use core::arch::asm;

/// Reads a byte from an I/O port.
///
/// # Safety
/// The port must belong to a device the caller owns; reads can have side effects.
#[inline]
pub unsafe fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: the caller guarantees the port read is harmless to the machine's state.
    unsafe {
        asm!("in al, dx", out("al") value, in("dx") port, options(nomem, nostack, preserves_flags))
    };
    value
}

/// Writes a byte to an I/O port.
///
/// # Safety
/// The port must belong to a device the caller owns and the value must be valid for it.
#[inline]
pub unsafe fn outb(port: u16, value: u8) {
    // SAFETY: the caller guarantees the write is valid for the device at `port`.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    };
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
    let value: u32;
    // SAFETY: the caller guarantees the port read is harmless to the machine's state.
    unsafe {
        asm!("in eax, dx", out("eax") value, in("dx") port, options(nomem, nostack, preserves_flags))
    };
    value
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
    unsafe {
        asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags))
    };
}

/// Writes a 16-bit value to an I/O port.
///
/// # Safety
/// As for [`outb`].
#[inline]
pub unsafe fn outw(port: u16, value: u16) {
    // SAFETY: the caller guarantees the write is valid for the device at `port`.
    unsafe {
        asm!("out dx, ax", in("dx") port, in("ax") value, options(nomem, nostack, preserves_flags))
    };
}

/// Reads a 16-bit value from an I/O port.
///
/// # Safety
/// As for [`inb`].
#[cfg(feature = "driver-ne2000")]
#[inline]
pub unsafe fn inw(port: u16) -> u16 {
    let value: u16;
    // SAFETY: the caller guarantees the port read is harmless to the machine's state.
    unsafe {
        asm!("in ax, dx", out("ax") value, in("dx") port, options(nomem, nostack, preserves_flags))
    };
    value
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
        asm!(
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
        asm!(
            "rep outsw",
            in("dx") port,
            inout("rsi") bytes.as_ptr() => _,
            inout("rcx") words => _,
            options(nostack, preserves_flags, readonly)
        )
    };
}
