//! Await and wakeup: threads of one process wait on a key (any number) until another thread
//! wakes that key. A wakeup wakes only threads already waiting: it is not remembered.

use core::time::Duration;

use super::{Result, raw, timeout_nanos};
use libamoeba::syscall::Call;

/// Blocks until [`wakeup`] on `key`; `Err(TimedOut)` when `timeout` passes first.
pub fn await_key(key: u64, timeout: Option<Duration>) -> Result<()> {
    // SAFETY: Await only blocks the calling thread.
    unsafe { raw::syscall2(Call::Await, key, timeout_nanos(timeout)) }.map(drop)
}

/// Wakes every thread of this process awaiting `key`; returns how many woke.
pub fn wakeup(key: u64) -> u64 {
    // SAFETY: Wakeup only makes threads ready.
    unsafe { raw::syscall1(Call::Wakeup, key) }.unwrap_or(0)
}
