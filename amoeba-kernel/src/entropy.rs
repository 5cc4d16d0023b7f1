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

/// Seeds the fallback generator; call once the boot has done some timed work. `identity`
/// (the node's name) goes into the seed too: under `-icount` the TSC repeats from boot to boot,
/// and nodes of one cluster must still get different ports and FLIP addresses.
pub fn init(boot_entry_tsc: u64, identity: &[u8]) {
    let seed = cpu::rdtsc().rotate_left(17) ^ boot_entry_tsc ^ fnv1a(identity);
    *GENERATOR.lock() = Some(SeededGenerator::new(seed));
    if !cpu::has_rdrand() {
        log::warn!(
            "entropy: no RDRAND (QEMU gives it with -cpu qemu64,+rdrand, as amoeba-build \
             does); ports and checks come from a TSC-seeded generator and are guessable"
        );
    }
}

/// Mixes `bytes` (e.g. a card's address) into the fallback generator's state: draws made after
/// it differ between machines that differ in `bytes`.
#[cfg(feature = "net")]
pub fn stir(bytes: &[u8]) {
    let mut generator = GENERATOR.lock();
    let mut draw = [0; 8];
    if let Some(generator) = generator.as_mut() {
        generator.fill(&mut draw);
    }
    let seed = u64::from_le_bytes(draw) ^ fnv1a(bytes) ^ cpu::rdtsc();
    *generator = Some(SeededGenerator::new(seed));
}

/// FNV-1a, 64 bits: spreads a short byte string over a seed.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
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
