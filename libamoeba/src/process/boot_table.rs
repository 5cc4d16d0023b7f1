//! The boot table: the programs a node starts at boot, embedded in the kernel image.
//!
//! amoeba-build writes it from a profile's `[[programs]]` (see [`encode`]); the kernel reads it
//! with [`decode`] and starts one process per entry, in table order. All integers
//! little-endian, no padding anywhere.
//!
//! ```text
//! header
//!   0..8    magic "AMBOOT01"
//!   8..12   u32 number of programs (0 is a valid, empty table)
//! then per program
//!   u16     name length, 1..=32
//!   name    UTF-8, only A-Z a-z 0-9 `_` `-`
//!   u16     argument count, at most 32
//!   per argument: u16 length, then that many bytes of UTF-8 (may be empty)
//!   u8      process priority: Level as u8 (0 high, 1 norm, 2 low)
//!   u8      flags: bit 0 DRIVER (may be granted I/O ports and wait for IRQs), bit 1 ADMIN
//!           (gets the owner capabilities of the process and sys servers); others 0
//!   u32     image length, then the process image file (`process::image`) itself
//! ```
//!
//! Decoding is strict and never panics: a bad magic, a short table, a bad name, too many
//! arguments, arguments that are not UTF-8, an unknown priority, flag bits that are not defined
//! and bytes after the last program are all refused. The image bytes are not looked into here:
//! `decode_image` checks them when the program is started.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::le::Reader;
use crate::priority::Level;

/// The table's first eight bytes.
pub const MAGIC: [u8; 8] = *b"AMBOOT01";
/// Bytes of the fixed header (magic and count).
pub const HEADER_LEN: usize = MAGIC.len() + 4;
/// Longest program name, in bytes.
pub const MAX_NAME_LEN: usize = 32;
/// Most arguments one program may get.
pub const MAX_ARGS: usize = 32;

/// One program of a decoded table; everything borrows from the table's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootProgram<'a> {
    pub name: &'a str,
    pub args: Vec<&'a str>,
    /// The process priority it runs at.
    pub priority: Level,
    /// A driver: the kernel lets it use I/O ports and wait for interrupt lines.
    pub driver: bool,
    /// An admin program: the kernel gives it the owner capabilities of the node's process and
    /// sys servers (PS, PROC, SYS in its environment), so it may end other processes and halt
    /// the node.
    pub admin: bool,
    /// The process image file (gzip), as `process::image::decode_image` reads it.
    pub image: &'a [u8],
}

/// Flag bit of a driver program.
pub const FLAG_DRIVER: u8 = 0x01;
/// Flag bit of an admin program.
pub const FLAG_ADMIN: u8 = 0x02;

/// One program to write into a table (the builder's side).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BootProgramSpec {
    pub name: String,
    pub args: Vec<String>,
    pub priority: Level,
    pub driver: bool,
    pub admin: bool,
    pub image: Vec<u8>,
}

/// Why bytes are not a boot table (or a spec cannot be written as one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootTableError {
    /// The first eight bytes are not [`MAGIC`].
    BadMagic,
    /// The bytes end inside a field that starts at `offset` (`program`: whose, if any).
    Truncated {
        program: Option<usize>,
        offset: usize,
    },
    /// Not 1 to [`MAX_NAME_LEN`] bytes of `A-Z a-z 0-9 _ -`.
    BadName {
        program: usize,
    },
    TooManyArgs {
        program: usize,
        count: usize,
    },
    ArgNotUtf8 {
        program: usize,
        arg: usize,
    },
    /// An argument longer than a u16 length can say (only from [`check`]).
    ArgTooLong {
        program: usize,
        arg: usize,
    },
    BadPriority {
        program: usize,
        value: u8,
    },
    ReservedNotZero {
        program: usize,
    },
    /// An image longer than a u32 length can say (only from [`check`]).
    ImageTooLarge {
        program: usize,
    },
    /// More programs than a u32 count can say (only from [`check`]).
    TooManyPrograms,
    /// `count` bytes follow the last program, from `offset`.
    TrailingBytes {
        offset: usize,
        count: usize,
    },
}

impl fmt::Display for BootTableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic => write!(f, "boot table: magic is not \"AMBOOT01\""),
            Self::Truncated {
                program: Some(program),
                offset,
            } => write!(
                f,
                "boot table: truncated inside program {program} (at byte {offset})"
            ),
            Self::Truncated {
                program: None,
                offset,
            } => write!(f, "boot table: header truncated (at byte {offset})"),
            Self::BadName { program } => write!(
                f,
                "boot table: program {program}'s name is not 1 to {MAX_NAME_LEN} letters, \
                 digits, `_` or `-`"
            ),
            Self::TooManyArgs { program, count } => write!(
                f,
                "boot table: program {program} has {count} arguments (at most {MAX_ARGS})"
            ),
            Self::ArgNotUtf8 { program, arg } => write!(
                f,
                "boot table: argument {arg} of program {program} is not UTF-8"
            ),
            Self::ArgTooLong { program, arg } => write!(
                f,
                "boot table: argument {arg} of program {program} is longer than 65535 bytes"
            ),
            Self::BadPriority { program, value } => write!(
                f,
                "boot table: program {program} has priority {value} (0 high, 1 norm, 2 low)"
            ),
            Self::ReservedNotZero { program } => {
                write!(
                    f,
                    "boot table: program {program} has flag bits no kernel knows"
                )
            }
            Self::ImageTooLarge { program } => {
                write!(f, "boot table: program {program}'s image exceeds 4 GiB")
            }
            Self::TooManyPrograms => write!(f, "boot table: more than 2^32 - 1 programs"),
            Self::TrailingBytes { offset, count } => write!(
                f,
                "boot table: {count} bytes after the last program (from byte {offset})"
            ),
        }
    }
}

/// Whether `name` may name a boot program: 1 to [`MAX_NAME_LEN`] bytes of `A-Z a-z 0-9 _ -`.
pub fn is_valid_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Decodes a whole table; see the module header for what is refused.
pub fn decode(bytes: &[u8]) -> Result<Vec<BootProgram<'_>>, BootTableError> {
    let mut reader = Reader::new(bytes);
    let magic: [u8; 8] = reader.array().ok_or(BootTableError::BadMagic)?;
    if magic != MAGIC {
        return Err(BootTableError::BadMagic);
    }
    let count = reader.u32().ok_or(BootTableError::Truncated {
        program: None,
        offset: reader.position(),
    })?;
    // No capacity from the count: a hostile count must not make the kernel allocate.
    let mut programs = Vec::new();
    for program in 0..count as usize {
        programs.push(decode_program(&mut reader, program)?);
    }
    if reader.remaining() != 0 {
        return Err(BootTableError::TrailingBytes {
            offset: reader.position(),
            count: reader.remaining(),
        });
    }
    Ok(programs)
}

fn decode_program<'a>(
    reader: &mut Reader<'a>,
    program: usize,
) -> Result<BootProgram<'a>, BootTableError> {
    // Every read either succeeds or reports the offset where the bytes ran out.
    macro_rules! read {
        ($reader:ident . $method:ident ( $($arg:expr)? )) => {{
            let offset = $reader.position();
            $reader
                .$method($($arg)?)
                .ok_or(BootTableError::Truncated {
                    program: Some(program),
                    offset,
                })?
        }};
    }
    let name_len = read!(reader.u16());
    let name = read!(reader.bytes(usize::from(name_len)));
    let name = core::str::from_utf8(name)
        .ok()
        .filter(|name| is_valid_name(name))
        .ok_or(BootTableError::BadName { program })?;
    let count = usize::from(read!(reader.u16()));
    if count > MAX_ARGS {
        return Err(BootTableError::TooManyArgs { program, count });
    }
    let mut args = Vec::with_capacity(count);
    for arg in 0..count {
        let len = read!(reader.u16());
        let bytes = read!(reader.bytes(usize::from(len)));
        let text =
            core::str::from_utf8(bytes).map_err(|_| BootTableError::ArgNotUtf8 { program, arg })?;
        args.push(text);
    }
    let value = read!(reader.u8());
    let priority = Level::from_u8(value).ok_or(BootTableError::BadPriority { program, value })?;
    let flags = read!(reader.u8());
    if flags & !(FLAG_DRIVER | FLAG_ADMIN) != 0 {
        return Err(BootTableError::ReservedNotZero { program });
    }
    let image_len = read!(reader.u32());
    // u32 -> usize is lossless on the 64-bit targets this crate serves; saturate elsewhere.
    let image = read!(reader.bytes(usize::try_from(image_len).unwrap_or(usize::MAX)));
    Ok(BootProgram {
        name,
        args,
        priority,
        driver: flags & FLAG_DRIVER != 0,
        admin: flags & FLAG_ADMIN != 0,
        image,
    })
}

/// Checks what [`decode`] would refuse in a table made by [`encode`] from `programs`, plus
/// the lengths its fields cannot carry; `decode(&encode(p))` gives `p` back when this passes.
pub fn check(programs: &[BootProgramSpec]) -> Result<(), BootTableError> {
    if u32::try_from(programs.len()).is_err() {
        return Err(BootTableError::TooManyPrograms);
    }
    for (program, spec) in programs.iter().enumerate() {
        if !is_valid_name(&spec.name) {
            return Err(BootTableError::BadName { program });
        }
        if spec.args.len() > MAX_ARGS {
            return Err(BootTableError::TooManyArgs {
                program,
                count: spec.args.len(),
            });
        }
        if let Some(arg) = spec
            .args
            .iter()
            .position(|a| u16::try_from(a.len()).is_err())
        {
            return Err(BootTableError::ArgTooLong { program, arg });
        }
        if u32::try_from(spec.image.len()).is_err() {
            return Err(BootTableError::ImageTooLarge { program });
        }
    }
    Ok(())
}

/// The table for `programs`, in order. Lengths a field cannot hold saturate (and the table
/// then does not decode): call [`check`] first.
pub fn encode(programs: &[BootProgramSpec]) -> Vec<u8> {
    let u16_len = |len: usize| u16::try_from(len).unwrap_or(u16::MAX).to_le_bytes();
    let u32_len = |len: usize| u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&u32_len(programs.len()));
    for spec in programs {
        bytes.extend_from_slice(&u16_len(spec.name.len()));
        bytes.extend_from_slice(spec.name.as_bytes());
        bytes.extend_from_slice(&u16_len(spec.args.len()));
        for arg in &spec.args {
            bytes.extend_from_slice(&u16_len(arg.len()));
            bytes.extend_from_slice(arg.as_bytes());
        }
        bytes.push(spec.priority as u8);
        let driver = if spec.driver { FLAG_DRIVER } else { 0 };
        let admin = if spec.admin { FLAG_ADMIN } else { 0 };
        bytes.push(driver | admin);
        bytes.extend_from_slice(&u32_len(spec.image.len()));
        bytes.extend_from_slice(&spec.image);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn spec(name: &str, args: &[&str], priority: Level, image: &[u8]) -> BootProgramSpec {
        BootProgramSpec {
            name: name.into(),
            args: args.iter().map(ToString::to_string).collect(),
            priority,
            driver: name == "threads",
            admin: name.starts_with("counter"),
            image: image.to_vec(),
        }
    }

    fn sample() -> Vec<BootProgramSpec> {
        vec![
            spec(
                "hello",
                &["from", "a", "test"],
                Level::Norm,
                b"\x1f\x8b image one",
            ),
            spec("threads", &[], Level::High, &[7; 300]),
            spec("counter-2_b", &["", "\u{e9}t\u{e9}"], Level::Low, &[]),
        ]
    }

    fn as_decoded(specs: &[BootProgramSpec]) -> Vec<BootProgram<'_>> {
        specs
            .iter()
            .map(|s| BootProgram {
                name: &s.name,
                args: s.args.iter().map(String::as_str).collect(),
                priority: s.priority,
                driver: s.driver,
                admin: s.admin,
                image: &s.image,
            })
            .collect()
    }

    /// The table of one program `name` with the given raw tail after the name.
    fn one_program(name: &[u8], tail: &[u8]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&(name.len() as u16).to_le_bytes());
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(tail);
        bytes
    }

    #[test]
    fn round_trip() {
        let specs = sample();
        check(&specs).unwrap();
        let table = encode(&specs);
        assert_eq!(decode(&table).unwrap(), as_decoded(&specs));
        assert_eq!(table, encode(&sample()), "deterministic");
    }

    #[test]
    fn driver_and_admin_flags_round_trip() {
        for (driver, admin, byte) in [
            (false, false, 0),
            (true, false, FLAG_DRIVER),
            (false, true, FLAG_ADMIN),
            (true, true, FLAG_DRIVER | FLAG_ADMIN),
        ] {
            let specs = [BootProgramSpec {
                driver,
                admin,
                ..spec("p", &[], Level::Norm, &[])
            }];
            check(&specs).unwrap();
            let table = encode(&specs);
            // The flags byte follows the name (2 + 1 bytes), argument count and priority.
            assert_eq!(table[HEADER_LEN + 3 + 2 + 1], byte);
            assert_eq!(decode(&table).unwrap(), as_decoded(&specs));
        }
    }

    #[test]
    fn the_layout_is_as_documented() {
        let table = encode(&[spec("ab", &["x", "yz"], Level::Low, &[9, 8, 7])]);
        let mut expected = b"AMBOOT01".to_vec();
        expected.extend_from_slice(&[1, 0, 0, 0]);
        expected.extend_from_slice(&[2, 0, b'a', b'b']);
        expected.extend_from_slice(&[2, 0, 1, 0, b'x', 2, 0, b'y', b'z']);
        expected.extend_from_slice(&[2, 0]);
        expected.extend_from_slice(&[3, 0, 0, 0, 9, 8, 7]);
        assert_eq!(table, expected);
    }

    #[test]
    fn an_empty_table_is_valid() {
        let table = encode(&[]);
        assert_eq!(table, b"AMBOOT01\0\0\0\0");
        assert_eq!(table.len(), HEADER_LEN);
        assert_eq!(decode(&table), Ok(vec![]));
    }

    #[test]
    fn every_truncation_is_refused() {
        let table = encode(&sample());
        for len in 0..table.len() {
            let result = decode(&table[..len]);
            let expected_kind = if len < MAGIC.len() {
                matches!(result, Err(BootTableError::BadMagic))
            } else {
                matches!(result, Err(BootTableError::Truncated { .. }))
            };
            assert!(expected_kind, "{len} of {} bytes: {result:?}", table.len());
        }
        assert_eq!(
            decode(&table[..10]),
            Err(BootTableError::Truncated {
                program: None,
                offset: 8
            })
        );
        assert_eq!(
            decode(&table[..HEADER_LEN + 3]),
            Err(BootTableError::Truncated {
                program: Some(0),
                offset: HEADER_LEN + 2
            })
        );
    }

    #[test]
    fn a_count_larger_than_the_programs_is_truncation() {
        let mut table = encode(&sample());
        table[8] = 200;
        assert!(matches!(
            decode(&table),
            Err(BootTableError::Truncated {
                program: Some(3),
                ..
            })
        ));
        table[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode(&table),
            Err(BootTableError::Truncated { .. })
        ));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut table = encode(&sample());
        let len = table.len();
        table.push(0);
        assert_eq!(
            decode(&table),
            Err(BootTableError::TrailingBytes {
                offset: len,
                count: 1
            })
        );
        let mut table = encode(&sample());
        table[8] = 2; // one program fewer than written
        assert!(matches!(
            decode(&table),
            Err(BootTableError::TrailingBytes { .. })
        ));
    }

    #[test]
    fn bad_magic_is_refused() {
        for index in 0..MAGIC.len() {
            let mut table = encode(&sample());
            table[index] ^= 0x20;
            assert_eq!(
                decode(&table),
                Err(BootTableError::BadMagic),
                "byte {index}"
            );
        }
        assert_eq!(decode(b""), Err(BootTableError::BadMagic));
        assert_eq!(decode(b"AMBOOT02\0\0\0\0"), Err(BootTableError::BadMagic));
    }

    #[test]
    fn bad_names_are_refused() {
        let tail = [0, 0, 1, 0, 0, 0, 0, 0];
        decode(&one_program(b"ok_name-1", &tail)).unwrap();
        decode(&one_program(&[b'n'; MAX_NAME_LEN], &tail)).unwrap();
        for name in [
            &b""[..],
            &[b'n'; MAX_NAME_LEN + 1],
            b"two words",
            b"dot.ted",
            b"slash/",
            "\u{e9}".as_bytes(),
            b"\xff\xfe",
        ] {
            assert_eq!(
                decode(&one_program(name, &tail)),
                Err(BootTableError::BadName { program: 0 }),
                "{name:?}"
            );
        }
        assert!(!is_valid_name("a b"));
        assert!(is_valid_name("idle-check"));
        let mut specs = sample();
        specs[1].name = "no way".into();
        assert_eq!(check(&specs), Err(BootTableError::BadName { program: 1 }));
        assert_eq!(
            decode(&encode(&specs)),
            Err(BootTableError::BadName { program: 1 })
        );
    }

    #[test]
    fn bad_arguments_are_refused() {
        let mut tail = vec![33, 0];
        for _ in 0..33 {
            tail.extend_from_slice(&[0, 0]);
        }
        tail.extend_from_slice(&[1, 0, 0, 0, 0, 0]);
        assert_eq!(
            decode(&one_program(b"p", &tail)),
            Err(BootTableError::TooManyArgs {
                program: 0,
                count: 33
            })
        );
        let mut specs = sample();
        specs[0].args = vec![String::new(); MAX_ARGS];
        check(&specs).unwrap();
        assert_eq!(decode(&encode(&specs)).unwrap(), as_decoded(&specs));
        specs[0].args.push(String::new());
        assert_eq!(
            check(&specs),
            Err(BootTableError::TooManyArgs {
                program: 0,
                count: 33
            })
        );
        specs[0].args = vec!["a".into(), "x".repeat(70_000)];
        assert_eq!(
            check(&specs),
            Err(BootTableError::ArgTooLong { program: 0, arg: 1 })
        );

        let not_utf8 = [2, 0, 1, 0, b'a', 2, 0, 0xC3, 0x28, 1, 0, 0, 0, 0, 0];
        assert_eq!(
            decode(&one_program(b"p", &not_utf8)),
            Err(BootTableError::ArgNotUtf8 { program: 0, arg: 1 })
        );
    }

    #[test]
    fn bad_priority_and_reserved_byte_are_refused() {
        let good = [0, 0, 2, 0, 0, 0, 0, 0];
        decode(&one_program(b"p", &good)).unwrap();
        for value in [3, 0x80, 0xFF] {
            let mut tail = good;
            tail[2] = value;
            assert_eq!(
                decode(&one_program(b"p", &tail)),
                Err(BootTableError::BadPriority { program: 0, value })
            );
        }
        let mut tail = good;
        tail[3] = FLAG_DRIVER;
        assert!(decode(&one_program(b"p", &tail)).is_ok_and(|p| p[0].driver && !p[0].admin));
        tail[3] = FLAG_ADMIN;
        assert!(decode(&one_program(b"p", &tail)).is_ok_and(|p| p[0].admin && !p[0].driver));
        tail[3] = FLAG_DRIVER | FLAG_ADMIN;
        assert!(decode(&one_program(b"p", &tail)).is_ok_and(|p| p[0].driver && p[0].admin));
        for flags in [0x04, 0x80, FLAG_ADMIN | 0x04, 0xFF] {
            tail[3] = flags;
            assert_eq!(
                decode(&one_program(b"p", &tail)),
                Err(BootTableError::ReservedNotZero { program: 0 }),
                "flags {flags:#04x}"
            );
        }
    }

    #[test]
    fn errors_explain_themselves() {
        assert_eq!(
            BootTableError::BadPriority {
                program: 2,
                value: 7
            }
            .to_string(),
            "boot table: program 2 has priority 7 (0 high, 1 norm, 2 low)"
        );
        assert_eq!(
            BootTableError::Truncated {
                program: None,
                offset: 8
            }
            .to_string(),
            "boot table: header truncated (at byte 8)"
        );
    }
}
