//! The `syscall` entry from ring 3 and the first entry of a thread into ring 3.
//!
//! MSRs: Intel SDM vol. 4 and vol. 2B SYSCALL/SYSRET (IA32_STAR 0xC0000081 holds the selector
//! bases, IA32_LSTAR 0xC0000082 the entry point, IA32_FMASK 0xC0000084 the RFLAGS bits cleared
//! on entry; IA32_EFER.SCE enables the instructions), written through the `x86_64` crate.
//! SYSCALL leaves RSP as it was in ring 3, so the entry switches to the running thread's kernel
//! stack (this kernel runs on one CPU, so a plain variable holds it) before pushing anything:
//! that is why the entry stub is `global_asm!` and not a Rust function, which would need a
//! stack from its first instruction. The frame it builds: `frames::SyscallFrame`.

use super::frames::SyscallFrame;
use super::gdt;
use super::user_state::{self, Entry};
use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::VirtAddr;
use x86_64::registers::model_specific::{Efer, EferFlags, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;

/// Cleared on entry: interrupts (IF), direction (DF), trap (TF), alignment check (AC) and
/// nested task (NT), which ring 3 can set and which would make the kernel's next IRETQ fault.
const FMASK_BITS: RFlags = RFlags::INTERRUPT_FLAG
    .union(RFlags::DIRECTION_FLAG)
    .union(RFlags::TRAP_FLAG)
    .union(RFlags::ALIGNMENT_CHECK)
    .union(RFlags::NESTED_TASK);
/// RFLAGS for a thread entering ring 3: interrupts on, and bit 1, which is always set.
const USER_RFLAGS: u64 = RFlags::INTERRUPT_FLAG.bits() | 0x2;

/// Kernel stack top of the running thread, loaded by the entry stub.
#[unsafe(no_mangle)]
static SYSCALL_KERNEL_RSP: AtomicU64 = AtomicU64::new(0);
/// Scratch for the ring-3 stack pointer during the switch.
#[unsafe(no_mangle)]
static SYSCALL_USER_RSP: AtomicU64 = AtomicU64::new(0);

global_asm!(
    ".global syscall_entry",
    "syscall_entry:",
    "    mov [rip + SYSCALL_USER_RSP], rsp",
    "    mov rsp, [rip + SYSCALL_KERNEL_RSP]",
    "    push [rip + SYSCALL_USER_RSP]",
    "    push r11",
    "    push rcx",
    "    push r9",
    "    push r8",
    "    push r10",
    "    push rdx",
    "    push rsi",
    "    push rdi",
    "    push rax",
    "    push r15",
    "    push r14",
    "    push r13",
    "    push r12",
    "    push rbp",
    "    push rbx",
    "    mov rdi, rsp",
    "    cld",
    "    call syscall_dispatch",
    "    pop rbx",
    "    pop rbp",
    "    pop r12",
    "    pop r13",
    "    pop r14",
    "    pop r15",
    "    pop rax",
    "    pop rdi",
    "    pop rsi",
    "    pop rdx",
    "    pop r10",
    "    pop r8",
    "    pop r9",
    "    pop rcx",
    "    pop r11",
    // The vector registers are clobbered by the convention; clearing them keeps another
    // process's values (left there while this thread was blocked) from leaking to it.
    "    pxor xmm0, xmm0",
    "    pxor xmm1, xmm1",
    "    pxor xmm2, xmm2",
    "    pxor xmm3, xmm3",
    "    pxor xmm4, xmm4",
    "    pxor xmm5, xmm5",
    "    pxor xmm6, xmm6",
    "    pxor xmm7, xmm7",
    "    pxor xmm8, xmm8",
    "    pxor xmm9, xmm9",
    "    pxor xmm10, xmm10",
    "    pxor xmm11, xmm11",
    "    pxor xmm12, xmm12",
    "    pxor xmm13, xmm13",
    "    pxor xmm14, xmm14",
    "    pxor xmm15, xmm15",
    "    pop rsp",
    "    sysretq",
);

unsafe extern "C" {
    fn syscall_entry();
}

#[unsafe(no_mangle)]
extern "C" fn syscall_dispatch(frame: &mut SyscallFrame) {
    user_state::note(Entry::Syscall);
    crate::syscalls::dispatch(frame);
    // SYSRET to a non-canonical address would fault in ring 0 with the user's stack: never let
    // a frame the kernel edited go back that way.
    if !is_canonical_user(frame.user_rip) {
        crate::sched::abort_current("returned to a non-canonical address");
    }
}

fn is_canonical_user(address: u64) -> bool {
    address < 0x0000_8000_0000_0000
}

/// Enables SYSCALL/SYSRET with the kernel's selectors and entry point.
pub fn init() {
    let stars = Star::write(
        gdt::USER_CODE_SELECTOR,
        gdt::USER_DATA_SELECTOR,
        gdt::KERNEL_CODE_SELECTOR,
        gdt::KERNEL_DATA_SELECTOR,
    );
    assert!(stars.is_ok(), "GDT selectors out of SYSRET order");
    LStar::write(VirtAddr::new(syscall_entry as *const () as u64));
    SFMask::write(FMASK_BITS);
    // SAFETY: SCE only makes SYSCALL and SYSRET available; STAR, LSTAR and FMASK above already
    // point them at the kernel's selectors and at the stub above, which switches stacks before
    // touching memory through RSP.
    unsafe { Efer::update(|flags| flags.insert(EferFlags::SYSTEM_CALL_EXTENSIONS)) };
}

/// Makes `top` the stack the CPU and the syscall entry switch to when the running thread enters
/// the kernel from ring 3.
pub fn set_kernel_stack(top: u64) {
    gdt::set_kernel_stack(top);
    SYSCALL_KERNEL_RSP.store(top, Ordering::Relaxed);
}

/// Leaves the kernel for ring 3 at `rip` with stack `rsp` and `argument` in RDI, every other
/// register zero.
///
/// # Safety
/// The current address space must map `rip` as user-executable and `rsp` as user-writable; the
/// thread's kernel stack must be set with [`set_kernel_stack`].
pub unsafe fn enter_user(rip: u64, rsp: u64, argument: u64) -> ! {
    // SAFETY: the caller guarantees the user mappings; IRETQ loads ring-3 selectors from the GDT.
    unsafe {
        asm!(
            "push {ss}",
            "push {rsp}",
            "push {rflags}",
            "push {cs}",
            "push {rip}",
            "xor eax, eax", "xor ebx, ebx", "xor ecx, ecx", "xor edx, edx", "xor esi, esi",
            "xor ebp, ebp", "xor r8d, r8d", "xor r9d, r9d", "xor r10d, r10d", "xor r11d, r11d",
            "xor r12d, r12d", "xor r13d, r13d", "xor r14d, r14d", "xor r15d, r15d",
            "pxor xmm0, xmm0", "pxor xmm1, xmm1", "pxor xmm2, xmm2", "pxor xmm3, xmm3",
            "pxor xmm4, xmm4", "pxor xmm5, xmm5", "pxor xmm6, xmm6", "pxor xmm7, xmm7",
            "pxor xmm8, xmm8", "pxor xmm9, xmm9", "pxor xmm10, xmm10", "pxor xmm11, xmm11",
            "pxor xmm12, xmm12", "pxor xmm13, xmm13", "pxor xmm14, xmm14", "pxor xmm15, xmm15",
            "iretq",
            ss = in(reg) u64::from(gdt::USER_DATA_SELECTOR.0),
            rsp = in(reg) rsp,
            rflags = in(reg) USER_RFLAGS,
            cs = in(reg) u64::from(gdt::USER_CODE_SELECTOR.0),
            rip = in(reg) rip,
            in("rdi") argument,
            options(noreturn),
        );
    }
}
