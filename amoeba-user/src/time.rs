//! The node's clock.

use core::time::Duration;

use super::raw;
use libamoeba::syscall::Call;

/// Time since the node booted.
pub fn now() -> Duration {
    // SAFETY: Now only returns a number.
    Duration::from_nanos(unsafe { raw::syscall0(Call::Now) }.unwrap_or(0))
}

/// The CPU's time-stamp counter: cycles for measuring short stretches of code. Under QEMU
/// `-icount` it follows executed instructions, so such figures repeat exactly.
pub fn cycles() -> u64 {
    // SAFETY: RDTSC only reads a counter; the kernel leaves CR4.TSD clear, so ring 3 may use it.
    unsafe { core::arch::x86_64::_rdtsc() }
}
