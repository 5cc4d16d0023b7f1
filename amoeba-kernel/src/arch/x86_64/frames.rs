//! The register frames the entry stubs leave on a kernel stack, as the Rust side reads them.
//!
//! [`TrapFrame`] is what `trap_entry.s` builds for an interrupt or exception: the general
//! registers in push order, then the vector and error code the stub pushed, then the CPU's
//! interrupt frame (Intel SDM vol. 3A, 6.14.2). [`SyscallFrame`] is what `syscall_entry`
//! (`syscall.rs`) pushes for a SYSCALL, which leaves the user RIP in RCX and RFLAGS in R11
//! (Intel SDM vol. 2B, SYSCALL). The entry code, the handlers and `user_state` all depend on
//! these layouts and on nothing else of each other, so the layouts stand here on their own.

use core::mem::size_of;

/// The registers of the interrupted code, as the entry stub left them on the stack.
#[repr(C)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}
const _: () = assert!(size_of::<TrapFrame>() == 22 * 8);

/// All ring-3 registers of a thread in a system call, as the entry stub saved them: the thread's
/// full user state while it is in the kernel (a process descriptor reads it from here). `rax`
/// carries the call number in and the result out; the rest return to ring 3 unchanged (RCX and
/// R11 are the user RIP and RFLAGS, as SYSCALL leaves them).
#[repr(C)]
pub struct SyscallFrame {
    pub rbx: u64,
    pub rbp: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rax: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub r10: u64,
    pub r8: u64,
    pub r9: u64,
    pub user_rip: u64,
    pub user_rflags: u64,
    pub user_rsp: u64,
}
const _: () = assert!(size_of::<SyscallFrame>() == 16 * 8);
