//! The kernel's clock: the time-stamp counter, calibrated against the PIT at boot.
//!
//! PIT channel 2 counts down at 1.193182 MHz whatever the CPU's speed (Intel 8254 datasheet,
//! mode 0); its output, readable in port 0x61 bit 5, rises when the count reaches zero. Counting
//! TSC ticks over a known number of PIT ticks gives the TSC's frequency.

use super::{cpu, port};
use core::sync::atomic::{AtomicU64, Ordering};

const PIT_HZ: u64 = 1_193_182;
const PIT_CHANNEL2_DATA: u16 = 0x42;
const PIT_COMMAND: u16 = 0x43;
const SPEAKER_CONTROL: u16 = 0x61;
/// 2 ms of PIT ticks: a one-tick reading error is then 0.04 %, and calibration, the longest
/// wait of the boot, stays a small part of it. A longer background calibration can refine this
/// once the kernel has timers.
const CALIBRATION_PIT_TICKS: u64 = PIT_HZ / 500;

static TSC_HZ: AtomicU64 = AtomicU64::new(0);

/// What one calibration window measured.
pub struct Calibration {
    pub tsc_hz: u64,
    pub tsc_ticks: u64,
    /// How far the companion counter advanced in the same window.
    pub companion_ticks: u64,
}

/// Measures the TSC frequency, and how far `companion` (another counter to calibrate, e.g. the
/// local APIC timer) advances in the same PIT window.
pub fn calibrate(companion: fn() -> u64) -> Calibration {
    let ticks = CALIBRATION_PIT_TICKS as u16;
    // SAFETY: ports 0x42, 0x43 and 0x61 belong to PIT channel 2 and its gate, which nothing else
    // in the kernel drives; the speaker output stays off (bit 1 clear).
    let (start, end) = unsafe {
        let control = port::inb(SPEAKER_CONTROL) & !0x03;
        port::outb(SPEAKER_CONTROL, control); // gate low: hold the counter
        port::outb(PIT_COMMAND, 0b1011_0000); // channel 2, low then high byte, mode 0, binary
        port::outb(PIT_CHANNEL2_DATA, ticks as u8);
        port::outb(PIT_CHANNEL2_DATA, (ticks >> 8) as u8);
        port::outb(SPEAKER_CONTROL, control | 0x01); // gate high: count starts
        let start = (cpu::rdtsc(), companion());
        while port::inb(SPEAKER_CONTROL) & 0x20 == 0 {}
        (start, (cpu::rdtsc(), companion()))
    };
    let tsc_ticks = end.0 - start.0;
    let tsc_hz = tsc_ticks * PIT_HZ / CALIBRATION_PIT_TICKS;
    TSC_HZ.store(tsc_hz, Ordering::Relaxed);
    Calibration {
        tsc_hz,
        tsc_ticks,
        companion_ticks: end.1.wrapping_sub(start.1),
    }
}

/// TSC ticks per second, or 0 before [`calibrate`].
pub fn frequency() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// Nanoseconds since the machine was reset (the TSC starts at zero then), or `None` before
/// calibration.
pub fn nanos_since_reset() -> Option<u64> {
    let hz = frequency();
    (hz != 0).then(|| (u128::from(cpu::rdtsc()) * 1_000_000_000 / u128::from(hz)) as u64)
}
