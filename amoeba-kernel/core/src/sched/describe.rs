//! A process as an Amoeba process descriptor (`libamoeba::process::descriptor`): its segments
//! and, for every thread, where it resumes and its saved user registers. This is what
//! checkpointing and migration will carry between nodes. The kernel gathers the facts from a
//! live process (its address space, its threads' control blocks and kernel stacks); here they
//! become a descriptor.

use super::state::State;
use libamoeba::capability::Capability;
use libamoeba::process::kernel_state::KernelState;
use libamoeba::process::{
    ArchMagic, ProcessDescriptor, SegmentDescriptor, SegmentType, ThreadDescriptor, X86_64Registers,
};

/// How a process may use a segment, as its address space maps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentAccess {
    /// Read and execute: program text.
    Text,
    ReadOnly,
    ReadWrite,
}

/// One mapped segment of a process.
#[derive(Clone, Copy, Debug)]
pub struct SegmentFacts {
    pub address: u64,
    pub length: u64,
    pub access: SegmentAccess,
}

/// What the kernel knows of one thread.
#[derive(Clone, Debug)]
pub struct ThreadFacts {
    pub state: State,
    /// Its ring-3 registers, saved where it entered the kernel; `None` if it is not in the
    /// kernel from ring 3 (not started yet, or a kernel thread).
    pub registers: Option<X86_64Registers>,
    /// Where a user thread starts, (pc, sp); `None` for a kernel thread.
    pub start: Option<(u64, u64)>,
    /// Its kernel state, for a stopped thread that is to resume elsewhere.
    pub kernel: Option<KernelState>,
}

/// The descriptor of a process with these segments and threads, in the order given.
/// Capabilities are null until processes have owners (RPC and the process server).
pub fn process_descriptor(
    segments: impl IntoIterator<Item = SegmentFacts>,
    threads: impl IntoIterator<Item = ThreadFacts>,
) -> ProcessDescriptor {
    ProcessDescriptor {
        arch: ArchMagic::X86_64,
        self_cap: Capability::NULL,
        owner_cap: Capability::NULL,
        segments: segments.into_iter().map(segment_descriptor).collect(),
        threads: threads.into_iter().map(thread_descriptor).collect(),
    }
}

fn segment_descriptor(segment: SegmentFacts) -> SegmentDescriptor {
    SegmentDescriptor {
        cap: Capability::NULL,
        offset: 0,
        address: segment.address,
        length: segment.length,
        kind: segment_type(segment.access),
    }
}

fn segment_type(access: SegmentAccess) -> SegmentType {
    match access {
        SegmentAccess::Text => SegmentType::TEXT | SegmentType::RO,
        SegmentAccess::ReadOnly => SegmentType::DATA | SegmentType::RO,
        SegmentAccess::ReadWrite => SegmentType::DATA | SegmentType::RW,
    }
}

/// A thread resumes where its saved registers say; one that has not entered the kernel yet
/// where it starts.
fn thread_descriptor(thread: ThreadFacts) -> ThreadDescriptor {
    let (pc, sp) = match (&thread.registers, thread.start) {
        (Some(r), _) => (r.rip, r.rsp),
        (None, Some(start)) => start,
        (None, None) => (0, 0),
    };
    ThreadDescriptor {
        state: state_code(thread.state),
        idle: false,
        pc,
        sp,
        registers: thread.registers,
        kernel: thread.kernel,
    }
}

/// Thread states as carried in a descriptor.
fn state_code(state: State) -> u32 {
    match state {
        State::Running => 0,
        State::Ready => 1,
        State::Blocked => 2,
        State::Dead => 3,
    }
}

/// A process's state as the process server shows it: "running", "ready" or "blocked", the
/// liveliest of its threads' (a process without live threads is "blocked").
pub fn liveliest(states: impl IntoIterator<Item = State>) -> &'static str {
    states
        .into_iter()
        .fold("blocked", |liveliest, state| match state {
            State::Running => "running",
            State::Ready if liveliest != "running" => "ready",
            _ => liveliest,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registers(rip: u64, rsp: u64) -> X86_64Registers {
        X86_64Registers {
            rip,
            rsp,
            rax: 7,
            r15: 15,
            ..X86_64Registers::default()
        }
    }

    fn user_thread(state: State, registers: Option<X86_64Registers>) -> ThreadFacts {
        ThreadFacts {
            state,
            registers,
            start: Some((0x40_1000, 0x7eff_fff8)),
            kernel: None,
        }
    }

    #[test]
    fn segments_keep_their_place_and_size_and_get_amoeba_types() {
        let segments = [
            (0x40_0000, 0x2000, SegmentAccess::Text),
            (0x60_0000, 0x1000, SegmentAccess::ReadOnly),
            (0x7e00_0000, 0x8000, SegmentAccess::ReadWrite),
        ]
        .map(|(address, length, access)| SegmentFacts {
            address,
            length,
            access,
        });
        let descriptor = process_descriptor(segments, []);
        let kinds: Vec<SegmentType> = descriptor.segments.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                SegmentType::TEXT | SegmentType::RO,
                SegmentType::DATA | SegmentType::RO,
                SegmentType::DATA | SegmentType::RW,
            ]
        );
        assert!(kinds[0].is_text() && !kinds[0].is_writable());
        assert!(!kinds[1].is_text() && !kinds[1].is_writable());
        assert!(kinds[2].is_writable());
        for (segment, facts) in descriptor.segments.iter().zip(segments) {
            assert_eq!(
                (segment.address, segment.length),
                (facts.address, facts.length)
            );
            assert_eq!((segment.cap, segment.offset), (Capability::NULL, 0));
        }
    }

    #[test]
    fn a_thread_in_the_kernel_resumes_where_its_saved_registers_say() {
        let saved = registers(0x40_1234, 0x7eff_f000);
        let descriptor = process_descriptor([], [user_thread(State::Blocked, Some(saved))]);
        let thread = &descriptor.threads[0];
        assert_eq!((thread.pc, thread.sp), (0x40_1234, 0x7eff_f000));
        assert_eq!(thread.registers, Some(saved));
        assert_eq!(thread.state, 2);
        assert!(!thread.idle);
    }

    #[test]
    fn a_thread_that_has_not_run_resumes_at_its_start() {
        let descriptor = process_descriptor([], [user_thread(State::Ready, None)]);
        let thread = &descriptor.threads[0];
        assert_eq!((thread.pc, thread.sp), (0x40_1000, 0x7eff_fff8));
        assert_eq!(thread.registers, None);
        assert_eq!(thread.state, 1);
    }

    #[test]
    fn a_thread_with_neither_registers_nor_a_user_start_resumes_nowhere() {
        let kernel_thread = ThreadFacts {
            state: State::Running,
            registers: None,
            start: None,
            kernel: None,
        };
        let thread = process_descriptor([], [kernel_thread]).threads[0].clone();
        assert_eq!((thread.pc, thread.sp, thread.state), (0, 0, 0));
    }

    #[test]
    fn every_state_has_its_own_code() {
        let states = [State::Running, State::Ready, State::Blocked, State::Dead];
        let threads = states.map(|state| user_thread(state, None));
        let codes: Vec<u32> = process_descriptor([], threads)
            .threads
            .iter()
            .map(|t| t.state)
            .collect();
        assert_eq!(codes, [0, 1, 2, 3]);
    }

    #[test]
    fn the_descriptor_is_an_x86_64_one_with_null_capabilities_that_survives_the_wire() {
        let segment = SegmentFacts {
            address: 0x40_0000,
            length: 0x1000,
            access: SegmentAccess::Text,
        };
        let threads = [
            user_thread(State::Running, Some(registers(0x40_0010, 0x7eff_ff00))),
            user_thread(State::Ready, None),
        ];
        let descriptor = process_descriptor([segment], threads);
        assert_eq!(descriptor.arch, ArchMagic::X86_64);
        assert_eq!(descriptor.self_cap, Capability::NULL);
        assert_eq!(descriptor.owner_cap, Capability::NULL);
        assert_eq!(descriptor.threads.len(), 2);
        assert_eq!(descriptor.validate(), Ok(()));
        let decoded = ProcessDescriptor::decode(&descriptor.encode(), ArchMagic::X86_64);
        assert_eq!(decoded.map(|(d, _)| d), Ok(descriptor));
    }

    #[test]
    fn a_process_is_as_lively_as_its_liveliest_thread() {
        use State::{Blocked, Dead, Ready, Running};
        assert_eq!(liveliest([Blocked, Ready, Blocked]), "ready");
        assert_eq!(liveliest([Ready, Running, Ready]), "running");
        assert_eq!(liveliest([Running, Ready]), "running");
        assert_eq!(liveliest([Blocked, Dead]), "blocked");
        assert_eq!(liveliest([]), "blocked");
    }
}
