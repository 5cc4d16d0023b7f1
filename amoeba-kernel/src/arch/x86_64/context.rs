//! Switching the CPU from one kernel thread to another.
//!
//! A switch happens only inside the kernel, as a function call, so only the registers the
//! System V ABI makes callee-saved need saving: the caller has saved the rest. Vector registers
//! are all caller-saved in that ABI, and user threads' full register and SSE state sits in the
//! trap frame on their kernel stack when they are preempted (`trap_entry.s`).

use core::arch::global_asm;

global_asm!(
    ".global switch_context",
    "switch_context:",
    // rdi = where to save the old stack pointer, rsi = the new stack pointer
    "    push rbp",
    "    push rbx",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    "    mov [rdi], rsp",
    "    mov rsp, rsi",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop rbx",
    "    pop rbp",
    "    ret",
    // A new thread's first switch "returns" here; r12 holds its start function.
    ".global thread_entry_trampoline",
    "thread_entry_trampoline:",
    "    call r12",
    "    ud2",
);

unsafe extern "C" {
    fn switch_context(save_old_rsp: *mut u64, new_rsp: u64);
    fn thread_entry_trampoline();
}

/// Callee-saved registers in the order `switch_context` pops them, then its return address.
#[repr(C)]
struct InitialFrame {
    r15: u64,
    r14: u64,
    r13: u64,
    r12: u64,
    rbx: u64,
    rbp: u64,
    return_address: u64,
    /// Keeps RSP at the start function's entry as the ABI wants (16n + 8 after the call).
    alignment: u64,
}

/// Prepares a fresh kernel stack so that the first switch to it calls `start`, which must never
/// return. Returns the stack pointer to switch to.
///
/// # Safety
/// `stack_top` must be the 16-byte aligned top of a mapped, writable kernel stack no one uses.
pub unsafe fn prepare_stack(stack_top: u64, start: extern "C" fn() -> !) -> u64 {
    let frame = (stack_top - size_of::<InitialFrame>() as u64) as *mut InitialFrame;
    // SAFETY: the caller guarantees the stack is ours and mapped; the frame lies just below top.
    unsafe {
        frame.write(InitialFrame {
            r15: 0,
            r14: 0,
            r13: 0,
            r12: start as usize as u64,
            rbx: 0,
            rbp: 0,
            return_address: thread_entry_trampoline as usize as u64,
            alignment: 0,
        });
    }
    frame as u64
}

/// Saves the running thread's stack pointer in `*save` and continues the thread whose saved
/// stack pointer is `next`; returns when some thread switches back to this one.
///
/// # Safety
/// `next` must come from [`prepare_stack`] or from an earlier `switch` of a thread that has not
/// run since, and `save` must stay valid until this thread runs again.
pub unsafe fn switch(save: *mut u64, next: u64) {
    // SAFETY: forwarded from the caller; switch_context follows the C ABI.
    unsafe { switch_context(save, next) };
}
