//! The scheduler's timers: what happens when a deadline on the timer queue
//! (`amoeba_kernel_core::sched::timer_queue`) passes.

use super::thread::ThreadId;

/// The kernel's timer queue: TSC deadlines and what each does.
pub type TimerQueue = amoeba_kernel_core::sched::timer_queue::TimerQueue<TimerAction>;

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
