//! The scheduler's seam for the layers above it: one hook hears of every thread that ends, so
//! that whatever a layer keeps per thread (a half-finished RPC, a transaction on the network) is
//! cleared without the scheduler knowing that layer.

use super::ThreadId;
use spin::Once;

/// Told of a thread that ended, with the scheduler's state locked (so it must not call the
/// scheduler); returns a thread to wake because the ended one was working for it.
pub type ThreadExitHook = fn(ThreadId) -> Option<ThreadId>;

static HOOK: Once<ThreadExitHook> = Once::new();

/// Makes `hook` hear of every thread that ends from now on. Set once, at start.
pub fn on_thread_exit(hook: ThreadExitHook) {
    HOOK.call_once(|| hook);
}

/// Tells the hook that `thread` ended: the thread to wake, if any.
pub(super) fn notify(thread: ThreadId) -> Option<ThreadId> {
    HOOK.get().and_then(|hook| hook(thread))
}
