//! The process environment: arguments, standard capabilities and strings a process starts
//! with (the VX-Kernel's process environment, see `docs/amoeba-protocol.md#process-environment`).
//!
//! The kernel writes the block at the top of the main thread's stack and passes its address
//! in RDI to `_start`; the user runtime reads the length from the header and decodes it. All
//! integers little-endian, no padding.
//!
//! ```text
//! header (20 bytes)
//!   0..4    u32 magic 0x414D454E ("AMEN" as a number; bytes 4E 45 4D 41 in the block)
//!   4..8    u32 total length of the block, header included
//!   8..12   u32 argc
//!   12..16  u32 capability count
//!   16..20  u32 string count
//! then
//!   argv           per argument: u32 length, UTF-8 bytes (argv[0] is the program's name)
//!   capabilities   per capability: u16 name length, UTF-8 name, 16-byte capability
//!   strings        per string: u32 length, UTF-8 bytes, "NAME=value"
//! ```
//!
//! Standard capability names are [`TTY`], [`RANDOM`], [`TOD`] and [`ROOT`] (null capabilities
//! until the servers exist); standard strings are e.g. `TERM=amoeba`.

use alloc::vec::Vec;
use core::fmt;

use crate::capability::{CAPABILITY_LEN, Capability};
use crate::le::{self, Reader};

/// The header's first field.
pub const MAGIC: u32 = 0x414D_454E;
/// Bytes of the fixed header.
pub const HEADER_LEN: usize = 20;
/// Offset of the total length in the header (what a reader needs before it has the block).
pub const TOTAL_LEN_OFFSET: usize = 4;

/// Standard capability names.
pub const TTY: &str = "TTY";
pub const RANDOM: &str = "RANDOM";
pub const TOD: &str = "TOD";
pub const ROOT: &str = "ROOT";
/// Owner capabilities an admin program gets (`admin = true` in its profile): the ps directory
/// (to end and stun any process), the process server and the sys server (BOOT).
pub const PS: &str = "PS";
pub const PROC: &str = "PROC";
pub const SYS: &str = "SYS";

/// A decoded environment; everything borrows from the block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Environment<'a> {
    args: Vec<&'a str>,
    capabilities: Vec<(&'a str, Capability)>,
    strings: Vec<&'a str>,
}

/// Why bytes are not an environment block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvError {
    BadMagic {
        found: u32,
    },
    /// The header's total length differs from the bytes given.
    LengthMismatch {
        header: u32,
        actual: usize,
    },
    /// The block ends inside a field that starts at `offset`.
    Truncated {
        offset: usize,
    },
    /// A string field at `offset` is not UTF-8.
    NotUtf8 {
        offset: usize,
    },
    /// Bytes left after the last string.
    TrailingBytes {
        offset: usize,
    },
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic { found } => write!(
                f,
                "process environment: magic {found:#010x}, expected {MAGIC:#010x}"
            ),
            Self::LengthMismatch { header, actual } => write!(
                f,
                "process environment: header says {header} bytes, the block has {actual}"
            ),
            Self::Truncated { offset } => {
                write!(f, "process environment: truncated at byte {offset}")
            }
            Self::NotUtf8 { offset } => {
                write!(f, "process environment: text at byte {offset} is not UTF-8")
            }
            Self::TrailingBytes { offset } => write!(
                f,
                "process environment: bytes after the last string (from byte {offset})"
            ),
        }
    }
}

/// The block's total length as its header says, if `header` holds at least the header and
/// starts with the magic. The user runtime calls this before it knows how much to read.
pub fn block_len(header: &[u8]) -> Option<usize> {
    let header = header.get(..HEADER_LEN)?;
    if u32::from_le_bytes(le::array(header, 0)?) != MAGIC {
        return None;
    }
    let total = u32::from_le_bytes(le::array(header, TOTAL_LEN_OFFSET)?);
    usize::try_from(total).ok().filter(|&len| len >= HEADER_LEN)
}

/// The block for these arguments (argv\[0\] first), capabilities and strings.
///
/// Counts and lengths beyond what their fields hold saturate, making a block that does not
/// decode; the kernel builds environments far below those limits.
pub fn encode(args: &[&str], capabilities: &[(&str, Capability)], strings: &[&str]) -> Vec<u8> {
    let u16_len = |len: usize| u16::try_from(len).unwrap_or(u16::MAX).to_le_bytes();
    let u32_len = |len: usize| u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&MAGIC.to_le_bytes());
    bytes.extend_from_slice(&[0; 4]); // total length, filled in below
    bytes.extend_from_slice(&u32_len(args.len()));
    bytes.extend_from_slice(&u32_len(capabilities.len()));
    bytes.extend_from_slice(&u32_len(strings.len()));
    for arg in args {
        bytes.extend_from_slice(&u32_len(arg.len()));
        bytes.extend_from_slice(arg.as_bytes());
    }
    for (name, capability) in capabilities {
        bytes.extend_from_slice(&u16_len(name.len()));
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(&capability.to_bytes());
    }
    for string in strings {
        bytes.extend_from_slice(&u32_len(string.len()));
        bytes.extend_from_slice(string.as_bytes());
    }
    let total = u32_len(bytes.len());
    le::put(&mut bytes, TOTAL_LEN_OFFSET, &total);
    bytes
}

impl<'a> Environment<'a> {
    /// Decodes exactly one block: `bytes` must be as long as its header says.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, EnvError> {
        let mut reader = Reader::new(bytes);
        let truncated = |reader: &Reader<'_>| EnvError::Truncated {
            offset: reader.position(),
        };
        let magic = reader.u32().ok_or(truncated(&reader))?;
        if magic != MAGIC {
            return Err(EnvError::BadMagic { found: magic });
        }
        let total = reader.u32().ok_or(truncated(&reader))?;
        if usize::try_from(total).ok() != Some(bytes.len()) {
            return Err(EnvError::LengthMismatch {
                header: total,
                actual: bytes.len(),
            });
        }
        let argc = reader.u32().ok_or(truncated(&reader))?;
        let capability_count = reader.u32().ok_or(truncated(&reader))?;
        let string_count = reader.u32().ok_or(truncated(&reader))?;

        // No capacity from the counts: they are only believed as far as the bytes go.
        let mut args = Vec::new();
        for _ in 0..argc {
            args.push(text(&mut reader, Width::U32)?);
        }
        let mut capabilities = Vec::new();
        for _ in 0..capability_count {
            let name = text(&mut reader, Width::U16)?;
            let cap: [u8; CAPABILITY_LEN] = reader.array().ok_or(truncated(&reader))?;
            capabilities.push((name, Capability::from_array(&cap)));
        }
        let mut strings = Vec::new();
        for _ in 0..string_count {
            strings.push(text(&mut reader, Width::U32)?);
        }
        if reader.remaining() != 0 {
            return Err(EnvError::TrailingBytes {
                offset: reader.position(),
            });
        }
        Ok(Self {
            args,
            capabilities,
            strings,
        })
    }

    /// The arguments; the first is the program's name.
    pub fn args(&self) -> &[&'a str] {
        &self.args
    }

    /// The capability stored under `name` (the first, if several are).
    pub fn capability(&self, name: &str) -> Option<Capability> {
        self.capabilities
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, cap)| *cap)
    }

    /// Every named capability, in block order.
    pub fn capabilities(&self) -> &[(&'a str, Capability)] {
        &self.capabilities
    }

    /// The value of string `NAME=value` for `name` (the first, if several are).
    pub fn var(&self, name: &str) -> Option<&'a str> {
        self.strings.iter().find_map(|string| {
            let (key, value) = string.split_once('=')?;
            (key == name).then_some(value)
        })
    }

    /// Every string, in block order.
    pub fn strings(&self) -> &[&'a str] {
        &self.strings
    }
}

#[derive(Clone, Copy)]
enum Width {
    U16,
    U32,
}

/// A length-prefixed UTF-8 field.
fn text<'a>(reader: &mut Reader<'a>, width: Width) -> Result<&'a str, EnvError> {
    let offset = reader.position();
    let truncated = EnvError::Truncated { offset };
    let len = match width {
        Width::U16 => reader.u16().map(u32::from),
        Width::U32 => reader.u32(),
    }
    .ok_or(truncated)?;
    let len = usize::try_from(len).map_err(|_| truncated)?;
    let bytes = reader.bytes(len).ok_or(truncated)?;
    core::str::from_utf8(bytes).map_err(|_| EnvError::NotUtf8 { offset })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Port;
    use alloc::vec;

    fn cap(n: u8) -> Capability {
        Capability::new(Port([n; 6]), u32::from(n) << 8, 0xFF, [n; 6]).unwrap()
    }

    fn sample() -> Vec<u8> {
        encode(
            &["hello", "from", "a", "t\u{e9}st", ""],
            &[
                (TTY, Capability::NULL),
                (RANDOM, cap(1)),
                (TOD, cap(2)),
                (ROOT, cap(3)),
            ],
            &["TERM=amoeba", "PATH=/bin=x", "EMPTY=", "NOEQUALS"],
        )
    }

    #[test]
    fn round_trip_and_accessors() {
        let block = sample();
        assert_eq!(block_len(&block), Some(block.len()));
        let env = Environment::decode(&block).unwrap();
        assert_eq!(env.args(), ["hello", "from", "a", "t\u{e9}st", ""]);
        assert_eq!(env.capability(TTY), Some(Capability::NULL));
        assert_eq!(env.capability(TOD), Some(cap(2)));
        assert_eq!(env.capability("SOAP"), None);
        assert_eq!(env.capabilities().len(), 4);
        assert_eq!(env.var("TERM"), Some("amoeba"));
        assert_eq!(env.var("PATH"), Some("/bin=x"));
        assert_eq!(env.var("EMPTY"), Some(""));
        assert_eq!(env.var("NOEQUALS"), None);
        assert_eq!(env.var("TER"), None);
        assert_eq!(env.strings().len(), 4);
        assert_eq!(block, sample(), "deterministic");
    }

    #[test]
    fn the_layout_is_as_documented() {
        let block = encode(&["ab"], &[("T", Capability::NULL)], &["X=1"]);
        let mut expected = vec![0x4E, 0x45, 0x4D, 0x41];
        expected.extend_from_slice(&(block.len() as u32).to_le_bytes());
        expected.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
        expected.extend_from_slice(&[2, 0, 0, 0, b'a', b'b']);
        expected.extend_from_slice(&[1, 0, b'T']);
        expected.extend_from_slice(&[0; 16]);
        expected.extend_from_slice(&[3, 0, 0, 0, b'X', b'=', b'1']);
        assert_eq!(block, expected);
        assert_eq!(block.len(), HEADER_LEN + 6 + 3 + 16 + 7);
    }

    #[test]
    fn an_empty_environment_decodes() {
        let block = encode(&[], &[], &[]);
        assert_eq!(block.len(), HEADER_LEN);
        assert_eq!(Environment::decode(&block), Ok(Environment::default()));
    }

    #[test]
    fn every_truncation_is_refused() {
        let block = sample();
        for len in 0..block.len() {
            // As if the header were fixed up to the shorter length: truncation inside a field.
            let mut short = block[..len].to_vec();
            if len >= HEADER_LEN {
                short[4..8].copy_from_slice(&(len as u32).to_le_bytes());
            }
            let result = Environment::decode(&short);
            assert!(
                matches!(
                    result,
                    Err(EnvError::Truncated { .. } | EnvError::LengthMismatch { .. })
                ),
                "{len}: {result:?}"
            );
            if len >= HEADER_LEN {
                assert!(
                    matches!(result, Err(EnvError::Truncated { .. })),
                    "{len}: {result:?}"
                );
            }
        }
    }

    #[test]
    fn length_and_magic_must_match() {
        let block = sample();
        let mut longer = block.clone();
        longer.push(0);
        assert_eq!(
            Environment::decode(&longer),
            Err(EnvError::LengthMismatch {
                header: block.len() as u32,
                actual: block.len() + 1
            })
        );
        // A consistent header with a byte too many is trailing garbage.
        let len = longer.len() as u32;
        longer[4..8].copy_from_slice(&len.to_le_bytes());
        assert_eq!(
            Environment::decode(&longer),
            Err(EnvError::TrailingBytes {
                offset: block.len()
            })
        );
        let mut bad = block.clone();
        bad[0] ^= 1;
        assert!(matches!(
            Environment::decode(&bad),
            Err(EnvError::BadMagic { .. })
        ));
        assert_eq!(block_len(&bad), None);
        assert_eq!(block_len(&block[..HEADER_LEN - 1]), None);
        let mut tiny = block.clone();
        tiny[4..8].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(block_len(&tiny), None);
    }

    #[test]
    fn huge_counts_are_truncation_not_allocation() {
        let mut block = encode(&[], &[], &[]);
        block[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            Environment::decode(&block),
            Err(EnvError::Truncated { offset: HEADER_LEN })
        );
    }

    #[test]
    fn text_must_be_utf8() {
        let mut block = encode(&["ab"], &[], &[]);
        block[HEADER_LEN + 4] = 0xFF;
        assert_eq!(
            Environment::decode(&block),
            Err(EnvError::NotUtf8 { offset: HEADER_LEN })
        );
    }
}
