//! Mutexes, counting semaphores and barriers: the state of each object and the rules of its
//! operations, without any blocking. The scheduler blocks and wakes the threads these rules
//! name, so kernel threads and user threads share one implementation and one API. Threads are
//! known by the scheduler's id type `T`; only equality and copies of it matter here.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use libamoeba::process::kernel_state::SyncState;
use libamoeba::syscall::{Error, SyncKind};

/// Most objects one process may hold.
const MAX_OBJECTS: usize = 1024;

pub enum SyncObject<T> {
    Mutex {
        owner: Option<T>,
        waiters: VecDeque<T>,
    },
    Semaphore {
        count: u64,
        waiters: VecDeque<T>,
    },
    Barrier {
        parties: u64,
        arrived: Vec<T>,
    },
}

/// What a wait operation means for the calling thread.
#[derive(Debug, PartialEq, Eq)]
pub enum WaitOutcome<T> {
    /// It got what it asked for and goes on.
    Proceed,
    /// It must block until woken.
    Block,
    /// It goes on, and these threads (waiting at the same barrier) wake.
    ProceedAndWake(Vec<T>),
}

/// A process's synchronization objects; handles are indices.
pub struct SyncTable<T> {
    objects: Vec<Option<SyncObject<T>>>,
}

impl<T> Default for SyncTable<T> {
    fn default() -> Self {
        Self {
            objects: Vec::new(),
        }
    }
}

impl<T: Copy + PartialEq> SyncTable<T> {
    pub fn create(&mut self, kind: SyncKind, argument: u64) -> Result<u64, Error> {
        let object = match kind {
            SyncKind::Mutex => SyncObject::Mutex {
                owner: None,
                waiters: VecDeque::new(),
            },
            SyncKind::Semaphore => SyncObject::Semaphore {
                count: argument,
                waiters: VecDeque::new(),
            },
            SyncKind::Barrier if argument > 0 => SyncObject::Barrier {
                parties: argument,
                arrived: Vec::new(),
            },
            SyncKind::Barrier => return Err(Error::BadArgument),
        };
        let free = self.objects.iter().position(Option::is_none);
        let handle = match free {
            Some(index) => index,
            None if self.objects.len() < MAX_OBJECTS => {
                self.objects.push(None);
                self.objects.len() - 1
            }
            None => return Err(Error::NoMemory),
        };
        self.objects[handle] = Some(object);
        Ok(handle as u64)
    }

    fn get(&mut self, handle: u64) -> Result<&mut SyncObject<T>, Error> {
        let index = usize::try_from(handle).map_err(|_| Error::BadArgument)?;
        self.objects
            .get_mut(index)
            .and_then(Option::as_mut)
            .ok_or(Error::BadArgument)
    }

    /// Mutex lock, semaphore down, barrier arrival.
    pub fn wait(&mut self, handle: u64, thread: T) -> Result<WaitOutcome<T>, Error> {
        Ok(match self.get(handle)? {
            SyncObject::Mutex {
                owner: Some(holder),
                ..
            } if *holder == thread => return Err(Error::Denied),
            SyncObject::Mutex {
                owner: owner @ None,
                ..
            } => {
                *owner = Some(thread);
                WaitOutcome::Proceed
            }
            SyncObject::Mutex { waiters, .. } => {
                waiters.push_back(thread);
                WaitOutcome::Block
            }
            SyncObject::Semaphore { count, .. } if *count > 0 => {
                *count -= 1;
                WaitOutcome::Proceed
            }
            SyncObject::Semaphore { waiters, .. } => {
                waiters.push_back(thread);
                WaitOutcome::Block
            }
            SyncObject::Barrier { parties, arrived } => {
                if arrived.len() as u64 + 1 == *parties {
                    WaitOutcome::ProceedAndWake(core::mem::take(arrived))
                } else {
                    arrived.push(thread);
                    WaitOutcome::Block
                }
            }
        })
    }

    /// Mutex unlock, semaphore up; returns the thread to wake, if any.
    pub fn signal(&mut self, handle: u64, thread: T) -> Result<Option<T>, Error> {
        match self.get(handle)? {
            SyncObject::Mutex { owner, waiters } => {
                if *owner != Some(thread) {
                    return Err(Error::Denied);
                }
                // Ownership passes straight to the first waiter: no thread can barge in between.
                *owner = waiters.pop_front();
                Ok(*owner)
            }
            SyncObject::Semaphore { count, waiters } => {
                let woken = waiters.pop_front();
                if woken.is_none() {
                    *count = count.checked_add(1).ok_or(Error::BadArgument)?;
                }
                Ok(woken)
            }
            SyncObject::Barrier { .. } => Err(Error::BadArgument),
        }
    }

    /// Removes an object no thread waits on (and, for a mutex, no thread holds).
    pub fn destroy(&mut self, handle: u64) -> Result<(), Error> {
        let busy = match self.get(handle)? {
            SyncObject::Mutex { owner, waiters } => owner.is_some() || !waiters.is_empty(),
            SyncObject::Semaphore { waiters, .. } => !waiters.is_empty(),
            SyncObject::Barrier { arrived, .. } => !arrived.is_empty(),
        };
        if busy {
            return Err(Error::Denied);
        }
        // `get` succeeded, so the index is in range.
        self.objects[handle as usize] = None;
        Ok(())
    }

    /// Forgets a waiter whose timeout passed.
    pub fn withdraw(&mut self, handle: u64, thread: T) {
        let Ok(object) = self.get(handle) else { return };
        match object {
            SyncObject::Mutex { waiters, .. } | SyncObject::Semaphore { waiters, .. } => {
                waiters.retain(|&t| t != thread)
            }
            SyncObject::Barrier { arrived, .. } => arrived.retain(|&t| t != thread),
        }
    }
}

impl<T: Copy + PartialEq> SyncTable<T> {
    /// Forgets an ending thread: it leaves every wait list, and each mutex it holds passes to
    /// its next waiter (returned, to be woken) instead of staying locked for ever.
    pub fn abandon(&mut self, thread: T) -> Vec<T> {
        let mut new_owners = Vec::new();
        for object in self.objects.iter_mut().flatten() {
            match object {
                SyncObject::Mutex { owner, waiters } => {
                    waiters.retain(|&t| t != thread);
                    if *owner == Some(thread) {
                        *owner = waiters.pop_front();
                        new_owners.extend(*owner);
                    }
                }
                SyncObject::Semaphore { waiters, .. } => waiters.retain(|&t| t != thread),
                SyncObject::Barrier { arrived, .. } => arrived.retain(|&t| t != thread),
            }
        }
        new_owners
    }
}

impl<T: Copy + PartialEq> SyncTable<T> {
    /// The objects as they travel with a stopped process (`libamoeba::process::kernel_state`),
    /// each thread named by `local`; `None` if a thread still waits on one (a stun takes every
    /// waiter off first).
    pub fn snapshot(&self, local: impl Fn(T) -> u32) -> Option<Vec<Option<SyncState>>> {
        self.objects
            .iter()
            .map(|object| match object {
                None => Some(None),
                Some(SyncObject::Mutex { owner, waiters }) if waiters.is_empty() => {
                    Some(Some(SyncState::Mutex {
                        owner: owner.map(&local),
                    }))
                }
                Some(SyncObject::Semaphore { count, waiters }) if waiters.is_empty() => {
                    Some(Some(SyncState::Semaphore { count: *count }))
                }
                Some(SyncObject::Barrier { parties, arrived }) if arrived.is_empty() => {
                    Some(Some(SyncState::Barrier { parties: *parties }))
                }
                Some(_) => None,
            })
            .collect()
    }

    /// The table a snapshot describes, each local id made a thread by `thread`; refused if
    /// it is too long or names a mutex owner `thread` does not know.
    pub fn restore(
        states: &[Option<SyncState>],
        thread: impl Fn(u32) -> Option<T>,
    ) -> Result<Self, Error> {
        if states.len() > MAX_OBJECTS {
            return Err(Error::BadArgument);
        }
        let object = |state: &Option<SyncState>| -> Result<Option<SyncObject<T>>, Error> {
            state
                .map(|state| match state {
                    SyncState::Mutex { owner } => owner
                        .map(|id| thread(id).ok_or(Error::BadArgument))
                        .transpose()
                        .map(|owner| SyncObject::Mutex {
                            owner,
                            waiters: VecDeque::new(),
                        }),
                    SyncState::Semaphore { count } => Ok(SyncObject::Semaphore {
                        count,
                        waiters: VecDeque::new(),
                    }),
                    SyncState::Barrier { parties } => Ok(SyncObject::Barrier {
                        parties,
                        arrived: Vec::new(),
                    }),
                })
                .transpose()
        };
        let objects = states.iter().map(object).collect::<Result<_, _>>()?;
        Ok(Self { objects })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use WaitOutcome::{Block, Proceed, ProceedAndWake};

    fn table_with(kind: SyncKind, argument: u64) -> (SyncTable<u32>, u64) {
        let mut table = SyncTable::default();
        let handle = table
            .create(kind, argument)
            .expect("an object in an empty table");
        (table, handle)
    }

    #[test]
    fn a_free_mutex_goes_to_the_first_thread_and_others_wait() {
        let (mut table, m) = table_with(SyncKind::Mutex, 0);
        assert_eq!(table.wait(m, 1), Ok(Proceed));
        assert_eq!(table.wait(m, 2), Ok(Block));
        assert_eq!(table.wait(m, 3), Ok(Block));
    }

    #[test]
    fn a_mutex_owner_cannot_lock_it_again() {
        let (mut table, m) = table_with(SyncKind::Mutex, 0);
        assert_eq!(table.wait(m, 1), Ok(Proceed));
        assert_eq!(table.wait(m, 1), Err(Error::Denied));
    }

    #[test]
    fn only_the_owner_unlocks_a_mutex() {
        let (mut table, m) = table_with(SyncKind::Mutex, 0);
        assert_eq!(table.signal(m, 1), Err(Error::Denied));
        assert_eq!(table.wait(m, 1), Ok(Proceed));
        assert_eq!(table.signal(m, 2), Err(Error::Denied));
        assert_eq!(table.signal(m, 1), Ok(None));
        assert_eq!(table.wait(m, 2), Ok(Proceed));
    }

    #[test]
    fn unlocking_hands_the_mutex_to_its_waiters_in_arrival_order() {
        let (mut table, m) = table_with(SyncKind::Mutex, 0);
        table.wait(m, 1).ok();
        table.wait(m, 2).ok();
        table.wait(m, 3).ok();
        assert_eq!(table.signal(m, 1), Ok(Some(2)));
        // Ownership passed: the old owner may not unlock again, a newcomer waits.
        assert_eq!(table.signal(m, 1), Err(Error::Denied));
        assert_eq!(table.wait(m, 4), Ok(Block));
        assert_eq!(table.signal(m, 2), Ok(Some(3)));
        assert_eq!(table.signal(m, 3), Ok(Some(4)));
        assert_eq!(table.signal(m, 4), Ok(None));
    }

    #[test]
    fn a_semaphore_lets_as_many_through_as_its_count() {
        let (mut table, s) = table_with(SyncKind::Semaphore, 2);
        assert_eq!(table.wait(s, 1), Ok(Proceed));
        assert_eq!(table.wait(s, 2), Ok(Proceed));
        assert_eq!(table.wait(s, 3), Ok(Block));
    }

    #[test]
    fn up_wakes_the_first_waiter_instead_of_counting() {
        let (mut table, s) = table_with(SyncKind::Semaphore, 0);
        table.wait(s, 1).ok();
        table.wait(s, 2).ok();
        assert_eq!(table.signal(s, 9), Ok(Some(1)));
        assert_eq!(table.signal(s, 9), Ok(Some(2)));
        // Both ups went to waiters: the count is still 0.
        assert_eq!(table.wait(s, 3), Ok(Block));
    }

    #[test]
    fn up_without_waiters_counts_for_later() {
        let (mut table, s) = table_with(SyncKind::Semaphore, 0);
        assert_eq!(table.signal(s, 1), Ok(None));
        assert_eq!(table.signal(s, 1), Ok(None));
        assert_eq!(table.wait(s, 2), Ok(Proceed));
        assert_eq!(table.wait(s, 3), Ok(Proceed));
        assert_eq!(table.wait(s, 4), Ok(Block));
    }

    #[test]
    fn a_semaphore_count_does_not_overflow() {
        let (mut table, s) = table_with(SyncKind::Semaphore, u64::MAX);
        assert_eq!(table.signal(s, 1), Err(Error::BadArgument));
        assert_eq!(table.wait(s, 1), Ok(Proceed));
        assert_eq!(table.signal(s, 1), Ok(None));
    }

    #[test]
    fn a_barrier_releases_everyone_when_the_last_party_arrives() {
        let (mut table, b) = table_with(SyncKind::Barrier, 3);
        assert_eq!(table.wait(b, 1), Ok(Block));
        assert_eq!(table.wait(b, 2), Ok(Block));
        assert_eq!(table.wait(b, 3), Ok(ProceedAndWake(vec![1, 2])));
        // It starts over for the next round.
        assert_eq!(table.wait(b, 1), Ok(Block));
    }

    #[test]
    fn a_barrier_of_one_never_blocks() {
        let (mut table, b) = table_with(SyncKind::Barrier, 1);
        assert_eq!(table.wait(b, 1), Ok(ProceedAndWake(vec![])));
    }

    #[test]
    fn a_barrier_needs_a_party() {
        let mut table: SyncTable<u32> = SyncTable::default();
        assert_eq!(table.create(SyncKind::Barrier, 0), Err(Error::BadArgument));
    }

    #[test]
    fn a_barrier_cannot_be_signalled() {
        let (mut table, b) = table_with(SyncKind::Barrier, 2);
        assert_eq!(table.signal(b, 1), Err(Error::BadArgument));
    }

    #[test]
    fn unknown_handles_are_bad_arguments() {
        let (mut table, m) = table_with(SyncKind::Mutex, 0);
        for handle in [m + 1, 1 << 40, u64::MAX] {
            assert_eq!(table.wait(handle, 1), Err(Error::BadArgument));
            assert_eq!(table.signal(handle, 1), Err(Error::BadArgument));
            assert_eq!(table.destroy(handle), Err(Error::BadArgument));
        }
    }

    #[test]
    fn objects_in_use_cannot_be_destroyed() {
        let (mut table, owned) = table_with(SyncKind::Mutex, 0);
        table.wait(owned, 1).ok();
        assert_eq!(table.destroy(owned), Err(Error::Denied));
        let semaphore = table.create(SyncKind::Semaphore, 0).expect("room");
        table.wait(semaphore, 1).ok();
        assert_eq!(table.destroy(semaphore), Err(Error::Denied));
        let barrier = table.create(SyncKind::Barrier, 2).expect("room");
        table.wait(barrier, 1).ok();
        assert_eq!(table.destroy(barrier), Err(Error::Denied));
        // Each still works after the refusal.
        assert_eq!(table.signal(semaphore, 2), Ok(Some(1)));
        assert_eq!(table.wait(barrier, 2), Ok(ProceedAndWake(vec![1])));
        assert_eq!(table.signal(owned, 1), Ok(None));
    }

    #[test]
    fn a_destroyed_handle_is_gone_and_its_number_is_reused() {
        let (mut table, first) = table_with(SyncKind::Mutex, 0);
        let second = table.create(SyncKind::Semaphore, 1).expect("room");
        assert_eq!(table.destroy(first), Ok(()));
        assert_eq!(table.wait(first, 1), Err(Error::BadArgument));
        assert_eq!(table.destroy(first), Err(Error::BadArgument));
        let third = table.create(SyncKind::Semaphore, 0).expect("room");
        assert_eq!(third, first);
        assert_eq!(table.wait(third, 1), Ok(Block));
        assert_eq!(table.wait(second, 1), Ok(Proceed));
    }

    #[test]
    fn a_process_holds_at_most_max_objects() {
        let mut table: SyncTable<u32> = SyncTable::default();
        for expected in 0..MAX_OBJECTS as u64 {
            assert_eq!(table.create(SyncKind::Mutex, 0), Ok(expected));
        }
        assert_eq!(table.create(SyncKind::Mutex, 0), Err(Error::NoMemory));
        assert_eq!(table.destroy(5), Ok(()));
        assert_eq!(table.create(SyncKind::Semaphore, 0), Ok(5));
    }

    #[test]
    fn a_withdrawn_waiter_is_passed_over() {
        let (mut table, m) = table_with(SyncKind::Mutex, 0);
        table.wait(m, 1).ok();
        table.wait(m, 2).ok();
        table.wait(m, 3).ok();
        table.withdraw(m, 2);
        assert_eq!(table.signal(m, 1), Ok(Some(3)));
        let (mut table, s) = table_with(SyncKind::Semaphore, 0);
        table.wait(s, 1).ok();
        table.withdraw(s, 1);
        assert_eq!(table.signal(s, 9), Ok(None));
        assert_eq!(table.destroy(s), Ok(()));
        // Withdrawing from a handle that is gone is no error.
        table.withdraw(s, 1);
    }

    #[test]
    fn a_withdrawn_party_no_longer_counts_at_a_barrier() {
        let (mut table, b) = table_with(SyncKind::Barrier, 2);
        table.wait(b, 1).ok();
        table.withdraw(b, 1);
        assert_eq!(table.wait(b, 2), Ok(Block));
        assert_eq!(table.wait(b, 3), Ok(ProceedAndWake(vec![2])));
    }

    #[test]
    fn an_ending_thread_passes_its_mutexes_on_and_leaves_every_wait() {
        let mut table: SyncTable<u32> = SyncTable::default();
        let held = table.create(SyncKind::Mutex, 0).expect("room");
        let other = table.create(SyncKind::Mutex, 0).expect("room");
        let semaphore = table.create(SyncKind::Semaphore, 0).expect("room");
        table.wait(held, 1).ok();
        table.wait(held, 2).ok();
        table.wait(other, 3).ok();
        table.wait(other, 1).ok();
        table.wait(semaphore, 1).ok();
        assert_eq!(table.abandon(1), vec![2]);
        assert_eq!(table.signal(held, 2), Ok(None));
        assert_eq!(table.signal(other, 3), Ok(None));
        assert_eq!(table.signal(semaphore, 3), Ok(None));
        assert_eq!(table.destroy(semaphore), Ok(()));
    }

    #[test]
    fn an_abandoned_mutex_without_waiters_is_free() {
        let (mut table, m) = table_with(SyncKind::Mutex, 0);
        table.wait(m, 1).ok();
        assert_eq!(table.abandon(1), Vec::<u32>::new());
        assert_eq!(table.wait(m, 2), Ok(Proceed));
    }

    #[test]
    fn a_table_with_nobody_waiting_travels_by_local_ids() {
        let mut table: SyncTable<u64> = SyncTable::default();
        let mutex = table.create(SyncKind::Mutex, 0).unwrap();
        let semaphore = table.create(SyncKind::Semaphore, 3).unwrap();
        let barrier = table.create(SyncKind::Barrier, 2).unwrap();
        let gone = table.create(SyncKind::Mutex, 0).unwrap();
        table.destroy(gone).unwrap();
        assert_eq!(table.wait(mutex, 70), Ok(WaitOutcome::Proceed));
        assert_eq!(table.wait(semaphore, 71), Ok(WaitOutcome::Proceed));
        let states = table.snapshot(|thread| (thread - 69) as u32).unwrap();
        assert_eq!(
            states,
            vec![
                Some(SyncState::Mutex { owner: Some(1) }),
                Some(SyncState::Semaphore { count: 2 }),
                Some(SyncState::Barrier { parties: 2 }),
                None,
            ]
        );
        let mut back = SyncTable::restore(&states, |id| Some(u64::from(id) + 500)).unwrap();
        assert_eq!(back.signal(mutex, 501), Ok(None), "the owner moved along");
        assert_eq!(back.wait(barrier, 9), Ok(WaitOutcome::Block));
        assert_eq!(
            back.snapshot(|t| t as u32),
            None,
            "a waiter keeps it from travelling"
        );
        assert_eq!(
            SyncTable::<u64>::restore(&states, |_| None).err(),
            Some(Error::BadArgument)
        );
    }
}
