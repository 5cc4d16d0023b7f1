//! A doorbell: how kernel code tells one service thread that it has new work, without the
//! race of a plain wake-up. A ring that comes before the thread waits is kept and ends its next
//! wait at once, because the flag is tested and the thread blocked under the scheduler's lock,
//! the lock [`Doorbell::ring`] takes too.
//!
//! The FLIP thread (`net::flip`) sleeps until its next protocol deadline on one; a client
//! starting a remote transaction rings it so that its deadlines count.

use super::wait::block_unless_done;
use super::{ThreadId, WaitTarget, Wake, with};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// No thread waits (thread ids start at 1).
const NOBODY: u64 = 0;

pub struct Doorbell {
    rung: AtomicBool,
    /// The thread in [`Doorbell::wait`], or [`NOBODY`].
    waiter: AtomicU64,
}

impl Doorbell {
    pub const fn new() -> Self {
        Self {
            rung: AtomicBool::new(false),
            waiter: AtomicU64::new(NOBODY),
        }
    }

    /// Blocks until the bell rings or `timeout` nanoseconds pass; returns at once if it rang
    /// since the last wait. One thread waits on a doorbell at a time.
    pub fn wait(&self, timeout: Option<u64>) -> Wake {
        let outcome = block_unless_done(WaitTarget::Doorbell, timeout, |_, current| {
            if self.rung.swap(false, Ordering::AcqRel) {
                return false;
            }
            self.waiter.store(current, Ordering::Release);
            true
        });
        self.waiter.store(NOBODY, Ordering::Release);
        outcome.unwrap_or(Wake::Signaled)
    }

    /// Wakes the waiting thread, or makes its next wait return at once. Must not be called
    /// with the scheduler's state locked (from its timer callbacks or `thread_ended`).
    pub fn ring(&self) {
        with(|s| {
            self.rung.store(true, Ordering::Release);
            let waiter: ThreadId = self.waiter.load(Ordering::Acquire);
            if waiter != NOBODY && s.wake(waiter, Wake::Signaled) {
                self.rung.store(false, Ordering::Release);
            }
        });
    }
}
