//! FLIP addresses: 8 bytes, 7 address bytes and a "space" byte, and the one-way step from the
//! private address an endpoint registers to the public address packets are sent to.
//!
//! From `docs/amoeba-protocol.md#flip-addresses`: addresses are location independent (which is
//! what lets a process migrate); the public address is DES of a zero block keyed by the private
//! address, the space byte kept.
//!
//! | byte | field                                  |
//! |------|----------------------------------------|
//! | 0..7 | address ([`ADDRESS_BYTES_LEN`] bytes)  |
//! | 7    | space ([`SPACE_OFFSET`])               |
//!
//! # Our choices (interoperability with Amoeba 5.3 is NOT claimed)
//!
//! 5.3 keys DES with all 8 private bytes in its own bit order and has a zero rule (see the
//! doc's "Departure from 5.3"); we keep the key choice below, so our public addresses differ
//! from 5.3's:
//!
//! * The **key** is made of the 7 address bytes only (56 bits); the space byte is not part of
//!   it. The 7 bytes are read as one 56-bit number, byte 0 most significant, cut into eight
//!   7-bit groups, most significant first; group `i` becomes the **high seven bits** of key byte
//!   `i`, whose lowest bit (the DES parity bit, ignored by DES) is zero. So every address bit is
//!   a key bit, one for one: two different private addresses are two different DES keys.
//!   (Using the 8 bytes as a key directly would lose 8 address bits to parity.)
//! * The public **address bytes** are the first 7 bytes of the 8-byte ciphertext, in order;
//!   the last ciphertext byte is dropped.
//! * The public **space byte** is the private space byte, unchanged.
//!
//! Example: private `80 00 00 00 00 00 00 | 05` gives key `80 00 00 00 00 00 00 00`, DES's
//! parity-adjusted `80 01 01 01 01 01 01 01` of the NIST SP 800-17 variable-key table, which
//! encrypts the zero block to `95 a8 d7 28 13 da a9 4d`; the public address is
//! `95 a8 d7 28 13 da a9 | 05`.
//!
//! Unlike the capability one-way function ([`crate::oneway`]) there is no "zero maps to zero"
//! rule (5.3 has one, we do not): the all-zero private address is simply not a good secret.

use core::fmt;

use des::Des;
use des::cipher::{BlockCipherEncrypt, KeyInit};

use crate::le;

/// Bytes in an encoded FLIP address.
pub const ADDRESS_LEN: usize = 8;
/// Offset of the address bytes.
pub const ADDRESS_BYTES_OFFSET: usize = 0;
/// The address proper: 56 bits.
pub const ADDRESS_BYTES_LEN: usize = 7;
/// Offset of the space byte.
pub const SPACE_OFFSET: usize = 7;

// The fields tile the 8 bytes exactly, in order.
const _: () = assert!(ADDRESS_BYTES_OFFSET + ADDRESS_BYTES_LEN == SPACE_OFFSET);
const _: () = assert!(SPACE_OFFSET + 1 == ADDRESS_LEN);

/// Bytes of a DES key and block.
const DES_BLOCK_LEN: usize = 8;
/// Bits of the address spread into each key byte (the eighth bit is DES's parity bit).
const KEY_BITS_PER_BYTE: usize = 7;
const _: () = assert!(KEY_BITS_PER_BYTE * DES_BLOCK_LEN == 8 * ADDRESS_BYTES_LEN);

/// A public FLIP address: what travels in the destination and source fields of a packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub [u8; ADDRESS_LEN]);

impl Address {
    /// The all-zero address.
    pub const NULL: Address = Address([0; ADDRESS_LEN]);

    /// An address from its 7 address bytes and its space byte.
    pub fn new(bytes: [u8; ADDRESS_BYTES_LEN], space: u8) -> Self {
        let mut address = [0; ADDRESS_LEN];
        le::put(&mut address, ADDRESS_BYTES_OFFSET, &bytes);
        le::put(&mut address, SPACE_OFFSET, &[space]);
        Self(address)
    }

    /// The 7 address bytes.
    pub fn bytes(&self) -> [u8; ADDRESS_BYTES_LEN] {
        le::field(&self.0, ADDRESS_BYTES_OFFSET)
    }

    /// The space byte.
    pub fn space(&self) -> u8 {
        let [space] = le::field(&self.0, SPACE_OFFSET);
        space
    }

    pub const fn is_null(&self) -> bool {
        matches!(self.0, [0, 0, 0, 0, 0, 0, 0, 0])
    }
}

impl fmt::Display for Address {
    /// `aabbccddeeff00.ss`: the 7 address bytes, a dot, the space byte, in lowercase hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `{:02x}` by hand: straight into the formatter, where `hex` would need a buffer.
        self.bytes()
            .iter()
            .try_for_each(|byte| write!(f, "{byte:02x}"))?;
        write!(f, ".{:02x}", self.space())
    }
}

/// A private FLIP address: the secret an endpoint registers. Only its [`public`] form ever goes
/// on the wire, so it is a type of its own that does not convert to [`Address`] by accident.
///
/// [`public`]: PrivateAddress::public
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrivateAddress(pub [u8; ADDRESS_LEN]);

impl PrivateAddress {
    /// The public address: DES of a zero block keyed by the address bytes, space byte kept
    /// (the exact bytes are in the module documentation).
    pub fn public(&self) -> Address {
        let private = Address(self.0);
        let mut block = [0u8; DES_BLOCK_LEN].into();
        Des::new(&address_key(&private.bytes()).into()).encrypt_block(&mut block);
        let ciphertext: [u8; DES_BLOCK_LEN] = block.into();
        Address::new(le::field(&ciphertext, 0), private.space())
    }
}

impl fmt::Debug for PrivateAddress {
    /// Never prints the secret: logs may leave the machine.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateAddress(public {})", self.public())
    }
}

/// The DES key for 7 address bytes: eight 7-bit groups, most significant first, each in the
/// high seven bits of its key byte, the parity bit zero.
pub fn address_key(bytes: &[u8; ADDRESS_BYTES_LEN]) -> [u8; DES_BLOCK_LEN] {
    let [b0, b1, b2, b3, b4, b5, b6] = *bytes;
    let bits = u64::from_be_bytes([0, b0, b1, b2, b3, b4, b5, b6]);
    let mut key = [0u8; DES_BLOCK_LEN];
    for (i, byte) in key.iter_mut().enumerate() {
        let shift = 8 * ADDRESS_BYTES_LEN - KEY_BITS_PER_BYTE * (i + 1);
        // Masked to seven bits, so the cast keeps everything and `<< 1` cannot overflow.
        *byte = (((bits >> shift) & 0x7F) as u8) << 1;
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public_of(bytes: [u8; ADDRESS_BYTES_LEN], space: u8) -> Address {
        PrivateAddress(Address::new(bytes, space).0).public()
    }

    #[test]
    fn layout_is_seven_address_bytes_then_space() {
        let address = Address::new([1, 2, 3, 4, 5, 6, 7], 0x42);
        assert_eq!(address.0, [1, 2, 3, 4, 5, 6, 7, 0x42]);
        assert_eq!(address.bytes(), [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(address.space(), 0x42);
        assert_eq!(address.to_string(), "01020304050607.42");
        assert!(Address::NULL.is_null() && !address.is_null());
    }

    #[test]
    fn key_spreading_puts_seven_bits_high_in_each_byte() {
        assert_eq!(
            address_key(&[0x80, 0, 0, 0, 0, 0, 0]),
            [0x80, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            address_key(&[0, 0, 0, 0, 0, 0, 1]),
            [0, 0, 0, 0, 0, 0, 0, 0x02]
        );
        assert_eq!(address_key(&[0xff; 7]), [0xfe; 8]);
        assert_eq!(
            address_key(&[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd]),
            [0x00, 0x90, 0xd0, 0xac, 0x78, 0x4c, 0xae, 0x9a]
        );
        // Every address bit lands on its own key bit, never on a parity bit.
        for bit in 0..56 {
            let [_, rest @ ..] = (1u64 << bit).to_be_bytes();
            let key = address_key(&rest);
            assert_eq!(u64::from_be_bytes(key).count_ones(), 1, "address bit {bit}");
            assert!(key.iter().all(|byte| byte & 1 == 0), "address bit {bit}");
        }
    }

    #[test]
    fn known_answers() {
        // NIST SP 800-17 variable-key table (plaintext 0): keys 80 01.. and 01..01 02.
        assert_eq!(
            public_of([0x80, 0, 0, 0, 0, 0, 0], 0x05),
            Address([0x95, 0xa8, 0xd7, 0x28, 0x13, 0xda, 0xa9, 0x05])
        );
        assert_eq!(
            public_of([0, 0, 0, 0, 0, 0, 1], 0),
            Address([0x86, 0x9e, 0xfd, 0x7f, 0x9f, 0x26, 0x5a, 0])
        );
        // Cross-checked with `openssl enc -des-ecb -nopad -K <key>` on 8 zero bytes.
        assert_eq!(
            public_of([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd], 0xee),
            Address([0xff, 0x59, 0x36, 0xc6, 0xed, 0xf6, 0x3a, 0xee])
        );
        assert_eq!(
            public_of([0xff; 7], 0xff),
            Address([0xca, 0xaa, 0xaf, 0x4d, 0xea, 0xf1, 0xdb, 0xff])
        );
    }

    #[test]
    fn space_byte_is_kept_and_not_part_of_the_key() {
        let bytes = [9, 8, 7, 6, 5, 4, 3];
        let a = public_of(bytes, 0);
        let b = public_of(bytes, 0xab);
        assert_eq!(a.bytes(), b.bytes());
        assert_eq!((a.space(), b.space()), (0, 0xab));
        // But the lowest address bit (which a raw 8-byte key would lose to parity) counts.
        assert_ne!(public_of([9, 8, 7, 6, 5, 4, 2], 0).bytes(), a.bytes());
    }

    #[test]
    fn debug_output_hides_the_private_address() {
        let private = PrivateAddress([0x12; ADDRESS_LEN]);
        let text = format!("{private:?}");
        assert!(text.contains(&private.public().to_string()));
        assert!(!text.contains("1212121212"));
    }
}
