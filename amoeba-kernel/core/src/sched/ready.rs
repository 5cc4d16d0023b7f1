//! The ready threads and the choice of the next one to run: by two-level priority (PPRIO x
//! TPRIO, `libamoeba::priority`), first come first served within one rank, and a thread put
//! back behind its equals after its turn (round robin). Beside the queues stands the partner
//! of an RPC hand-off, the thread that should run next.
//!
//! What a thread's priority is, and whether its process lets it run now, the scheduler's tables
//! know: the queues ask them through [`Eligibility`].

use alloc::collections::VecDeque;
use libamoeba::priority::Priority;

/// What the ready queues ask the scheduler about a ready thread.
pub trait Eligibility<T> {
    /// Its priority: its process's and its own.
    fn priority(&self, thread: T) -> Priority;
    /// Whether it may be dispatched now (its process's turn allows it).
    fn may_run(&self, thread: T) -> bool;
}

/// Ready threads by rank (0 the most urgent), each queue in the order they became ready.
pub struct ReadyQueues<T> {
    queues: [VecDeque<T>; Priority::RANKS],
    /// A ready thread kept off the queues because it should run next: the partner of an RPC
    /// hand-off. It still yields to as urgent a queued thread.
    partner: Option<T>,
}

impl<T> Default for ReadyQueues<T> {
    fn default() -> Self {
        Self {
            queues: Default::default(),
            partner: None,
        }
    }
}

impl<T: Copy + PartialEq> ReadyQueues<T> {
    /// Puts `thread` behind the ready threads of its rank.
    pub fn push(&mut self, thread: T, priority: Priority) {
        self.queues[priority.rank()].push_back(thread);
    }

    /// Makes `thread` the next to run (see `partner`); an earlier partner that has not run yet
    /// goes to its queue.
    pub fn hand_off(&mut self, thread: T, threads: &impl Eligibility<T>) {
        if let Some(earlier) = self.partner.replace(thread) {
            self.push(earlier, threads.priority(earlier));
        }
    }

    /// The most urgent thread allowed to run now, taken off its queue; `None` if there is none.
    /// A hand-off partner goes first unless a thread as urgent or more is queued: then it
    /// queues behind it, so threads that pass messages back and forth cannot keep the CPU from
    /// their equals.
    pub fn take_next(&mut self, threads: &impl Eligibility<T>) -> Option<T> {
        if let Some(partner) = self.partner.take() {
            // Its rank only matters when another thread is queued: the usual hand-off, with
            // nothing else ready, never looks it up.
            let rank = || threads.priority(partner).rank();
            if threads.may_run(partner)
                && self
                    .best_queued_rank(threads)
                    .is_none_or(|best| best > rank())
            {
                return Some(partner);
            }
            self.queues[rank()].push_back(partner);
        }
        for queue in &mut self.queues {
            if let Some(index) = queue.iter().position(|&t| threads.may_run(t)) {
                return queue.remove(index);
            }
        }
        None
    }

    /// The rank of the most urgent thread that could run now, if any.
    pub fn best_rank(&self, threads: &impl Eligibility<T>) -> Option<usize> {
        let partner = self
            .partner
            .filter(|&t| threads.may_run(t))
            .map(|t| threads.priority(t).rank());
        match (partner, self.best_queued_rank(threads)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn best_queued_rank(&self, threads: &impl Eligibility<T>) -> Option<usize> {
        // Every switch asks this: a loop over the queues themselves (not over ranks as indices)
        // leaves no bounds check and compiles to a tight loop.
        for (rank, queue) in self.queues.iter().enumerate() {
            if queue.iter().any(|&t| threads.may_run(t)) {
                return Some(rank);
            }
        }
        None
    }

    /// Takes `thread` off the queues and the hand-off: it runs now, or it ended.
    pub fn remove(&mut self, thread: T) {
        self.queues
            .iter_mut()
            .for_each(|queue| queue.retain(|&t| t != thread));
        if self.partner == Some(thread) {
            self.partner = None;
        }
    }

    /// How many threads are ready, the hand-off partner included.
    pub fn len(&self) -> usize {
        self.queues.iter().map(VecDeque::len).sum::<usize>() + usize::from(self.partner.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use libamoeba::priority::Level::{self, High, Low, Norm};

    /// The scheduler's tables, faked: each thread's priority and whether it may run.
    #[derive(Default)]
    struct Threads(BTreeMap<u32, (Priority, bool)>);

    impl Threads {
        fn add(&mut self, thread: u32, process: Level, own: Level) {
            let priority = Priority {
                process,
                thread: own,
            };
            self.0.insert(thread, (priority, true));
        }

        fn set_may_run(&mut self, thread: u32, may_run: bool) {
            if let Some(entry) = self.0.get_mut(&thread) {
                entry.1 = may_run;
            }
        }
    }

    impl Eligibility<u32> for Threads {
        fn priority(&self, thread: u32) -> Priority {
            self.0[&thread].0
        }

        fn may_run(&self, thread: u32) -> bool {
            self.0[&thread].1
        }
    }

    /// Threads of one priority (NORM x NORM), all ready in the order given.
    fn equals(ids: &[u32]) -> (Threads, ReadyQueues<u32>) {
        let mut threads = Threads::default();
        ids.iter().for_each(|&id| threads.add(id, Norm, Norm));
        let queues = ready(&threads, ids);
        (threads, queues)
    }

    fn ready(threads: &Threads, ids: &[u32]) -> ReadyQueues<u32> {
        let mut queues = ReadyQueues::default();
        ids.iter()
            .for_each(|&id| queues.push(id, threads.priority(id)));
        queues
    }

    /// Takes threads until none may run: the order they would get the CPU.
    fn run_order(queues: &mut ReadyQueues<u32>, threads: &Threads) -> Vec<u32> {
        core::iter::from_fn(|| queues.take_next(threads)).collect()
    }

    #[test]
    fn nothing_ready_gives_nothing() {
        let threads = Threads::default();
        let mut queues = ReadyQueues::default();
        assert_eq!(queues.take_next(&threads), None);
        assert_eq!(queues.best_rank(&threads), None);
        assert!(queues.is_empty());
    }

    #[test]
    fn the_most_urgent_rank_runs_first_whatever_the_order_of_readying() {
        let mut threads = Threads::default();
        let levels = [High, Norm, Low];
        for (p, &process) in levels.iter().enumerate() {
            for (t, &own) in levels.iter().enumerate() {
                threads.add((p * 3 + t) as u32, process, own);
            }
        }
        let mut queues = ready(&threads, &[8, 3, 5, 0, 7, 1, 4, 6, 2]);
        assert_eq!(queues.best_rank(&threads), Some(0));
        assert_eq!(
            run_order(&mut queues, &threads),
            [0, 1, 2, 3, 4, 5, 6, 7, 8]
        );
    }

    #[test]
    fn process_priority_weighs_more_than_thread_priority() {
        let mut threads = Threads::default();
        threads.add(1, Norm, High);
        threads.add(2, High, Low);
        threads.add(3, Low, High);
        let mut queues = ready(&threads, &[1, 3, 2]);
        assert_eq!(run_order(&mut queues, &threads), [2, 1, 3]);
    }

    #[test]
    fn equals_run_in_the_order_they_became_ready() {
        let (threads, mut queues) = equals(&[4, 2, 9, 1]);
        assert_eq!(queues.len(), 4);
        assert_eq!(run_order(&mut queues, &threads), [4, 2, 9, 1]);
    }

    #[test]
    fn a_thread_put_back_after_its_turn_waits_for_its_equals() {
        let (threads, mut queues) = equals(&[1, 2, 3]);
        let mut turns = Vec::new();
        for _ in 0..7 {
            let Some(running) = queues.take_next(&threads) else {
                break;
            };
            turns.push(running);
            queues.push(running, threads.priority(running));
        }
        assert_eq!(turns, [1, 2, 3, 1, 2, 3, 1]);
    }

    #[test]
    fn a_thread_removed_from_the_middle_is_gone_and_the_rest_keep_their_order() {
        let (threads, mut queues) = equals(&[1, 2, 3, 4]);
        queues.remove(3);
        queues.remove(42);
        assert_eq!(queues.len(), 3);
        assert_eq!(run_order(&mut queues, &threads), [1, 2, 4]);
    }

    #[test]
    fn a_thread_whose_process_does_not_let_it_run_keeps_its_place() {
        let (mut threads, mut queues) = equals(&[1, 2, 3]);
        threads.set_may_run(1, false);
        assert_eq!(queues.take_next(&threads), Some(2));
        threads.set_may_run(1, true);
        assert_eq!(run_order(&mut queues, &threads), [1, 3]);
    }

    #[test]
    fn a_less_urgent_thread_runs_when_the_urgent_ones_may_not() {
        let mut threads = Threads::default();
        threads.add(1, High, High);
        threads.add(2, Low, Low);
        threads.set_may_run(1, false);
        let mut queues = ready(&threads, &[1, 2]);
        assert_eq!(queues.best_rank(&threads), Some(8));
        assert_eq!(run_order(&mut queues, &threads), [2]);
        assert_eq!(queues.len(), 1);
    }

    #[test]
    fn a_partner_runs_before_less_urgent_queued_threads() {
        let mut threads = Threads::default();
        threads.add(1, Norm, Low);
        threads.add(2, Norm, Norm);
        threads.add(9, Norm, Norm);
        let mut queues = ready(&threads, &[1, 2]);
        queues.hand_off(9, &threads);
        // Thread 2 is as urgent as the partner: it runs first.
        assert_eq!(run_order(&mut queues, &threads), [2, 9, 1]);
        let mut queues = ready(&threads, &[1]);
        queues.hand_off(9, &threads);
        assert_eq!(run_order(&mut queues, &threads), [9, 1]);
    }

    #[test]
    fn a_partner_queues_behind_its_equals() {
        let (mut threads, mut queues) = equals(&[1, 2]);
        threads.add(9, Norm, Norm);
        queues.hand_off(9, &threads);
        assert_eq!(queues.len(), 3);
        assert_eq!(run_order(&mut queues, &threads), [1, 2, 9]);
    }

    #[test]
    fn a_partner_yields_to_a_more_urgent_thread() {
        let mut threads = Threads::default();
        threads.add(1, High, Norm);
        threads.add(9, Norm, High);
        let mut queues = ready(&threads, &[1]);
        queues.hand_off(9, &threads);
        assert_eq!(queues.best_rank(&threads), Some(1));
        assert_eq!(run_order(&mut queues, &threads), [1, 9]);
    }

    #[test]
    fn a_partner_its_process_does_not_let_run_waits_in_its_queue() {
        let mut threads = Threads::default();
        threads.add(1, Low, Low);
        threads.add(9, High, High);
        threads.set_may_run(9, false);
        let mut queues = ready(&threads, &[1]);
        queues.hand_off(9, &threads);
        assert_eq!(queues.best_rank(&threads), Some(8));
        assert_eq!(queues.take_next(&threads), Some(1));
        threads.set_may_run(9, true);
        assert_eq!(run_order(&mut queues, &threads), [9]);
    }

    #[test]
    fn a_new_partner_sends_the_earlier_one_to_the_back_of_its_queue() {
        let (mut threads, mut queues) = equals(&[1]);
        threads.add(8, High, High);
        threads.add(9, High, High);
        threads.add(7, High, High);
        queues.push(7, threads.priority(7));
        queues.hand_off(8, &threads);
        queues.hand_off(9, &threads);
        assert_eq!(queues.len(), 4);
        // 9 is the partner now but 7, as urgent, is queued: 9 queues behind 7 and 8.
        assert_eq!(run_order(&mut queues, &threads), [7, 8, 9, 1]);
    }

    #[test]
    fn removing_the_partner_cancels_the_hand_off() {
        let (mut threads, mut queues) = equals(&[1]);
        threads.add(9, High, High);
        queues.hand_off(9, &threads);
        assert_eq!(queues.best_rank(&threads), Some(0));
        queues.remove(9);
        assert_eq!(queues.len(), 1);
        assert_eq!(queues.best_rank(&threads), Some(4));
        assert_eq!(run_order(&mut queues, &threads), [1]);
    }
}
