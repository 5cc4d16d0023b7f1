//! The 32-byte Amoeba RPC header.
//!
//! Layout from `docs/amoeba-protocol.md#rpc-header`, little-endian:
//!
//! | bytes  | field       | here                                                       |
//! |--------|-------------|------------------------------------------------------------|
//! | 0..6   | h_port      | [`Header::port`], the service's put-port                   |
//! | 6..12  | h_signature | [`Header::signature`]                                      |
//! | 12..22 | h_priv      | [`Header::private`]: object (24 bits), rights, check       |
//! | 22..24 | h_command   | [`Header::command`]: command in a request, status in a reply |
//! | 24..28 | h_offset    | [`Header::offset`], `i32`                                  |
//! | 28..30 | h_size      | [`Header::size`], `u16`                                    |
//! | 30..32 | h_extra     | [`Header::extra`], `u16`                                   |
//!
//! h_priv has the layout of bytes 6..16 of a capability, so h_port plus h_priv name an object
//! ([`Header::capability`]). Bytes 22..24 are one `u16` on the wire; read as `i16`, a negative
//! value in a reply is an [`ErrorCode`].

use core::fmt;

use super::codes::{Command, ErrorCode, STD_OK};
use crate::capability::{
    CAPABILITY_LEN, CHECK_LEN, Capability, MAX_OBJECT, OBJECT_OFFSET as CAP_OBJECT_OFFSET,
    PORT_LEN, Port,
};
use crate::le;

/// Bytes in an encoded header.
pub const HEADER_LEN: usize = 32;

/// Offset of h_port.
pub const PORT_OFFSET: usize = 0;
/// Offset of h_signature.
pub const SIGNATURE_OFFSET: usize = 6;
/// Offset of h_priv (object, rights, check).
pub const PRIVATE_OFFSET: usize = 12;
/// Bytes of h_priv: the private part of a capability.
pub const PRIVATE_LEN: usize = CAPABILITY_LEN - CAP_OBJECT_OFFSET;
/// Offset of h_command / h_status.
pub const COMMAND_OFFSET: usize = 22;
/// Offset of h_offset.
pub const OFFSET_OFFSET: usize = 24;
/// Offset of h_size.
pub const SIZE_OFFSET: usize = 28;
/// Offset of h_extra.
pub const EXTRA_OFFSET: usize = 30;

// The fields tile the 32 bytes exactly, in order.
const _: () = assert!(PORT_OFFSET + PORT_LEN == SIGNATURE_OFFSET);
const _: () = assert!(SIGNATURE_OFFSET + PORT_LEN == PRIVATE_OFFSET);
const _: () = assert!(PRIVATE_OFFSET + PRIVATE_LEN == COMMAND_OFFSET);
const _: () = assert!(COMMAND_OFFSET + 2 == OFFSET_OFFSET);
const _: () = assert!(OFFSET_OFFSET + 4 == SIZE_OFFSET);
const _: () = assert!(SIZE_OFFSET + 2 == EXTRA_OFFSET);
const _: () = assert!(EXTRA_OFFSET + 2 == HEADER_LEN);

/// h_priv: the server-interpreted part of a capability.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Private {
    /// Object number; only the low 24 bits travel (see [`MAX_OBJECT`]).
    pub object: u32,
    pub rights: u8,
    pub check: [u8; CHECK_LEN],
}

/// An Amoeba RPC header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Header {
    pub port: Port,
    pub signature: Port,
    pub private: Private,
    /// h_command in a request, h_status in a reply: the raw wire value. See
    /// [`Header::status`] and [`Header::error`] for the reply reading.
    pub command: u16,
    pub offset: i32,
    pub size: u16,
    pub extra: u16,
}

impl Header {
    /// A request for `command` on the object `cap` names; the other fields zero.
    pub fn request(cap: &Capability, command: Command) -> Self {
        let mut header = Self {
            command: command.0,
            ..Self::default()
        };
        header.set_capability(cap);
        header
    }

    /// h_port and h_priv as a capability.
    pub fn capability(&self) -> Capability {
        Capability {
            port: self.port,
            object: self.private.object,
            rights: self.private.rights,
            check: self.private.check,
        }
    }

    /// Sets h_port and h_priv from `cap`.
    pub fn set_capability(&mut self, cap: &Capability) {
        self.port = cap.port;
        self.private = Private {
            object: cap.object,
            rights: cap.rights,
            check: cap.check,
        };
    }

    /// h_command as a request's command.
    pub const fn command(&self) -> Command {
        Command(self.command)
    }

    /// h_status of a reply: bytes 22..24 read as `i16`; 0 is STD_OK, negative an error.
    pub const fn status(&self) -> i16 {
        self.command as i16
    }

    /// The reply's error, if its status is negative.
    pub const fn error(&self) -> Option<ErrorCode> {
        ErrorCode::new(self.status())
    }

    /// Sets h_status: STD_OK or the error's (negative) code.
    pub fn set_status(&mut self, status: Result<(), ErrorCode>) {
        let value = match status {
            Ok(()) => STD_OK,
            Err(code) => code.get(),
        };
        self.command = value as u16;
    }

    /// The wire form. Only the low 24 bits of the object number exist there.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut bytes = [0; HEADER_LEN];
        le::put(&mut bytes, PORT_OFFSET, &self.port.0);
        le::put(&mut bytes, SIGNATURE_OFFSET, &self.signature.0);
        let cap = self.capability().to_bytes();
        le::put(
            &mut bytes,
            PRIVATE_OFFSET,
            &le::field::<PRIVATE_LEN>(&cap, CAP_OBJECT_OFFSET),
        );
        le::put(&mut bytes, COMMAND_OFFSET, &self.command.to_le_bytes());
        le::put(&mut bytes, OFFSET_OFFSET, &self.offset.to_le_bytes());
        le::put(&mut bytes, SIZE_OFFSET, &self.size.to_le_bytes());
        le::put(&mut bytes, EXTRA_OFFSET, &self.extra.to_le_bytes());
        bytes
    }

    /// Every 32-byte value is a header.
    pub fn from_array(bytes: &[u8; HEADER_LEN]) -> Self {
        let mut cap = [0; CAPABILITY_LEN];
        le::put(
            &mut cap,
            CAP_OBJECT_OFFSET,
            &le::field::<PRIVATE_LEN>(bytes, PRIVATE_OFFSET),
        );
        let cap = Capability::from_array(&cap);
        Self {
            port: Port(le::field(bytes, PORT_OFFSET)),
            signature: Port(le::field(bytes, SIGNATURE_OFFSET)),
            private: Private {
                object: cap.object,
                rights: cap.rights,
                check: cap.check,
            },
            command: le::field_u16(bytes, COMMAND_OFFSET),
            offset: i32::from_le_bytes(le::field(bytes, OFFSET_OFFSET)),
            size: le::field_u16(bytes, SIZE_OFFSET),
            extra: le::field_u16(bytes, EXTRA_OFFSET),
        }
    }

    /// Decodes the header at the start of `bytes` (a message: what follows is its buffer).
    /// Fewer than [`HEADER_LEN`] bytes are refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, HeaderError> {
        bytes
            .first_chunk::<HEADER_LEN>()
            .map(Self::from_array)
            .ok_or(HeaderError::Truncated { len: bytes.len() })
    }
}

/// Why bytes are not a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// Only `len` bytes, fewer than [`HEADER_LEN`].
    Truncated { len: usize },
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { len } => {
                write!(f, "an RPC header is {HEADER_LEN} bytes, got only {len}")
            }
        }
    }
}

// The object number of h_priv has the capability's limit.
const _: () = assert!(MAX_OBJECT == (1 << 24) - 1);

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            port: Port([0x01, 0x02, 0x03, 0x04, 0x05, 0x06]),
            signature: Port([0x11, 0x12, 0x13, 0x14, 0x15, 0x16]),
            private: Private {
                object: 0x12_3456,
                rights: 0x5a,
                check: [0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6],
            },
            command: 2006,
            offset: -2,
            size: 0xbeef,
            extra: 0x0102,
        }
    }

    #[test]
    fn wire_layout_matches_the_reference() {
        assert_eq!(
            sample().to_bytes(),
            [
                0x01, 0x02, 0x03, 0x04, 0x05, 0x06, // h_port
                0x11, 0x12, 0x13, 0x14, 0x15, 0x16, // h_signature
                0x56, 0x34, 0x12, // h_priv object, little-endian
                0x5a, // h_priv rights
                0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, // h_priv check
                0xd6, 0x07, // h_command 2006
                0xfe, 0xff, 0xff, 0xff, // h_offset -2
                0xef, 0xbe, // h_size
                0x02, 0x01, // h_extra
            ]
        );
        assert_eq!(Header::default().to_bytes(), [0; HEADER_LEN]);
    }

    #[test]
    fn bytes_round_trip() {
        let header = sample();
        assert_eq!(Header::from_bytes(&header.to_bytes()), Ok(header));
        let all_ones = Header::from_array(&[0xff; HEADER_LEN]);
        assert_eq!(all_ones.private.object, MAX_OBJECT);
        assert_eq!(all_ones.offset, -1);
        assert_eq!(all_ones.to_bytes(), [0xff; HEADER_LEN]);
        // A pattern where every byte differs: each lands back in its own place.
        let mut pattern = [0; HEADER_LEN];
        for (i, byte) in pattern.iter_mut().enumerate() {
            *byte = (i as u8).wrapping_mul(37).wrapping_add(1);
        }
        assert_eq!(Header::from_array(&pattern).to_bytes(), pattern);
    }

    #[test]
    fn truncated_input_is_refused_and_longer_input_read_as_a_prefix() {
        let bytes = sample().to_bytes();
        for len in 0..HEADER_LEN {
            assert_eq!(
                Header::from_bytes(&bytes[..len]),
                Err(HeaderError::Truncated { len })
            );
        }
        let mut message = bytes.to_vec();
        message.extend_from_slice(b"buffer");
        assert_eq!(Header::from_bytes(&message), Ok(sample()));
        assert_eq!(
            HeaderError::Truncated { len: 5 }.to_string(),
            "an RPC header is 32 bytes, got only 5"
        );
    }

    #[test]
    fn capability_goes_into_port_and_private() {
        let cap = Capability::new(Port([9; 6]), 42, 0x03, [7; 6]).unwrap();
        let header = Header::request(&cap, Command::STD_INFO);
        assert_eq!(header.capability(), cap);
        assert_eq!(header.command(), Command::STD_INFO);
        let bytes = header.to_bytes();
        // h_port + h_priv are the capability's 16 bytes.
        assert_eq!(bytes[..6], cap.to_bytes()[..6]);
        assert_eq!(bytes[12..22], cap.to_bytes()[6..]);
        assert_eq!(bytes[6..12], [0; 6]);
        assert_eq!(bytes[22..24], 1004u16.to_le_bytes());
    }

    #[test]
    fn status_is_the_command_field_read_signed() {
        let mut reply = sample();
        reply.set_status(Err(ErrorCode::STD_CAPBAD));
        assert_eq!(reply.status(), -1000);
        assert_eq!(reply.error(), Some(ErrorCode::STD_CAPBAD));
        assert_eq!(reply.to_bytes()[22..24], (-1000i16).to_le_bytes());
        assert_eq!(
            Header::from_array(&reply.to_bytes()).error(),
            Some(ErrorCode::STD_CAPBAD)
        );
        reply.set_status(Ok(()));
        assert_eq!((reply.status(), reply.error()), (STD_OK, None));
        reply.command = 0xffff;
        assert_eq!(reply.error(), Some(ErrorCode::RPC_FAILURE));
    }
}
