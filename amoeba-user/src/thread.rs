//! Threads of the calling process.
//!
//! A new thread runs a closure on a fresh 64 KiB stack the kernel allocates. There is no join:
//! threads tell each other they are done with the primitives of [`super::sync`].

use alloc::boxed::Box;
use core::time::Duration;

use super::{Result, raw};
use libamoeba::priority::Level;
use libamoeba::syscall::Call;

/// A thread's id, unique on the node while the thread lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThreadId(u64);

impl ThreadId {
    /// The id as the kernel numbers threads.
    pub const fn raw(self) -> u64 {
        self.0
    }

    pub const fn from_raw(id: u64) -> Self {
        Self(id)
    }
}

impl core::fmt::Display for ThreadId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Starts a thread of this process at thread priority `priority`, running `f`; the thread
/// ends when `f` returns. The closure is boxed and its pointer becomes the thread's argument.
pub fn spawn<F>(f: F, priority: Level) -> Result<ThreadId>
where
    F: FnOnce() + Send + 'static,
{
    let closure = Box::into_raw(Box::new(f));
    let entry = trampoline::<F> as extern "C" fn(u64) -> ! as usize as u64;
    // SAFETY: `entry` is a function of this program with the ABI the kernel enters a thread
    // with (argument in RDI, stack 16n + 8); it takes ownership of `closure`, which is Send
    // and 'static, so running it on another thread is sound.
    let result =
        unsafe { raw::syscall3(Call::ThreadCreate, entry, closure as u64, priority as u64) };
    match result {
        Ok(id) => Ok(ThreadId(id)),
        Err(error) => {
            // SAFETY: no thread was started, so the box is still ours alone.
            drop(unsafe { Box::from_raw(closure) });
            Err(error)
        }
    }
}

/// Where a thread made by [`spawn`] starts.
extern "C" fn trampoline<F: FnOnce() + Send + 'static>(closure: u64) -> ! {
    // SAFETY: `spawn` passed a pointer from `Box::into_raw` of an `F` and gave up ownership of
    // it to this thread, which is the only one that takes it back.
    let f = unsafe { Box::from_raw(closure as *mut F) };
    f();
    exit()
}

/// Ends the calling thread (the process lives on while it has other threads).
pub fn exit() -> ! {
    loop {
        // SAFETY: ThreadExit does not return; what this thread's stack holds is never used
        // again, and anything it borrowed was borrowed for 'static (see `spawn`).
        let _ = unsafe { raw::syscall0(Call::ThreadExit) };
    }
}

/// The calling thread's id.
pub fn current() -> ThreadId {
    // SAFETY: ThreadSelf only returns a number.
    ThreadId(unsafe { raw::syscall0(Call::ThreadSelf) }.unwrap_or(0))
}

/// Lets other ready threads run.
pub fn yield_now() {
    // SAFETY: Yield only reschedules.
    let _ = unsafe { raw::syscall0(Call::Yield) };
}

/// Sleeps for at least `duration`.
pub fn sleep(duration: Duration) {
    let nanos = super::timeout_nanos(Some(duration));
    // SAFETY: Sleep only blocks the calling thread.
    let _ = unsafe { raw::syscall1(Call::Sleep, nanos) };
}
