//! The kernel's random bytes, for server ports and check fields (and the random server):
//! RDRAND where the CPU has it, otherwise `libamoeba::random::SeededGenerator` seeded at boot.
//!
//! The seed comes from the TSC read across the boot's calibration and device probing, which
//! varies from boot to boot on real machines but little under an emulator with `-icount`: a
//! node without RDRAND has guessable capabilities, and its random server says so in STD_INFO.

use crate::arch::cpu;
use libamoeba::random::{Entropy, SeededGenerator};
use spin::Mutex;

static GENERATOR: Mutex<Option<SeededGenerator>> = Mutex::new(None);

/// Seeds the fallback generator; call once the boot has done some timed work.
pub fn init(boot_entry_tsc: u64) {
    let seed = cpu::rdtsc().rotate_left(17) ^ boot_entry_tsc;
    *GENERATOR.lock() = Some(SeededGenerator::new(seed));
    if !cpu::has_rdrand() {
        log::warn!(
            "entropy: no RDRAND (QEMU: -cpu max has it); ports and checks come from a \
             TSC-seeded generator and are guessable"
        );
    }
}

/// Where the bytes come from, for STD_INFO and the boot log.
#[cfg(feature = "server-random")]
pub fn source() -> &'static str {
    if cpu::has_rdrand() {
        "rdrand"
    } else {
        "seeded generator (no RDRAND)"
    }
}

/// The kernel's [`Entropy`].
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelEntropy;

impl Entropy for KernelEntropy {
    fn fill(&mut self, bytes: &mut [u8]) {
        if cpu::has_rdrand() {
            for chunk in bytes.chunks_mut(8) {
                if let Some(value) = cpu::rdrand() {
                    chunk.copy_from_slice(&value.to_le_bytes()[..chunk.len()]);
                    continue;
                }
                fill_seeded(chunk);
            }
        } else {
            fill_seeded(bytes);
        }
    }
}

fn fill_seeded(bytes: &mut [u8]) {
    let mut generator = GENERATOR.lock();
    let generator = generator.get_or_insert_with(|| SeededGenerator::new(cpu::rdtsc()));
    generator.fill(bytes);
}
