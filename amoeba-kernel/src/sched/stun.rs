//! Stopping a process so that it can be described and moved (PS_STUN), letting it go on, and
//! taking in a process that moved here.
//!
//! A stun stops every thread at a point where it waits for nothing in the kernel, so that its
//! registers and the process's kernel state say everything about it:
//! - a thread in user mode or finishing a system call stops at its next return to ring 3
//!   ([`park_if_stunned`], called by the system-call and interrupt return paths);
//! - a thread in a wait that can be made again (sleep, sync objects, await, signals, interrupt
//!   lines, getreq without a request) is taken out of it as a timeout would, and its system
//!   call is made again when it resumes, with what was left of its timeout ([`take_restart`]);
//! - a thread in trans stops once its reply is in (so a request is never sent twice), and a
//!   thread between getreq and putrep once it has answered.
//!
//! When the last thread stops, the process is `Stunned` (a [`ProcessEvent`]) and stays so
//! until [`resume_process`] or its end.

#![cfg_attr(
    not(feature = "server-proc"),
    allow(
        dead_code,
        reason = "only the process server stuns processes and takes them in"
    )
)]

use super::process_events::{Happened, ProcessEvent, record};
use super::thread::{Process, Thread};
use super::wait::release_turn;
use super::{ProcessId, Scheduler, Start, State, ThreadId, WaitTarget, with};
use crate::arch::{cpu, tsc, user_state};
use crate::mm::address_space::AddressSpace;
use crate::mm::kstack::KernelStack;
use alloc::vec::Vec;
use amoeba_kernel_core::sched::sync::SyncTable;
use libamoeba::priority::Level;
use libamoeba::process::X86_64Registers;
use libamoeba::process::kernel_state::{FXSAVE_LEN, ProcessKernelState};
use libamoeba::syscall::Error;

/// Whether any process is being stunned (the cheap check before [`park_if_stunned`]).
#[inline(always)]
pub fn stun_requested() -> bool {
    super::thread::any_stunning()
}

fn is_stopped(thread: &Thread) -> bool {
    thread.state == State::Blocked && thread.waiting_on == Some(WaitTarget::Stun)
}

/// Asks every thread of user process `pid` to stop (see the module header); the process is
/// stunned once they all have. Denied for the kernel, the calling process, or a process that
/// is already being stunned.
pub fn stun_process(pid: ProcessId) -> Result<(), Error> {
    with(|s| {
        let current = s.current;
        let process = s
            .processes
            .get_mut(&pid)
            .filter(|p| p.is_user())
            .ok_or(Error::BadArgument)?;
        if process.stunning || process.threads.contains(&current) {
            return Err(Error::Denied);
        }
        process.begin_stun();
        for thread in process.threads.clone() {
            back_out(s, thread);
        }
        report_if_stopped(s, pid);
        Ok(())
    })
}

/// Takes `id` out of a wait it can make again, noting what is left of its timeout.
fn back_out(s: &mut Scheduler, id: ThreadId) {
    let Some(thread) = s.threads.get_mut(&id) else {
        return;
    };
    let again = matches!(
        thread.waiting_on,
        Some(
            WaitTarget::Sleep
                | WaitTarget::Sync(_)
                | WaitTarget::Await(_)
                | WaitTarget::Signals
                | WaitTarget::Interrupt(_)
                | WaitTarget::GetReq
        )
    );
    if thread.state != State::Blocked || !again {
        return;
    }
    let now = cpu::rdtsc();
    let remaining = thread.timer.take().map(|key| {
        s.timers.cancel(key);
        let ticks = key.0.saturating_sub(now);
        let nanos = u128::from(ticks) * 1_000_000_000 / u128::from(tsc::frequency().max(1));
        u64::try_from(nanos).unwrap_or(u64::MAX)
    });
    if let Some(thread) = s.threads.get_mut(&id) {
        thread.restart = Some(remaining);
    }
    s.expire_timeout(id);
}

/// Records the stun once every thread of `pid` has stopped.
fn report_if_stopped(s: &mut Scheduler, pid: ProcessId) {
    let Some(process) = s.processes.get(&pid) else {
        return;
    };
    let threads = &s.threads;
    let all = process
        .threads
        .iter()
        .all(|t| threads.get(t).is_none_or(|t| is_stopped(t)));
    if process.stunning && all {
        record(
            s,
            ProcessEvent {
                pid,
                happened: Happened::Stunned,
            },
        );
    }
}

/// Whether the running thread was taken out of its wait by a stun (its system call backs out
/// and will be made again): for loops that would otherwise wait again.
pub fn restart_pending() -> bool {
    stun_requested() && with(|s| s.current_thread().restart.is_some())
}

/// The restart a stun left the running thread: `Some(remaining timeout)` if its system call
/// is to be made again.
pub fn take_restart() -> Option<Option<u64>> {
    with(|s| s.current_thread().restart.take())
}

/// Notes that the running thread holds a request (between getreq and putrep) or no longer does.
pub fn set_serving(serving: bool) {
    with(|s| s.current_thread().serving = serving);
}

/// On the way back to ring 3: stops here if the process is being stunned (unless the thread
/// owes a reply), until the process is resumed.
pub fn park_if_stunned() {
    if !stun_requested() {
        return;
    }
    let parked = with(|s| {
        let id = s.current;
        let thread = s.current_thread();
        let pid = thread.process;
        if thread.serving || !s.processes.get(&pid).is_some_and(|p| p.stunning) {
            return false;
        }
        let thread = s.current_thread();
        thread.state = State::Blocked;
        thread.waiting_on = Some(WaitTarget::Stun);
        release_turn(s, id);
        report_if_stopped(s, pid);
        true
    });
    if parked {
        super::switch_to_next();
    }
}

/// Lets a stunned process go on where each thread stopped.
pub fn resume_process(pid: ProcessId) -> Result<(), Error> {
    with(|s| resume(s, pid))
}

fn resume(s: &mut Scheduler, pid: ProcessId) -> Result<(), Error> {
    let process = s.processes.get_mut(&pid).ok_or(Error::BadArgument)?;
    if !process.stunning {
        return Err(Error::Denied);
    }
    process.forget_stun();
    for thread in process.threads.clone() {
        if s.threads.get(&thread).is_some_and(|t| is_stopped(t)) {
            s.wake(thread, super::Wake::Signaled);
        }
    }
    Ok(())
}

/// Gives the stun of `pid` up if some thread has not stopped yet (it waits in a call that
/// does not end): the threads that stopped go on as after a resume, and no checkpoint is
/// sent. Whether it gave up; a stun that completed is left alone (its checkpoint is on its way).
pub fn abandon_incomplete_stun(pid: ProcessId) -> bool {
    with(|s| {
        if all_stopped(s, pid) != Some(false) {
            return false;
        }
        resume(s, pid).is_ok()
    })
}

/// Whether every thread of a stunning `pid` has stopped; `None` if it is not being stunned.
fn all_stopped(s: &Scheduler, pid: ProcessId) -> Option<bool> {
    let process = s.processes.get(&pid).filter(|p| p.stunning)?;
    let threads = &s.threads;
    let stopped = |t: &ThreadId| threads.get(t).is_none_or(|t| is_stopped(t));
    Some(process.threads.iter().all(stopped))
}

/// Whether every thread of `pid` has stopped for a stun.
pub fn is_stunned(pid: ProcessId) -> bool {
    with(|s| all_stopped(s, pid) == Some(true))
}

/// A thread that moved here, as it stopped where it came from.
pub struct Immigrant {
    pub local_id: u32,
    pub registers: X86_64Registers,
    pub fpu: Option<[u8; FXSAVE_LEN]>,
    pub pending_signals: u64,
}

/// A kernel stack whose first run continues `immigrant` in ring 3.
fn immigrant_thread(id: ThreadId, pid: ProcessId, immigrant: &Immigrant) -> Result<Thread, Error> {
    let stack = KernelStack::new().map_err(|_| Error::NoMemory)?;
    // SAFETY: the stack is fresh and ours; its top RESUME_BYTES are written here and stay
    // above the first switch's frame, which `prepare_first_switch_below` puts below them.
    let stack_pointer = unsafe {
        user_state::prepare_resume(stack.top(), &immigrant.registers, immigrant.fpu.as_ref())
    };
    let start = Start::Resume { stack_pointer };
    let mut thread = Thread::new(id, pid, Level::Norm, start);
    thread.saved_rsp =
        stack.prepare_first_switch_below(user_state::RESUME_BYTES, super::thread_start);
    thread.kernel_stack = Some(stack);
    // Its user state lies where an interrupt from ring 3 leaves it: a stun before it first
    // runs describes it from there.
    thread.user_entry = user_state::Entry::Interrupt;
    thread.local_id = immigrant.local_id;
    thread.pending_signals = immigrant.pending_signals;
    Ok(thread)
}

/// Creates process `name` around `space` with `threads`, each continuing where it stopped,
/// and the process's kernel state `state`. Nothing is left of it if any part fails.
pub fn spawn_immigrant(
    name: &str,
    space: AddressSpace,
    threads: &[Immigrant],
    state: &ProcessKernelState,
) -> Result<ProcessId, Error> {
    if threads.is_empty() || threads.iter().any(|t| t.local_id == 0) {
        return Err(Error::BadArgument);
    }
    with(|s| {
        let pid = s.processes.vacant_id();
        let mut process = Process::new(pid, name, Level::Norm, Some(space));
        process.preemptive_threads = state.preemptive_threads;
        let highest = threads.iter().map(|t| t.local_id).max().unwrap_or(0);
        process.next_local_id = state.next_local_id.max(highest.saturating_add(1));
        s.processes.insert(pid, process);
        let mut made = Vec::with_capacity(threads.len());
        for immigrant in threads {
            let id = s.threads.vacant_id();
            match immigrant_thread(id, pid, immigrant) {
                Ok(thread) => {
                    made.push((immigrant.local_id, id));
                    s.add_thread(thread);
                }
                Err(error) => {
                    super::api::end_process(s, pid);
                    return Err(error);
                }
            }
        }
        let thread_of = |local: u32| made.iter().find(|(l, _)| *l == local).map(|(_, t)| *t);
        match SyncTable::restore(&state.sync, thread_of) {
            Ok(table) => {
                if let Some(p) = s.processes.get_mut(&pid) {
                    p.sync = table;
                }
                Ok(pid)
            }
            Err(error) => {
                super::api::end_process(s, pid);
                Err(error)
            }
        }
    })
}
