//! Deliberate kernel faults (`crash=KIND` on the command line), so tests can show that every
//! fault path reports what happened and stops the node with the right exit code. The divide
//! fault is written by hand: Rust's `/` checks for zero and panics rather than faulting.

use core::arch::asm;
use libamoeba::boot::CrashKind;

pub fn crash(kind: CrashKind) {
    log::warn!("crash: faulting on purpose ({kind:?}), as the command line asks");
    match kind {
        CrashKind::Panic => panic!("deliberate panic requested by crash=panic"),
        // SAFETY: not sound, on purpose: the division faults (#DE) and the handler stops the node.
        CrashKind::Divide => unsafe {
            asm!("xor edx, edx", "xor ecx, ecx", "div ecx", out("eax") _, out("edx") _, out("ecx") _);
        },
        // SAFETY: not sound, on purpose: page 0 is unmapped, the read faults (#PF) and the
        // handler stops the node.
        CrashKind::PageFault => unsafe {
            core::ptr::null::<u64>().read_volatile();
        },
        CrashKind::StackOverflow => {
            recurse(0);
        }
        CrashKind::Hang => loop {
            core::hint::spin_loop();
        },
    }
}

/// Recurses with a frame the optimizer cannot remove until the guard page stops it.
#[inline(never)]
#[expect(unconditional_recursion, reason = "the guard page is the base case")]
fn recurse(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 64]);
    recurse(depth + 1) + frame[depth as usize % 64]
}
