//! The first Rust code: called by `boot.s` in 64-bit mode with the boot loader's EAX and EBX.
//! It sets up what everything else needs (console, log, descriptor tables), reads the boot
//! information while the loader's structures are still intact, and hands over to the kernel.

use super::{init_cpu, multiboot, power};
use crate::{console, logger};
use libamoeba::boot::ExitCode;

#[unsafe(no_mangle)]
extern "C" fn kernel_main(magic: u32, info_address: u32) -> ! {
    let entry_tsc = super::cpu::rdtsc();
    console::init();
    logger::init();
    init_cpu();
    // SAFETY: these are the loader's EAX and EBX, passed through unchanged by boot.s, and nothing
    // has been allocated yet that could overwrite the loader's structures.
    match unsafe { multiboot::parse(magic, info_address as usize) } {
        Ok(boot) => crate::start(boot, entry_tsc),
        Err(error) => {
            log::error!("{error}");
            power::exit(ExitCode::BadBoot)
        }
    }
}
