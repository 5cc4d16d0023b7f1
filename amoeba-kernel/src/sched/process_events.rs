//! What happened to processes (they ended, or a stun stopped them), kept for the one kernel
//! thread that tells their owners (the process server's): the scheduler queues each event and
//! wakes that thread, and knows nothing of owners.

#![cfg_attr(
    not(feature = "server-proc"),
    allow(dead_code, reason = "only the process server watches processes")
)]

use super::wait::{await_key, wake_awaiting};
use super::{KERNEL_PROCESS, ProcessId, Scheduler, with};
use core::sync::atomic::{AtomicBool, Ordering};

/// The kernel await key the watcher sleeps on.
const PROCESS_EVENT: u64 = u64::MAX - 1;
/// Events kept before the oldest is dropped: the watcher sends each in a few milliseconds, so
/// only a watcher stuck on dead owners lets them pile up, and it must not eat the heap.
const MAX_KEPT: usize = 256;

static WATCHED: AtomicBool = AtomicBool::new(false);

/// What happened to a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Happened {
    /// It exited, or was killed, with this code.
    Exited(i64),
    /// A fault ended it.
    Aborted,
    /// Every thread stopped for a stun; it waits to be resumed or ended.
    Stunned,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessEvent {
    pub pid: ProcessId,
    pub happened: Happened,
}

/// Keeps every process event from now on for [`next_process_event`].
pub fn watch_process_events() {
    WATCHED.store(true, Ordering::Relaxed);
}

/// Queues `event` if someone watches, and wakes the watcher.
pub(super) fn record(s: &mut Scheduler, event: ProcessEvent) {
    if !WATCHED.load(Ordering::Relaxed) {
        return;
    }
    if s.events.len() >= MAX_KEPT {
        s.events.pop_front();
    }
    s.events.push_back(event);
    wake_awaiting(s, KERNEL_PROCESS, PROCESS_EVENT);
}

/// The next process event, waiting for one (a kernel thread's call).
pub fn next_process_event() -> ProcessEvent {
    loop {
        if let Some(event) = with(|s| s.events.pop_front()) {
            return event;
        }
        await_key(PROCESS_EVENT, None);
    }
}
