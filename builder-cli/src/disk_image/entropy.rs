//! The randomness of a built disk image: its ports and check fields come from a generator
//! seeded with a digest of what the image is made of ([`super::seed`]), so that two builds of
//! one profile at one commit give the same bytes.
//!
//! The generator is SHA-256 in counter mode: block i is SHA-256(seed || i as u64 LE). Its
//! output is as unpredictable as its seed, no more: see [`super::seed`] for what that means for
//! the capabilities on the disk.

use libamoeba::random::Entropy;
use sha2::{Digest, Sha256};

/// Deterministic [`Entropy`] from a 32-byte seed.
pub struct SeededEntropy {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    /// Bytes of `block` already handed out.
    used: usize,
}

impl SeededEntropy {
    pub fn new(seed: [u8; 32]) -> Self {
        Self {
            seed,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    fn refill(&mut self) {
        let mut hasher = Sha256::new();
        hasher.update(self.seed);
        hasher.update(self.counter.to_le_bytes());
        self.block = hasher.finalize().into();
        self.counter = self.counter.wrapping_add(1);
        self.used = 0;
    }
}

impl Entropy for SeededEntropy {
    fn fill(&mut self, bytes: &mut [u8]) {
        for byte in bytes {
            if self.used == self.block.len() {
                self.refill();
            }
            *byte = self.block[self.used];
            self.used += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(seed: [u8; 32], len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        SeededEntropy::new(seed).fill(&mut out);
        out
    }

    #[test]
    fn one_seed_gives_one_stream_however_it_is_drawn() {
        let whole = bytes([7; 32], 100);
        assert_eq!(whole, bytes([7; 32], 100));
        let mut pieces = SeededEntropy::new([7; 32]);
        let mut drawn = Vec::new();
        for len in [1, 6, 31, 2, 60] {
            let mut piece = vec![0; len];
            pieces.fill(&mut piece);
            drawn.extend(piece);
        }
        assert_eq!(drawn, whole);
        assert_ne!(bytes([8; 32], 100), whole);
        // Block 0 is SHA-256 of the seed and a zero counter.
        let mut hasher = Sha256::new();
        hasher.update([7; 32]);
        hasher.update(0u64.to_le_bytes());
        assert_eq!(whole[..32], hasher.finalize()[..]);
    }
}
