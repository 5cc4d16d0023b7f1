//! Architecture-specific code; the rest of the kernel uses it through these names.

pub mod x86_64;

pub use x86_64::{
    calibrate_clocks, context, cpu, frames, gdt, lapic, multiboot, paging, pic, port, power,
    syscall, traps, tsc, user_state,
};
