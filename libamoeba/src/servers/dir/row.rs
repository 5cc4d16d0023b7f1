//! A directory row on the wire: a name and the capability it maps to.
//!
//! SOAP rows map names to capabilities (`docs/amoeba-protocol.md#kernel-servers`); this byte
//! layout is ours, not SOAP's, used by LIST replies and APPEND requests of every
//! directory the node serves (the kernel directory, the process server's `ps`):
//!
//! | bytes               | field                                           |
//! |---------------------|-------------------------------------------------|
//! | 0                   | name length n, 1..=255                          |
//! | 1..1+n              | name, UTF-8                                     |
//! | 1+n..17+n           | capability, 16 bytes (see [`crate::capability`]) |
//!
//! A LIST reply is rows back to back, nothing between them. Names (ours as well): 1 to 255
//! bytes of UTF-8, no `/` (a path separator to clients) and no control characters (they
//! would garble listings on a console).

use alloc::vec::Vec;
use core::fmt;

use crate::capability::{CAPABILITY_LEN, Capability};
use crate::le::Reader;

/// The longest name in bytes: its length travels in one byte.
pub const MAX_NAME_LEN: usize = u8::MAX as usize;

/// Why bytes are not rows, or a name cannot be in one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowError {
    /// The row at `offset` ends early.
    Truncated { offset: usize },
    /// The row at `offset` has a name that breaks the rules above.
    BadName { offset: usize },
    /// Bytes after the one row expected, from `offset`.
    TrailingBytes { offset: usize },
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { offset } => write!(f, "directory row at byte {offset} is cut"),
            Self::BadName { offset } => write!(f, "directory row at byte {offset}: bad name"),
            Self::TrailingBytes { offset } => {
                write!(f, "bytes after the directory row, from byte {offset}")
            }
        }
    }
}

/// Whether `name` may name a directory entry.
pub fn is_valid_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len()) && !name.chars().any(|c| c == '/' || c.is_control())
}

/// `bytes` as a name, if they are UTF-8 and a valid name.
pub fn parse_name(bytes: &[u8]) -> Option<&str> {
    core::str::from_utf8(bytes)
        .ok()
        .filter(|name| is_valid_name(name))
}

/// Bytes of the row for `name`.
pub fn row_len(name: &str) -> usize {
    1 + name.len() + CAPABILITY_LEN
}

/// The row mapping `name` to `cap`.
pub fn encode_row(name: &str, cap: &Capability) -> Result<Vec<u8>, RowError> {
    if !is_valid_name(name) {
        return Err(RowError::BadName { offset: 0 });
    }
    let mut row = Vec::with_capacity(row_len(name));
    row.push(name.len() as u8);
    row.extend_from_slice(name.as_bytes());
    row.extend_from_slice(&cap.to_bytes());
    Ok(row)
}

/// The rows of a LIST reply, in order; names borrow from `bytes`.
pub fn decode_rows(bytes: &[u8]) -> Result<Vec<(&str, Capability)>, RowError> {
    let mut reader = Reader::new(bytes);
    let mut rows = Vec::new();
    while reader.remaining() > 0 {
        rows.push(read_row(&mut reader)?);
    }
    Ok(rows)
}

/// Exactly one row (an APPEND request).
pub fn decode_row(bytes: &[u8]) -> Result<(&str, Capability), RowError> {
    let mut reader = Reader::new(bytes);
    let row = read_row(&mut reader)?;
    match reader.remaining() {
        0 => Ok(row),
        _ => Err(RowError::TrailingBytes {
            offset: reader.position(),
        }),
    }
}

fn read_row<'a>(reader: &mut Reader<'a>) -> Result<(&'a str, Capability), RowError> {
    let offset = reader.position();
    let truncated = RowError::Truncated { offset };
    let name_len = reader.u8().ok_or(truncated)?;
    let name = reader.bytes(usize::from(name_len)).ok_or(truncated)?;
    let cap = reader.array::<CAPABILITY_LEN>().ok_or(truncated)?;
    let name = parse_name(name).ok_or(RowError::BadName { offset })?;
    Ok((name, Capability::from_array(&cap)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Port;

    fn cap(n: u8) -> Capability {
        Capability::new(Port([n; 6]), u32::from(n), 0x0f, [n; 6]).unwrap()
    }

    #[test]
    fn names_follow_the_rules() {
        assert!(is_valid_name("tod") && is_valid_name("é") && is_valid_name("a b.c"));
        let longest = "x".repeat(MAX_NAME_LEN);
        assert!(is_valid_name(&longest));
        assert!(!is_valid_name(&(longest + "x")));
        for bad in ["", "a/b", "/", "tab\there", "nl\n", "del\u{7f}", "c1\u{85}"] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
        assert_eq!(parse_name(b"sys"), Some("sys"));
        assert_eq!(parse_name(&[0xff, 0x41]), None);
    }

    #[test]
    fn rows_round_trip() {
        let rows = [("a", cap(1)), ("ps", cap(2)), (&*"n".repeat(255), cap(3))];
        let mut bytes = Vec::new();
        for (name, cap) in &rows {
            bytes.extend(encode_row(name, cap).unwrap());
        }
        assert_eq!(
            bytes.len(),
            rows.iter().map(|(name, _)| row_len(name)).sum()
        );
        assert_eq!(decode_rows(&bytes).unwrap(), rows);
        assert_eq!(decode_rows(&[]), Ok(Vec::new()));
        let one = encode_row("tod", &cap(4)).unwrap();
        assert_eq!(one[..4], *b"\x03tod");
        assert_eq!(one[4..], cap(4).to_bytes());
        assert_eq!(decode_row(&one), Ok(("tod", cap(4))));
    }

    #[test]
    fn every_truncation_is_refused_with_the_row_offset() {
        let mut bytes = encode_row("a", &cap(1)).unwrap();
        let second = bytes.len();
        bytes.extend(encode_row("bc", &cap(2)).unwrap());
        for len in 1..bytes.len() {
            if len == second {
                continue;
            }
            let offset = if len < second { 0 } else { second };
            assert_eq!(
                decode_rows(&bytes[..len]),
                Err(RowError::Truncated { offset }),
                "{len}"
            );
        }
    }

    #[test]
    fn bad_names_and_extra_rows_are_refused() {
        assert_eq!(
            encode_row("", &cap(1)),
            Err(RowError::BadName { offset: 0 })
        );
        assert_eq!(
            encode_row("a/b", &cap(1)),
            Err(RowError::BadName { offset: 0 })
        );
        let mut bytes = encode_row("ok", &cap(1)).unwrap();
        let mut empty_name = vec![0];
        empty_name.extend(cap(2).to_bytes());
        bytes.extend(&empty_name);
        assert_eq!(decode_rows(&bytes), Err(RowError::BadName { offset: 19 }));
        let mut slash = encode_row("ab", &cap(1)).unwrap();
        slash[2] = b'/';
        assert_eq!(decode_rows(&slash), Err(RowError::BadName { offset: 0 }));
        let two = [
            encode_row("a", &cap(1)).unwrap(),
            encode_row("b", &cap(1)).unwrap(),
        ];
        assert_eq!(
            decode_row(&two.concat()),
            Err(RowError::TrailingBytes { offset: 18 })
        );
        assert_eq!(decode_row(&[]), Err(RowError::Truncated { offset: 0 }));
        assert_eq!(
            RowError::Truncated { offset: 3 }.to_string(),
            "directory row at byte 3 is cut"
        );
    }
}
