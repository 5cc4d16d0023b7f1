//! Threads and processes as the scheduler keeps them.

use crate::arch::user_state::Entry;
use crate::mm::address_space::AddressSpace;
use crate::mm::kstack::KernelStack;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
use amoeba_kernel_core::sched::sync::SyncTable;
use amoeba_kernel_core::sched::timer_queue::TimerKey;
use core::sync::atomic::{AtomicU32, Ordering};
use libamoeba::priority::Level;

pub use amoeba_kernel_core::sched::state::State;

pub type ThreadId = u64;
pub type ProcessId = u64;

/// The kernel is process 0; its threads run in ring 0 and are never preempted.
pub const KERNEL_PROCESS: ProcessId = 0;

/// Why a blocked thread woke up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// What it waited for happened.
    Signaled,
    /// Its timeout passed first.
    TimedOut,
}

/// Where a blocked thread waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitTarget {
    Sync(u64),
    Await(u64),
    Signals,
    Sleep,
    Interrupt(u8),
    /// In trans, for the reply or a server.
    Rpc,
    /// In getreq, for a request.
    GetReq,
    /// Stopped for a stun, until its process is resumed or ended.
    Stun,
    /// For its [`super::Doorbell`] to ring.
    #[cfg(feature = "net")]
    Doorbell,
}

/// Where a thread starts when it first runs.
#[derive(Clone, Copy, Debug)]
pub enum Start {
    /// The boot thread: already running when the scheduler starts.
    AlreadyRunning,
    Kernel {
        entry: fn(usize),
        argument: usize,
    },
    User {
        rip: u64,
        rsp: u64,
        argument: u64,
    },
    #[cfg_attr(
        not(feature = "server-proc"),
        allow(
            dead_code,
            reason = "only the process server (exec, migration) uses it"
        )
    )]
    /// Continues in ring 3 from the trap frame written at the top of its kernel stack (a
    /// thread that migrated here): `stack_pointer` is what `user_state::resume` takes.
    Resume {
        stack_pointer: u64,
    },
}

pub struct Thread {
    pub id: ThreadId,
    pub process: ProcessId,
    pub priority: Level,
    pub state: State,
    /// Stack pointer saved by the last switch away from this thread.
    pub saved_rsp: u64,
    /// `None` for the boot thread, which runs on the static boot stack.
    pub kernel_stack: Option<KernelStack>,
    pub start: Start,
    pub wake: Wake,
    pub timer: Option<TimerKey>,
    /// What the thread is blocked on, so a timeout can take it off that list.
    pub waiting_on: Option<WaitTarget>,
    pub pending_signals: u64,
    /// Signals the thread is blocked waiting for (0: not waiting for signals).
    pub awaited_signals: u64,
    /// How the thread last entered the kernel from ring 3: where its user registers are.
    pub user_entry: Entry,
    /// Start of the stack segment the kernel made for this thread (not the main thread's, which
    /// comes with the image), freed when the thread ends.
    pub user_stack: Option<u64>,
    /// Its number in its process: what ThreadSelf returns and what travels when it migrates.
    pub local_id: u32,
    /// A stun took it out of a wait: its system call is to be made again, with this much of
    /// its timeout left (`None`: it had none).
    pub restart: Option<Option<u64>>,
    /// Between the getreq that gave it a request and its putrep: a stun lets it answer first.
    pub serving: bool,
}

impl Thread {
    pub fn kernel_stack_top(&self) -> Option<u64> {
        self.kernel_stack.as_ref().map(KernelStack::top)
    }
}

pub struct Process {
    pub id: ProcessId,
    pub name: String,
    pub priority: Level,
    /// `None` for the kernel process, which runs in the kernel's own tables.
    pub address_space: Option<AddressSpace>,
    pub threads: Vec<ThreadId>,
    /// Threads of a user process do not preempt one another unless the process asks: the thread
    /// holding the process's turn keeps it until it blocks, yields or ends.
    pub preemptive_threads: bool,
    pub turn_holder: Option<ThreadId>,
    pub sync: SyncTable<ThreadId>,
    /// Threads blocked in `await`, by key.
    pub awaiting: BTreeMap<u64, VecDeque<ThreadId>>,
    pub exit_code: i64,
    /// A fault ended it (its owner hears of an exception, not an exit).
    pub aborted: bool,
    /// A driver (from its boot-table entry): may be granted I/O ports and wait for IRQ lines.
    pub driver: bool,
    /// I/O ports this process may use (a bit clear = allowed); `None` for none.
    pub io_ports: Option<super::devices::IoBitmap>,
    /// A stun asked every thread to stop at its next return to ring 3.
    pub stunning: bool,
    /// The local id its next thread gets.
    pub next_local_id: u32,
}

/// Processes being stunned or stunned: while none is, the return paths check one word.
static STUNNING: AtomicU32 = AtomicU32::new(0);

/// Whether any process is being stunned or stunned.
#[inline(always)]
pub fn any_stunning() -> bool {
    STUNNING.load(Ordering::Relaxed) != 0
}

impl Process {
    /// Marks the process as being stunned (its threads stop at their next safe point).
    pub fn begin_stun(&mut self) {
        if !self.stunning {
            self.stunning = true;
            STUNNING.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Clears its stun (it is resumed or ending).
    pub fn forget_stun(&mut self) {
        if self.stunning {
            self.stunning = false;
            STUNNING.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub fn new(
        id: ProcessId,
        name: &str,
        priority: Level,
        address_space: Option<AddressSpace>,
    ) -> Self {
        Process {
            id,
            name: String::from(name),
            priority,
            address_space,
            threads: Vec::new(),
            preemptive_threads: false,
            turn_holder: None,
            sync: SyncTable::default(),
            awaiting: BTreeMap::new(),
            exit_code: 0,
            aborted: false,
            driver: false,
            io_ports: None,
            stunning: false,
            next_local_id: 1,
        }
    }

    pub fn is_user(&self) -> bool {
        self.id != KERNEL_PROCESS
    }

    /// Whether `thread` of this process may be dispatched now.
    pub fn may_run(&self, thread: ThreadId) -> bool {
        !self.is_user() || self.preemptive_threads || self.turn_holder.is_none_or(|h| h == thread)
    }
}
