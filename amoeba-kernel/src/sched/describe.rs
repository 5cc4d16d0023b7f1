//! A live process as an Amoeba process descriptor: the facts read from the scheduler, the
//! process's address space and its threads' kernel stacks. What the descriptor makes of them
//! is `amoeba_kernel_core::sched::describe`.
#![cfg_attr(
    not(feature = "selftest"),
    allow(dead_code, reason = "only `selftest=describe` uses it so far")
)]

use super::thread::Thread;
use super::{ProcessId, Start, with};
#[cfg(feature = "server-proc")]
use super::{Scheduler, ThreadId, thread::Process};
use crate::arch::user_state;
use crate::mm::address_space::{Access, AddressSpace};
use alloc::string::String;
use alloc::vec::Vec;
#[cfg(feature = "server-proc")]
use amoeba_kernel_core::sched::describe::liveliest;
use amoeba_kernel_core::sched::describe::{
    SegmentAccess, SegmentFacts, ThreadFacts, process_descriptor,
};
#[cfg(feature = "server-proc")]
use libamoeba::process::kernel_state::{KernelState, ProcessKernelState};
use libamoeba::process::{ProcessDescriptor, X86_64Registers};

fn segment_access(access: Access) -> SegmentAccess {
    match access {
        Access::Text => SegmentAccess::Text,
        Access::ReadOnly => SegmentAccess::ReadOnly,
        Access::ReadWrite => SegmentAccess::ReadWrite,
    }
}

/// Where the thread's ring-3 registers were saved when it last entered the kernel, if it did.
fn saved_registers(thread: &Thread) -> Option<X86_64Registers> {
    thread
        .kernel_stack_top()
        .and_then(|top| user_state::user_registers(top, thread.user_entry))
}

/// The segments of `space`, as a descriptor describes them.
fn segment_facts(space: &AddressSpace) -> impl Iterator<Item = SegmentFacts> + '_ {
    space
        .segments()
        .map(|(address, length, access)| SegmentFacts {
            address,
            length,
            access: segment_access(access),
        })
}

fn thread_facts(thread: &Thread) -> ThreadFacts {
    let registers = saved_registers(thread);
    let start = match thread.start {
        Start::User { rip, rsp, .. } => Some((rip, rsp)),
        Start::AlreadyRunning | Start::Kernel { .. } | Start::Resume { .. } => None,
    };
    ThreadFacts {
        state: thread.state,
        registers,
        start,
        kernel: None,
    }
}

#[cfg(feature = "server-proc")]
/// Flags ring 3 starts with: interrupts on, the reserved bit set.
const FIRST_RFLAGS: u64 = 0x202;

#[cfg(feature = "server-proc")]
/// The registers of a stopped thread: where it entered the kernel, or, for one that never
/// ran, what it starts with (its first argument in RDI).
fn stopped_registers(thread: &Thread) -> Option<X86_64Registers> {
    saved_registers(thread).or(match thread.start {
        Start::User { rip, rsp, argument } => Some(X86_64Registers {
            rip,
            rsp,
            rdi: argument,
            rflags: FIRST_RFLAGS,
            ..X86_64Registers::default()
        }),
        _ => None,
    })
}

#[cfg(feature = "server-proc")]
/// The kernel state of stopped `thread`; the first thread of a process carries the
/// process's part too.
fn kernel_state(thread: &Thread, process: Option<&Process>, s: &Scheduler) -> Option<KernelState> {
    let fpu = thread
        .kernel_stack_top()
        .and_then(|top| user_state::user_fpu(top, thread.user_entry))
        .map(alloc::boxed::Box::new);
    let process = match process {
        Some(p) => {
            let local = |t: ThreadId| s.threads.get(&t).map_or(0, |t| t.local_id);
            Some(ProcessKernelState {
                preemptive_threads: p.preemptive_threads,
                turn_holder: None,
                next_local_id: p.next_local_id,
                sync: p.sync.snapshot(local)?,
            })
        }
        None => None,
    };
    Some(KernelState {
        local_id: thread.local_id,
        pending_signals: thread.pending_signals,
        fpu,
        process,
    })
}

/// The full descriptor of stunned process `pid`, each thread with its registers and kernel
/// state, as its checkpoint carries it; `None` unless every thread has stopped.
#[cfg(feature = "server-proc")]
pub fn describe_stopped(pid: ProcessId) -> Option<ProcessDescriptor> {
    if !super::is_stunned(pid) {
        return None;
    }
    with(|s| {
        let process = s.processes.get(&pid)?;
        let space = process.address_space.as_ref()?;
        let segments = segment_facts(space);
        let mut threads = Vec::new();
        for (index, id) in process.threads.iter().enumerate() {
            let thread = s.threads.get(id)?;
            let carries = (index == 0).then_some(process);
            threads.push(ThreadFacts {
                state: thread.state,
                registers: Some(stopped_registers(thread)?),
                start: None,
                kernel: Some(kernel_state(thread, carries, s)?),
            });
        }
        Some(process_descriptor(segments, threads))
    })
}

/// The descriptor of user process `pid` as it stands; `None` for the kernel or an unknown pid.
pub fn describe(pid: ProcessId) -> Option<ProcessDescriptor> {
    with(|s| {
        let process = s.processes.get(&pid)?;
        let space = process.address_space.as_ref()?;
        let segments = segment_facts(space);
        let threads = process
            .threads
            .iter()
            .filter_map(|t| s.threads.get(t))
            .map(|t| thread_facts(t));
        Some(process_descriptor(segments, threads))
    })
}

/// The user processes, by pid and name.
pub fn user_processes() -> Vec<(ProcessId, String)> {
    let mut processes = with(|s| {
        s.processes
            .values()
            .filter(|p| p.is_user())
            .map(|p| (p.id, p.name.clone()))
            .collect::<Vec<_>>()
    });
    processes.sort_unstable_by_key(|(pid, _)| *pid);
    processes
}

/// What the process server shows of a process.
#[cfg(feature = "server-proc")]
pub struct ProcessFacts {
    pub pid: ProcessId,
    pub name: String,
    pub threads: u32,
    /// "running", "ready" or "blocked": the liveliest of its threads.
    pub state: &'static str,
}

/// Every user process, in pid order.
#[cfg(feature = "server-proc")]
pub fn process_facts() -> Vec<ProcessFacts> {
    let mut facts = with(|s| {
        s.processes
            .values()
            .filter(|p| p.is_user())
            .map(|p| {
                let states = p
                    .threads
                    .iter()
                    .filter_map(|t| s.threads.get(t))
                    .map(|t| t.state);
                let state = liveliest(states);
                ProcessFacts {
                    pid: p.id,
                    name: p.name.clone(),
                    threads: p.threads.len() as u32,
                    state,
                }
            })
            .collect::<Vec<_>>()
    });
    facts.sort_unstable_by_key(|p| p.pid);
    facts
}

/// Threads and user processes alive.
#[cfg(feature = "server-sys")]
pub fn population() -> (u32, u32) {
    with(|s| {
        (
            s.threads.len() as u32,
            s.processes.values().filter(|p| p.is_user()).count() as u32,
        )
    })
}

/// User threads at work: running, ready, or in a trans. A process that prints or calls a
/// server waits for each answer a moment but is busy all the same, so counting only the ready
/// queue would make a busy node look idle between two of its prints: this is the load the run
/// server balances by.
#[cfg(feature = "server-proc")]
pub fn busy_user_threads() -> u32 {
    use super::{State, WaitTarget};
    with(|s| {
        let busy = |t: &&Thread| match t.state {
            State::Running | State::Ready => true,
            State::Blocked => t.waiting_on == Some(WaitTarget::Rpc),
            State::Dead => false,
        };
        let user = |t: &&Thread| s.processes.get(&t.process).is_some_and(|p| p.is_user());
        s.threads
            .values()
            .map(|t| &**t)
            .filter(busy)
            .filter(user)
            .count() as u32
    })
}

/// Reads from `offset` of stunned process `pid`'s memory, its segments one after another in
/// the order its descriptor lists them; as far as the segment at `offset` goes. `None`
/// unless it is stunned.
#[cfg(feature = "server-proc")]
pub fn read_stopped(pid: ProcessId, offset: u64, buffer: &mut [u8]) -> Option<usize> {
    if !super::is_stunned(pid) {
        return None;
    }
    with(|s| {
        let space = s.processes.get(&pid)?.address_space.as_ref()?;
        let mut base = 0u64;
        for (address, length, _) in space.segments() {
            if offset < base + length {
                let within = offset - base;
                let n = (buffer.len() as u64).min(length - within) as usize;
                return space.read_segment(address, within, &mut buffer[..n]);
            }
            base += length;
        }
        Some(0)
    })
}
