//! The system-call instruction: number in RAX, arguments in RDI, RSI, RDX, R10, R8, R9, result
//! in RAX (negative: an [`Error`]). The kernel clobbers RCX and R11 (`syscall` itself puts the
//! return address and RFLAGS there) and the vector registers; every other register survives.
//!
//! # Safety
//!
//! Every stub is `unsafe`: a call may change memory the program holds references into
//! (`SegmentFree`), end threads whose stacks hold borrowed data (`ThreadExit`) or start code at
//! any address (`ThreadCreate`). Each caller states why its call is sound. The stubs
//! themselves touch no memory: the kernel checks every pointer it is given.

use core::arch::asm;

use libamoeba::syscall::{Call, Error};

/// Makes system call `call` with six arguments.
///
/// # Safety
/// See the module documentation: the call must not invalidate memory Rust still uses.
#[inline(always)]
pub unsafe fn syscall6(call: Call, args: [u64; 6]) -> Result<u64, Error> {
    // SAFETY: passed on to the caller.
    Error::decode(unsafe { syscall6_raw(call, args) })
}

/// Makes system call `call` and returns RAX as it is (RPC calls encode their results their own
/// way, see [`libamoeba::syscall::decode_rpc`]).
///
/// # Safety
/// As for [`syscall6`].
#[inline(always)]
pub unsafe fn syscall6_raw(call: Call, args: [u64; 6]) -> i64 {
    let raw: i64;
    // SAFETY: `syscall` enters the kernel, which follows the convention above: only RAX (the
    // result), RCX, R11 and the vector registers change, all declared here. It never writes
    // the user stack (the kernel switches stacks), so the red zone is safe (`nostack`). The
    // caller answers for what the call itself does.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") call as u64 => raw,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            in("r9") args[5],
            lateout("rcx") _,
            lateout("r11") _,
            lateout("xmm0") _,
            lateout("xmm1") _,
            lateout("xmm2") _,
            lateout("xmm3") _,
            lateout("xmm4") _,
            lateout("xmm5") _,
            lateout("xmm6") _,
            lateout("xmm7") _,
            lateout("xmm8") _,
            lateout("xmm9") _,
            lateout("xmm10") _,
            lateout("xmm11") _,
            lateout("xmm12") _,
            lateout("xmm13") _,
            lateout("xmm14") _,
            lateout("xmm15") _,
            options(nostack),
        );
    }
    raw
}

/// # Safety
/// As for [`syscall6`].
#[inline(always)]
pub unsafe fn syscall0(call: Call) -> Result<u64, Error> {
    // SAFETY: passed on to the caller.
    unsafe { syscall6(call, [0; 6]) }
}

/// # Safety
/// As for [`syscall6`].
#[inline(always)]
pub unsafe fn syscall1(call: Call, a0: u64) -> Result<u64, Error> {
    // SAFETY: passed on to the caller.
    unsafe { syscall6(call, [a0, 0, 0, 0, 0, 0]) }
}

/// # Safety
/// As for [`syscall6`].
#[inline(always)]
pub unsafe fn syscall2(call: Call, a0: u64, a1: u64) -> Result<u64, Error> {
    // SAFETY: passed on to the caller.
    unsafe { syscall6(call, [a0, a1, 0, 0, 0, 0]) }
}

/// # Safety
/// As for [`syscall6`].
#[inline(always)]
pub unsafe fn syscall3(call: Call, a0: u64, a1: u64, a2: u64) -> Result<u64, Error> {
    // SAFETY: passed on to the caller.
    unsafe { syscall6(call, [a0, a1, a2, 0, 0, 0]) }
}
