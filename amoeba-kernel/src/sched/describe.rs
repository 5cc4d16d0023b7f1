//! A live process as an Amoeba process descriptor: the facts read from the scheduler, the
//! process's address space and its threads' kernel stacks. What the descriptor makes of them
//! is `amoeba_kernel_core::sched::describe`.
#![cfg_attr(
    not(feature = "selftest"),
    allow(dead_code, reason = "only `selftest=describe` uses it so far")
)]

use super::thread::Thread;
use super::{ProcessId, Start, with};
use crate::arch::user_state;
use crate::mm::address_space::Access;
use alloc::string::String;
use alloc::vec::Vec;
#[cfg(feature = "server-proc")]
use amoeba_kernel_core::sched::describe::liveliest;
use amoeba_kernel_core::sched::describe::{
    SegmentAccess, SegmentFacts, ThreadFacts, process_descriptor,
};
use libamoeba::process::ProcessDescriptor;

fn segment_access(access: Access) -> SegmentAccess {
    match access {
        Access::Text => SegmentAccess::Text,
        Access::ReadOnly => SegmentAccess::ReadOnly,
        Access::ReadWrite => SegmentAccess::ReadWrite,
    }
}

fn thread_facts(thread: &Thread) -> ThreadFacts {
    let registers = thread
        .kernel_stack_top()
        .and_then(|top| user_state::user_registers(top, thread.user_entry));
    let start = match thread.start {
        Start::User { rip, rsp, .. } => Some((rip, rsp)),
        Start::AlreadyRunning | Start::Kernel { .. } => None,
    };
    ThreadFacts {
        state: thread.state,
        registers,
        start,
        kernel: None,
    }
}

/// The descriptor of user process `pid` as it stands; `None` for the kernel or an unknown pid.
pub fn describe(pid: ProcessId) -> Option<ProcessDescriptor> {
    with(|s| {
        let process = s.processes.get(&pid)?;
        let space = process.address_space.as_ref()?;
        let segments = space
            .segments()
            .map(|(address, length, access)| SegmentFacts {
                address,
                length,
                access: segment_access(access),
            });
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

/// Threads and user processes alive, and threads ready to run (the load).
#[cfg(any(feature = "server-sys", feature = "server-proc"))]
pub fn population() -> (u32, u32, u32) {
    with(|s| {
        (
            s.threads.len() as u32,
            s.processes.values().filter(|p| p.is_user()).count() as u32,
            s.ready.len() as u32,
        )
    })
}
