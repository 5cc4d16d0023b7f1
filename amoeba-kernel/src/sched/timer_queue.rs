//! Pending deadlines, earliest first; the one-shot hardware timer is always armed for the
//! earliest, or not at all when nothing is due: no periodic tick.

use super::ThreadId;
use alloc::collections::BTreeMap;

/// What happens when a deadline passes.
#[derive(Clone, Copy, Debug)]
pub enum TimerAction {
    /// Wake a thread blocked with a timeout (or sleeping).
    Wake(ThreadId),
    /// Run a kernel function every `period` TSC ticks, for as long as it returns true.
    #[cfg_attr(
        not(feature = "selftest"),
        allow(dead_code, reason = "only `selftest=sched` uses it so far")
    )]
    Periodic { period: u64, function: fn() -> bool },
}

/// A deadline's key: its TSC value and a sequence number to keep equal deadlines apart.
pub type TimerKey = (u64, u64);

#[derive(Default)]
pub struct TimerQueue {
    pending: BTreeMap<TimerKey, TimerAction>,
    next_sequence: u64,
}

impl TimerQueue {
    pub fn add(&mut self, deadline: u64, action: TimerAction) -> TimerKey {
        let key = (deadline, self.next_sequence);
        self.next_sequence += 1;
        self.pending.insert(key, action);
        key
    }

    pub fn cancel(&mut self, key: TimerKey) {
        self.pending.remove(&key);
    }

    pub fn earliest(&self) -> Option<u64> {
        self.pending.keys().next().map(|&(deadline, _)| deadline)
    }

    /// Removes and returns the first action due at `now`, if any.
    pub fn pop_due(&mut self, now: u64) -> Option<TimerAction> {
        let (&key, _) = self.pending.iter().next().filter(|(key, _)| key.0 <= now)?;
        self.pending.remove(&key)
    }
}
