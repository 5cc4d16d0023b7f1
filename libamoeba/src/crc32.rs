//! CRC-32 as gzip uses it (RFC 1952 section 8, the ISO 3309 / ITU-T V.42 polynomial), from
//! the `crc` crate's CRC-32/ISO-HDLC: reflected polynomial 0xEDB88320, initial value and final
//! XOR 0xFFFFFFFF. The crate builds its 1 KiB lookup table at compile time, so nothing runs at
//! boot.

use crc::{CRC_32_ISO_HDLC, Crc, Digest};

/// The reflected CRC-32 polynomial of RFC 1952.
pub const POLYNOMIAL: u32 = 0xEDB8_8320;

/// A `static`, not a `const`, so that a [`Crc32`] can borrow it for as long as it lives.
static CRC_32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

const _: () = assert!(CRC_32_ISO_HDLC.poly.reverse_bits() == POLYNOMIAL);

/// A running CRC-32, for data that arrives in pieces.
#[derive(Clone)]
pub struct Crc32(Digest<'static, u32>);

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    pub const fn new() -> Self {
        Self(CRC_32.digest())
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(&self) -> u32 {
        self.0.clone().finalize()
    }
}

/// The CRC-32 of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC_32.checksum(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_check_values() {
        // The standard "check" value of CRC-32/ISO-HDLC and two easy cases.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"a"), 0xE8B7_BE43);
    }

    #[test]
    fn pieces_give_the_same_crc_as_the_whole() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut crc = Crc32::new();
        for piece in data.chunks(7) {
            crc.update(piece);
        }
        assert_eq!(crc.finish(), crc32(&data));
    }
}
