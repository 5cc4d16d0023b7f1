//! A SOAP directory (5.3's `sp_dir`): 1 to 4 named columns, and rows of a name, a capability
//! set, one rights mask per column and the time the row last changed.
//!
//! Rows keep the order they were appended in, which is the order LIST sends them (5.3 does
//! the same). A name follows 5.3's `bad_name`: 1 to 255 printable ASCII characters, no space
//! and no `/`.
//!
//! [`Directory::encode`] is how a directory is kept in a Bullet file, ours (5.3's
//! `dirmarshall.c` format is its own): the magic `AMSPDIR1`, then in 5.3's buffer conventions
//! ([`super::buffer`]) int16 columns, the column names, int32 rows, and per row its name,
//! capset, one int32 mask per column and the uint32 time. The Bullet file's checksum covers
//! the bytes, so the format carries none of its own.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use super::buffer::{Reader, Writer};
use super::capset::CapSet;

/// Most columns a directory has (5.3's SP_MAXCOLUMNS).
pub const MAX_COLUMNS: usize = 4;
/// Longest name (5.3's NAME_MAX).
pub const MAX_NAME_LEN: usize = 255;
/// The columns of a directory made without names: 5.3's kernel and `mkd` use these.
pub const DEFAULT_COLUMNS: [&str; 3] = ["owner", "group", "other"];

const MAGIC: &[u8; 8] = b"AMSPDIR1";

/// Whether `name` may name a row or a column (5.3's `bad_name`, inverted).
pub fn is_valid_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| (b'!'..=b'~').contains(&b) && b != b'/')
}

/// One row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub capset: CapSet,
    /// One mask a column; masks past the directory's columns are zero.
    pub masks: [u32; MAX_COLUMNS],
    /// Seconds since 1970 when the row was made or last changed.
    pub time: u32,
}

/// A directory's columns and rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directory {
    columns: Vec<String>,
    rows: Vec<Row>,
}

/// Why bytes are not a kept directory, or columns cannot make one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectoryError {
    /// Not 1 to 4 columns, or a column name that breaks the name rules.
    BadColumns,
    /// The bytes do not start with the magic.
    NotADirectory,
    /// The bytes end early or hold a value out of bounds, at `offset`.
    Garbled { offset: usize },
}

impl fmt::Display for DirectoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadColumns => write!(f, "a directory has 1 to 4 columns with valid names"),
            Self::NotADirectory => write!(f, "not a kept directory (no AMSPDIR1 magic)"),
            Self::Garbled { offset } => write!(f, "kept directory garbled at byte {offset}"),
        }
    }
}

impl Directory {
    /// An empty directory with these columns.
    pub fn new<S: AsRef<str>>(columns: &[S]) -> Result<Self, DirectoryError> {
        let valid = (1..=MAX_COLUMNS).contains(&columns.len())
            && columns.iter().all(|c| is_valid_name(c.as_ref()));
        if !valid {
            return Err(DirectoryError::BadColumns);
        }
        Ok(Self {
            columns: columns.iter().map(|c| c.as_ref().to_string()).collect(),
            rows: Vec::new(),
        })
    }

    /// An empty directory with [`DEFAULT_COLUMNS`].
    pub fn with_default_columns() -> Self {
        Self {
            columns: DEFAULT_COLUMNS.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The column bits of a capability's rights that this directory has (5.3 checks only
    /// the columns present).
    pub fn column_bits(&self) -> u8 {
        ((1u16 << self.columns.len()) - 1) as u8
    }

    pub fn find(&self, name: &str) -> Option<&Row> {
        self.rows.iter().find(|row| row.name == name)
    }

    pub fn find_mut(&mut self, name: &str) -> Option<&mut Row> {
        self.rows.iter_mut().find(|row| row.name == name)
    }

    /// Adds `row` at the end; `false` (nothing added) if its name is taken.
    pub fn append(&mut self, row: Row) -> bool {
        if self.find(&row.name).is_some() {
            return false;
        }
        self.rows.push(row);
        true
    }

    pub fn remove(&mut self, name: &str) -> Option<Row> {
        let at = self.rows.iter().position(|row| row.name == name)?;
        Some(self.rows.remove(at))
    }

    /// The rights a holder of the columns in `columns` earns on `row`: the OR of the row's
    /// masks over those columns (5.3's lookup rule).
    pub fn earned(&self, row: &Row, columns: u8) -> u8 {
        let columns = columns & self.column_bits();
        row.masks
            .iter()
            .enumerate()
            .filter(|(col, _)| columns >> col & 1 == 1)
            .fold(0, |have, (_, mask)| have | (*mask & 0xFF) as u8)
    }

    /// The bytes kept in a Bullet file (module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::new(usize::MAX);
        // An unlimited writer cannot be full: the results are all Ok.
        let _ = self.write(&mut writer);
        writer.into_bytes()
    }

    fn write(&self, w: &mut Writer) -> Result<(), super::buffer::Full> {
        w.bytes(MAGIC)?;
        w.i16(self.columns.len() as i16)?;
        for column in &self.columns {
            w.string(column)?;
        }
        w.i32(self.rows.len() as i32)?;
        for row in &self.rows {
            w.string(&row.name)?;
            row.capset.write(w)?;
            for mask in &row.masks[..self.columns.len()] {
                w.u32(*mask)?;
            }
            w.u32(row.time)?;
        }
        Ok(())
    }

    /// A directory from the bytes [`encode`](Self::encode) made.
    pub fn decode(bytes: &[u8]) -> Result<Self, DirectoryError> {
        if bytes.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
            return Err(DirectoryError::NotADirectory);
        }
        let mut r = Reader::new(&bytes[MAGIC.len()..]);
        let garbled = |r: &Reader<'_>| DirectoryError::Garbled {
            offset: MAGIC.len() + r.position(),
        };
        let ncols = r.i16().ok_or_else(|| garbled(&r))?;
        let ncols = usize::try_from(ncols).map_err(|_| garbled(&r))?;
        let mut columns = Vec::new();
        for _ in 0..ncols.min(MAX_COLUMNS + 1) {
            columns.push(r.string().ok_or_else(|| garbled(&r))?);
        }
        let mut directory = Self::new(&columns).map_err(|_| garbled(&r))?;
        let nrows = r.i32().ok_or_else(|| garbled(&r))?;
        for _ in 0..nrows.max(0) {
            let row = read_row(&mut r, ncols).ok_or_else(|| garbled(&r))?;
            if !directory.append(row) {
                return Err(garbled(&r));
            }
        }
        if !r.at_end() || nrows < 0 {
            return Err(garbled(&r));
        }
        Ok(directory)
    }
}

fn read_row(r: &mut Reader<'_>, ncols: usize) -> Option<Row> {
    let name = r.string().filter(|name| is_valid_name(name))?.to_string();
    let capset = CapSet::read(r)?;
    let mut masks = [0; MAX_COLUMNS];
    for mask in masks.iter_mut().take(ncols) {
        *mask = r.u32()?;
    }
    let time = r.u32()?;
    Some(Row {
        name,
        capset,
        masks,
        time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::{Capability, Port};

    fn row(name: &str, masks: [u32; 4]) -> Row {
        let cap = Capability::new(Port([7; 6]), 3, 0xFF, [9; 6]).unwrap();
        Row {
            name: name.to_string(),
            capset: CapSet::singleton(cap),
            masks,
            time: 1_000,
        }
    }

    #[test]
    fn names_follow_5_3() {
        for good in ["a", "vdisk:00", "hello.txt", &"x".repeat(255)] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", "a b", "a/b", "tab\t", "é", &"x".repeat(256)] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn rights_earned_are_the_or_over_held_columns() {
        let mut dir = Directory::new(&["owner", "group", "other"]).unwrap();
        assert!(dir.append(row("f", [0xFF, 0x0F, 0x02, 0x80])));
        let f = dir.find("f").unwrap().clone();
        assert_eq!(dir.earned(&f, 0b001), 0xFF);
        assert_eq!(dir.earned(&f, 0b110), 0x0F);
        assert_eq!(dir.earned(&f, 0b100), 0x02);
        // The fourth mask is past the directory's columns.
        assert_eq!(dir.earned(&f, 0b1000), 0);
        assert!(!dir.append(row("f", [0; 4])));
    }

    #[test]
    fn a_directory_round_trips_and_bad_bytes_are_refused() {
        let mut dir = Directory::with_default_columns();
        dir.append(row("a", [1, 2, 3, 0]));
        dir.append(row("b", [4, 5, 6, 0]));
        let bytes = dir.encode();
        assert_eq!(Directory::decode(&bytes), Ok(dir));
        assert_eq!(
            Directory::decode(b"nope"),
            Err(DirectoryError::NotADirectory)
        );
        for cut in MAGIC.len()..bytes.len() {
            assert!(
                matches!(
                    Directory::decode(&bytes[..cut]),
                    Err(DirectoryError::Garbled { .. })
                ),
                "cut at {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Directory::decode(&longer).is_err());
    }

    #[test]
    fn columns_are_checked() {
        assert!(Directory::new::<&str>(&[]).is_err());
        assert!(Directory::new(&["a", "b", "c", "d", "e"]).is_err());
        assert!(Directory::new(&["a b"]).is_err());
        assert_eq!(Directory::new(&["x"]).unwrap().column_bits(), 1);
    }
}
