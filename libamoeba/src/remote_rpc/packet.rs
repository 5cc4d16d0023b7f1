//! A whole RPC-over-FLIP message: the 24-byte RPC header, the 32-byte Amoeba header, the data.
//!
//! From `docs/amoeba-protocol.md#wire-behaviour`. Choices of ours:
//! * Every message type carries both headers; a control message (LOCATE, ACK, ...) has an
//!   all-zero Amoeba header and no data, and a receiver ignores what a control message carries
//!   there. (5.3 sends control messages as the 24-byte header alone.)
//! * The Amoeba header's integers (h_command, h_offset, h_size, h_extra) follow the message's
//!   byte order like the RPC header's. Its byte strings (ports, h_priv) are never swapped:
//!   h_priv's object number is three bytes laid out by the capability format.
//! * At most [`MAX_MESSAGE_BYTES`] of data, the limit of a local transaction, so a remote
//!   request can always be handed to a local server.

use alloc::vec::Vec;

use super::header::{ByteOrder, DecodeError, RPC_HEADER_LEN, RpcHeader};
use crate::rpc::header::{
    COMMAND_OFFSET, EXTRA_OFFSET, HEADER_LEN, Header, OFFSET_OFFSET, SIZE_OFFSET,
};
use crate::rpc::switchboard::Message;
use crate::rpc::transport::MAX_MESSAGE_BYTES;

/// Offset of the Amoeba header in a message.
pub const AMOEBA_HEADER_OFFSET: usize = RPC_HEADER_LEN;
/// Offset of the data: the smallest message is this long.
pub const DATA_OFFSET: usize = AMOEBA_HEADER_OFFSET + HEADER_LEN;

const _: () = assert!(DATA_OFFSET == 56);

/// The integer fields of the Amoeba header, as (offset, width): what a big-endian sender
/// swaps. They tile bytes 22..32, the header's tail.
const AMOEBA_INTEGERS: [(usize, usize); 4] = [
    (COMMAND_OFFSET, 2),
    (OFFSET_OFFSET, 4),
    (SIZE_OFFSET, 2),
    (EXTRA_OFFSET, 2),
];

const _: () = assert!(COMMAND_OFFSET + 2 == OFFSET_OFFSET);
const _: () = assert!(EXTRA_OFFSET + 2 == HEADER_LEN);

/// An RPC-over-FLIP message, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub rpc: RpcHeader,
    /// The Amoeba header and data (a control message: zeros and nothing).
    pub message: Message,
}

impl Packet {
    /// A control message: no Amoeba header, no data.
    pub fn control(rpc: RpcHeader) -> Self {
        Self {
            rpc,
            message: Message::default(),
        }
    }

    /// The wire form in our byte order (little-endian).
    pub fn encode(&self) -> Vec<u8> {
        self.encode_in(ByteOrder::Little)
    }

    /// The wire form in `order`.
    pub fn encode_in(&self, order: ByteOrder) -> Vec<u8> {
        encode_message(&self.rpc, &self.message, order)
    }

    /// Decodes a message in either byte order.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (rpc, order) = RpcHeader::from_bytes(bytes)?;
        let truncated = DecodeError::Truncated {
            len: bytes.len(),
            needed: DATA_OFFSET,
        };
        let rest = bytes.get(AMOEBA_HEADER_OFFSET..).ok_or(truncated)?;
        let (amoeba, data) = rest.split_first_chunk::<HEADER_LEN>().ok_or(truncated)?;
        if data.len() > MAX_MESSAGE_BYTES {
            return Err(DecodeError::TooLong { len: data.len() });
        }
        let mut amoeba = *amoeba;
        if order == ByteOrder::Big {
            swap_integers(&mut amoeba);
        }
        let message = Message {
            header: Header::from_array(&amoeba),
            data: data.to_vec(),
        };
        Ok(Self { rpc, message })
    }
}

/// The wire form of a message made of `rpc` and `message`, without first building a
/// [`Packet`] (which would copy the data once more).
pub fn encode_message(rpc: &RpcHeader, message: &Message, order: ByteOrder) -> Vec<u8> {
    let mut amoeba = message.header.to_bytes();
    if order == ByteOrder::Big {
        swap_integers(&mut amoeba);
    }
    let mut bytes = Vec::with_capacity(DATA_OFFSET + message.data.len());
    bytes.extend_from_slice(&rpc.to_bytes_in(order));
    bytes.extend_from_slice(&amoeba);
    bytes.extend_from_slice(&message.data);
    bytes
}

/// Converts the Amoeba header's integers between the two byte orders (its own encoding is
/// little-endian).
fn swap_integers(header: &mut [u8; HEADER_LEN]) {
    for (at, width) in AMOEBA_INTEGERS {
        if let Some(field) = header.get_mut(at..at + width) {
            field.reverse();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Port;
    use crate::remote_rpc::address::KernelId;
    use crate::remote_rpc::header::{Flags, MessageType};
    use crate::rpc::header::Private;

    fn request() -> Packet {
        let mut rpc = RpcHeader::new(KernelId([1; 8]), MessageType::Request, Port([2; 6]), 7);
        rpc.flags = Flags::REQUEST;
        Packet {
            rpc,
            message: Message {
                header: Header {
                    port: Port([2; 6]),
                    signature: Port::NULL,
                    private: Private {
                        object: 0x01_0203,
                        rights: 0xff,
                        check: [9; 6],
                    },
                    command: 0x0a0b,
                    offset: 0x0c0d_0e0f,
                    size: 0x1011,
                    extra: 0x1213,
                },
                data: b"abc".to_vec(),
            },
        }
    }

    #[test]
    fn wire_layout_is_rpc_header_then_amoeba_header_then_data() {
        let packet = request();
        let little = packet.encode();
        assert_eq!(little.len(), DATA_OFFSET + 3);
        assert_eq!(little[..RPC_HEADER_LEN], packet.rpc.to_bytes());
        assert_eq!(little[24..56], packet.message.header.to_bytes());
        assert_eq!(&little[56..], b"abc");

        let big = packet.encode_in(ByteOrder::Big);
        assert_eq!(big[15], 0x05, "REQUEST | BIGENDIAN");
        assert_eq!(big[16..20], [0, 0, 0, 7], "ah_tid");
        assert_eq!(
            big[24..36],
            little[24..36],
            "ports and h_priv's object unswapped"
        );
        assert_eq!(
            big[36..46],
            little[36..46],
            "h_priv's rights and check unswapped"
        );
        assert_eq!(big[46..48], [0x0a, 0x0b], "h_command");
        assert_eq!(big[48..52], [0x0c, 0x0d, 0x0e, 0x0f], "h_offset");
        assert_eq!(big[52..54], [0x10, 0x11], "h_size");
        assert_eq!(big[54..56], [0x12, 0x13], "h_extra");
        assert_eq!(&big[56..], b"abc");
        assert_eq!(Packet::decode(&big), Ok(packet.clone()));
        assert_eq!(Packet::decode(&little), Ok(packet));
    }

    #[test]
    fn control_messages_carry_a_zero_amoeba_header() {
        let ack = Packet::control(RpcHeader::new(
            KernelId([3; 8]),
            MessageType::Ack,
            Port([4; 6]),
            9,
        ));
        let bytes = ack.encode();
        assert_eq!(bytes.len(), DATA_OFFSET);
        assert_eq!(bytes[24..], [0; 32]);
        assert_eq!(Packet::decode(&bytes), Ok(ack));
    }

    #[test]
    fn short_and_oversized_messages_are_refused() {
        let bytes = request().encode();
        for len in RPC_HEADER_LEN..DATA_OFFSET {
            assert_eq!(
                Packet::decode(&bytes[..len]),
                Err(DecodeError::Truncated { len, needed: 56 })
            );
        }
        let mut huge = bytes[..DATA_OFFSET].to_vec();
        huge.resize(DATA_OFFSET + MAX_MESSAGE_BYTES, 0);
        assert!(Packet::decode(&huge).is_ok());
        huge.push(0);
        assert_eq!(
            Packet::decode(&huge),
            Err(DecodeError::TooLong {
                len: MAX_MESSAGE_BYTES + 1
            })
        );
    }

    /// A small deterministic generator (xorshift64*), enough to make garbage.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    #[test]
    fn a_thousand_garbage_messages_decode_without_panicking() {
        let valid = request().encode();
        let mut state = 0x9e37_79b9_7f4a_7c15;
        let mut decoded = 0;
        for round in 0..1000 {
            let bytes: Vec<u8> = if round % 2 == 0 {
                let len = (next(&mut state) % 120) as usize;
                (0..len).map(|_| next(&mut state) as u8).collect()
            } else {
                // A valid message with a few bytes changed and maybe cut short: reaches
                // deeper than pure noise, which almost always fails on ah_type.
                let mut bytes = valid.clone();
                for _ in 0..3 {
                    let at = (next(&mut state) as usize) % bytes.len();
                    bytes[at] = next(&mut state) as u8;
                }
                bytes.truncate((next(&mut state) as usize) % (valid.len() + 1));
                bytes
            };
            decoded += usize::from(Packet::decode(&bytes).is_ok());
        }
        assert!(decoded > 0, "some mutated messages stay valid");
    }
}
