//! Where a thread's ring-3 registers are while it is in the kernel.
//!
//! A thread enters the kernel either by SYSCALL (the entry stub saves every user register in a
//! `SyscallFrame` at the top of its kernel stack) or by an interrupt or exception from ring 3
//! (`trap_entry.s` leaves a `TrapFrame` there; both layouts are in `frames`). Both frames sit at
//! fixed distances below the stack's top, so knowing which way a thread came in is enough to
//! find its user state: each entry notes its kind here, and the scheduler keeps the note per
//! thread across switches.

use super::frames::{SyscallFrame, TrapFrame};
use core::sync::atomic::{AtomicU8, Ordering};
use libamoeba::process::X86_64Registers;

/// How the running thread last entered the kernel from ring 3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Entry {
    /// Not from ring 3 (a kernel thread, or a user thread that has not run yet).
    None = 0,
    Syscall = 1,
    Interrupt = 2,
}

static RUNNING_THREAD_ENTRY: AtomicU8 = AtomicU8::new(Entry::None as u8);

pub fn note(entry: Entry) {
    RUNNING_THREAD_ENTRY.store(entry as u8, Ordering::Relaxed);
}

pub fn running_thread_entry() -> Entry {
    match RUNNING_THREAD_ENTRY.load(Ordering::Relaxed) {
        1 => Entry::Syscall,
        2 => Entry::Interrupt,
        _ => Entry::None,
    }
}

/// The ring-3 registers of a thread that entered the kernel by `entry` and whose kernel stack
/// tops at `stack_top`; `None` if it did not come from ring 3.
#[cfg_attr(
    not(feature = "selftest"),
    allow(dead_code, reason = "only `selftest=describe` uses it so far")
)]
pub fn user_registers(stack_top: u64, entry: Entry) -> Option<X86_64Registers> {
    match entry {
        Entry::None => None,
        Entry::Syscall => {
            // SAFETY: the thread is in the kernel through SYSCALL, so the entry stub's frame lies
            // at the top of its kernel stack, which is mapped in every address space.
            let f = unsafe {
                &*((stack_top - size_of::<SyscallFrame>() as u64) as *const SyscallFrame)
            };
            Some(X86_64Registers {
                rax: f.rax,
                rcx: f.user_rip,
                rdx: f.rdx,
                rbx: f.rbx,
                rsp: f.user_rsp,
                rbp: f.rbp,
                rsi: f.rsi,
                rdi: f.rdi,
                r8: f.r8,
                r9: f.r9,
                r10: f.r10,
                r11: f.user_rflags,
                r12: f.r12,
                r13: f.r13,
                r14: f.r14,
                r15: f.r15,
                rip: f.user_rip,
                rflags: f.user_rflags,
            })
        }
        Entry::Interrupt => {
            // SAFETY: the thread is in the kernel through an interrupt from ring 3: the CPU
            // switched to the top of its kernel stack (RSP0) and `trap_entry.s` built the frame
            // right below, 16-byte aligned as the CPU left it.
            let f = unsafe { &*((stack_top - size_of::<TrapFrame>() as u64) as *const TrapFrame) };
            Some(X86_64Registers {
                rax: f.rax,
                rcx: f.rcx,
                rdx: f.rdx,
                rbx: f.rbx,
                rsp: f.rsp,
                rbp: f.rbp,
                rsi: f.rsi,
                rdi: f.rdi,
                r8: f.r8,
                r9: f.r9,
                r10: f.r10,
                r11: f.r11,
                r12: f.r12,
                r13: f.r13,
                r14: f.r14,
                r15: f.r15,
                rip: f.rip,
                rflags: f.rflags,
            })
        }
    }
}
