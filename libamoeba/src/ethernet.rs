//! Ethernet addresses as people read them: `52:54:00:12:34:56` (IEEE 802 canonical form,
//! lowercase), for logs, QEMU's `mac=` option and the host command's output.

use core::fmt;

/// Displays a 6-byte MAC address as six colon-separated hex pairs.
pub struct MacText<'a>(pub &'a [u8; 6]);

impl fmt::Display for MacText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // By hand: `hex` has no separators, and this writes into the formatter without a buffer.
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colon_separated_lowercase_hex() {
        let text = MacText(&[0x52, 0x54, 0x00, 0xA0, 0x0B, 0xFF]).to_string();
        assert_eq!(text, "52:54:00:a0:0b:ff");
    }
}
