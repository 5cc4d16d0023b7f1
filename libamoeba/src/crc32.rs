//! CRC-32 as gzip uses it (RFC 1952 section 8, the ISO 3309 / ITU-T V.42 polynomial).
//!
//! Reflected polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF. The 1 KiB lookup
//! table is computed at compile time, so nothing runs at boot.

/// The reflected CRC-32 polynomial of RFC 1952.
pub const POLYNOMIAL: u32 = 0xEDB8_8320;

const TABLE: [u32; 256] = table();

const fn table() -> [u32; 256] {
    let mut table = [0; 256];
    let mut index = 0;
    while index < 256 {
        let mut crc = index as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                POLYNOMIAL ^ (crc >> 1)
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[index] = crc;
        index += 1;
    }
    table
}

/// A running CRC-32, for data that arrives in pieces.
#[derive(Clone, Copy, Debug)]
pub struct Crc32 {
    /// The register, kept inverted as the algorithm defines it.
    state: u32,
}

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    pub const fn new() -> Self {
        Self { state: !0 }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            // A u8 index cannot leave the 256-entry table.
            self.state = TABLE[usize::from(self.state as u8 ^ byte)] ^ (self.state >> 8);
        }
    }

    pub const fn finish(&self) -> u32 {
        !self.state
    }
}

/// The CRC-32 of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = Crc32::new();
    crc.update(bytes);
    crc.finish()
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
