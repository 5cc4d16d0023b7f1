//! Threads, processes and the two-level priority scheduler.
//!
//! One CPU, and the kernel runs with interrupts disabled, so one lock around the scheduler's
//! state is never contended; it is released before every context switch. Kernel threads run
//! until they block (strictly non-preemptive); user threads are preempted when their time slice
//! ends or a more urgent thread wakes. Time slices and timeouts come from the one-shot timer,
//! armed only when something is due.
//!
//! The tables, the timer and ready queues, the rules of the sync objects and what a process
//! descriptor says are `amoeba_kernel_core::sched`, tested on the host; this module holds them
//! and does what they decide to the machine.

mod api;
mod describe;
mod devices;
#[cfg(feature = "net")]
mod doorbell;
mod process_events;
mod stun;
mod thread;
mod thread_exit;
mod timer_queue;
mod wait;

pub use api::*;
#[cfg(feature = "server-sys")]
pub use describe::population;
#[cfg(feature = "server-proc")]
pub use describe::{busy_user_threads, describe_stopped, process_facts, read_stopped};
#[cfg_attr(
    not(feature = "selftest"),
    allow(unused_imports, reason = "only `selftest=describe` uses it so far")
)]
pub use describe::{describe, user_processes};
pub use devices::{device_interrupt, interrupt_await, io_port_grant};
#[cfg(feature = "net")]
pub use doorbell::Doorbell;
pub use process_events::ProcessEvent;
#[cfg(feature = "server-proc")]
pub use process_events::{Happened, next_process_event, watch_process_events};
pub use stun::{Immigrant, park_if_stunned, restart_pending, set_serving, spawn_immigrant};
#[cfg(feature = "server-proc")]
pub use stun::{abandon_incomplete_stun, is_stunned, resume_process, stun_process};
pub use stun::{stun_requested, take_restart};
pub use thread::{KERNEL_PROCESS, ProcessId, Start, State, ThreadId, WaitTarget, Wake};
pub use thread_exit::on_thread_exit;
pub use wait::await_key;

use crate::arch::{context, cpu, lapic, paging, syscall, tsc, user_state};
use alloc::boxed::Box;
use alloc::vec::Vec;
use amoeba_kernel_core::sched::id_table::IdTable;
use amoeba_kernel_core::sched::ready::{Eligibility, ReadyQueues};
use core::sync::atomic::{AtomicU64, Ordering};
use libamoeba::priority::{Level, Priority};
use spin::Mutex;
use thread::{Process, Thread};
use timer_queue::{TimerAction, TimerQueue};
use wait::block;

/// How long a user thread runs before an equally urgent one gets the CPU.
const TIME_SLICE_NANOS: u64 = 10_000_000;

pub struct Scheduler {
    threads: IdTable<Box<Thread>>,
    processes: IdTable<Process>,
    ready: ReadyQueues<ThreadId>,
    current: ThreadId,
    idle: ThreadId,
    timers: TimerQueue,
    slice_end: Option<u64>,
    armed: Option<u64>,
    /// Threads and processes that ended, freed by the next thread to run (not on their stack).
    /// Boxed so a control block keeps its address (the last switch away writes into it).
    #[expect(
        clippy::vec_box,
        reason = "the address of a control block must not move"
    )]
    dead_threads: Vec<Box<Thread>>,
    dead_processes: Vec<Process>,
    /// What happened to processes, for the watcher (`process_events`).
    events: alloc::collections::VecDeque<ProcessEvent>,
    /// The thread waiting on each legacy interrupt line.
    line_waiters: [Option<ThreadId>; 16],
    /// Whose I/O bitmap the TSS holds (`None`: no port granted).
    io_bitmap_owner: Option<ProcessId>,
    /// A thread became ready since `preempt_if_needed` last looked.
    readied_since_check: bool,
    /// [`TIME_SLICE_NANOS`] in TSC ticks, worked out once.
    slice_ticks: u64,
}

static SCHEDULER: Mutex<Option<Scheduler>> = Mutex::new(None);
static CONTEXT_SWITCHES: AtomicU64 = AtomicU64::new(0);

/// Runs `f` on the scheduler's state. Never call `switch_to_next` or block inside.
fn with<R>(f: impl FnOnce(&mut Scheduler) -> R) -> R {
    let mut guard = SCHEDULER.lock();
    match guard.as_mut() {
        Some(scheduler) => f(scheduler),
        None => panic!("scheduler used before sched::init"),
    }
}

pub fn context_switches() -> u64 {
    CONTEXT_SWITCHES.load(Ordering::Relaxed)
}

/// Nanoseconds to TSC ticks.
pub fn ticks(nanos: u64) -> u64 {
    (u128::from(nanos) * u128::from(tsc::frequency()) / 1_000_000_000).min(u128::from(u64::MAX))
        as u64
}

/// Makes the boot code the kernel process's first thread and creates the idle thread.
pub fn init() {
    syscall::init();
    let mut kernel = Process::new(KERNEL_PROCESS, "kernel", Level::High, None);
    kernel.threads.push(1);
    let boot = Thread::new(1, KERNEL_PROCESS, Level::Norm, Start::AlreadyRunning);
    let mut scheduler = Scheduler {
        threads: IdTable::new(1),
        processes: IdTable::new(KERNEL_PROCESS),
        ready: Default::default(),
        current: 1,
        idle: 0,
        timers: TimerQueue::default(),
        slice_end: None,
        armed: None,
        dead_threads: Vec::new(),
        dead_processes: Vec::new(),
        events: Default::default(),
        line_waiters: [None; 16],
        io_bitmap_owner: None,
        readied_since_check: false,
        slice_ticks: ticks(TIME_SLICE_NANOS),
    };
    // The first ids of their tables: the boot thread is 1 and the kernel process 0.
    let boot_id = scheduler.threads.vacant_id();
    scheduler.threads.insert(
        boot_id,
        Box::new(Thread {
            state: State::Running,
            ..boot
        }),
    );
    let kernel_id = scheduler.processes.vacant_id();
    scheduler.processes.insert(kernel_id, kernel);
    *SCHEDULER.lock() = Some(scheduler);
    let idle = spawn_kernel_thread(Level::Low, idle_loop, 0)
        .unwrap_or_else(|_| panic!("no memory for the idle thread"));
    with(|s| {
        // The idle thread runs only when nothing else can: it is never queued.
        s.ready.remove(idle);
        s.idle = idle;
    });
    log::info!(
        "sched: tickless, local APIC timer in {} mode",
        lapic::mode()
    );
}

fn idle_loop(_: usize) {
    loop {
        cpu::wait_for_interrupt();
    }
}

/// TSC ticks the idle thread had the CPU (with the interrupt handlers that ended its waits),
/// counted when the scheduler switches away from it: the rest of the elapsed ticks is work.
/// How benchmarks count the cycles a remote call costs a node, whose elapsed time includes
/// waiting for the network.
static IDLE_TICKS: AtomicU64 = AtomicU64::new(0);
/// When the idle thread last got the CPU.
static IDLE_SINCE: AtomicU64 = AtomicU64::new(0);

/// Keeps [`IDLE_TICKS`] as the CPU passes from `previous` to `next`.
fn account_idle(previous: ThreadId, next: ThreadId, idle: ThreadId) {
    if next == idle {
        IDLE_SINCE.store(cpu::rdtsc(), Ordering::Relaxed);
    } else if previous == idle {
        let since = IDLE_SINCE.load(Ordering::Relaxed);
        IDLE_TICKS.fetch_add(cpu::rdtsc().wrapping_sub(since), Ordering::Relaxed);
    }
}

#[cfg_attr(
    not(all(feature = "selftest", feature = "net", feature = "server-dir")),
    allow(dead_code, reason = "only `selftest=lanbench` reads it")
)]
pub fn idle_ticks() -> u64 {
    IDLE_TICKS.load(Ordering::Relaxed)
}

impl Thread {
    fn new(id: ThreadId, process: ProcessId, priority: Level, start: Start) -> Self {
        Thread {
            id,
            process,
            priority,
            state: State::Ready,
            saved_rsp: 0,
            kernel_stack: None,
            start,
            wake: Wake::Signaled,
            timer: None,
            waiting_on: None,
            pending_signals: 0,
            awaited_signals: 0,
            user_entry: user_state::Entry::None,
            user_stack: None,
            local_id: 0,
            restart: None,
            serving: false,
        }
    }
}

/// A thread's two-level priority: its process's and its own.
fn priority(processes: &IdTable<Process>, thread: &Thread) -> Priority {
    let process = processes
        .get(&thread.process)
        .map_or(Level::Low, |p| p.priority);
    Priority {
        process,
        thread: thread.priority,
    }
}

/// The scheduler's tables, as the ready queues ask about a thread on them.
struct Tables<'a> {
    threads: &'a IdTable<Box<Thread>>,
    processes: &'a IdTable<Process>,
}

impl Eligibility<ThreadId> for Tables<'_> {
    #[inline]
    fn priority(&self, thread: ThreadId) -> Priority {
        priority(self.processes, &self.threads[&thread])
    }

    #[inline]
    fn may_run(&self, t: ThreadId) -> bool {
        let process = self.threads.get(&t).map(|thread| thread.process);
        process
            .and_then(|p| self.processes.get(&p))
            .is_some_and(|p| p.may_run(t))
    }
}

impl Scheduler {
    fn rank(&self, thread: &Thread) -> usize {
        priority(&self.processes, thread).rank()
    }

    /// The ready queues, and the tables they ask about the threads on them.
    fn ready_and_tables(&mut self) -> (&mut ReadyQueues<ThreadId>, Tables<'_>) {
        let tables = Tables {
            threads: &self.threads,
            processes: &self.processes,
        };
        (&mut self.ready, tables)
    }

    fn process_of(&mut self, thread: ThreadId) -> Option<&mut Process> {
        let process = self.threads.get(&thread)?.process;
        self.processes.get_mut(&process)
    }

    fn current_thread(&mut self) -> &mut Thread {
        let current = self.current;
        match self.threads.get_mut(&current) {
            Some(thread) => thread,
            None => panic!("the running thread {current} has no control block"),
        }
    }

    /// Makes `thread` one of its process's, with the next local id unless it has one, and ready.
    fn add_thread(&mut self, mut thread: Thread) {
        let id = thread.id;
        if let Some(p) = self.processes.get_mut(&thread.process) {
            if thread.local_id == 0 {
                thread.local_id = p.next_local_id;
                p.next_local_id = p.next_local_id.saturating_add(1);
            }
            p.threads.push(id);
        }
        self.threads.insert(id, Box::new(thread));
        self.make_ready(id);
    }

    fn make_ready(&mut self, id: ThreadId) {
        let Some(thread) = self.threads.get_mut(&id) else {
            return;
        };
        thread.state = State::Ready;
        let priority = priority(&self.processes, &self.threads[&id]);
        self.ready.push(id, priority);
        self.readied_since_check = true;
    }

    /// Makes `id` ready as the next thread to run, the partner of an RPC hand-off (see
    /// `rpc_block` and `rpc_wake`); an earlier partner that has not run yet goes to its queue.
    fn make_partner(&mut self, id: ThreadId) {
        let Some(thread) = self.threads.get_mut(&id) else {
            return;
        };
        thread.state = State::Ready;
        let (ready, tables) = self.ready_and_tables();
        ready.hand_off(id, &tables);
        self.readied_since_check = true;
    }

    /// Puts the running thread back on its queue (the idle thread is never queued).
    fn requeue_current(&mut self) {
        let current = self.current;
        if current == self.idle {
            self.current_thread().state = State::Ready;
        } else {
            self.make_ready(current);
        }
    }

    /// Wakes a blocked thread: off its timer, onto its ready queue.
    fn wake(&mut self, id: ThreadId, why: Wake) -> bool {
        let woken = self.unblock(id, why);
        if woken {
            self.make_ready(id);
        }
        woken
    }

    /// Takes a blocked thread off its timer and wait; whether it was blocked.
    fn unblock(&mut self, id: ThreadId, why: Wake) -> bool {
        let Some(thread) = self.threads.get_mut(&id) else {
            return false;
        };
        if thread.state != State::Blocked {
            return false;
        }
        thread.wake = why;
        thread.waiting_on = None;
        if let Some(key) = thread.timer.take() {
            self.timers.cancel(key);
        }
        true
    }

    /// The most urgent thread allowed to run now (a hand-off partner first, unless as urgent a
    /// thread is queued), taken off the ready queues; the idle thread if none.
    fn take_next(&mut self) -> ThreadId {
        let (ready, tables) = self.ready_and_tables();
        let next = ready.take_next(&tables);
        next.unwrap_or(self.idle)
    }

    /// The rank of the most urgent thread that could run now, if any.
    fn best_ready_rank(&self) -> Option<usize> {
        let tables = Tables {
            threads: &self.threads,
            processes: &self.processes,
        };
        self.ready.best_rank(&tables)
    }

    /// Arms the hardware timer for the earliest deadline or slice end, or disarms it.
    fn reprogram_timer(&mut self) {
        let earliest = match (self.timers.earliest(), self.slice_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if earliest != self.armed {
            match earliest {
                Some(deadline) => lapic::arm(deadline),
                None => lapic::disarm(),
            }
            self.armed = earliest;
        }
    }

    /// Picks the next thread and readies the machine for it; returns where to save the current
    /// stack pointer and the next one, or `None` to go on with the current thread.
    fn prepare_switch(&mut self) -> Option<(*mut u64, u64)> {
        let previous = self.current;
        let next = self.take_next();
        let previous_runs = self
            .threads
            .get(&previous)
            .is_some_and(|t| t.state == State::Running);
        if next == previous || (next == self.idle && previous_runs) {
            self.keep_running(previous);
            return None;
        }
        if let Some(thread) = self.threads.get_mut(&previous) {
            thread.user_entry = user_state::running_thread_entry();
        }
        let next_rsp = self.enter(next);
        self.decide_slice(next);
        CONTEXT_SWITCHES.fetch_add(1, Ordering::Relaxed);
        account_idle(previous, next, self.idle);
        // The most urgent runnable thread was just chosen and its slice decided.
        self.readied_since_check = false;
        Some((self.saved_rsp_slot(previous), next_rsp))
    }

    /// The running thread stays: off the queues, running, holding its process's turn again (a
    /// yield gave it up).
    fn keep_running(&mut self, current: ThreadId) {
        self.ready.remove(current);
        self.current_thread().state = State::Running;
        if let Some(process) = self.process_of(current).filter(|p| p.is_user()) {
            process.turn_holder = Some(current);
        }
    }

    /// Makes `next` the running thread and sets the machine up for it: its process's turn,
    /// address space and I/O ports, its kernel stack for entries from ring 3. Returns its saved
    /// stack pointer.
    fn enter(&mut self, next: ThreadId) -> u64 {
        let root = match self.process_of(next) {
            Some(process) if process.is_user() => {
                process.turn_holder = Some(next);
                process
                    .address_space
                    .as_ref()
                    .map_or(paging::kernel_root(), |a| a.root())
            }
            _ => paging::kernel_root(),
        };
        self.current = next;
        let thread = self.current_thread();
        thread.state = State::Running;
        user_state::note(thread.user_entry);
        let (rsp, stack_top, process) =
            (thread.saved_rsp, thread.kernel_stack_top(), thread.process);
        if let Some(top) = stack_top {
            syscall::set_kernel_stack(top);
        }
        paging::switch_to(root);
        self.load_io_bitmap(process);
        rsp
    }

    /// A user thread gets a time slice when a thread as urgent as it is waiting; the timer is
    /// armed for whatever comes first.
    fn decide_slice(&mut self, next: ThreadId) {
        let user_thread = self.process_of(next).is_some_and(|p| p.is_user());
        let rank = self.rank(&self.threads[&next]);
        self.slice_end = (user_thread && self.best_ready_rank().is_some_and(|best| best <= rank))
            .then(|| cpu::rdtsc() + self.slice_ticks);
        self.reprogram_timer();
    }

    /// Where the switch saves `previous`'s stack pointer: its control block, which for a thread
    /// that just ended is already on the dead list (its stack is still the one in use).
    fn saved_rsp_slot(&mut self, previous: ThreadId) -> *mut u64 {
        let thread = match self.threads.get_mut(&previous) {
            Some(thread) => Some(thread),
            None => self.dead_threads.iter_mut().find(|t| t.id == previous),
        };
        match thread {
            Some(thread) => &raw mut thread.saved_rsp,
            None => panic!("switching away from thread {previous}, which has no control block"),
        }
    }

    /// Frees what threads and processes that ended left behind.
    #[expect(
        clippy::vec_box,
        reason = "the address of a control block must not move"
    )]
    fn take_dead(&mut self) -> (Vec<Box<Thread>>, Vec<Process>) {
        (
            core::mem::take(&mut self.dead_threads),
            core::mem::take(&mut self.dead_processes),
        )
    }
}

/// Gives the CPU to the most urgent runnable thread. The caller has already set the current
/// thread's state (Ready and queued, Blocked, or Dead); a Running current thread keeps the CPU
/// unless a more urgent one is ready.
fn switch_to_next() {
    let Some((save, next_rsp)) = with(Scheduler::prepare_switch) else {
        return;
    };
    // SAFETY: `save` points into the current thread's boxed control block, which lives until
    // this thread is reaped, and that happens only after a later switch away from it; `next_rsp`
    // was saved by the next thread's own last switch or prepared by `spawn`.
    unsafe { context::switch(save, next_rsp) };
    after_switch();
}

/// Runs in the thread just switched to: frees what ended threads and processes left (their
/// stacks and address spaces are no longer in use).
fn after_switch() {
    let (threads, processes) = with(Scheduler::take_dead);
    drop(threads);
    drop(processes);
}

/// Every thread's first instructions (see `context::prepare_stack`).
extern "C" fn thread_start() -> ! {
    after_switch();
    let start = with(|s| s.current_thread().start);
    match start {
        Start::Kernel { entry, argument } => {
            entry(argument);
            exit_thread();
        }
        Start::User { rip, rsp, argument } => {
            // A stun may have come before its first run: it stops before it starts.
            park_if_stunned();
            // SAFETY: the loader mapped `rip` as text and `rsp` as this thread's stack in the
            // address space `prepare_switch` made current, and set this thread's kernel stack.
            unsafe { syscall::enter_user(rip, rsp, argument) }
        }
        // SAFETY: `spawn_immigrant` wrote the resume frame at the top of this thread's kernel
        // stack, above the frames this start uses, and mapped its segments in the address space
        // `prepare_switch` made current.
        Start::Resume { stack_pointer } => unsafe { user_state::resume(stack_pointer) },
        Start::AlreadyRunning => panic!("the boot thread cannot be started again"),
    }
}

/// Handles the timer interrupt: runs what is due, and preempts a user thread whose slice ended.
pub fn timer_interrupt() {
    let now = cpu::rdtsc();
    let preempt = with(|s| {
        while let Some(action) = s.timers.pop_due(now) {
            match action {
                TimerAction::Wake(thread) => s.expire_timeout(thread),
                TimerAction::Periodic { period, function } => {
                    if function() {
                        s.timers
                            .add(now + period, TimerAction::Periodic { period, function });
                    }
                }
            }
        }
        s.armed = None;
        let slice_over = s.slice_end.is_some_and(|end| end <= now);
        if slice_over {
            s.slice_end = None;
        }
        let preempt = s.decide_preemption(slice_over);
        s.reprogram_timer();
        preempt
    });
    if preempt {
        switch_to_next();
    }
}

impl Scheduler {
    /// Whether the running thread must give up the CPU now (it is then back on its queue);
    /// if not, time-slicing starts when an equally urgent thread waits.
    fn decide_preemption(&mut self, slice_over: bool) -> bool {
        let preempt = self.should_preempt(slice_over);
        if preempt {
            self.requeue_current();
        } else {
            self.share_slice_if_needed();
        }
        preempt
    }

    fn expire_timeout(&mut self, id: ThreadId) {
        let Some(thread) = self.threads.get_mut(&id) else {
            return;
        };
        thread.timer = None;
        let target = thread.waiting_on;
        let process = thread.process;
        if let (Some(WaitTarget::Sync(handle)), Some(p)) =
            (target, self.processes.get_mut(&process))
        {
            p.sync.withdraw(handle, id);
        }
        if let Some(WaitTarget::Interrupt(_)) = target {
            self.release_lines(id);
        }
        if let (Some(WaitTarget::Await(key)), Some(p)) = (target, self.processes.get_mut(&process))
            && let Some(waiters) = p.awaiting.get_mut(&key)
        {
            waiters.retain(|&t| t != id);
            if waiters.is_empty() {
                p.awaiting.remove(&key);
            }
        }
        let why = if target == Some(WaitTarget::Sleep) {
            Wake::Signaled
        } else {
            Wake::TimedOut
        };
        self.wake(id, why);
    }

    /// Whether the running thread must give up the CPU now: never a kernel thread; a user
    /// thread when a more urgent one is ready, or an equal one and its slice is over.
    fn should_preempt(&mut self, slice_over: bool) -> bool {
        let current = self.current;
        if current == self.idle {
            return self.best_ready_rank().is_some();
        }
        if !self.process_of(current).is_some_and(|p| p.is_user()) {
            return false;
        }
        let rank = self.rank(&self.threads[&current]);
        match self.best_ready_rank() {
            Some(best) if best < rank => true,
            Some(best) if best == rank => slice_over,
            _ => false,
        }
    }
}

/// After a system call or interrupt may have woken threads: switch if one of them should run
/// now, or start time-slicing if one is as urgent as the running user thread.
pub fn preempt_if_needed() {
    let preempt = with(|s| {
        // Nothing became ready since the last look: nothing can have changed (the common,
        // fast case of a system call that woke no one).
        if !core::mem::take(&mut s.readied_since_check) {
            return false;
        }
        s.decide_preemption(false)
    });
    if preempt {
        switch_to_next();
    }
}

impl Scheduler {
    fn share_slice_if_needed(&mut self) {
        let current = self.current;
        if self.slice_end.is_some()
            || current == self.idle
            || !self.process_of(current).is_some_and(|p| p.is_user())
        {
            return;
        }
        let rank = self.rank(&self.threads[&current]);
        if self.best_ready_rank() == Some(rank) {
            self.slice_end = Some(cpu::rdtsc() + self.slice_ticks);
            self.reprogram_timer();
        }
    }
}
