//! The local APIC timer: one-shot interrupts at the next deadline, never a periodic tick.
//!
//! Registers: Intel SDM vol. 3A, 11.4 (APIC base MSR 0x1B), 11.5.1 (LVT timer at 0x320, modes),
//! 11.5.4 (initial count 0x380, current count 0x390, divide configuration 0x3E0), 11.5.4.1
//! (TSC-deadline mode, IA32_TSC_DEADLINE MSR 0x6E0), 11.9 (spurious vector register 0xF0).
//! TSC-deadline mode is used where CPUID.1:ECX[24] offers it: the deadline is then a TSC value
//! and needs no conversion; otherwise the one-shot count comes from timing the APIC timer
//! against the TSC over the PIT window that calibrates the TSC (`calibrate_clocks`). The MSRs
//! are reached through the `x86_64` crate; the registers are memory-mapped, read and written
//! here.

use super::cpu;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use x86_64::registers::model_specific::{ApicBase, ApicBaseFlags, Msr};

/// Vector of the timer interrupt; above the legacy PIC's 0x20-0x2F.
pub const TIMER_VECTOR: u8 = 0x30;
/// Vector of spurious APIC interrupts (needs no EOI).
pub const SPURIOUS_VECTOR: u8 = 0xFF;

const TSC_DEADLINE_MSR: u32 = 0x6E0;
const EOI: usize = 0xB0;
const SPURIOUS: usize = 0xF0;
const LVT_TIMER: usize = 0x320;
const INITIAL_COUNT: usize = 0x380;
const CURRENT_COUNT: usize = 0x390;
const DIVIDE_CONFIG: usize = 0x3E0;
const DIVIDE_BY_1: u32 = 0b1011;
const LVT_MODE_TSC_DEADLINE: u32 = 0b10 << 17;

static BASE: AtomicU64 = AtomicU64::new(0);
static TSC_DEADLINE: AtomicBool = AtomicBool::new(false);
/// APIC timer ticks per 2^20 TSC ticks, for one-shot mode.
static TICKS_PER_MEGA_TSC: AtomicU64 = AtomicU64::new(0);

fn register(offset: usize) -> *mut u32 {
    (BASE.load(Ordering::Relaxed) as usize + offset) as *mut u32
}

fn read(offset: usize) -> u32 {
    // SAFETY: the APIC page is identity mapped (uncached) and `offset` is one of its registers.
    unsafe { register(offset).read_volatile() }
}

fn write(offset: usize, value: u32) {
    // SAFETY: as in `read`; writes go only to the registers named above.
    unsafe { register(offset).write_volatile(value) }
}

/// Which timer mode is in use, for the boot log.
pub fn mode() -> &'static str {
    if TSC_DEADLINE.load(Ordering::Relaxed) {
        "TSC-deadline"
    } else {
        "one-shot"
    }
}

const LVT_MASKED: u32 = 1 << 16;

/// Enables the local APIC and, in one-shot mode, lets its timer count down freely (masked) so
/// the TSC calibration can time it over the same PIT window (`calibration_count`).
pub fn start_calibration() {
    let (page, flags) = ApicBase::read();
    // SAFETY: setting the enable bit of IA32_APIC_BASE keeps its base address; the APIC's page
    // is identity mapped by the boot page tables and by the kernel's.
    unsafe { ApicBase::write(page, flags | ApicBaseFlags::LAPIC_ENABLE) };
    BASE.store(page.start_address().as_u64(), Ordering::Relaxed);
    write(SPURIOUS, 0x100 | u32::from(SPURIOUS_VECTOR));
    let deadline = cpu::has_tsc_deadline();
    TSC_DEADLINE.store(deadline, Ordering::Relaxed);
    if deadline {
        write(LVT_TIMER, LVT_MODE_TSC_DEADLINE | u32::from(TIMER_VECTOR));
    } else {
        write(DIVIDE_CONFIG, DIVIDE_BY_1);
        write(LVT_TIMER, LVT_MASKED | u32::from(TIMER_VECTOR));
        write(INITIAL_COUNT, u32::MAX);
    }
}

/// Timer ticks since `start_calibration` (it counts down from the maximum).
pub fn calibration_count() -> u64 {
    u64::from(u32::MAX - read(CURRENT_COUNT))
}

/// Ends the calibration: `apic_ticks` counted while the TSC advanced `tsc_ticks`. The timer is
/// then stopped and unmasked, waiting for its first deadline.
pub fn finish_calibration(apic_ticks: u64, tsc_ticks: u64) {
    if TSC_DEADLINE.load(Ordering::Relaxed) {
        return;
    }
    write(INITIAL_COUNT, 0);
    write(LVT_TIMER, u32::from(TIMER_VECTOR));
    TICKS_PER_MEGA_TSC.store((apic_ticks << 20) / tsc_ticks.max(1), Ordering::Relaxed);
}

/// Raises the timer interrupt once, at TSC value `deadline` (at once if it has passed).
pub fn arm(deadline: u64) {
    if TSC_DEADLINE.load(Ordering::Relaxed) {
        // SAFETY: IA32_TSC_DEADLINE exists (checked in `start_calibration`); writing it arms the
        // timer.
        unsafe { Msr::new(TSC_DEADLINE_MSR).write(deadline.max(1)) };
        return;
    }
    let delta = deadline.saturating_sub(cpu::rdtsc());
    let rate = TICKS_PER_MEGA_TSC.load(Ordering::Relaxed);
    // Plain 64-bit arithmetic for every deadline a 32-bit count can reach anyway.
    let ticks = delta
        .checked_mul(rate)
        .map_or(u64::from(u32::MAX), |scaled| scaled >> 20);
    write(INITIAL_COUNT, ticks.clamp(1, u64::from(u32::MAX)) as u32);
}

/// Cancels the armed interrupt: an idle node with nothing due takes none.
pub fn disarm() {
    if TSC_DEADLINE.load(Ordering::Relaxed) {
        // SAFETY: as in `arm`; zero disarms.
        unsafe { Msr::new(TSC_DEADLINE_MSR).write(0) };
    } else {
        write(INITIAL_COUNT, 0);
    }
}

/// Acknowledges the interrupt being handled.
pub fn end_of_interrupt() {
    write(EOI, 0);
}
