//! What kernel code and system calls ask of the scheduler: threads, processes, blocking,
//! synchronization. Kernel threads call these directly; user threads reach them through
//! `syscalls`, so both see the same operations with the same rules.

use super::process_events::{Happened, ProcessEvent};
use super::thread::{Process, Thread};
use super::timer_queue::TimerAction;
use super::wait::{await_key, block, release_turn, wake_awaiting};
use super::{
    KERNEL_PROCESS, ProcessId, Scheduler, Start, State, ThreadId, WaitTarget, Wake, switch_to_next,
    ticks, with,
};
use crate::arch::cpu;
use crate::mm::address_space::AddressSpace;
use crate::mm::kstack::KernelStack;
use alloc::boxed::Box;
use alloc::vec::Vec;
use amoeba_kernel_core::sched::sync::WaitOutcome;
use libamoeba::memory::PAGE_SIZE;
use libamoeba::priority::Level;
use libamoeba::syscall::{Error, SyncKind};

/// Heap a thread costs, about: its control block and its share of the scheduler's tables.
const THREAD_HEAP_BYTES: usize = 1024;

/// Key the boot thread awaits while user processes run (see [`wait_for_user_processes`]).
const ALL_PROCESSES_ENDED: u64 = u64::MAX;

fn new_thread(
    s: &mut Scheduler,
    process: ProcessId,
    priority: Level,
    start: Start,
) -> Result<ThreadId, Error> {
    if !s.processes.contains_key(&process) {
        return Err(Error::BadArgument);
    }
    // A control block, queue entries and maps grow with every thread: keep the heap's reserve.
    if !crate::mm::heap::can_lend(THREAD_HEAP_BYTES) {
        return Err(Error::NoMemory);
    }
    let stack = KernelStack::new().map_err(|_| Error::NoMemory)?;
    let id = s.threads.vacant_id();
    let mut thread = Thread::new(id, process, priority, start);
    thread.saved_rsp = stack.prepare_first_switch(super::thread_start);
    thread.kernel_stack = Some(stack);
    s.add_thread(thread);
    Ok(id)
}

/// Starts a kernel thread running `entry(argument)`.
pub fn spawn_kernel_thread(
    priority: Level,
    entry: fn(usize),
    argument: usize,
) -> Result<ThreadId, Error> {
    with(|s| {
        new_thread(
            s,
            KERNEL_PROCESS,
            priority,
            Start::Kernel { entry, argument },
        )
    })
}

/// Work handed to kernel threads started by [`spawn_kernel_task`], by slot.
type Task = Box<dyn FnOnce() + Send>;
static TASKS: spin::Mutex<Vec<Option<Task>>> = spin::Mutex::new(Vec::new());

/// Starts a kernel thread running `task` (a closure: the thread owns what it captured).
pub fn spawn_kernel_task(
    priority: Level,
    task: impl FnOnce() + Send + 'static,
) -> Result<ThreadId, Error> {
    let slot = {
        let mut tasks = TASKS.lock();
        let slot = tasks
            .iter()
            .position(Option::is_none)
            .unwrap_or(tasks.len());
        if slot == tasks.len() {
            tasks.push(None);
        }
        tasks[slot] = Some(Box::new(task));
        slot
    };
    let thread = spawn_kernel_thread(priority, run_task, slot);
    if thread.is_err() {
        TASKS.lock()[slot] = None;
    }
    thread
}

fn run_task(slot: usize) {
    let task = TASKS.lock().get_mut(slot).and_then(Option::take);
    if let Some(task) = task {
        task();
    }
}

/// What a new user process is and where its main thread starts.
pub struct NewProcess<'a> {
    pub name: &'a str,
    pub priority: Level,
    /// May be granted I/O ports and wait for interrupt lines.
    pub driver: bool,
    pub entry: u64,
    pub stack_pointer: u64,
    /// The main thread's first argument (RDI): the environment block.
    pub argument: u64,
}

/// Creates a user process around `address_space` with a main thread as `new` says.
pub fn spawn_process(new: NewProcess<'_>, address_space: AddressSpace) -> Result<ProcessId, Error> {
    with(|s| {
        let id = s.processes.vacant_id();
        let mut process = Process::new(id, new.name, new.priority, Some(address_space));
        process.driver = new.driver;
        s.processes.insert(id, process);
        let start = Start::User {
            rip: new.entry,
            rsp: new.stack_pointer,
            argument: new.argument,
        };
        let main = new_thread(s, id, Level::Norm, start);
        if main.is_err()
            && let Some(process) = s.processes.remove(&id)
        {
            s.dead_processes.push(process);
        }
        main.map(|_| id)
    })
}

/// Starts another thread in the calling user process; it gets a fresh stack.
pub fn spawn_user_thread(
    rip: u64,
    argument: u64,
    priority: Level,
    stack_pages: u64,
) -> Result<ThreadId, Error> {
    with(|s| {
        let process = s.current_thread().process;
        let space = s
            .processes
            .get_mut(&process)
            .and_then(|p| p.address_space.as_mut())
            .ok_or(Error::Denied)?;
        let top = space
            .allocate_stack(stack_pages)
            .map_err(|_| Error::NoMemory)?;
        let stack_start = top - stack_pages * PAGE_SIZE;
        // The ABI wants RSP = 16n + 8 at a function's first instruction, as after a call.
        let start = Start::User {
            rip,
            rsp: top - 8,
            argument,
        };
        match new_thread(s, process, priority, start) {
            Ok(id) => {
                if let Some(thread) = s.threads.get_mut(&id) {
                    thread.user_stack = Some(stack_start);
                }
                Ok(id)
            }
            Err(error) => {
                free_user_stack(s, process, stack_start);
                Err(error)
            }
        }
    })
}

/// Gives a thread's stack segment back to its (still living) process.
fn free_user_stack(s: &mut Scheduler, process: ProcessId, stack_start: u64) {
    if let Some(space) = s
        .processes
        .get_mut(&process)
        .and_then(|p| p.address_space.as_mut())
    {
        let _ = space.free_segment(stack_start);
    }
}

/// Runs `function` in the timer interrupt every `period` nanoseconds until it returns false.
/// It runs with the scheduler's state locked: it may only note things (atomics), not block or
/// call the scheduler.
#[cfg_attr(
    not(feature = "selftest"),
    allow(dead_code, reason = "only `selftest=sched` uses it so far")
)]
pub fn every(period: u64, function: fn() -> bool) {
    with(|s| {
        let period = ticks(period).max(1);
        s.timers.add(
            cpu::rdtsc() + period,
            TimerAction::Periodic { period, function },
        );
        s.reprogram_timer();
    });
}

pub fn sleep(nanos: u64) {
    block(WaitTarget::Sleep, Some(nanos), |_, _| {});
}

/// Lets other ready threads of the same or higher priority run.
pub fn yield_now() {
    with(|s| {
        let current = s.current;
        release_turn(s, current);
        s.requeue_current();
    });
    switch_to_next();
}

/// Ends the running thread; its process ends with its last thread.
pub fn exit_thread() -> ! {
    with(|s| {
        let current = s.current;
        let process = s.current_thread().process;
        end_thread(s, current);
        if s.processes
            .get(&process)
            .is_some_and(|p| p.is_user() && p.threads.is_empty())
        {
            end_process(s, process);
        }
    });
    switch_to_next();
    unreachable!("a dead thread was scheduled again");
}

/// Ends the calling thread's whole process with `code`.
pub fn exit_process(code: i64) -> ! {
    with(|s| {
        let process = s.current_thread().process;
        if let Some(p) = s.processes.get_mut(&process) {
            p.exit_code = code;
        }
        end_process(s, process);
    });
    switch_to_next();
    unreachable!("a thread of an ended process was scheduled again");
}

/// Aborts the running user process after a fault; the node and other processes go on.
pub fn abort_current(reason: &str) -> ! {
    with(|s| {
        let thread = s.current;
        let process = s.current_thread().process;
        let name = s.processes.get(&process).map_or("?", |p| p.name.as_str());
        log::error!("process {name} (pid {process}) aborted: thread {thread}: {reason}");
        if let Some(p) = s.processes.get_mut(&process) {
            p.exit_code = -1;
            p.aborted = true;
        }
        end_process(s, process);
    });
    switch_to_next();
    unreachable!("a thread of an aborted process was scheduled again");
}

fn end_thread(s: &mut Scheduler, id: ThreadId) {
    let Some(mut thread) = s.threads.remove(&id) else {
        return;
    };
    if let Some(key) = thread.timer.take() {
        s.timers.cancel(key);
    }
    s.release_lines(id);
    thread.state = State::Dead;
    s.ready.remove(id);
    if let Some(client) = super::thread_exit::notify(id) {
        s.wake(client, Wake::Signaled);
    }
    if let Some(stack_start) = thread.user_stack {
        free_user_stack(s, thread.process, stack_start);
    }
    let mut new_owners = Vec::new();
    if let Some(process) = s.processes.get_mut(&thread.process) {
        process.threads.retain(|&t| t != id);
        if process.turn_holder == Some(id) {
            process.turn_holder = None;
        }
        new_owners = process.sync.abandon(id);
    }
    for owner in new_owners {
        s.wake(owner, Wake::Signaled);
    }
    // Freed by the next thread to run: this one may still be running on its stack.
    s.dead_threads.push(thread);
}

pub(super) fn end_process(s: &mut Scheduler, id: ProcessId) {
    let threads = s
        .processes
        .get(&id)
        .map(|p| p.threads.clone())
        .unwrap_or_default();
    for thread in threads {
        end_thread(s, thread);
    }
    if let Some(mut process) = s.processes.remove(&id) {
        process.forget_stun();
        log::info!(
            "process {} (pid {id}) ended with code {}",
            process.name,
            process.exit_code
        );
        let happened = if process.aborted {
            Happened::Aborted
        } else {
            Happened::Exited(process.exit_code)
        };
        super::process_events::record(s, ProcessEvent { pid: id, happened });
        s.dead_processes.push(process);
    }
    if !s.processes.values().any(Process::is_user) {
        wake_awaiting(s, KERNEL_PROCESS, ALL_PROCESSES_ENDED);
    }
}

/// Ends user process `pid` from another thread (the process server's STD_DESTROY), with `code`.
#[cfg(feature = "server-proc")]
pub fn kill_process(pid: ProcessId, code: i64) -> Result<(), Error> {
    with(|s| {
        let process = s
            .processes
            .get_mut(&pid)
            .filter(|p| p.is_user())
            .ok_or(Error::BadArgument)?;
        if process.threads.contains(&s.current) {
            return Err(Error::Denied);
        }
        process.exit_code = code;
        log::info!("process {} (pid {pid}) killed", process.name);
        end_process(s, pid);
        Ok(())
    })
}

/// Renames user process `pid` (what `ps` shows).
#[cfg(feature = "server-proc")]
pub fn rename_process(pid: ProcessId, name: &str) -> Result<(), Error> {
    with(|s| {
        let process = s
            .processes
            .get_mut(&pid)
            .filter(|p| p.is_user())
            .ok_or(Error::BadArgument)?;
        process.name = alloc::string::String::from(name);
        Ok(())
    })
}

/// Blocks the (kernel) caller until no user process is left.
pub fn wait_for_user_processes() {
    loop {
        let any_left = with(|s| s.processes.values().any(Process::is_user));
        if !any_left {
            return;
        }
        await_key(ALL_PROCESSES_ENDED, None);
    }
}

/// The id of the calling thread.
pub fn current_thread() -> ThreadId {
    with(|s| s.current)
}

/// Runs `f` on the calling process's address space (`None` for the kernel).
pub fn with_address_space<R>(f: impl FnOnce(Option<&mut AddressSpace>) -> R) -> R {
    with(|s| {
        let process = s.current_thread().process;
        f(s.processes
            .get_mut(&process)
            .and_then(|p| p.address_space.as_mut()))
    })
}

pub fn set_preemptive_threads(preemptive: bool) {
    with(|s| {
        let current = s.current;
        if let Some(process) = s.process_of(current) {
            process.preemptive_threads = preemptive;
        }
    });
}

/// Creates a mutex, semaphore or barrier in the calling process.
pub fn sync_create(kind: SyncKind, argument: u64) -> Result<u64, Error> {
    with(|s| {
        let current = s.current;
        s.process_of(current)
            .ok_or(Error::BadArgument)?
            .sync
            .create(kind, argument)
    })
}

/// Mutex lock, semaphore down or barrier wait, with an optional timeout in nanoseconds.
pub fn sync_wait(handle: u64, timeout: Option<u64>) -> Result<(), Error> {
    let outcome = with(|s| {
        let current = s.current;
        let outcome = s
            .process_of(current)
            .ok_or(Error::BadArgument)?
            .sync
            .wait(handle, current)?;
        if let WaitOutcome::ProceedAndWake(ref others) = outcome {
            for &other in others {
                s.wake(other, Wake::Signaled);
            }
        }
        Ok(outcome)
    })?;
    match outcome {
        WaitOutcome::Proceed | WaitOutcome::ProceedAndWake(_) => Ok(()),
        WaitOutcome::Block => match block(WaitTarget::Sync(handle), timeout, |_, _| {}) {
            Wake::Signaled => Ok(()),
            Wake::TimedOut => Err(Error::TimedOut),
        },
    }
}

/// Destroys a synchronization object of the calling process that nobody uses.
pub fn sync_destroy(handle: u64) -> Result<(), Error> {
    with(|s| {
        let current = s.current;
        s.process_of(current)
            .ok_or(Error::BadArgument)?
            .sync
            .destroy(handle)
    })
}

/// Mutex unlock or semaphore up.
pub fn sync_signal(handle: u64) -> Result<(), Error> {
    with(|s| {
        let current = s.current;
        let woken = s
            .process_of(current)
            .ok_or(Error::BadArgument)?
            .sync
            .signal(handle, current)?;
        if let Some(thread) = woken {
            s.wake(thread, Wake::Signaled);
        }
        Ok(())
    })
}

/// Wakes every thread of the calling process awaiting `key`; returns how many.
pub fn wakeup(key: u64) -> u64 {
    with(|s| {
        let process = s.current_thread().process;
        wake_awaiting(s, process, key)
    })
}

/// The thread of the calling process whose local id is `local`.
pub fn thread_of_local(local: u64) -> Option<ThreadId> {
    with(|s| {
        let process = s.current_thread().process;
        let threads = &s.threads;
        let p = s.processes.get(&process)?;
        p.threads.iter().copied().find(|t| {
            threads
                .get(t)
                .is_some_and(|t| u64::from(t.local_id) == local)
        })
    })
}

/// The calling thread's local id (its number in its process).
pub fn current_local_thread() -> u64 {
    with(|s| u64::from(s.current_thread().local_id))
}

/// The local id of `thread`, 0 if there is no such thread.
pub fn local_id_of(thread: ThreadId) -> u64 {
    with(|s| s.threads.get(&thread).map_or(0, |t| u64::from(t.local_id)))
}

/// Raises `signals` on `thread`, which must belong to the calling process.
pub fn signal_send(thread: ThreadId, signals: u64) -> Result<(), Error> {
    with(|s| {
        let process = s.current_thread().process;
        let target = s
            .threads
            .get_mut(&thread)
            .filter(|t| t.process == process && t.state != State::Dead);
        let target = target.ok_or(Error::BadArgument)?;
        target.pending_signals |= signals;
        let deliver = target.state == State::Blocked && target.awaited_signals & signals != 0;
        if deliver {
            s.wake(thread, Wake::Signaled);
        }
        Ok(())
    })
}

/// Waits until one of the signals in `mask` is pending; takes and returns those.
pub fn signal_wait(mask: u64, timeout: Option<u64>) -> Result<u64, Error> {
    if mask == 0 {
        return Err(Error::BadArgument);
    }
    loop {
        let taken = with(|s| {
            let thread = s.current_thread();
            let taken = thread.pending_signals & mask;
            thread.pending_signals &= !mask;
            thread.awaited_signals = if taken == 0 { mask } else { 0 };
            taken
        });
        if taken != 0 {
            return Ok(taken);
        }
        if block(WaitTarget::Signals, timeout, |_, _| {}) == Wake::TimedOut {
            with(|s| s.current_thread().awaited_signals = 0);
            return Err(Error::TimedOut);
        }
    }
}

/// Blocks the running thread in an RPC call (see `crate::ipc`), with an optional timeout in
/// nanoseconds. With `partner` (the RPC fast path) the thread just handed a message runs next
/// without passing through the ready queues, unless a more urgent thread is ready.
pub fn rpc_block(timeout: Option<u64>, partner: Option<ThreadId>) -> Wake {
    block(WaitTarget::Rpc, timeout, |s, _| {
        if let Some(partner) = partner
            && s.unblock(partner, Wake::Signaled)
        {
            s.make_partner(partner);
        }
    })
}

/// Blocks in getreq until a request comes (or a stun takes the thread out), or for at most
/// `timeout` nanoseconds.
pub fn getreq_block(timeout: Option<u64>) -> Wake {
    block(WaitTarget::GetReq, timeout, |_, _| {})
}

/// Blocks in an RPC call unless `done`, asked under the scheduler's lock (so a wake-up that
/// follows it cannot be missed), says the awaited event already happened; then `None`.
#[cfg(feature = "net")]
pub fn rpc_block_unless(timeout: Option<u64>, done: impl FnOnce() -> bool) -> Option<Wake> {
    super::wait::block_unless_done(WaitTarget::Rpc, timeout, |_, _| !done())
}

/// Wakes a thread blocked in an RPC call; with `partner`, it is to run as soon as the caller
/// blocks (the RPC fast path). Whether it was blocked.
pub fn rpc_wake(thread: ThreadId, partner: bool) -> bool {
    with(|s| {
        if !s.unblock(thread, Wake::Signaled) {
            return false;
        }
        if partner {
            s.make_partner(thread);
        } else {
            s.make_ready(thread);
        }
        true
    })
}
