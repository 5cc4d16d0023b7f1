//! Processes that ended, kept for the one kernel thread that tells their owners (the process
//! server's): the scheduler queues each end and wakes that thread, and knows nothing of owners.

use super::api::{await_key, wake_awaiting};
use super::{KERNEL_PROCESS, ProcessId, Scheduler, with};
use core::sync::atomic::{AtomicBool, Ordering};

/// The kernel await key the watcher sleeps on.
const PROCESS_ENDED: u64 = u64::MAX - 1;
/// Ends kept before the oldest is dropped: the watcher sends each in a few milliseconds, so
/// only a watcher stuck on dead owners lets them pile up, and it must not eat the heap.
const MAX_KEPT: usize = 256;

static WATCHED: AtomicBool = AtomicBool::new(false);

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// It exited, or was killed, with this code.
    Exited(i64),
    /// A fault ended it.
    Aborted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessEnd {
    pub pid: ProcessId,
    pub ending: Ending,
}

/// Keeps every process end from now on for [`next_process_end`].
pub fn watch_process_ends() {
    WATCHED.store(true, Ordering::Relaxed);
}

/// Queues `end` if someone watches, and wakes the watcher.
pub(super) fn record(s: &mut Scheduler, end: ProcessEnd) {
    if !WATCHED.load(Ordering::Relaxed) {
        return;
    }
    if s.ended.len() >= MAX_KEPT {
        s.ended.pop_front();
    }
    s.ended.push_back(end);
    wake_awaiting(s, KERNEL_PROCESS, PROCESS_ENDED);
}

/// The next process end, waiting for one (a kernel thread's call).
pub fn next_process_end() -> ProcessEnd {
    loop {
        if let Some(end) = with(|s| s.ended.pop_front()) {
            return end;
        }
        await_key(PROCESS_ENDED, None);
    }
}
