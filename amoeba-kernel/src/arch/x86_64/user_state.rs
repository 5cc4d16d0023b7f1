//! Where a thread's ring-3 registers are while it is in the kernel.
//!
//! A thread enters the kernel either by SYSCALL (the entry stub saves every user register in a
//! `SyscallFrame` at the top of its kernel stack) or by an interrupt or exception from ring 3
//! (`trap_entry.s` leaves a `TrapFrame` there; both layouts are in `frames`). Both frames sit at
//! fixed distances below the stack's top, so knowing which way a thread came in is enough to
//! find its user state: each entry notes its kind here, and the scheduler keeps the note per
//! thread across switches.

use super::frames::{SyscallFrame, TrapFrame};
use super::gdt;
use core::sync::atomic::{AtomicU8, Ordering};
use libamoeba::process::X86_64Registers;
use libamoeba::process::kernel_state::FXSAVE_LEN;

/// The FXSAVE image a thread resumes with when none travelled (its last stop was a system
/// call, across which no vector register is kept): x87 control word 0x037F and MXCSR 0x1F80,
/// the values after reset (Intel SDM vol. 1, 8.1.5 and 10.2.3).
#[cfg_attr(
    not(feature = "server-proc"),
    allow(
        dead_code,
        reason = "only the process server (exec, migration) uses it"
    )
)]
fn default_fpu() -> [u8; FXSAVE_LEN] {
    let mut area = [0; FXSAVE_LEN];
    area[0..2].copy_from_slice(&0x037Fu16.to_le_bytes());
    area[24..28].copy_from_slice(&0x1F80u32.to_le_bytes());
    area
}

/// MXCSR bits FXRSTOR accepts (a set reserved bit faults); MXCSR sits at byte 24 of the area
/// (Intel SDM vol. 1, table 10-2).
#[cfg_attr(
    not(feature = "server-proc"),
    allow(
        dead_code,
        reason = "only the process server (exec, migration) uses it"
    )
)]
const MXCSR_WRITABLE: u32 = 0xFFFF;
/// Arithmetic flags, direction and trap flag: what a user may set in RFLAGS; interrupts stay
/// enabled and I/O privilege stays 0.
#[cfg_attr(
    not(feature = "server-proc"),
    allow(
        dead_code,
        reason = "only the process server (exec, migration) uses it"
    )
)]
const USER_RFLAGS_MASK: u64 = 0x0000_0DD5;
#[cfg_attr(
    not(feature = "server-proc"),
    allow(
        dead_code,
        reason = "only the process server (exec, migration) uses it"
    )
)]
const RFLAGS_RESERVED_ONE: u64 = 0x2;
#[cfg_attr(
    not(feature = "server-proc"),
    allow(
        dead_code,
        reason = "only the process server (exec, migration) uses it"
    )
)]
const RFLAGS_INTERRUPTS: u64 = 0x200;

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

/// The FXSAVE area of a thread that entered the kernel by an interrupt from ring 3 (saved by
/// `trap_entry.s` right below its trap frame); `None` otherwise.
#[cfg_attr(
    not(feature = "server-proc"),
    allow(
        dead_code,
        reason = "only the process server (exec, migration) uses it"
    )
)]
pub fn user_fpu(stack_top: u64, entry: Entry) -> Option<[u8; FXSAVE_LEN]> {
    if entry != Entry::Interrupt {
        return None;
    }
    let area = stack_top - (size_of::<TrapFrame>() + FXSAVE_LEN) as u64;
    // SAFETY: as in `user_registers`: the thread's kernel stack is mapped everywhere and the
    // entry stub saved the area here.
    Some(unsafe { *(area as *const [u8; FXSAVE_LEN]) })
}

/// Bytes below a kernel stack's top that [`prepare_resume`] fills.
#[cfg_attr(
    not(feature = "server-proc"),
    allow(
        dead_code,
        reason = "only the process server (exec, migration) uses it"
    )
)]
pub const RESUME_BYTES: u64 = (size_of::<TrapFrame>() + FXSAVE_LEN) as u64;

/// Writes, just below `stack_top`, the trap frame and FXSAVE area that make [`resume`] continue
/// a thread in ring 3 with `registers` and `fpu` (flags limited to what ring 3 may hold);
/// returns the stack pointer `resume` takes.
///
/// # Safety
/// The top [`RESUME_BYTES`] of the stack at `stack_top` must be mapped, writable and unused.
#[cfg_attr(
    not(feature = "server-proc"),
    allow(
        dead_code,
        reason = "only the process server (exec, migration) uses it"
    )
)]
pub unsafe fn prepare_resume(
    stack_top: u64,
    registers: &X86_64Registers,
    fpu: Option<&[u8; FXSAVE_LEN]>,
) -> u64 {
    let r = registers;
    let frame = TrapFrame {
        r15: r.r15,
        r14: r.r14,
        r13: r.r13,
        r12: r.r12,
        r11: r.r11,
        r10: r.r10,
        r9: r.r9,
        r8: r.r8,
        rbp: r.rbp,
        rdi: r.rdi,
        rsi: r.rsi,
        rdx: r.rdx,
        rcx: r.rcx,
        rbx: r.rbx,
        rax: r.rax,
        vector: 0,
        error_code: 0,
        rip: r.rip,
        cs: u64::from(gdt::USER_CODE_SELECTOR.0),
        rflags: (r.rflags & USER_RFLAGS_MASK) | RFLAGS_RESERVED_ONE | RFLAGS_INTERRUPTS,
        rsp: r.rsp,
        ss: u64::from(gdt::USER_DATA_SELECTOR.0),
    };
    let mut area = fpu.copied().unwrap_or_else(default_fpu);
    let mxcsr = u32::from_le_bytes([area[24], area[25], area[26], area[27]]);
    if mxcsr & !MXCSR_WRITABLE != 0 {
        area[24..28].copy_from_slice(&0x1F80u32.to_le_bytes());
    }
    let frame_at = stack_top - size_of::<TrapFrame>() as u64;
    let area_at = frame_at - FXSAVE_LEN as u64;
    // SAFETY: the caller gives us these bytes of a mapped kernel stack; both addresses are
    // 16-byte aligned (the top is, and both sizes are multiples of 16), as FXRSTOR needs.
    unsafe {
        (frame_at as *mut TrapFrame).write(frame);
        (area_at as *mut [u8; FXSAVE_LEN]).write(area);
    }
    area_at
}

/// Continues in ring 3 from what [`prepare_resume`] wrote at `stack_pointer`.
///
/// # Safety
/// `stack_pointer` must come from `prepare_resume` on the running thread's kernel stack, above
/// everything still in use on it, and the address space that maps the user state current.
pub unsafe fn resume(stack_pointer: u64) -> ! {
    // SAFETY: forwarded from the caller; `trap_return` restores the area and frame and IRETQs.
    unsafe {
        core::arch::asm!(
            "mov rsp, {sp}",
            "jmp trap_return",
            sp = in(reg) stack_pointer,
            options(noreturn),
        )
    }
}
