//! Signals: bits raised on a thread of the same process, taken by that thread with [`wait`].
//! A signal raised before the thread waits stays pending until it does. There are 63: the top
//! bit is refused (a wait that took it would read as an error code). Threads are named by
//! their number in the process ([`super::thread::current`]), which stays theirs when the
//! process moves to another node.

use core::time::Duration;

use super::thread::ThreadId;
use super::{Result, raw, timeout_nanos};
use libamoeba::syscall::Call;

/// Raises `bits` on `thread` (a thread of this process).
pub fn send(thread: ThreadId, bits: u64) -> Result<()> {
    // SAFETY: SignalSend only changes the target's pending bits.
    unsafe { raw::syscall2(Call::SignalSend, thread.raw(), bits) }.map(drop)
}

/// Waits until a signal in `mask` is pending; takes and returns the pending ones in `mask`.
/// `Err(TimedOut)` when `timeout` passes first, `Err(BadArgument)` for an empty mask.
pub fn wait(mask: u64, timeout: Option<Duration>) -> Result<u64> {
    // SAFETY: SignalWait only blocks the calling thread.
    unsafe { raw::syscall2(Call::SignalWait, mask, timeout_nanos(timeout)) }
}
