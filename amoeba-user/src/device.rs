//! What a driver running as a process uses: its interrupt line and its I/O ports.
//!
//! The kernel grants ports it does not drive itself (`IoPortGrant`); the CPU then lets this
//! process's ring-3 code execute `in`/`out` on exactly those (TSS I/O bitmap). `interrupt_await`
//! unmasks a legacy IRQ line and blocks until it fires; the line stays masked from then until the
//! next call, so the driver acknowledges its device before waiting again.

use core::arch::asm;
use core::time::Duration;

use super::{Result, raw, timeout_nanos};
use libamoeba::syscall::Call;

/// Asks for I/O ports `first .. first + count`.
pub fn grant_ports(first: u16, count: u16) -> Result<()> {
    // SAFETY: IoPortGrant only changes which ports this process may use.
    unsafe { raw::syscall2(Call::IoPortGrant, u64::from(first), u64::from(count)) }.map(drop)
}

/// Blocks until IRQ `line` (0-15) fires, or the timeout passes.
pub fn interrupt_await(line: u8, timeout: Option<Duration>) -> Result<()> {
    // SAFETY: InterruptAwait only blocks the calling thread.
    unsafe {
        raw::syscall2(
            Call::InterruptAwait,
            u64::from(line),
            timeout_nanos(timeout),
        )
    }
    .map(drop)
}

/// Reads a byte from a granted port.
///
/// # Safety
/// The port must have been granted (else the CPU faults and the process is aborted) and the read
/// must be harmless to the device.
pub unsafe fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: the caller guarantees the port is granted and the read is valid for the device.
    unsafe {
        asm!("in al, dx", out("al") value, in("dx") port, options(nomem, nostack, preserves_flags))
    };
    value
}

/// Writes a byte to a granted port.
///
/// # Safety
/// As for [`inb`], for a write.
pub unsafe fn outb(port: u16, value: u8) {
    // SAFETY: the caller guarantees the port is granted and the value is valid for the device.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    };
}
