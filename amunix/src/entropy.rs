//! Random bytes for a host process: its FLIP address, kernel id, Ethernet address and the check
//! fields of the servers it runs. They must be fresh for every process and hard to guess (see
//! `libamoeba::remote_rpc::address::KernelId`), so they come from the system's generator.

use libamoeba::random::Entropy;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;

/// The system's random bytes: `/dev/urandom`, or where that cannot be read, std's hash keys
/// (themselves from the system's generator) stretched over a counter.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostEntropy;

impl Entropy for HostEntropy {
    fn fill(&mut self, bytes: &mut [u8]) {
        let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(bytes));
        if read.is_err() {
            fill_from_hash_keys(bytes);
        }
    }
}

fn fill_from_hash_keys(bytes: &mut [u8]) {
    let keys = RandomState::new();
    for (index, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut hasher = keys.build_hasher();
        hasher.write_usize(index);
        let word = hasher.finish().to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
}

/// A random Ethernet address for a host seat: locally administered (bit 1 of the first byte)
/// and unicast (bit 0 clear), so it never collides with QEMU's 52:54:00 cards or a real one.
pub fn random_mac() -> [u8; 6] {
    let mut mac = [0; 6];
    HostEntropy.fill(&mut mac);
    mac[0] = (mac[0] & 0xFC) | 0x02;
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_are_local_unicast_and_differ() {
        let (a, b) = (random_mac(), random_mac());
        assert_eq!(a[0] & 0x03, 0x02);
        assert_ne!(a, b);
    }

    #[test]
    fn the_fallback_fills_every_byte() {
        let mut bytes = [0u8; 21];
        fill_from_hash_keys(&mut bytes);
        assert!(bytes[16..].iter().any(|&b| b != 0) || bytes[..8].iter().any(|&b| b != 0));
        let mut other = [0u8; 21];
        fill_from_hash_keys(&mut other);
        assert_ne!(bytes, other);
    }
}
