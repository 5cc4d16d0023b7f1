//! Pending deadlines, earliest first; the one-shot hardware timer is always armed for the
//! earliest, or not at all when nothing is due: no periodic tick. What a deadline does when it
//! passes (`A`) is the kernel's business; deadlines are TSC values.

use alloc::collections::BTreeMap;

/// A deadline's key: its TSC value and a sequence number to keep equal deadlines apart (the
/// one added first comes due first).
pub type TimerKey = (u64, u64);

pub struct TimerQueue<A> {
    pending: BTreeMap<TimerKey, A>,
    next_sequence: u64,
}

impl<A> Default for TimerQueue<A> {
    fn default() -> Self {
        Self {
            pending: BTreeMap::new(),
            next_sequence: 0,
        }
    }
}

impl<A> TimerQueue<A> {
    pub fn add(&mut self, deadline: u64, action: A) -> TimerKey {
        let key = (deadline, self.next_sequence);
        self.next_sequence += 1;
        self.pending.insert(key, action);
        key
    }

    /// Forgets a deadline; one that already came due is no longer there, and nothing happens.
    pub fn cancel(&mut self, key: TimerKey) {
        self.pending.remove(&key);
    }

    pub fn earliest(&self) -> Option<u64> {
        self.pending.keys().next().map(|&(deadline, _)| deadline)
    }

    /// Removes and returns the first action due at `now`, if any.
    pub fn pop_due(&mut self, now: u64) -> Option<A> {
        let (&key, _) = self.pending.iter().next().filter(|(key, _)| key.0 <= now)?;
        self.pending.remove(&key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action due at `now`, in the order they come due.
    fn drain(queue: &mut TimerQueue<&'static str>, now: u64) -> Vec<&'static str> {
        core::iter::from_fn(|| queue.pop_due(now)).collect()
    }

    #[test]
    fn an_empty_queue_has_nothing_due_and_no_earliest() {
        let mut queue: TimerQueue<&str> = TimerQueue::default();
        assert_eq!(queue.earliest(), None);
        assert_eq!(queue.pop_due(u64::MAX), None);
    }

    #[test]
    fn deadlines_come_due_earliest_first_whatever_the_order_added() {
        let mut queue = TimerQueue::default();
        queue.add(300, "c");
        queue.add(100, "a");
        queue.add(200, "b");
        assert_eq!(queue.earliest(), Some(100));
        assert_eq!(drain(&mut queue, 1000), ["a", "b", "c"]);
        assert_eq!(queue.earliest(), None);
    }

    #[test]
    fn a_deadline_is_due_at_its_tick_not_before() {
        let mut queue = TimerQueue::default();
        queue.add(50, "x");
        assert_eq!(queue.pop_due(49), None);
        assert_eq!(queue.earliest(), Some(50));
        assert_eq!(queue.pop_due(50), Some("x"));
    }

    #[test]
    fn only_what_is_due_is_taken() {
        let mut queue = TimerQueue::default();
        queue.add(10, "early");
        queue.add(20, "late");
        assert_eq!(drain(&mut queue, 15), ["early"]);
        assert_eq!(queue.earliest(), Some(20));
    }

    #[test]
    fn equal_deadlines_come_due_in_the_order_they_were_added() {
        let mut queue = TimerQueue::default();
        let keys = [
            queue.add(7, "first"),
            queue.add(7, "second"),
            queue.add(7, "third"),
        ];
        assert!(keys[0] != keys[1] && keys[1] != keys[2]);
        assert_eq!(drain(&mut queue, 7), ["first", "second", "third"]);
    }

    #[test]
    fn cancelling_one_of_equal_deadlines_leaves_the_others() {
        let mut queue = TimerQueue::default();
        queue.add(7, "first");
        let second = queue.add(7, "second");
        queue.add(7, "third");
        queue.cancel(second);
        assert_eq!(drain(&mut queue, 7), ["first", "third"]);
    }

    #[test]
    fn cancelling_the_earliest_moves_the_earliest_on() {
        let mut queue = TimerQueue::default();
        let soon = queue.add(5, "soon");
        queue.add(9, "later");
        queue.cancel(soon);
        assert_eq!(queue.earliest(), Some(9));
        assert_eq!(queue.pop_due(5), None);
    }

    #[test]
    fn cancelling_a_deadline_that_came_due_changes_nothing() {
        let mut queue = TimerQueue::default();
        let fired = queue.add(1, "fired");
        assert_eq!(queue.pop_due(1), Some("fired"));
        queue.add(1, "again");
        queue.cancel(fired);
        assert_eq!(drain(&mut queue, 1), ["again"]);
    }
}
