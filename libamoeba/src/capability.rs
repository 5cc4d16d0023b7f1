//! The 16-byte Amoeba capability and its textual form for logs.
//!
//! Layout from `docs/amoeba-protocol.md#capability`:
//!
//! | bytes  | field  | notes                                        |
//! |--------|--------|----------------------------------------------|
//! | 0..6   | port   | 48 bits, the service's put-port              |
//! | 6..9   | object | 24 bits, little-endian, < 2^24               |
//! | 9      | rights | 8 bits, 0xFF = all rights (owner)            |
//! | 10..16 | check  | 48 bits                                      |
//!
//! Bytes 6..16 are the "private" part the server interprets. Restricting rights is
//! [`crate::rights`]' job, with the one-way function of [`crate::oneway`]; this module only
//! carries the bytes.
//!
//! Textual form (ours, not 5.3's, see `docs/amoeba-protocol.md#capability-text`; for logs and
//! command lines): `port:object:rights:check` in lowercase
//! hex with fixed widths, e.g. `0123456789ab:00002a:ff:a1b2c3d4e5f6`.

use core::fmt;
use core::str::FromStr;

use crate::le;

/// Bytes in an encoded capability.
pub const CAPABILITY_LEN: usize = 16;
/// Bytes in a port.
pub const PORT_LEN: usize = 6;
/// Bytes in a check field.
pub const CHECK_LEN: usize = 6;

/// Offset of the port.
pub const PORT_OFFSET: usize = 0;
/// Offset of the 24-bit little-endian object number.
pub const OBJECT_OFFSET: usize = 6;
/// Bytes of the object number.
pub const OBJECT_LEN: usize = 3;
/// Offset of the rights byte.
pub const RIGHTS_OFFSET: usize = 9;
/// Offset of the check field.
pub const CHECK_OFFSET: usize = 10;

// The fields tile the 16 bytes exactly, in order.
const _: () = assert!(PORT_OFFSET + PORT_LEN == OBJECT_OFFSET);
const _: () = assert!(OBJECT_OFFSET + OBJECT_LEN == RIGHTS_OFFSET);
const _: () = assert!(RIGHTS_OFFSET + 1 == CHECK_OFFSET);
const _: () = assert!(CHECK_OFFSET + CHECK_LEN == CAPABILITY_LEN);

/// Largest object number: it travels in 24 bits.
pub const MAX_OBJECT: u32 = (1 << (8 * OBJECT_LEN)) - 1;

/// The rights byte of an owner capability: every right.
pub const ALL_RIGHTS: u8 = 0xFF;

/// A 48-bit port: names a service (put-port) or, kept secret, lets a server listen (get-port).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port(pub [u8; PORT_LEN]);

impl Port {
    /// The all-zero port: no service.
    pub const NULL: Port = Port([0; PORT_LEN]);

    pub const fn is_null(&self) -> bool {
        matches!(self.0, [0, 0, 0, 0, 0, 0])
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl FromStr for Port {
    type Err = CapabilityError;

    /// Exactly 12 hex digits.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_hex(text)
            .map(Port)
            .ok_or(CapabilityError::BadText { field: "port" })
    }
}

/// An Amoeba capability: which service (port), which object, what rights, and the check field
/// that proves the rights were granted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Capability {
    pub port: Port,
    /// Object number within the service; must not exceed [`MAX_OBJECT`] (use
    /// [`Capability::new`] to have that checked, [`Capability::is_valid`] to test it).
    pub object: u32,
    pub rights: u8,
    pub check: [u8; CHECK_LEN],
}

impl Capability {
    /// The all-zero capability: "no capability" in descriptors and headers.
    pub const NULL: Capability = Capability {
        port: Port::NULL,
        object: 0,
        rights: 0,
        check: [0; CHECK_LEN],
    };

    /// A capability whose object number fits its 24 bits.
    pub const fn new(
        port: Port,
        object: u32,
        rights: u8,
        check: [u8; CHECK_LEN],
    ) -> Result<Self, CapabilityError> {
        if object > MAX_OBJECT {
            return Err(CapabilityError::ObjectOutOfRange { object });
        }
        Ok(Self {
            port,
            object,
            rights,
            check,
        })
    }

    pub const fn is_null(&self) -> bool {
        self.port.is_null()
            && self.object == 0
            && self.rights == 0
            && matches!(self.check, [0, 0, 0, 0, 0, 0])
    }

    /// Whether the object number fits the wire format (see [`MAX_OBJECT`]).
    pub const fn is_valid(&self) -> bool {
        self.object <= MAX_OBJECT
    }

    /// The wire form. Only the low 24 bits of `object` exist there: a capability that is not
    /// [`is_valid`](Self::is_valid) loses the rest, which is why [`Capability::new`] and every
    /// decoder refuse such numbers in the first place.
    pub fn to_bytes(&self) -> [u8; CAPABILITY_LEN] {
        let mut bytes = [0; CAPABILITY_LEN];
        le::put(&mut bytes, PORT_OFFSET, &self.port.0);
        let [o0, o1, o2, _dropped] = self.object.to_le_bytes();
        le::put(&mut bytes, OBJECT_OFFSET, &[o0, o1, o2]);
        le::put(&mut bytes, RIGHTS_OFFSET, &[self.rights]);
        le::put(&mut bytes, CHECK_OFFSET, &self.check);
        bytes
    }

    /// Every 16-byte value is a capability (24 bits cannot exceed [`MAX_OBJECT`]).
    pub fn from_array(bytes: &[u8; CAPABILITY_LEN]) -> Self {
        let [o0, o1, o2] = le::field(bytes, OBJECT_OFFSET);
        Self {
            port: Port(le::field(bytes, PORT_OFFSET)),
            object: u32::from_le_bytes([o0, o1, o2, 0]),
            rights: u8::from_le_bytes(le::field(bytes, RIGHTS_OFFSET)),
            check: le::field(bytes, CHECK_OFFSET),
        }
    }

    /// Decodes exactly [`CAPABILITY_LEN`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CapabilityError> {
        let array = <&[u8; CAPABILITY_LEN]>::try_from(bytes)
            .map_err(|_| CapabilityError::WrongLength { len: bytes.len() })?;
        Ok(Self::from_array(array))
    }
}

impl fmt::Display for Capability {
    /// `port:object:rights:check`, lowercase hex, fixed widths (12:6:2:12 digits).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{:06x}:{:02x}:",
            self.port,
            self.object & MAX_OBJECT,
            self.rights
        )?;
        write_hex(f, &self.check)
    }
}

impl FromStr for Capability {
    type Err = CapabilityError;

    /// Parses the [`Display`](fmt::Display) form; upper- or lowercase hex, widths exact.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut fields = text.split(':');
        let mut next = |field| {
            fields
                .next()
                .ok_or(CapabilityError::BadText { field })
                .map(|text| (field, text))
        };
        let port: Port = next("port")?.1.parse()?;
        let (field, object) = next("object")?;
        let object: [u8; OBJECT_LEN] =
            parse_hex(object).ok_or(CapabilityError::BadText { field })?;
        let (field, rights) = next("rights")?;
        let [rights] = parse_hex(rights).ok_or(CapabilityError::BadText { field })?;
        let (field, check) = next("check")?;
        let check = parse_hex(check).ok_or(CapabilityError::BadText { field })?;
        if fields.next().is_some() {
            return Err(CapabilityError::BadText {
                field: "end (more than four fields)",
            });
        }
        let [o2, o1, o0] = object; // written most significant first
        Ok(Self {
            port,
            object: u32::from_le_bytes([o0, o1, o2, 0]),
            rights,
            check,
        })
    }
}

/// Why bytes or text are not a capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapabilityError {
    WrongLength { len: usize },
    ObjectOutOfRange { object: u32 },
    BadText { field: &'static str },
}

impl fmt::Display for CapabilityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongLength { len } => {
                write!(f, "a capability is {CAPABILITY_LEN} bytes, not {len}")
            }
            Self::ObjectOutOfRange { object } => write!(
                f,
                "object number {object:#x} does not fit in 24 bits (max {MAX_OBJECT:#x})"
            ),
            Self::BadText { field } => write!(
                f,
                "bad capability text at the {field} field; expected port:object:rights:check \
                 as 12:6:2:12 hex digits"
            ),
        }
    }
}

/// Kept by hand rather than `hex::encode_to_slice`: straight into the formatter, no buffer.
fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
}

/// Exactly `2 * N` hex digits of either case, most significant byte first (the `hex` crate
/// refuses any other length or character).
fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut bytes = [0; N];
    hex::decode_to_slice(text, &mut bytes).ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Capability {
        Capability::new(
            Port([0x01, 0x23, 0x45, 0x67, 0x89, 0xab]),
            0x12_3456,
            0x5a,
            [0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6],
        )
        .unwrap()
    }

    #[test]
    fn wire_layout_matches_the_reference() {
        assert_eq!(
            sample().to_bytes(),
            [
                0x01, 0x23, 0x45, 0x67, 0x89, 0xab, // port
                0x56, 0x34, 0x12, // object, little-endian
                0x5a, // rights
                0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, // check
            ]
        );
        assert_eq!(Capability::NULL.to_bytes(), [0; 16]);
        assert!(Capability::NULL.is_null() && !sample().is_null());
    }

    #[test]
    fn bytes_round_trip() {
        let cap = sample();
        assert_eq!(Capability::from_bytes(&cap.to_bytes()), Ok(cap));
        let max = Capability::new(Port([0xff; 6]), MAX_OBJECT, ALL_RIGHTS, [0xff; 6]).unwrap();
        assert_eq!(Capability::from_array(&[0xff; 16]), max);
        assert_eq!(Capability::from_array(&max.to_bytes()), max);
    }

    #[test]
    fn wrong_lengths_and_large_objects_are_refused() {
        assert_eq!(
            Capability::from_bytes(&[0; 15]),
            Err(CapabilityError::WrongLength { len: 15 })
        );
        assert_eq!(
            Capability::from_bytes(&[0; 17]),
            Err(CapabilityError::WrongLength { len: 17 })
        );
        assert_eq!(
            Capability::new(Port::NULL, 1 << 24, 0, [0; 6]),
            Err(CapabilityError::ObjectOutOfRange { object: 1 << 24 })
        );
        let bad = Capability {
            object: 1 << 24,
            ..sample()
        };
        assert!(!bad.is_valid() && sample().is_valid());
    }

    #[test]
    fn text_round_trips() {
        let cap = sample();
        let text = cap.to_string();
        assert_eq!(text, "0123456789ab:123456:5a:a1b2c3d4e5f6");
        assert_eq!(text.parse(), Ok(cap));
        assert_eq!(text.to_uppercase().parse(), Ok(cap));
        assert_eq!(
            Capability::NULL.to_string(),
            "000000000000:000000:00:000000000000"
        );
        assert_eq!(cap.port.to_string().parse(), Ok(cap.port));
    }

    #[test]
    fn malformed_text_names_the_field() {
        let bad = |text: &str| match text.parse::<Capability>() {
            Err(CapabilityError::BadText { field }) => field,
            other => panic!("{text:?} gave {other:?}"),
        };
        assert_eq!(bad(""), "port");
        assert_eq!(bad("0123456789ab"), "object");
        assert_eq!(bad("0123456789a:123456:5a:a1b2c3d4e5f6"), "port");
        assert_eq!(bad("0123456789ab:1234567:5a:a1b2c3d4e5f6"), "object");
        assert_eq!(bad("0123456789ab:123456:5g:a1b2c3d4e5f6"), "rights");
        assert_eq!(bad("0123456789ab:123456:5a:a1b2c3d4e5f"), "check");
        assert_eq!(
            bad("0123456789ab:123456:5a:a1b2c3d4e5f6:"),
            "end (more than four fields)"
        );
        assert_eq!(bad("0123456789ab:+23456:5a:a1b2c3d4e5f6"), "object");
        // Multi-byte characters must not be split into "digits".
        assert_eq!(bad("0123456789aé:123456:5a:a1b2c3d4e5f6"), "port");
        assert!(
            CapabilityError::BadText { field: "rights" }
                .to_string()
                .contains("rights field")
        );
    }
}
