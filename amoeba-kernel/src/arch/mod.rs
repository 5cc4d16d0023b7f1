//! Architecture-specific code; the rest of the kernel uses it through these names.

pub mod x86_64;

pub use x86_64::{cpu, init_cpu, multiboot, paging, port, power, tsc};
