//! Single instructions and control registers the rest of the kernel needs, mostly through the
//! `x86_64` crate (Intel SDM vol. 3A, 2.5 for CR2 and CR3).

use core::arch::asm;
use x86_64::instructions::{self, interrupts, random::RdRand};
use x86_64::registers::control::{Cr2, Cr3};

/// The time-stamp counter (Intel SDM vol. 3B, 18.17).
#[inline]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC only reads a counter; CR4.TSD is clear, so it is allowed at any privilege.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// The faulting linear address of the last page fault, canonical or not.
pub fn cr2() -> u64 {
    Cr2::read_raw()
}

/// The current page-table root: CR3's address bits (the kernel sets none of its flag bits).
pub fn cr3() -> u64 {
    Cr3::read_raw().0.start_address().as_u64()
}

/// Stops the CPU for good: interrupts off, then halt in a loop (an NMI could wake it).
pub fn halt_forever() -> ! {
    loop {
        interrupts::disable();
        instructions::hlt();
    }
}

/// Waits for the next interrupt, which is handled before this returns: an idle CPU uses no
/// cycles. Interrupts are enabled only for the wait; the kernel otherwise runs with them off.
///
/// By hand rather than the `x86_64` crate's `enable_and_hlt`, which declares `nostack`: the
/// compiler may then keep data in the red zone across it, and the interrupt handler's frame,
/// pushed on this same stack in ring 0, would overwrite that data.
pub fn wait_for_interrupt() {
    // SAFETY: `sti; hlt` is the architectural idiom for an atomic enable-and-wait (STI takes
    // effect after HLT starts); handlers are installed before the first call. Without `nostack`
    // the compiler keeps no data in the red zone across this block, which the handler's frame
    // overwrites.
    unsafe { asm!("sti", "hlt", "cli", options(nomem)) };
}

/// The CPU's vendor and brand string, for the boot log.
pub fn brand(buffer: &mut [u8; 48]) -> &str {
    for (index, leaf) in (0x8000_0002u32..=0x8000_0004).enumerate() {
        // Leaves 0x80000002..4 exist on every CPU with long mode, which the entry code checked.
        let r = core::arch::x86_64::__cpuid(leaf);
        for (word_index, word) in [r.eax, r.ebx, r.ecx, r.edx].into_iter().enumerate() {
            let at = index * 16 + word_index * 4;
            buffer[at..at + 4].copy_from_slice(&word.to_le_bytes());
        }
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    core::str::from_utf8(&buffer[..end])
        .unwrap_or("unknown CPU")
        .trim()
}

/// Whether the local APIC timer offers TSC-deadline mode (CPUID.1:ECX[24]).
pub fn has_tsc_deadline() -> bool {
    core::arch::x86_64::__cpuid(1).ecx & (1 << 24) != 0
}

/// Whether the CPU has RDRAND (CPUID.1:ECX[30]).
pub fn has_rdrand() -> bool {
    RdRand::new().is_some()
}

/// 64 random bits from RDRAND (Intel SDM vol. 1, 7.3.17), retried a few times as Intel advises;
/// `None` if the CPU has no RDRAND or it keeps failing.
pub fn rdrand() -> Option<u64> {
    let rdrand = RdRand::new()?;
    (0..10).find_map(|_| rdrand.get_u64())
}
