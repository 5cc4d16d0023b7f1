//! A live process as an Amoeba process descriptor (`libamoeba::process::descriptor`): its
//! segments and, for every thread, where it resumes and its saved user registers. This is what
//! checkpointing and migration will carry between nodes.
#![cfg_attr(
    not(feature = "selftest"),
    allow(dead_code, reason = "only `selftest=describe` uses it so far")
)]

use super::thread::Thread;
use super::{ProcessId, Start, State, with};
use crate::arch::user_state;
use crate::mm::address_space::Access;
use alloc::string::String;
use alloc::vec::Vec;
use libamoeba::capability::Capability;
use libamoeba::process::{
    ArchMagic, ProcessDescriptor, SegmentDescriptor, SegmentType, ThreadDescriptor,
};

/// Thread states as carried in a descriptor.
fn state_code(state: State) -> u32 {
    match state {
        State::Running => 0,
        State::Ready => 1,
        State::Blocked => 2,
        State::Dead => 3,
    }
}

fn segment_type(access: Access) -> SegmentType {
    match access {
        Access::Text => SegmentType::TEXT | SegmentType::RO,
        Access::ReadOnly => SegmentType::DATA | SegmentType::RO,
        Access::ReadWrite => SegmentType::DATA | SegmentType::RW,
    }
}

fn thread_descriptor(thread: &Thread) -> ThreadDescriptor {
    let registers = thread
        .kernel_stack_top()
        .and_then(|top| user_state::user_registers(top, thread.user_entry));
    let (pc, sp) = match (&registers, thread.start) {
        (Some(r), _) => (r.rip, r.rsp),
        (None, Start::User { rip, rsp, .. }) => (rip, rsp),
        (None, _) => (0, 0),
    };
    ThreadDescriptor {
        state: state_code(thread.state),
        idle: false,
        pc,
        sp,
        registers,
    }
}

/// The descriptor of user process `pid` as it stands; `None` for the kernel or an unknown pid.
/// Capabilities are null until processes have owners (RPC and the process server).
pub fn describe(pid: ProcessId) -> Option<ProcessDescriptor> {
    with(|s| {
        let process = s.processes.get(&pid)?;
        let space = process.address_space.as_ref()?;
        let segments = space
            .segments()
            .map(|(address, length, access)| SegmentDescriptor {
                cap: Capability::NULL,
                offset: 0,
                address,
                length,
                kind: segment_type(access),
            })
            .collect();
        let threads = process
            .threads
            .iter()
            .filter_map(|t| s.threads.get(t))
            .map(|t| thread_descriptor(t))
            .collect();
        Some(ProcessDescriptor {
            arch: ArchMagic::X86_64,
            self_cap: Capability::NULL,
            owner_cap: Capability::NULL,
            segments,
            threads,
        })
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
                let state = states.fold("blocked", |liveliest, state| match state {
                    State::Running => "running",
                    State::Ready if liveliest != "running" => "ready",
                    _ => liveliest,
                });
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
        let ready =
            s.ready.iter().map(|q| q.len()).sum::<usize>() + usize::from(s.handoff.is_some());
        (
            s.threads.len() as u32,
            s.processes.values().filter(|p| p.is_user()).count() as u32,
            ready as u32,
        )
    })
}
