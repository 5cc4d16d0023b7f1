//! The 48-bit one-way function F of capabilities and ports.
//!
//! As `docs/amoeba-protocol.md#one-way-function` describes it: the 48 input bits are spread into
//! a 64-bit DES key, six bits in each of the 8 key bytes with the other two bits zero, and F(x)
//! is the DES encryption of an all-zero block under that key, truncated to 48 bits. F(0) = 0,
//! and a zero result gets bit 0 set (so only 0 maps to 0).
//!
//! Uses: a server listens on its secret get-port G and clients address the put-port
//! P = F(G) ([`put_port`]); a capability restricted to rights r carries the check
//! F(C with its first byte XOR r) (see [`crate::rights`]).
//!
//! # Our choices (interoperability with Amoeba 5.3 is NOT claimed)
//!
//! 5.3's F is not this: it is DES48, a DES variant on a 48-bit block with its own tables and
//! bit order (the doc's "Departure from 5.3"). Ours is plain DES with the choices below, so F is
//! well defined and stable here, but a 5.3 node computes other values:
//!
//! * The 6 input bytes are read as one 48-bit number, byte 0 most significant.
//! * That number is cut into eight 6-bit groups, most significant first; group `i` becomes the
//!   **high six bits** of key byte `i` and the two low bits of every key byte are zero. (DES
//!   never uses a key byte's lowest bit, the parity bit, so the key has 48 effective bits: the
//!   input bits, one for one.)
//! * The result is the first 6 bytes of the 8-byte ciphertext, in order.
//! * "Bit 0" of a result is the least significant bit of the 48-bit number read the same way
//!   as the input: bit 0 of byte 5.
//!
//! Example: input `80 00 00 00 00 00` gives key `80 00 00 00 00 00 00 00`, which DES treats as
//! the parity-adjusted `80 01 01 01 01 01 01 01` of the NIST SP 800-17 variable-key
//! known-answer table; that encrypts the zero block to `95 a8 d7 28 13 da a9 4d`, so F gives
//! `95 a8 d7 28 13 da`.

use des::Des;
use des::cipher::{BlockCipherEncrypt, KeyInit};

use crate::capability::Port;

/// Bytes of an F input or output (48 bits), the size of a port and of a check field.
pub const ONE_WAY_LEN: usize = 6;

/// F(x) for a 48-bit `x` (see the module documentation for the exact bit placement).
pub fn one_way(input: &[u8; ONE_WAY_LEN]) -> [u8; ONE_WAY_LEN] {
    if *input == [0; ONE_WAY_LEN] {
        return [0; ONE_WAY_LEN];
    }
    let mut block = [0u8; 8].into();
    Des::new(&spread_key(input).into()).encrypt_block(&mut block);
    let ciphertext: [u8; 8] = block.into();
    let [c0, c1, c2, c3, c4, c5, _, _] = ciphertext;
    never_zero([c0, c1, c2, c3, c4, c5])
}

/// The public put-port P = F(G) of a server's secret get-port G. The null port stays null.
pub fn put_port(get_port: Port) -> Port {
    Port(one_way(&get_port.0))
}

/// The DES key for `input`: eight 6-bit groups, most significant first, each in the high six
/// bits of its key byte, the two low bits zero.
pub fn spread_key(input: &[u8; ONE_WAY_LEN]) -> [u8; 8] {
    let [b0, b1, b2, b3, b4, b5] = *input;
    let bits = u64::from_be_bytes([0, 0, b0, b1, b2, b3, b4, b5]);
    let mut key = [0u8; 8];
    for (i, byte) in key.iter_mut().enumerate() {
        let shift = 42 - 6 * i;
        // Masked to six bits, so the cast keeps everything and `<< 2` cannot overflow.
        *byte = (((bits >> shift) & 0x3F) as u8) << 2;
    }
    key
}

/// A nonzero input must not map to zero (which stands for "no port"): set bit 0 (the lowest
/// bit of the last byte) of an all-zero result.
fn never_zero(mut result: [u8; ONE_WAY_LEN]) -> [u8; ONE_WAY_LEN] {
    if result == [0; ONE_WAY_LEN] {
        result[ONE_WAY_LEN - 1] = 1;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DES encryption of the zero block, independent of our key spreading.
    fn des_zero_block(key: [u8; 8]) -> [u8; 8] {
        let mut block = [0u8; 8].into();
        Des::new(&key.into()).encrypt_block(&mut block);
        block.into()
    }

    #[test]
    fn des_matches_published_vectors() {
        // NIST SP 800-17 variable-key known-answer test, plaintext 0, and the all-zero key.
        assert_eq!(
            des_zero_block([0x80, 1, 1, 1, 1, 1, 1, 1]),
            [0x95, 0xa8, 0xd7, 0x28, 0x13, 0xda, 0xa9, 0x4d]
        );
        assert_eq!(
            des_zero_block([0x04, 1, 1, 1, 1, 1, 1, 1]),
            [0xc0, 0x2f, 0xaf, 0xfe, 0xc9, 0x89, 0xd1, 0xfc]
        );
        assert_eq!(
            des_zero_block([1, 1, 1, 1, 1, 1, 1, 0x04]),
            [0xfc, 0xdb, 0x32, 0x91, 0xde, 0x21, 0xf0, 0xc0]
        );
        assert_eq!(
            des_zero_block([0; 8]),
            [0x8c, 0xa6, 0x4d, 0xe9, 0xc1, 0xb1, 0x23, 0xa7]
        );
    }

    #[test]
    fn key_spreading_puts_six_bits_high_in_each_byte() {
        assert_eq!(
            spread_key(&[0x80, 0, 0, 0, 0, 0]),
            [0x80, 0, 0, 0, 0, 0, 0, 0]
        );
        // 000001 in the first group.
        assert_eq!(
            spread_key(&[0x04, 0, 0, 0, 0, 0]),
            [0x04, 0, 0, 0, 0, 0, 0, 0]
        );
        // The lowest input bit is the lowest bit of the last group.
        assert_eq!(spread_key(&[0, 0, 0, 0, 0, 1]), [0, 0, 0, 0, 0, 0, 0, 0x04]);
        assert_eq!(spread_key(&[0xff; 6]), [0xfc; 8]);
        // 0x123456789abc = 000100 100011 010001 010110 011110 001001 101010 111100
        assert_eq!(
            spread_key(&[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc]),
            [0x10, 0x8c, 0x44, 0x58, 0x78, 0x24, 0xa8, 0xf0]
        );
        // Every input bit lands on its own key bit, never on a low (parity or zero) bit.
        for bit in 0..48 {
            let input = (1u64 << bit).to_be_bytes();
            let [_, _, rest @ ..] = input;
            let key = spread_key(&rest);
            assert_eq!(u64::from_be_bytes(key).count_ones(), 1, "input bit {bit}");
            assert!(key.iter().all(|byte| byte & 0b11 == 0), "input bit {bit}");
        }
    }

    #[test]
    fn known_answers() {
        // The keys above: F is the first six bytes of the published ciphertexts.
        assert_eq!(
            one_way(&[0x80, 0, 0, 0, 0, 0]),
            [0x95, 0xa8, 0xd7, 0x28, 0x13, 0xda]
        );
        assert_eq!(
            one_way(&[0x04, 0, 0, 0, 0, 0]),
            [0xc0, 0x2f, 0xaf, 0xfe, 0xc9, 0x89]
        );
        assert_eq!(
            one_way(&[0, 0, 0, 0, 0, 1]),
            [0xfc, 0xdb, 0x32, 0x91, 0xde, 0x21]
        );
        // Cross-checked with `openssl enc -des-ecb -K fcfcfcfcfcfcfcfc` on 8 zero bytes.
        assert_eq!(one_way(&[0xff; 6]), [0xd2, 0x58, 0x55, 0x31, 0xec, 0xef]);
    }

    #[test]
    fn zero_maps_to_zero_and_nothing_else_does() {
        assert_eq!(one_way(&[0; 6]), [0; 6]);
        assert_eq!(put_port(Port::NULL), Port::NULL);
        // DES under the zero key is not zero: the F(0) = 0 rule is ours to apply.
        assert_ne!(des_zero_block([0; 8])[..6], [0; 6]);
        assert_eq!(never_zero([0; 6]), [0, 0, 0, 0, 0, 1]);
        assert_eq!(never_zero([0, 0, 0, 0, 0, 2]), [0, 0, 0, 0, 0, 2]);
    }

    #[test]
    fn deterministic_and_distinct_on_a_sample() {
        let mut seen = std::collections::BTreeSet::new();
        let mut x: u64 = 0x0123_4567_89ab;
        for _ in 0..2000 {
            let [_, _, input @ ..] = x.to_be_bytes();
            let output = one_way(&input);
            assert_eq!(one_way(&input), output);
            assert_ne!(output, [0; 6]);
            assert!(seen.insert(output), "collision for {input:02x?}");
            // A 48-bit linear congruential step: a spread of inputs, reproducible.
            x = x.wrapping_mul(0x5_deec_e66d).wrapping_add(11) & 0xffff_ffff_ffff;
        }
        // Neighbouring inputs (one bit apart) give unrelated outputs.
        let a = one_way(&[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc]);
        let b = one_way(&[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbd]);
        assert_ne!(a, b);
    }

    #[test]
    fn put_port_is_f_of_the_get_port() {
        let get = Port([0x80, 0, 0, 0, 0, 0]);
        assert_eq!(put_port(get), Port([0x95, 0xa8, 0xd7, 0x28, 0x13, 0xda]));
        assert_ne!(put_port(get), get);
    }
}
