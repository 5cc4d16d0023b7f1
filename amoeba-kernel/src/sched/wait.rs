//! Blocking and waking, the primitives every part of the scheduler waits with: a thread
//! blocks on a [`WaitTarget`] (with an optional timeout) and is woken by whoever it waits for.
//! Below `api` and the stun and process-event code, which all wait and wake through these.

use super::timer_queue::TimerAction;
use super::{ProcessId, Scheduler, State, ThreadId, WaitTarget, Wake, switch_to_next, ticks, with};
use crate::arch::cpu;
use alloc::collections::VecDeque;

/// Blocks the running thread after `setup` registered it wherever it waits; returns why it
/// woke. A `timeout` in nanoseconds of `None` waits for ever.
pub(super) fn block(
    target: WaitTarget,
    timeout: Option<u64>,
    setup: impl FnOnce(&mut Scheduler, ThreadId),
) -> Wake {
    let blocks = |s: &mut Scheduler, current| {
        setup(s, current);
        true
    };
    block_unless_done(target, timeout, blocks).unwrap_or(Wake::Signaled)
}

/// Blocks like [`block`] if `setup`, run under the scheduler's lock, says to; `None` if it
/// did not (what the caller waits for had already happened).
pub(super) fn block_unless_done(
    target: WaitTarget,
    timeout: Option<u64>,
    setup: impl FnOnce(&mut Scheduler, ThreadId) -> bool,
) -> Option<Wake> {
    let blocked = with(|s| {
        let current = s.current;
        if !setup(s, current) {
            return false;
        }
        let deadline = timeout.map(|nanos| cpu::rdtsc().saturating_add(ticks(nanos)));
        let timer = deadline.map(|d| s.timers.add(d, TimerAction::Wake(current)));
        let thread = s.current_thread();
        thread.state = State::Blocked;
        thread.waiting_on = Some(target);
        thread.timer = timer;
        release_turn(s, current);
        s.reprogram_timer();
        true
    });
    if !blocked {
        return None;
    }
    switch_to_next();
    Some(with(|s| s.current_thread().wake))
}

pub(super) fn release_turn(s: &mut Scheduler, thread: ThreadId) {
    if let Some(process) = s.process_of(thread)
        && process.turn_holder == Some(thread)
    {
        process.turn_holder = None;
    }
}

/// Blocks until [`wakeup`] on `key` in the same process, or the timeout.
pub fn await_key(key: u64, timeout: Option<u64>) -> Wake {
    block(WaitTarget::Await(key), timeout, |s, current| {
        if let Some(process) = s.process_of(current) {
            process
                .awaiting
                .entry(key)
                .or_insert_with(VecDeque::new)
                .push_back(current);
        }
    })
}

/// Wakes every thread of `process` awaiting `key`; returns how many.
pub(super) fn wake_awaiting(s: &mut Scheduler, process: ProcessId, key: u64) -> u64 {
    let waiters = s
        .processes
        .get_mut(&process)
        .and_then(|p| p.awaiting.remove(&key))
        .unwrap_or_default();
    waiters
        .into_iter()
        .filter(|&t| s.wake(t, Wake::Signaled))
        .count() as u64
}
