//! The FLIP headers on Ethernet: the 2-byte flow-control header and the 40-byte FLIP header,
//! and the frame they start.
//!
//! From `docs/amoeba-protocol.md#flow-control-header` and `#flip-header`. An Ethernet frame of type
//! [`ETHERTYPE_FLIP`] carries, after the Ethernet header:
//!
//! | bytes | field                                                              |
//! |-------|--------------------------------------------------------------------|
//! | 0     | flow-control type: DATA 0 ... ABSCREDIT 6 ([`FlowType`])           |
//! | 1     | flow-control count                                                 |
//!
//! then the FLIP header (offsets from its start):
//!
//! | bytes  | field                                                             |
//! |--------|-------------------------------------------------------------------|
//! | 0      | version = 1                                                       |
//! | 1      | type: LOCATE 1 ... UNTRUSTED 6 ([`PacketType`])                   |
//! | 2      | flags: BIGENDIAN 0x01, SECURITY 0x04, UNREACHABLE 0x10, UNSAFE 0x20 |
//! | 3      | reserved                                                          |
//! | 4..6   | actual hop count                                                  |
//! | 6..8   | maximum hop count                                                 |
//! | 8..16  | destination FLIP address                                          |
//! | 16..24 | source FLIP address                                               |
//! | 24..28 | message id                                                        |
//! | 28..32 | length of this fragment                                           |
//! | 32..36 | offset of this fragment in the message                            |
//! | 36..40 | total message length                                              |
//!
//! then the fragment's bytes. Integers are in the sender's byte order and the BIGENDIAN flag
//! says which: [`Header::decode`] accepts both and reports which it saw ([`ByteOrder`]).
//!
//! # Our choices
//!
//! * We send little-endian ([`ByteOrder::OURS`]): our nodes are x86_64 and every other layout
//!   in libamoeba is little-endian. Any order can be asked for ([`Header::to_bytes_in`]).
//! * BIGENDIAN is not kept in [`Header::flags`]: it describes the encoding, not the packet, so
//!   decoding strips it and encoding sets it from the [`ByteOrder`] used.
//! * Flag bits we do not name (5.3's CODEFIELD 0x02 among them) are kept as they are (they
//!   round-trip); the reserved
//!   byte is written as zero and ignored when read.
//! * Every frame carries both headers; a frame of another flow-control type than DATA still
//!   has a FLIP header (nothing here acts on credits). 5.3 sends its credit frames as the
//!   flow-control header alone, which we drop as too short.
//! * Bytes after the fragment are ignored: Ethernet pads short frames to 60 bytes.
//! * Refused on decode, each with its own [`HeaderError`]: a version other than 1, unknown
//!   flow-control or packet types, a maximum hop count above [`MAX_HOPS`], a hop count above
//!   the maximum, a fragment reaching past the total length, a fragment longer than the bytes
//!   present, and fewer bytes than the headers.

use alloc::vec::Vec;
use core::fmt;

use super::address::{ADDRESS_LEN, Address};
use crate::le;

/// The EtherType of FLIP frames.
pub const ETHERTYPE_FLIP: u16 = 0x8146;
/// Bytes an Ethernet frame carries after its own header.
pub const ETHERNET_MTU: usize = 1500;

/// Bytes of the flow-control header.
pub const FLOW_CONTROL_LEN: usize = 2;
/// Offset of the flow-control type.
pub const FLOW_TYPE_OFFSET: usize = 0;
/// Offset of the flow-control count.
pub const FLOW_COUNT_OFFSET: usize = 1;
const _: () = assert!(FLOW_TYPE_OFFSET + 1 == FLOW_COUNT_OFFSET);
const _: () = assert!(FLOW_COUNT_OFFSET + 1 == FLOW_CONTROL_LEN);

/// Bytes of the FLIP header.
pub const HEADER_LEN: usize = 40;
pub const VERSION_OFFSET: usize = 0;
pub const TYPE_OFFSET: usize = 1;
pub const FLAGS_OFFSET: usize = 2;
pub const RESERVED_OFFSET: usize = 3;
pub const HOP_COUNT_OFFSET: usize = 4;
pub const MAX_HOPS_OFFSET: usize = 6;
pub const DESTINATION_OFFSET: usize = 8;
pub const SOURCE_OFFSET: usize = 16;
pub const MESSAGE_ID_OFFSET: usize = 24;
pub const FRAGMENT_LENGTH_OFFSET: usize = 28;
pub const FRAGMENT_OFFSET_OFFSET: usize = 32;
pub const TOTAL_LENGTH_OFFSET: usize = 36;

// The fields tile the 40 bytes exactly, in order.
const _: () = assert!(VERSION_OFFSET + 1 == TYPE_OFFSET);
const _: () = assert!(TYPE_OFFSET + 1 == FLAGS_OFFSET);
const _: () = assert!(FLAGS_OFFSET + 1 == RESERVED_OFFSET);
const _: () = assert!(RESERVED_OFFSET + 1 == HOP_COUNT_OFFSET);
const _: () = assert!(HOP_COUNT_OFFSET + 2 == MAX_HOPS_OFFSET);
const _: () = assert!(MAX_HOPS_OFFSET + 2 == DESTINATION_OFFSET);
const _: () = assert!(DESTINATION_OFFSET + ADDRESS_LEN == SOURCE_OFFSET);
const _: () = assert!(SOURCE_OFFSET + ADDRESS_LEN == MESSAGE_ID_OFFSET);
const _: () = assert!(MESSAGE_ID_OFFSET + 4 == FRAGMENT_LENGTH_OFFSET);
const _: () = assert!(FRAGMENT_LENGTH_OFFSET + 4 == FRAGMENT_OFFSET_OFFSET);
const _: () = assert!(FRAGMENT_OFFSET_OFFSET + 4 == TOTAL_LENGTH_OFFSET);
const _: () = assert!(TOTAL_LENGTH_OFFSET + 4 == HEADER_LEN);

/// Bytes before the fragment in an Ethernet frame's payload: both headers.
pub const FRAME_HEADERS_LEN: usize = FLOW_CONTROL_LEN + HEADER_LEN;
/// Message bytes one Ethernet frame carries; larger messages are fragmented.
pub const MAX_FRAGMENT_PAYLOAD: usize = ETHERNET_MTU - FRAME_HEADERS_LEN;
/// Message bytes per frame when FLIP travels inside UDP (ours): the frame must fit one
/// unfragmented datagram of a 1500-byte IPv4 packet (20-byte IP and 8-byte UDP headers).
pub const MAX_UDP_FRAGMENT_PAYLOAD: usize = ETHERNET_MTU - 20 - 8 - FRAME_HEADERS_LEN;
const _: () = assert!(MAX_UDP_FRAGMENT_PAYLOAD == 1430);
const _: () = assert!(MAX_FRAGMENT_PAYLOAD == 1458);

/// The only FLIP version.
pub const FLIP_VERSION: u8 = 1;
/// The largest maximum hop count a packet may carry.
pub const MAX_HOPS: u16 = 25;

/// Flow-control types (byte 0 of the flow-control header).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FlowType {
    Data = 0,
    ReqCredit = 1,
    Credit = 2,
    McReq = 3,
    McAck = 4,
    McNak = 5,
    AbsCredit = 6,
}

impl FlowType {
    pub const fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            0 => Self::Data,
            1 => Self::ReqCredit,
            2 => Self::Credit,
            3 => Self::McReq,
            4 => Self::McAck,
            5 => Self::McNak,
            6 => Self::AbsCredit,
            _ => return None,
        })
    }
}

/// The flow-control header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowControl {
    pub kind: FlowType,
    pub count: u8,
}

impl FlowControl {
    /// A plain data frame.
    pub const DATA: FlowControl = FlowControl {
        kind: FlowType::Data,
        count: 0,
    };

    pub fn to_bytes(&self) -> [u8; FLOW_CONTROL_LEN] {
        let mut bytes = [0; FLOW_CONTROL_LEN];
        le::put(&mut bytes, FLOW_TYPE_OFFSET, &[self.kind as u8]);
        le::put(&mut bytes, FLOW_COUNT_OFFSET, &[self.count]);
        bytes
    }

    /// Decodes the flow-control header at the start of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Self, HeaderError> {
        let record = bytes
            .first_chunk::<FLOW_CONTROL_LEN>()
            .ok_or(HeaderError::Truncated {
                needed: FLOW_CONTROL_LEN,
                len: bytes.len(),
            })?;
        let [kind] = le::field(record, FLOW_TYPE_OFFSET);
        let [count] = le::field(record, FLOW_COUNT_OFFSET);
        let kind = FlowType::from_u8(kind).ok_or(HeaderError::UnknownFlowType(kind))?;
        Ok(Self { kind, count })
    }
}

/// FLIP packet types (byte 1 of the FLIP header).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PacketType {
    /// "Where is this destination?", broadcast with a growing hop count.
    Locate = 1,
    /// The answer of the destination's owner to a LOCATE.
    HereIs = 2,
    /// Data for one endpoint.
    UniData = 3,
    /// Data for a group.
    MultiData = 4,
    /// "The destination is not (or no longer) here": the route was stale.
    NotHere = 5,
    Untrusted = 6,
}

impl PacketType {
    pub const fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            1 => Self::Locate,
            2 => Self::HereIs,
            3 => Self::UniData,
            4 => Self::MultiData,
            5 => Self::NotHere,
            6 => Self::Untrusted,
            _ => return None,
        })
    }
}

/// The flags byte. Decoded headers never contain [`Flags::BIG_ENDIAN`] (see the module
/// documentation); other bits are kept as received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u8);

impl Flags {
    /// Integers are big-endian. Set by the encoder only.
    pub const BIG_ENDIAN: Flags = Flags(0x01);
    pub const SECURITY: Flags = Flags(0x04);
    /// Set on output: the destination cannot be reached.
    pub const UNREACHABLE: Flags = Flags(0x10);
    /// Set on output: the packet crossed an untrusted network.
    pub const UNSAFE: Flags = Flags(0x20);

    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn with(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    pub const fn without(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }
}

pub use crate::byte_order::ByteOrder;

/// The FLIP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    pub kind: PacketType,
    /// Never contains [`Flags::BIG_ENDIAN`] after decoding; ignored there when encoding.
    pub flags: Flags,
    /// Hops travelled so far.
    pub hop_count: u16,
    /// Hops the packet may travel, at most [`MAX_HOPS`].
    pub max_hops: u16,
    pub destination: Address,
    pub source: Address,
    pub message_id: u32,
    /// Bytes of message in this packet.
    pub fragment_length: u32,
    /// Where they belong in the message.
    pub fragment_offset: u32,
    /// Bytes of the whole message.
    pub total_length: u32,
}

impl Header {
    /// A one-fragment packet of `kind` carrying `length` bytes; no flags, no hops travelled.
    pub fn new(
        kind: PacketType,
        destination: Address,
        source: Address,
        message_id: u32,
        length: u32,
    ) -> Self {
        Self {
            kind,
            flags: Flags::default(),
            hop_count: 0,
            max_hops: MAX_HOPS,
            destination,
            source,
            message_id,
            fragment_length: length,
            fragment_offset: 0,
            total_length: length,
        }
    }

    /// The checks a decoder makes that need only the header: hop counts and the fragment's
    /// place in the message.
    pub fn validate(&self) -> Result<(), HeaderError> {
        if self.max_hops > MAX_HOPS {
            return Err(HeaderError::MaxHopsTooLarge {
                max_hops: self.max_hops,
            });
        }
        if self.hop_count > self.max_hops {
            return Err(HeaderError::HopCountAboveMax {
                hop_count: self.hop_count,
                max_hops: self.max_hops,
            });
        }
        let end = u64::from(self.fragment_offset) + u64::from(self.fragment_length);
        if end > u64::from(self.total_length) {
            return Err(HeaderError::FragmentBeyondTotal {
                offset: self.fragment_offset,
                length: self.fragment_length,
                total: self.total_length,
            });
        }
        Ok(())
    }

    /// The wire form in our byte order ([`ByteOrder::OURS`]).
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        self.to_bytes_in(ByteOrder::OURS)
    }

    /// The wire form in `order`, with BIGENDIAN set to match. Does not [`validate`].
    ///
    /// [`validate`]: Header::validate
    pub fn to_bytes_in(&self, order: ByteOrder) -> [u8; HEADER_LEN] {
        let flags = match order {
            ByteOrder::Little => self.flags.without(Flags::BIG_ENDIAN),
            ByteOrder::Big => self.flags.with(Flags::BIG_ENDIAN),
        };
        let mut bytes = [0; HEADER_LEN];
        le::put(&mut bytes, VERSION_OFFSET, &[FLIP_VERSION]);
        le::put(&mut bytes, TYPE_OFFSET, &[self.kind as u8]);
        le::put(&mut bytes, FLAGS_OFFSET, &[flags.0]);
        le::put(&mut bytes, RESERVED_OFFSET, &[0]);
        le::put(
            &mut bytes,
            HOP_COUNT_OFFSET,
            &order.u16_bytes(self.hop_count),
        );
        le::put(&mut bytes, MAX_HOPS_OFFSET, &order.u16_bytes(self.max_hops));
        le::put(&mut bytes, DESTINATION_OFFSET, &self.destination.0);
        le::put(&mut bytes, SOURCE_OFFSET, &self.source.0);
        let u32_fields = [
            (MESSAGE_ID_OFFSET, self.message_id),
            (FRAGMENT_LENGTH_OFFSET, self.fragment_length),
            (FRAGMENT_OFFSET_OFFSET, self.fragment_offset),
            (TOTAL_LENGTH_OFFSET, self.total_length),
        ];
        for (offset, value) in u32_fields {
            le::put(&mut bytes, offset, &order.u32_bytes(value));
        }
        bytes
    }

    /// Decodes and [`validate`](Header::validate)s the header at the start of `bytes`, in
    /// whichever byte order its BIGENDIAN flag announces (returned too). Does not look at the
    /// bytes after the header; [`Packet::decode`] does.
    pub fn decode(bytes: &[u8]) -> Result<(Self, ByteOrder), HeaderError> {
        let record = bytes
            .first_chunk::<HEADER_LEN>()
            .ok_or(HeaderError::Truncated {
                needed: HEADER_LEN,
                len: bytes.len(),
            })?;
        let [version] = le::field(record, VERSION_OFFSET);
        if version != FLIP_VERSION {
            return Err(HeaderError::BadVersion(version));
        }
        let [kind] = le::field(record, TYPE_OFFSET);
        let kind = PacketType::from_u8(kind).ok_or(HeaderError::UnknownPacketType(kind))?;
        let [flags] = le::field(record, FLAGS_OFFSET);
        let flags = Flags(flags);
        let order = if flags.contains(Flags::BIG_ENDIAN) {
            ByteOrder::Big
        } else {
            ByteOrder::Little
        };
        let u16_at = |offset| order.u16_from(le::field(record, offset));
        let u32_at = |offset| order.u32_from(le::field(record, offset));
        let header = Self {
            kind,
            flags: flags.without(Flags::BIG_ENDIAN),
            hop_count: u16_at(HOP_COUNT_OFFSET),
            max_hops: u16_at(MAX_HOPS_OFFSET),
            destination: Address(le::field(record, DESTINATION_OFFSET)),
            source: Address(le::field(record, SOURCE_OFFSET)),
            message_id: u32_at(MESSAGE_ID_OFFSET),
            fragment_length: u32_at(FRAGMENT_LENGTH_OFFSET),
            fragment_offset: u32_at(FRAGMENT_OFFSET_OFFSET),
            total_length: u32_at(TOTAL_LENGTH_OFFSET),
        };
        header.validate()?;
        Ok((header, order))
    }
}

/// A FLIP packet: header and fragment, without the flow-control header (for media that do not
/// use one; see [`Frame`] for Ethernet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    pub header: Header,
    /// The order the integers were (or will be) written in.
    pub order: ByteOrder,
    /// Exactly `header.fragment_length` bytes.
    pub payload: &'a [u8],
}

impl<'a> Packet<'a> {
    /// A packet to send, in our byte order.
    pub fn new(header: Header, payload: &'a [u8]) -> Self {
        Self {
            header,
            order: ByteOrder::OURS,
            payload,
        }
    }

    /// Decodes a header and the fragment after it; bytes beyond the fragment are ignored.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, HeaderError> {
        let (header, order) = Header::decode(bytes)?;
        let after_header = bytes.get(HEADER_LEN..).unwrap_or_default();
        let payload = usize::try_from(header.fragment_length)
            .ok()
            .and_then(|length| after_header.get(..length))
            .ok_or(HeaderError::FragmentLongerThanPayload {
                length: header.fragment_length,
                present: after_header.len(),
            })?;
        Ok(Self {
            header,
            order,
            payload,
        })
    }

    /// Bytes of the encoded packet.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }

    /// Writes the packet at the start of `out`, returns its length. Refuses a header that
    /// would not decode and a payload whose length is not the header's fragment length.
    pub fn encode_into(&self, out: &mut [u8]) -> Result<usize, HeaderError> {
        self.check_encodable()?;
        let len = self.encoded_len();
        let available = out.len();
        let (header, payload) = out
            .get_mut(..len)
            .and_then(|packet| packet.split_first_chunk_mut::<HEADER_LEN>())
            .ok_or(HeaderError::BufferTooSmall {
                needed: len,
                len: available,
            })?;
        *header = self.header.to_bytes_in(self.order);
        payload.copy_from_slice(self.payload);
        Ok(len)
    }

    /// The encoded packet in a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, HeaderError> {
        let mut bytes = alloc::vec![0; self.encoded_len()];
        self.encode_into(&mut bytes)?;
        Ok(bytes)
    }

    fn check_encodable(&self) -> Result<(), HeaderError> {
        self.header.validate()?;
        if usize::try_from(self.header.fragment_length) != Ok(self.payload.len()) {
            return Err(HeaderError::PayloadLengthMismatch {
                length: self.header.fragment_length,
                payload: self.payload.len(),
            });
        }
        Ok(())
    }
}

/// What an Ethernet frame of type [`ETHERTYPE_FLIP`] carries after the Ethernet header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub flow_control: FlowControl,
    pub packet: Packet<'a>,
}

impl<'a> Frame<'a> {
    /// A DATA frame carrying `packet`.
    pub fn data(packet: Packet<'a>) -> Self {
        Self {
            flow_control: FlowControl::DATA,
            packet,
        }
    }

    /// Decodes the flow-control header, the FLIP header and the fragment; bytes beyond the
    /// fragment (Ethernet padding) are ignored.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, HeaderError> {
        if bytes.len() < FRAME_HEADERS_LEN {
            return Err(HeaderError::Truncated {
                needed: FRAME_HEADERS_LEN,
                len: bytes.len(),
            });
        }
        let flow_control = FlowControl::decode(bytes)?;
        let packet = Packet::decode(bytes.get(FLOW_CONTROL_LEN..).unwrap_or_default())?;
        Ok(Self {
            flow_control,
            packet,
        })
    }

    /// Bytes of the encoded frame (without Ethernet header or padding).
    pub fn encoded_len(&self) -> usize {
        FLOW_CONTROL_LEN + self.packet.encoded_len()
    }

    /// Writes the frame at the start of `out`, returns its length; refuses what
    /// [`Packet::encode_into`] refuses.
    pub fn encode_into(&self, out: &mut [u8]) -> Result<usize, HeaderError> {
        let needed = self.encoded_len();
        self.packet.check_encodable()?;
        let available = out.len();
        let (flow_control, packet) = out
            .get_mut(..needed)
            .and_then(|frame| frame.split_first_chunk_mut::<FLOW_CONTROL_LEN>())
            .ok_or(HeaderError::BufferTooSmall {
                needed,
                len: available,
            })?;
        *flow_control = self.flow_control.to_bytes();
        self.packet.encode_into(packet)?;
        Ok(needed)
    }

    /// The encoded frame in a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, HeaderError> {
        let mut bytes = alloc::vec![0; self.encoded_len()];
        self.encode_into(&mut bytes)?;
        Ok(bytes)
    }
}

/// Why bytes are not a FLIP frame, or a frame cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// Only `len` bytes where the headers need `needed`.
    Truncated {
        needed: usize,
        len: usize,
    },
    UnknownFlowType(u8),
    BadVersion(u8),
    UnknownPacketType(u8),
    /// A maximum hop count above [`MAX_HOPS`].
    MaxHopsTooLarge {
        max_hops: u16,
    },
    HopCountAboveMax {
        hop_count: u16,
        max_hops: u16,
    },
    /// offset + length > total.
    FragmentBeyondTotal {
        offset: u32,
        length: u32,
        total: u32,
    },
    /// The header announces `length` bytes, only `present` follow it.
    FragmentLongerThanPayload {
        length: u32,
        present: usize,
    },
    /// Encoding: the header's fragment length is not the payload's.
    PayloadLengthMismatch {
        length: u32,
        payload: usize,
    },
    /// Encoding: the output buffer holds `len` bytes, the frame needs `needed`.
    BufferTooSmall {
        needed: usize,
        len: usize,
    },
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated { needed, len } => {
                write!(f, "FLIP headers need {needed} bytes, got only {len}")
            }
            Self::UnknownFlowType(kind) => write!(f, "unknown flow-control type {kind}"),
            Self::BadVersion(version) => {
                write!(f, "FLIP version {version}, only {FLIP_VERSION} is known")
            }
            Self::UnknownPacketType(kind) => write!(f, "unknown FLIP packet type {kind}"),
            Self::MaxHopsTooLarge { max_hops } => {
                write!(f, "maximum hop count {max_hops} above {MAX_HOPS}")
            }
            Self::HopCountAboveMax {
                hop_count,
                max_hops,
            } => write!(f, "hop count {hop_count} above its maximum {max_hops}"),
            Self::FragmentBeyondTotal {
                offset,
                length,
                total,
            } => write!(
                f,
                "fragment of {length} bytes at {offset} reaches past the message's {total}"
            ),
            Self::FragmentLongerThanPayload { length, present } => write!(
                f,
                "fragment of {length} bytes announced, only {present} present"
            ),
            Self::PayloadLengthMismatch { length, payload } => write!(
                f,
                "header says {length} fragment bytes, the payload has {payload}"
            ),
            Self::BufferTooSmall { needed, len } => {
                write!(f, "a {needed}-byte frame does not fit in {len} bytes")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            kind: PacketType::UniData,
            flags: Flags::SECURITY,
            hop_count: 2,
            max_hops: 7,
            destination: Address([0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7]),
            source: Address([0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57]),
            message_id: 0x0102_0304,
            fragment_length: 5,
            fragment_offset: 0x10,
            total_length: 0x0a0b,
        }
    }

    const COMMON: [u8; 16] = [
        0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, // destination
        0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, // source
    ];

    fn wire(head: [u8; 8], tail: [u8; 16]) -> [u8; HEADER_LEN] {
        let mut bytes = [0; HEADER_LEN];
        bytes[..8].copy_from_slice(&head);
        bytes[8..24].copy_from_slice(&COMMON);
        bytes[24..].copy_from_slice(&tail);
        bytes
    }

    #[test]
    fn little_endian_wire_layout_matches_the_reference() {
        let expected = wire(
            [1, 3, 0x04, 0, 2, 0, 7, 0], // version, UNIDATA, SECURITY, reserved, hops 2 of 7
            [
                0x04, 0x03, 0x02, 0x01, // message id
                5, 0, 0, 0, // fragment length
                0x10, 0, 0, 0, // fragment offset
                0x0b, 0x0a, 0, 0, // total length
            ],
        );
        assert_eq!(sample().to_bytes(), expected);
        assert_eq!(Header::decode(&expected), Ok((sample(), ByteOrder::Little)));
    }

    #[test]
    fn big_endian_wire_layout_sets_the_flag() {
        let expected = wire(
            [1, 3, 0x05, 0, 0, 2, 0, 7], // BIGENDIAN | SECURITY
            [
                0x01, 0x02, 0x03, 0x04, // message id
                0, 0, 0, 5, // fragment length
                0, 0, 0, 0x10, // fragment offset
                0, 0, 0x0a, 0x0b, // total length
            ],
        );
        assert_eq!(sample().to_bytes_in(ByteOrder::Big), expected);
        assert_eq!(Header::decode(&expected), Ok((sample(), ByteOrder::Big)));
        // A BIGENDIAN bit in the header's flags does not override the order asked for.
        let mut flagged = sample();
        flagged.flags = flagged.flags.with(Flags::BIG_ENDIAN);
        assert_eq!(flagged.to_bytes(), sample().to_bytes());
    }

    #[test]
    fn flow_control_and_frame_layout() {
        let payload = *b"hello";
        let packet = Packet::new(sample(), &payload);
        let flow_control = FlowControl {
            kind: FlowType::Credit,
            count: 9,
        };
        let frame = Frame {
            flow_control,
            packet,
        };
        let bytes = frame.to_vec().unwrap();
        assert_eq!(bytes.len(), FRAME_HEADERS_LEN + 5);
        assert_eq!(bytes[..2], [2, 9]);
        assert_eq!(bytes[2..42], sample().to_bytes());
        assert_eq!(&bytes[42..], b"hello");
        assert_eq!(Frame::decode(&bytes), Ok(frame));
        // Ethernet padding after the fragment is ignored.
        let mut padded = bytes.clone();
        padded.resize(60, 0);
        assert_eq!(Frame::decode(&padded), Ok(frame));
        assert_eq!(ETHERTYPE_FLIP, 0x8146);
        assert_eq!(MAX_FRAGMENT_PAYLOAD, 1458);
    }

    #[test]
    fn every_type_round_trips_and_unknown_types_are_refused() {
        for value in 0..=255u8 {
            match FlowType::from_u8(value) {
                Some(kind) => assert_eq!(kind as u8, value),
                None => assert!(value > 6),
            }
            match PacketType::from_u8(value) {
                Some(kind) => assert_eq!(kind as u8, value),
                None => assert!(value == 0 || value > 6),
            }
        }
        let mut bytes = sample().to_bytes();
        bytes[TYPE_OFFSET] = 7;
        assert_eq!(
            Header::decode(&bytes),
            Err(HeaderError::UnknownPacketType(7))
        );
        bytes[TYPE_OFFSET] = 0;
        assert_eq!(
            Header::decode(&bytes),
            Err(HeaderError::UnknownPacketType(0))
        );
        assert_eq!(
            FlowControl::decode(&[7, 0]),
            Err(HeaderError::UnknownFlowType(7))
        );
    }

    #[test]
    fn bad_versions_and_hop_counts_are_refused() {
        let mut bytes = sample().to_bytes();
        bytes[VERSION_OFFSET] = 2;
        assert_eq!(Header::decode(&bytes), Err(HeaderError::BadVersion(2)));
        let decode = |header: Header| Header::decode(&header.to_bytes()).map(|(h, _)| h);
        let at_limit = Header {
            hop_count: MAX_HOPS,
            max_hops: MAX_HOPS,
            ..sample()
        };
        assert_eq!(decode(at_limit), Ok(at_limit));
        assert_eq!(
            decode(Header {
                max_hops: 26,
                ..sample()
            }),
            Err(HeaderError::MaxHopsTooLarge { max_hops: 26 })
        );
        assert_eq!(
            decode(Header {
                hop_count: 8,
                ..sample()
            }),
            Err(HeaderError::HopCountAboveMax {
                hop_count: 8,
                max_hops: 7
            })
        );
    }

    #[test]
    fn inconsistent_fragments_are_refused() {
        let decode = |header: Header| Header::decode(&header.to_bytes()).map(|(h, _)| h);
        let fits = Header {
            fragment_offset: 10,
            fragment_length: 5,
            total_length: 15,
            ..sample()
        };
        assert_eq!(decode(fits), Ok(fits));
        let past = Header {
            total_length: 14,
            ..fits
        };
        assert_eq!(
            decode(past),
            Err(HeaderError::FragmentBeyondTotal {
                offset: 10,
                length: 5,
                total: 14
            })
        );
        // offset + length overflowing 32 bits is still caught.
        let wrapping = Header {
            fragment_offset: u32::MAX,
            fragment_length: 2,
            total_length: u32::MAX,
            ..sample()
        };
        assert!(matches!(
            decode(wrapping),
            Err(HeaderError::FragmentBeyondTotal { .. })
        ));
        // The header announces 5 bytes; 4 follow.
        let mut bytes = sample().to_bytes().to_vec();
        bytes.extend_from_slice(b"abcd");
        assert_eq!(
            Packet::decode(&bytes),
            Err(HeaderError::FragmentLongerThanPayload {
                length: 5,
                present: 4
            })
        );
    }

    #[test]
    fn truncated_input_is_refused() {
        let frame = Frame::data(Packet::new(sample(), b"hello"))
            .to_vec()
            .unwrap();
        for len in 0..FRAME_HEADERS_LEN {
            assert_eq!(
                Frame::decode(&frame[..len]),
                Err(HeaderError::Truncated {
                    needed: FRAME_HEADERS_LEN,
                    len
                })
            );
        }
        for len in 0..HEADER_LEN {
            assert_eq!(
                Header::decode(&frame[2..2 + len]),
                Err(HeaderError::Truncated {
                    needed: HEADER_LEN,
                    len
                })
            );
        }
        assert_eq!(
            FlowControl::decode(&[0]),
            Err(HeaderError::Truncated { needed: 2, len: 1 })
        );
    }

    #[test]
    fn encoding_refuses_what_would_not_decode() {
        let packet = Packet::new(sample(), b"four");
        assert_eq!(
            packet.to_vec(),
            Err(HeaderError::PayloadLengthMismatch {
                length: 5,
                payload: 4
            })
        );
        let bad_hops = Packet::new(
            Header {
                max_hops: 30,
                ..sample()
            },
            b"hello",
        );
        assert_eq!(
            Frame::data(bad_hops).to_vec(),
            Err(HeaderError::MaxHopsTooLarge { max_hops: 30 })
        );
        let mut small = [0; FRAME_HEADERS_LEN + 4];
        assert_eq!(
            Frame::data(Packet::new(sample(), b"hello")).encode_into(&mut small),
            Err(HeaderError::BufferTooSmall {
                needed: FRAME_HEADERS_LEN + 5,
                len: FRAME_HEADERS_LEN + 4
            })
        );
        assert_eq!(
            HeaderError::BadVersion(3).to_string(),
            "FLIP version 3, only 1 is known"
        );
    }

    #[test]
    fn reserved_byte_and_unnamed_flags() {
        let mut bytes = sample().to_bytes();
        bytes[RESERVED_OFFSET] = 0xee;
        bytes[FLAGS_OFFSET] |= 0x80;
        let (header, _) = Header::decode(&bytes).unwrap();
        assert_eq!(header.flags, Flags(0x84));
        let again = header.to_bytes();
        assert_eq!(again[RESERVED_OFFSET], 0);
        assert_eq!(again[FLAGS_OFFSET], 0x84);
    }
}
