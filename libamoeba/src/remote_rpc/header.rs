//! The 24-byte RPC-over-FLIP header that precedes the Amoeba header in every message.
//!
//! Layout from `docs/amoeba-protocol.md#rpc-over-flip-header`:
//!
//! | bytes  | field    | here                                                   |
//! |--------|----------|--------------------------------------------------------|
//! | 0..8   | ah_kid   | [`RpcHeader::kernel`], the sender's kernel id          |
//! | 8..14  | ah_port  | [`RpcHeader::port`], the put-port of the service       |
//! | 14     | ah_type  | [`RpcHeader::kind`], a [`MessageType`]                 |
//! | 15     | ah_flags | [`RpcHeader::flags`] plus the byte-order bit           |
//! | 16..20 | ah_tid   | [`RpcHeader::tid`], the client's transaction id, `u32` |
//! | 20..22 | ah_dest  | [`RpcHeader::dest`], `u16`                             |
//! | 22..24 | ah_from  | [`RpcHeader::from`], `u16`                             |
//!
//! Integers are in the sender's byte order and the BIGENDIAN flag says which, as in the FLIP
//! header. Choices of ours where the sources are silent:
//! * We decode both orders and encode little-endian unless asked otherwise
//!   ([`RpcHeader::to_bytes_in`]). ah_kid and ah_port are byte strings, never swapped.
//! * The REQUEST and REPLY flags say which side sent a message (client and server); a message
//!   with both is refused, as is one with a flag bit the reference does not define.
//! * ah_dest and ah_from are carried but our engine gives them no meaning (it sends zeros).

use core::fmt;
use core::ops::BitOr;

use super::address::{KERNEL_ID_LEN, KernelId};
use crate::capability::{PORT_LEN, Port};

/// Bytes in an encoded RPC-over-FLIP header.
pub const RPC_HEADER_LEN: usize = 24;

/// Offset of ah_kid.
pub const KERNEL_OFFSET: usize = 0;
/// Offset of ah_port.
pub const PORT_OFFSET: usize = 8;
/// Offset of ah_type.
pub const TYPE_OFFSET: usize = 14;
/// Offset of ah_flags.
pub const FLAGS_OFFSET: usize = 15;
/// Offset of ah_tid.
pub const TID_OFFSET: usize = 16;
/// Offset of ah_dest.
pub const DEST_OFFSET: usize = 20;
/// Offset of ah_from.
pub const FROM_OFFSET: usize = 22;

// The fields tile the 24 bytes exactly, in order.
const _: () = assert!(KERNEL_OFFSET + KERNEL_ID_LEN == PORT_OFFSET);
const _: () = assert!(PORT_OFFSET + PORT_LEN == TYPE_OFFSET);
const _: () = assert!(TYPE_OFFSET + 1 == FLAGS_OFFSET);
const _: () = assert!(FLAGS_OFFSET + 1 == TID_OFFSET);
const _: () = assert!(TID_OFFSET + 4 == DEST_OFFSET);
const _: () = assert!(DEST_OFFSET + 2 == FROM_OFFSET);
const _: () = assert!(FROM_OFFSET + 2 == RPC_HEADER_LEN);

/// The ah_flags bit that says the integers are big-endian; decoded into a [`ByteOrder`], not
/// kept in [`Flags`].
pub const BIGENDIAN_FLAG: u8 = 0x01;

/// ah_type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageType {
    /// Client: who serves ah_port? (broadcast)
    Locate = 1,
    /// Server: I do.
    HereIs = 2,
    Request = 3,
    Reply = 4,
    /// Client: the reply arrived, stop retransmitting it.
    Ack = 5,
    /// Server: this port is not served here; the request did not run (ours, see the engine).
    Nak = 6,
    /// Client: are you still working on my request?
    Enquire = 7,
    /// Server: yes.
    Alive = 8,
    /// Defined by 5.3; our engine neither sends nor expects it.
    Received = 9,
    /// Defined by 5.3 (process migration); our engine neither sends nor expects it.
    Forward = 10,
    /// Server: the request may have run but its reply is lost (ours, see the engine).
    Fail = 11,
}

impl MessageType {
    /// Every type, in the order of the reference.
    pub const ALL: [Self; 11] = [
        Self::Locate,
        Self::HereIs,
        Self::Request,
        Self::Reply,
        Self::Ack,
        Self::Nak,
        Self::Enquire,
        Self::Alive,
        Self::Received,
        Self::Forward,
        Self::Fail,
    ];

    /// The ah_type byte.
    pub const fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

/// ah_flags without the byte-order bit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(u8);

impl Flags {
    pub const NONE: Self = Self(0);
    /// A retransmission of a message sent before.
    pub const RETRANS: Self = Self(0x02);
    /// Sent by the client side of a transaction.
    pub const REQUEST: Self = Self(0x04);
    /// Sent by the server side of a transaction.
    pub const REPLY: Self = Self(0x08);
    /// A signal transaction (5.3); carried, not acted on by our engine.
    pub const SIGTRANS: Self = Self(0x10);

    /// Every bit the reference defines, except BIGENDIAN.
    const KNOWN: u8 = Self::RETRANS.0 | Self::REQUEST.0 | Self::REPLY.0 | Self::SIGTRANS.0;

    /// The flags in `bits`, if they are a valid combination (see the module header).
    pub const fn from_bits(bits: u8) -> Option<Self> {
        let both_sides = Self::REQUEST.0 | Self::REPLY.0;
        if bits & !Self::KNOWN != 0 || bits & both_sides == both_sides {
            None
        } else {
            Some(Self(bits))
        }
    }

    pub const fn bits(self) -> u8 {
        self.0
    }

    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Flags {
    type Output = Self;

    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

pub use crate::byte_order::ByteOrder;

/// An RPC-over-FLIP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RpcHeader {
    pub kernel: KernelId,
    pub port: Port,
    pub kind: MessageType,
    pub flags: Flags,
    pub tid: u32,
    pub dest: u16,
    pub from: u16,
}

impl RpcHeader {
    /// A header of `kind` from `kernel` about transaction `tid` on `port`; no flags, zero
    /// ah_dest and ah_from.
    pub const fn new(kernel: KernelId, kind: MessageType, port: Port, tid: u32) -> Self {
        Self {
            kernel,
            port,
            kind,
            flags: Flags::NONE,
            tid,
            dest: 0,
            from: 0,
        }
    }

    /// The wire form in our byte order (little-endian).
    pub fn to_bytes(&self) -> [u8; RPC_HEADER_LEN] {
        self.to_bytes_in(ByteOrder::Little)
    }

    /// The wire form in `order`, with the BIGENDIAN flag to match.
    pub fn to_bytes_in(&self, order: ByteOrder) -> [u8; RPC_HEADER_LEN] {
        let order_flag = match order {
            ByteOrder::Little => 0,
            ByteOrder::Big => BIGENDIAN_FLAG,
        };
        let mut bytes = [0; RPC_HEADER_LEN];
        put(&mut bytes, KERNEL_OFFSET, &self.kernel.0);
        put(&mut bytes, PORT_OFFSET, &self.port.0);
        put(&mut bytes, TYPE_OFFSET, &[self.kind.code()]);
        put(&mut bytes, FLAGS_OFFSET, &[self.flags.bits() | order_flag]);
        put(&mut bytes, TID_OFFSET, &order.u32_bytes(self.tid));
        put(&mut bytes, DEST_OFFSET, &order.u16_bytes(self.dest));
        put(&mut bytes, FROM_OFFSET, &order.u16_bytes(self.from));
        bytes
    }

    /// Decodes the header at the start of `bytes`, with the byte order its sender used.
    pub fn from_bytes(bytes: &[u8]) -> Result<(Self, ByteOrder), DecodeError> {
        let bytes = bytes
            .first_chunk::<RPC_HEADER_LEN>()
            .ok_or(DecodeError::Truncated {
                len: bytes.len(),
                needed: RPC_HEADER_LEN,
            })?;
        let type_code = bytes[TYPE_OFFSET];
        let kind = MessageType::from_code(type_code).ok_or(DecodeError::UnknownType(type_code))?;
        let raw_flags = bytes[FLAGS_OFFSET];
        let order = if raw_flags & BIGENDIAN_FLAG != 0 {
            ByteOrder::Big
        } else {
            ByteOrder::Little
        };
        let flags = Flags::from_bits(raw_flags & !BIGENDIAN_FLAG)
            .ok_or(DecodeError::BadFlags(raw_flags))?;
        let header = Self {
            kernel: KernelId(field(bytes, KERNEL_OFFSET)),
            port: Port(field(bytes, PORT_OFFSET)),
            kind,
            flags,
            tid: order.u32_from(field(bytes, TID_OFFSET)),
            dest: order.u16_from(field(bytes, DEST_OFFSET)),
            from: order.u16_from(field(bytes, FROM_OFFSET)),
        };
        Ok((header, order))
    }
}

/// The `N` bytes at `at` of a header; the offsets are the constants above, checked at compile
/// time, so this cannot miss.
fn field<const N: usize>(bytes: &[u8; RPC_HEADER_LEN], at: usize) -> [u8; N] {
    crate::le::field(bytes, at)
}

fn put(bytes: &mut [u8; RPC_HEADER_LEN], at: usize, value: &[u8]) {
    crate::le::put(bytes, at, value);
}

/// Why bytes are not an RPC-over-FLIP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Only `len` bytes where at least `needed` are required.
    Truncated { len: usize, needed: usize },
    /// An ah_type the reference does not define.
    UnknownType(u8),
    /// An ah_flags byte with undefined bits, or both REQUEST and REPLY (see the module header).
    BadFlags(u8),
    /// More data than a message may carry
    /// ([`crate::rpc::transport::MAX_MESSAGE_BYTES`]).
    TooLong { len: usize },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { len, needed } => {
                write!(
                    f,
                    "an RPC-over-FLIP message needs {needed} bytes, got only {len}"
                )
            }
            Self::UnknownType(code) => write!(f, "unknown RPC-over-FLIP message type {code}"),
            Self::BadFlags(bits) => write!(f, "invalid RPC-over-FLIP flags {bits:#04x}"),
            Self::TooLong { len } => write!(f, "{len} bytes of data is more than a message holds"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RpcHeader {
        RpcHeader {
            kernel: KernelId([0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]),
            port: Port([0x21, 0x22, 0x23, 0x24, 0x25, 0x26]),
            kind: MessageType::Reply,
            flags: Flags::REPLY | Flags::RETRANS,
            tid: 0x0102_0304,
            dest: 0x0506,
            from: 0x0708,
        }
    }

    #[test]
    fn little_endian_wire_layout_matches_the_reference() {
        assert_eq!(
            sample().to_bytes(),
            [
                0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, // ah_kid
                0x21, 0x22, 0x23, 0x24, 0x25, 0x26, // ah_port
                0x04, // ah_type REPLY
                0x0a, // ah_flags REPLY | RETRANS, BIGENDIAN clear
                0x04, 0x03, 0x02, 0x01, // ah_tid
                0x06, 0x05, // ah_dest
                0x08, 0x07, // ah_from
            ]
        );
    }

    #[test]
    fn big_endian_wire_layout_swaps_only_the_integers() {
        let bytes = [
            0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, // ah_kid, as is
            0x21, 0x22, 0x23, 0x24, 0x25, 0x26, // ah_port, as is
            0x04, // ah_type REPLY
            0x0b, // ah_flags REPLY | RETRANS | BIGENDIAN
            0x01, 0x02, 0x03, 0x04, // ah_tid
            0x05, 0x06, // ah_dest
            0x07, 0x08, // ah_from
        ];
        assert_eq!(sample().to_bytes_in(ByteOrder::Big), bytes);
        assert_eq!(
            RpcHeader::from_bytes(&bytes),
            Ok((sample(), ByteOrder::Big))
        );
        assert_eq!(
            RpcHeader::from_bytes(&sample().to_bytes()),
            Ok((sample(), ByteOrder::Little))
        );
    }

    #[test]
    fn type_codes_match_the_reference() {
        let codes: Vec<u8> = MessageType::ALL.iter().map(|kind| kind.code()).collect();
        assert_eq!(codes, (1..=11).collect::<Vec<u8>>());
        assert_eq!(MessageType::from_code(7), Some(MessageType::Enquire));
        assert_eq!(MessageType::from_code(0), None);
        assert_eq!(MessageType::from_code(12), None);
        assert_eq!(
            [
                Flags::RETRANS,
                Flags::REQUEST,
                Flags::REPLY,
                Flags::SIGTRANS
            ]
            .map(Flags::bits),
            [0x02, 0x04, 0x08, 0x10]
        );
    }

    #[test]
    fn truncation_unknown_types_and_bad_flags_are_refused() {
        let bytes = sample().to_bytes();
        for len in 0..RPC_HEADER_LEN {
            assert_eq!(
                RpcHeader::from_bytes(&bytes[..len]),
                Err(DecodeError::Truncated { len, needed: 24 })
            );
        }
        for code in [0, 12, 0xff] {
            let mut bad = bytes;
            bad[TYPE_OFFSET] = code;
            assert_eq!(
                RpcHeader::from_bytes(&bad),
                Err(DecodeError::UnknownType(code))
            );
        }
        for flags in [0x20, 0x80, 0x0c, 0x0d] {
            let mut bad = bytes;
            bad[FLAGS_OFFSET] = flags;
            assert_eq!(
                RpcHeader::from_bytes(&bad),
                Err(DecodeError::BadFlags(flags))
            );
        }
        assert_eq!(
            DecodeError::UnknownType(12).to_string(),
            "unknown RPC-over-FLIP message type 12"
        );
        assert_eq!(
            DecodeError::BadFlags(0x0c).to_string(),
            "invalid RPC-over-FLIP flags 0x0c"
        );
    }

    #[test]
    fn every_valid_flag_combination_round_trips() {
        for bits in 0..=u8::MAX {
            let Some(flags) = Flags::from_bits(bits & !BIGENDIAN_FLAG) else {
                continue;
            };
            let header = RpcHeader { flags, ..sample() };
            for order in [ByteOrder::Little, ByteOrder::Big] {
                let decoded = RpcHeader::from_bytes(&header.to_bytes_in(order));
                assert_eq!(decoded, Ok((header, order)));
            }
        }
    }
}
