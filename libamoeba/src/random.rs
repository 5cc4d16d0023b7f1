//! Sources of random bytes for ports and check fields, and a seeded generator for machines
//! without a hardware source.
//!
//! The generator is DES in counter mode (the DES of the one-way function, see
//! [`crate::oneway`]): block i is DES-encrypt(i) under a key made from 56 bits of the seed. It is
//! as unpredictable as its seed is; the kernel seeds it from timing jitter when the CPU has no
//! RDRAND, and says so in its random server's STD_INFO.

use des::Des;
use des::cipher::{BlockCipherEncrypt, KeyInit};

/// Something that fills buffers with random bytes.
pub trait Entropy {
    fn fill(&mut self, bytes: &mut [u8]);

    /// A random 48-bit value that is not zero (a port or a check field).
    fn nonzero48(&mut self) -> [u8; 6] {
        loop {
            let mut value = [0; 6];
            self.fill(&mut value);
            if value != [0; 6] {
                return value;
            }
        }
    }
}

/// DES in counter mode from a seed (its low 56 bits count).
pub struct SeededGenerator {
    cipher: Des,
    counter: u64,
    block: [u8; 8],
    /// Bytes of `block` already handed out.
    used: usize,
}

/// The low 56 bits of `seed` as a DES key: seven bits in the high bits of each key byte, since
/// DES ignores each byte's lowest (parity) bit.
fn des_key(seed: u64) -> [u8; 8] {
    core::array::from_fn(|i| (((seed >> (7 * i)) & 0x7f) as u8) << 1)
}

impl SeededGenerator {
    pub fn new(seed: u64) -> Self {
        Self {
            cipher: Des::new(&des_key(seed).into()),
            counter: 0,
            block: [0; 8],
            used: 8,
        }
    }

    fn refill(&mut self) {
        let mut block = self.counter.to_le_bytes().into();
        self.cipher.encrypt_block(&mut block);
        self.block = block.into();
        self.counter = self.counter.wrapping_add(1);
        self.used = 0;
    }
}

/// A server that owns its entropy source can be given a borrowed one.
impl<E: Entropy + ?Sized> Entropy for &mut E {
    fn fill(&mut self, bytes: &mut [u8]) {
        (**self).fill(bytes);
    }
}

impl Entropy for SeededGenerator {
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

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let mut a = SeededGenerator::new(42);
        let mut b = SeededGenerator::new(42);
        let mut c = SeededGenerator::new(43);
        let (mut x, mut y, mut z) = ([0; 37], [0; 37], [0; 37]);
        a.fill(&mut x);
        // Filling in pieces gives the same stream.
        b.fill(&mut y[..5]);
        b.fill(&mut y[5..]);
        c.fill(&mut z);
        assert_eq!(x, y);
        assert_ne!(x, z);
        assert!(x.iter().any(|&byte| byte != x[0]));
    }

    #[test]
    fn first_block_is_des_of_counter_zero() {
        // DES under key 0 of the zero block (see oneway's published vectors).
        let mut generator = SeededGenerator::new(0);
        let mut block = [0; 8];
        generator.fill(&mut block);
        assert_eq!(block, [0x8c, 0xa6, 0x4d, 0xe9, 0xc1, 0xb1, 0x23, 0xa7]);
    }

    #[test]
    fn nonzero48_is_never_zero() {
        struct Zeros(u8);
        impl Entropy for Zeros {
            fn fill(&mut self, bytes: &mut [u8]) {
                self.0 += 1;
                bytes.fill(if self.0 < 3 { 0 } else { 7 });
            }
        }
        assert_eq!(Zeros(0).nonzero48(), [7; 6]);
    }
}
