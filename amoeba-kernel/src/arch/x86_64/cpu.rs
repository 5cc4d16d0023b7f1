//! Single instructions and control registers the rest of the kernel needs.

use core::arch::asm;

/// The time-stamp counter (Intel SDM vol. 3B, 18.17).
#[inline]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC only reads a counter; CR4.TSD is clear, so it is allowed at any privilege.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// The faulting linear address of the last page fault.
pub fn cr2() -> u64 {
    let value: u64;
    // SAFETY: reading CR2 has no side effect; we run in ring 0.
    unsafe { asm!("mov {}, cr2", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}

/// The current page-table root.
pub fn cr3() -> u64 {
    let value: u64;
    // SAFETY: reading CR3 has no side effect; we run in ring 0.
    unsafe { asm!("mov {}, cr3", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}

/// Switches to the page tables rooted at `root`.
///
/// # Safety
/// The tables must map the running code, its stack and every structure still in use.
pub unsafe fn write_cr3(root: u64) {
    // SAFETY: the caller guarantees the new tables keep everything in use mapped.
    unsafe { asm!("mov cr3, {}", in(reg) root, options(nostack, preserves_flags)) };
}

/// Stops the CPU for good: interrupts off, then halt in a loop (an NMI could wake it).
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: disabling interrupts and halting touch no memory; this CPU does nothing more.
        unsafe { asm!("cli", "hlt", options(nomem, nostack)) };
    }
}

/// Waits for the next interrupt, which is handled before this returns: an idle CPU uses no
/// cycles. Interrupts are enabled only for the wait; the kernel otherwise runs with them off.
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

/// Reads a model-specific register.
pub fn read_msr(msr: u32) -> u64 {
    let (low, high): (u32, u32);
    // SAFETY: the kernel reads only architectural MSRs that exist on every x86-64 CPU it boots on
    // (long mode was checked) or whose presence the caller checked through CPUID.
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") low, out("edx") high, options(nomem, nostack, preserves_flags))
    };
    (u64::from(high) << 32) | u64::from(low)
}

/// Writes a model-specific register.
///
/// # Safety
/// The MSR must exist and the value must keep the machine in a state the kernel expects.
pub unsafe fn write_msr(msr: u32, value: u64) {
    // SAFETY: the caller guarantees the MSR and value are valid.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32,
             options(nomem, nostack, preserves_flags));
    }
}

/// Whether the local APIC timer offers TSC-deadline mode (CPUID.1:ECX[24]).
pub fn has_tsc_deadline() -> bool {
    core::arch::x86_64::__cpuid(1).ecx & (1 << 24) != 0
}

/// Whether the CPU has RDRAND (CPUID.1:ECX[30]).
pub fn has_rdrand() -> bool {
    core::arch::x86_64::__cpuid(1).ecx & (1 << 30) != 0
}

/// 64 random bits from RDRAND (Intel SDM vol. 1, 7.3.17), retried a few times as Intel advises;
/// `None` if the CPU has no RDRAND or it keeps failing.
pub fn rdrand() -> Option<u64> {
    if !has_rdrand() {
        return None;
    }
    (0..10).find_map(|_| {
        let value: u64;
        let ok: u8;
        // SAFETY: CPUID said RDRAND exists; it only writes the named register and the flags.
        unsafe {
            asm!("rdrand {value}", "setc {ok}", value = out(reg) value, ok = out(reg_byte) ok,
                 options(nomem, nostack));
        }
        (ok == 1).then_some(value)
    })
}
