//! Kernel synchronization objects: [`Mutex`] (with the data it guards), [`Semaphore`],
//! [`Barrier`]. Each is a handle to an object of this process in the kernel (at most 1024 live
//! at once); blocking happens there. A [`Mutex`] gives its object back when dropped; semaphores
//! and barriers are plain `Copy` handles, given back with `destroy` once no thread uses them.
//!
//! Operations that cannot fail in a correct program (lock, down, up, wait without timeout)
//! panic if the kernel refuses them, e.g. when one thread locks a mutex it already holds.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::time::Duration;

use super::{Result, expect_ok, raw, timeout_nanos};
use libamoeba::syscall::{Call, SyncKind};

fn create(kind: SyncKind, argument: u64) -> Result<u64> {
    // SAFETY: SyncCreate only makes a kernel object.
    unsafe { raw::syscall2(Call::SyncCreate, kind as u64, argument) }
}

fn wait(handle: u64, timeout: Option<Duration>) -> Result<()> {
    // SAFETY: SyncWait only blocks the calling thread.
    unsafe { raw::syscall2(Call::SyncWait, handle, timeout_nanos(timeout)) }.map(drop)
}

fn destroy(handle: u64) -> Result<()> {
    // SAFETY: SyncDestroy only removes a kernel object (refused while a thread uses it).
    unsafe { raw::syscall1(Call::SyncDestroy, handle) }.map(drop)
}

fn signal(handle: u64) -> Result<()> {
    // SAFETY: SyncSignal only wakes a thread.
    unsafe { raw::syscall1(Call::SyncSignal, handle) }.map(drop)
}

/// A mutex owning the value it protects; [`lock`](Self::lock) returns a guard that unlocks
/// when dropped. Waiters get the lock in arrival order.
pub struct Mutex<T: ?Sized> {
    handle: u64,
    value: UnsafeCell<T>,
}

// SAFETY: the kernel mutex lets one thread at a time reach `value` (through a guard), so
// sharing the Mutex between threads needs only that `T` may move between them.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: as above; the handle is a plain number valid in every thread of the process.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    pub fn new(value: T) -> Result<Self> {
        Ok(Self {
            handle: create(SyncKind::Mutex, 0)?,
            value: UnsafeCell::new(value),
        })
    }

    pub fn into_inner(self) -> T {
        let this = core::mem::ManuallyDrop::new(self);
        let _ = destroy(this.handle);
        // SAFETY: `this` is never dropped, so the value is moved out exactly once.
        unsafe { core::ptr::read(&this.value) }.into_inner()
    }
}

impl<T: ?Sized> Drop for Mutex<T> {
    /// Gives the kernel object back; no guard can be alive (it borrows the mutex).
    fn drop(&mut self) {
        let _ = destroy(self.handle);
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock.
    #[track_caller]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        expect_ok(wait(self.handle, None), "mutex lock");
        MutexGuard::new(self)
    }

    /// Waits for the lock at most `timeout`: `Err(TimedOut)` if it did not come.
    pub fn lock_timeout(&self, timeout: Duration) -> Result<MutexGuard<'_, T>> {
        wait(self.handle, Some(timeout))?;
        Ok(MutexGuard::new(self))
    }

    /// The value, without locking: `&mut self` proves no guard exists.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// The kernel's handle of the mutex.
    pub fn handle(&self) -> u64 {
        self.handle
    }
}

/// Access to a [`Mutex`]'s value; unlocks when dropped. It stays on the locking thread (the
/// kernel refuses an unlock by another thread).
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: sharing `&MutexGuard` shares only `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    fn new(mutex: &'a Mutex<T>) -> Self {
        Self {
            mutex,
            _not_send: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard exists only while this thread holds the kernel mutex.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference through the guard.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        expect_ok(signal(self.mutex.handle), "mutex unlock");
    }
}

/// A counting semaphore. The handle is a number: copies name the same semaphore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Semaphore {
    handle: u64,
}

impl Semaphore {
    pub fn new(initial: u64) -> Result<Self> {
        Ok(Self {
            handle: create(SyncKind::Semaphore, initial)?,
        })
    }

    /// Takes one unit, waiting while there is none.
    #[track_caller]
    pub fn down(&self) {
        expect_ok(wait(self.handle, None), "semaphore down");
    }

    /// As [`down`](Self::down), waiting at most `timeout`: `Err(TimedOut)` if none came.
    pub fn down_timeout(&self, timeout: Duration) -> Result<()> {
        wait(self.handle, Some(timeout))
    }

    /// Gives one unit back (to the first waiter, if any).
    #[track_caller]
    pub fn up(&self) {
        expect_ok(signal(self.handle), "semaphore up");
    }

    /// Gives the kernel object back. Every copy of this handle is invalid afterwards; refused
    /// while a thread waits on it.
    pub fn destroy(self) -> Result<()> {
        destroy(self.handle)
    }

    pub fn handle(&self) -> u64 {
        self.handle
    }
}

/// A barrier for a fixed number of threads: each [`wait`](Self::wait) blocks until that many
/// threads wait, then all go on and the barrier is ready for the next round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Barrier {
    handle: u64,
}

impl Barrier {
    /// A barrier for `parties` threads (at least 1).
    pub fn new(parties: u64) -> Result<Self> {
        Ok(Self {
            handle: create(SyncKind::Barrier, parties)?,
        })
    }

    #[track_caller]
    pub fn wait(&self) {
        expect_ok(wait(self.handle, None), "barrier wait");
    }

    /// As [`wait`](Self::wait), at most `timeout`: on `Err(TimedOut)` this thread no longer
    /// counts as arrived.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<()> {
        wait(self.handle, Some(timeout))
    }

    /// Gives the kernel object back. Every copy of this handle is invalid afterwards; refused
    /// while a thread waits at it.
    pub fn destroy(self) -> Result<()> {
        destroy(self.handle)
    }

    pub fn handle(&self) -> u64 {
        self.handle
    }
}
