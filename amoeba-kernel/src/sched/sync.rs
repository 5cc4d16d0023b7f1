//! Mutexes, counting semaphores and barriers: the state of each object and the rules of its
//! operations, without any blocking. The scheduler blocks and wakes the threads these rules
//! name, so kernel threads and user threads share one implementation and one API.

use super::thread::ThreadId;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use libamoeba::syscall::{Error, SyncKind};

/// Most objects one process may hold.
const MAX_OBJECTS: usize = 1024;

pub enum SyncObject {
    Mutex {
        owner: Option<ThreadId>,
        waiters: VecDeque<ThreadId>,
    },
    Semaphore {
        count: u64,
        waiters: VecDeque<ThreadId>,
    },
    Barrier {
        parties: u64,
        arrived: Vec<ThreadId>,
    },
}

/// What a wait operation means for the calling thread.
pub enum WaitOutcome {
    /// It got what it asked for and goes on.
    Proceed,
    /// It must block until woken.
    Block,
    /// It goes on, and these threads (waiting at the same barrier) wake.
    ProceedAndWake(Vec<ThreadId>),
}

/// A process's synchronization objects; handles are indices.
#[derive(Default)]
pub struct SyncTable {
    objects: Vec<Option<SyncObject>>,
}

impl SyncTable {
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

    fn get(&mut self, handle: u64) -> Result<&mut SyncObject, Error> {
        let index = usize::try_from(handle).map_err(|_| Error::BadArgument)?;
        self.objects
            .get_mut(index)
            .and_then(Option::as_mut)
            .ok_or(Error::BadArgument)
    }

    /// Mutex lock, semaphore down, barrier arrival.
    pub fn wait(&mut self, handle: u64, thread: ThreadId) -> Result<WaitOutcome, Error> {
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
    pub fn signal(&mut self, handle: u64, thread: ThreadId) -> Result<Option<ThreadId>, Error> {
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
    pub fn withdraw(&mut self, handle: u64, thread: ThreadId) {
        let Ok(object) = self.get(handle) else { return };
        match object {
            SyncObject::Mutex { waiters, .. } | SyncObject::Semaphore { waiters, .. } => {
                waiters.retain(|&t| t != thread)
            }
            SyncObject::Barrier { arrived, .. } => arrived.retain(|&t| t != thread),
        }
    }
}

impl SyncTable {
    /// Forgets an ending thread: it leaves every wait list, and each mutex it holds passes to
    /// its next waiter (returned, to be woken) instead of staying locked for ever.
    pub fn abandon(&mut self, thread: ThreadId) -> Vec<ThreadId> {
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
