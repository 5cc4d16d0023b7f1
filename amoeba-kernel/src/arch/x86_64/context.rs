//! Switching the CPU from one kernel thread to another.
//!
//! A switch happens only inside the kernel, as a function call, so only what the System V ABI
//! makes callee-saved needs saving: six general registers and the control bits of MXCSR and the
//! x87 control word (one process's rounding mode must not leak into another). Vector registers
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
    "    sub rsp, 8",
    "    stmxcsr [rsp]",
    "    fnstcw [rsp + 4]",
    "    mov [rdi], rsp",
    "    mov rsp, rsi",
    "    ldmxcsr [rsp]",
    "    fldcw [rsp + 4]",
    "    add rsp, 8",
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

/// MXCSR after reset: all exceptions masked, round to nearest (Intel SDM vol. 1, 10.2.3).
const DEFAULT_MXCSR: u32 = 0x1F80;
/// x87 control word after FNINIT (Intel SDM vol. 1, 8.1.5).
const DEFAULT_FPU_CONTROL: u32 = 0x037F;

/// Callee-saved state in the order `switch_context` restores it, then its return address.
#[repr(C)]
struct InitialFrame {
    mxcsr: u32,
    fpu_control: u32,
    r15: u64,
    r14: u64,
    r13: u64,
    r12: u64,
    rbx: u64,
    rbp: u64,
    return_address: u64,
    /// Leaves RSP 16-byte aligned when the trampoline's `call` runs, so the start function
    /// begins with RSP = 16n + 8 as the ABI wants (SSE spills to the stack fault otherwise).
    padding: [u64; 2],
}
const _: () = assert!(size_of::<InitialFrame>().is_multiple_of(16));

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
            mxcsr: DEFAULT_MXCSR,
            fpu_control: DEFAULT_FPU_CONTROL,
            r15: 0,
            r14: 0,
            r13: 0,
            r12: start as *const () as u64,
            rbx: 0,
            rbp: 0,
            return_address: thread_entry_trampoline as *const () as u64,
            padding: [0; 2],
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
