//! The byte order of a received header's integers. FLIP and RPC-over-FLIP headers travel in
//! their sender's order, with a flag that says which (`docs/amoeba-protocol.md#conventions`); a
//! receiver reads either and converts.

/// Little- or big-endian integers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Ours when we send (the order of the machines we run on).
    #[default]
    Little,
    Big,
}

impl ByteOrder {
    /// The order we send in.
    pub const OURS: ByteOrder = ByteOrder::Little;

    pub fn u16_bytes(self, value: u16) -> [u8; 2] {
        match self {
            Self::Little => value.to_le_bytes(),
            Self::Big => value.to_be_bytes(),
        }
    }

    pub fn u32_bytes(self, value: u32) -> [u8; 4] {
        match self {
            Self::Little => value.to_le_bytes(),
            Self::Big => value.to_be_bytes(),
        }
    }

    pub fn u16_from(self, bytes: [u8; 2]) -> u16 {
        match self {
            Self::Little => u16::from_le_bytes(bytes),
            Self::Big => u16::from_be_bytes(bytes),
        }
    }

    pub fn u32_from(self, bytes: [u8; 4]) -> u32 {
        match self {
            Self::Little => u32::from_le_bytes(bytes),
            Self::Big => u32::from_be_bytes(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_orders_round_trip_and_differ() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            assert_eq!(order.u16_from(order.u16_bytes(0x1234)), 0x1234);
            assert_eq!(order.u32_from(order.u32_bytes(0x1234_5678)), 0x1234_5678);
        }
        assert_eq!(ByteOrder::Big.u32_bytes(1), [0, 0, 0, 1]);
        assert_eq!(ByteOrder::OURS.u16_bytes(1), [1, 0]);
    }
}
