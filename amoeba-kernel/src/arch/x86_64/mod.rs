//! Everything specific to x86-64: boot entry, descriptor tables, traps, paging, timers, ports.
//!
//! Dependencies among these modules point one way: `frames` (the layouts the entry stubs build)
//! sits under `traps`, `syscall` and `user_state`; `power` needs only `cpu` and `port`. The
//! CPU's structures and instructions come from the `x86_64` crate; by hand stay only what it
//! cannot do here: the 32-bit boot trampoline, the interrupt and syscall entry stubs (its
//! interrupt ABI needs nightly), the context switch, the first entry into ring 3, string port
//! I/O, the red-zone-safe idle wait and the deliberate divide fault.

pub mod context;
pub mod cpu;
pub mod crash;
mod entry;
pub mod frames;
pub mod gdt;
pub mod idt;
pub mod lapic;
pub mod multiboot;
pub mod paging;
pub mod pic;
pub mod port;
pub mod power;
pub mod stacks;
pub mod syscall;
pub mod traps;
pub mod tsc;
pub mod user_state;

// `memcpy` & co. for the compiler's calls: this target's compiler_builtins leaves them to a libc.
use amoeba_freestanding as _;

core::arch::global_asm!(include_str!("multiboot_header.s"), options(att_syntax));
core::arch::global_asm!(include_str!("boot.s"), options(att_syntax));
core::arch::global_asm!(include_str!("trap_entry.s"), options(att_syntax));

/// Calibrates the TSC and the local APIC timer together against the PIT; returns the TSC's
/// frequency in Hz.
pub fn calibrate_clocks() -> u64 {
    lapic::start_calibration();
    let calibration = tsc::calibrate(lapic::calibration_count);
    lapic::finish_calibration(calibration.companion_ticks, calibration.tsc_ticks);
    calibration.tsc_hz
}

/// Brings the CPU into the kernel's steady state: descriptor tables, silenced legacy interrupt
/// controllers. Interrupts stay disabled.
pub fn init_cpu() {
    gdt::init();
    idt::init();
    pic::remap_and_mask();
}
