//! The SP_* request and reply buffers as 5.3's stubs (`src/lib/stubs/soap/`) and server
//! (`sp_impl.c`) lay them out, for both sides: the server decodes what the client encodes.
//! Every decoder returns `None` for bytes that break the layout (the server answers
//! STD_ARGBAD, the client calls the reply garbled).
//!
//! | command | request data | reply data |
//! |---|---|---|
//! | SP_CREATE | 1-4 column names | new directory in h_port/h_priv |
//! | SP_LIST | h_extra = first row, h_size = most bytes | [`encode_list`]; h_extra = next row or [`NO_MORE_ROWS`] |
//! | SP_APPEND | name, capset, 1-4 int32 masks | |
//! | SP_CHMOD | name, 1-4 int32 masks | |
//! | SP_DELETE, SP_GETMASKS | name | (GETMASKS) one int32 mask a column |
//! | SP_LOOKUP | path | the path not yet resolved, then the capset |
//! | SP_SETLOOKUP | (capset, name)... | per entry int16 status; if OK then type cap, int32 time, capset |
//! | SP_INSTALL | (directory capset, name, capset, old cap)... | |
//! | SP_REPLACE | name, capset | |
//! | SP_GETSEQNR | | two uint32: the directory's change count, low word first (ours) |

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::buffer::{Full, Reader, Writer};
use super::capset::CapSet;
use super::directory::{MAX_COLUMNS, is_valid_name};
use crate::capability::Capability;

/// h_extra of a LIST reply that holds the last row (5.3's SP_NOMOREROWS).
pub const NO_MORE_ROWS: u16 = u16::MAX;
/// Largest request or reply buffer (5.3's SP_BUFSIZE).
pub const BUFFER_BYTES: usize = 8 * 1024;

/// Reads `count` names (columns of CREATE): all valid, nothing after them.
pub fn decode_names(bytes: &[u8]) -> Option<Vec<String>> {
    let mut r = Reader::new(bytes);
    let mut names = Vec::new();
    while !r.at_end() {
        let name = r.string().filter(|n| is_valid_name(n))?;
        names.push(name.to_string());
    }
    Some(names)
}

pub fn encode_names<S: AsRef<str>>(names: &[S]) -> Result<Vec<u8>, Full> {
    let mut w = Writer::new(BUFFER_BYTES);
    for name in names {
        w.string(name.as_ref())?;
    }
    Ok(w.into_bytes())
}

/// A name and nothing else (DELETE, GETMASKS).
pub fn decode_name(bytes: &[u8]) -> Option<&str> {
    let mut r = Reader::new(bytes);
    let name = r.string().filter(|n| is_valid_name(n))?;
    r.at_end().then_some(name)
}

pub fn encode_name(name: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(name.len() + 1);
    bytes.extend_from_slice(name.as_bytes());
    bytes.push(0);
    bytes
}

/// 1 to 4 masks to the end of the buffer; missing ones are 0 (5.3's APPEND and CHMOD).
fn read_masks(r: &mut Reader<'_>) -> Option<[u32; MAX_COLUMNS]> {
    let mut masks = [0; MAX_COLUMNS];
    let mut count = 0;
    while !r.at_end() && count < MAX_COLUMNS {
        masks[count] = r.u32()?;
        count += 1;
    }
    (count >= 1 && r.at_end()).then_some(masks)
}

fn write_masks(w: &mut Writer, masks: &[u32]) -> Result<(), Full> {
    masks.iter().try_for_each(|mask| w.u32(*mask))
}

/// APPEND's request.
pub fn encode_append(name: &str, capset: &CapSet, masks: &[u32]) -> Result<Vec<u8>, Full> {
    let mut w = Writer::new(BUFFER_BYTES);
    w.string(name)?;
    capset.write(&mut w)?;
    write_masks(&mut w, masks)?;
    Ok(w.into_bytes())
}

pub fn decode_append(bytes: &[u8]) -> Option<(&str, CapSet, [u32; MAX_COLUMNS])> {
    let mut r = Reader::new(bytes);
    let name = r.string().filter(|n| is_valid_name(n))?;
    let capset = CapSet::read(&mut r)?;
    Some((name, capset, read_masks(&mut r)?))
}

/// CHMOD's request.
pub fn encode_chmod(name: &str, masks: &[u32]) -> Result<Vec<u8>, Full> {
    let mut w = Writer::new(BUFFER_BYTES);
    w.string(name)?;
    write_masks(&mut w, masks)?;
    Ok(w.into_bytes())
}

pub fn decode_chmod(bytes: &[u8]) -> Option<(&str, [u32; MAX_COLUMNS])> {
    let mut r = Reader::new(bytes);
    let name = r.string().filter(|n| is_valid_name(n))?;
    Some((name, read_masks(&mut r)?))
}

/// REPLACE's request.
pub fn encode_replace(name: &str, capset: &CapSet) -> Result<Vec<u8>, Full> {
    let mut w = Writer::new(BUFFER_BYTES);
    w.string(name)?;
    capset.write(&mut w)?;
    Ok(w.into_bytes())
}

pub fn decode_replace(bytes: &[u8]) -> Option<(&str, CapSet)> {
    let mut r = Reader::new(bytes);
    let name = r.string().filter(|n| is_valid_name(n))?;
    let capset = CapSet::read(&mut r)?;
    r.at_end().then_some((name, capset))
}

/// LOOKUP's request: the path, as the client has it.
pub fn decode_path(bytes: &[u8]) -> Option<&str> {
    Reader::new(bytes).string()
}

/// LOOKUP's reply.
pub fn encode_lookup_reply(rest: &str, capset: &CapSet, limit: usize) -> Result<Vec<u8>, Full> {
    let mut w = Writer::new(limit);
    w.string(rest)?;
    capset.write(&mut w)?;
    Ok(w.into_bytes())
}

pub fn decode_lookup_reply(bytes: &[u8]) -> Option<(&str, CapSet)> {
    let mut r = Reader::new(bytes);
    let rest = r.string()?;
    Some((rest, CapSet::read(&mut r)?))
}

/// One entry of a SETLOOKUP request.
pub fn decode_setlookup(bytes: &[u8]) -> Option<Vec<(CapSet, &str)>> {
    let mut r = Reader::new(bytes);
    let mut entries = Vec::new();
    loop {
        let capset = CapSet::read(&mut r)?;
        entries.push((capset, r.string()?));
        if r.at_end() {
            return Some(entries);
        }
    }
}

pub fn encode_setlookup(entries: &[(CapSet, &str)]) -> Result<Vec<u8>, Full> {
    let mut w = Writer::new(BUFFER_BYTES);
    for (capset, name) in entries {
        capset.write(&mut w)?;
        w.string(name)?;
    }
    Ok(w.into_bytes())
}

/// What SETLOOKUP answers for one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// The status of an entry not found or not allowed (an error code's value).
    Failed(i16),
    Found {
        type_cap: Capability,
        time: u32,
        capset: CapSet,
    },
}

pub fn write_found(w: &mut Writer, found: &Found) -> Result<(), Full> {
    match found {
        Found::Failed(status) => w.i16(*status),
        Found::Found {
            type_cap,
            time,
            capset,
        } => {
            w.i16(0)?;
            w.capability(type_cap)?;
            w.u32(*time)?;
            capset.write(w)
        }
    }
}

pub fn decode_setlookup_reply(bytes: &[u8], entries: usize) -> Option<Vec<Found>> {
    let mut r = Reader::new(bytes);
    let mut found = Vec::with_capacity(entries);
    for _ in 0..entries {
        let status = r.i16()?;
        if status != 0 {
            found.push(Found::Failed(status));
            continue;
        }
        let type_cap = r.capability()?;
        let time = r.u32()?;
        let capset = CapSet::read(&mut r)?;
        found.push(Found::Found {
            type_cap,
            time,
            capset,
        });
    }
    Some(found)
}

/// One entry of an INSTALL request: in directory `dir`, make `name` hold `capset`, if it
/// holds `old` now (or nothing, when `old` is null).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Install {
    pub dir: CapSet,
    pub name: String,
    pub capset: CapSet,
    pub old: Capability,
}

pub fn decode_install(bytes: &[u8]) -> Option<Vec<Install>> {
    let mut r = Reader::new(bytes);
    let mut entries = Vec::new();
    loop {
        let dir = CapSet::read(&mut r)?;
        let name = r.string().filter(|n| is_valid_name(n))?.to_string();
        let capset = CapSet::read(&mut r)?;
        let old = r.capability()?;
        entries.push(Install {
            dir,
            name,
            capset,
            old,
        });
        if r.at_end() {
            return Some(entries);
        }
    }
}

pub fn encode_install(entries: &[Install]) -> Result<Vec<u8>, Full> {
    let mut w = Writer::new(BUFFER_BYTES);
    for entry in entries {
        entry.dir.write(&mut w)?;
        w.string(&entry.name)?;
        entry.capset.write(&mut w)?;
        w.capability(&entry.old)?;
    }
    Ok(w.into_bytes())
}

/// A LIST reply: int16 columns, int16 rows, the column names, then from row `first` as many
/// whole rows (name, one int32 mask a column) as fit `limit`. Returns the bytes and the
/// h_extra to send: the first row left out, or [`NO_MORE_ROWS`]. `None` if not even the
/// names of the columns fit.
pub fn encode_list<'r, C: AsRef<str>>(
    columns: &[C],
    total: usize,
    rows: impl Iterator<Item = (&'r str, &'r [u32])>,
    first: usize,
    limit: usize,
) -> Option<(Vec<u8>, u16)> {
    let mut w = Writer::new(limit);
    w.i16(columns.len() as i16).ok()?;
    w.i16(i16::try_from(total).unwrap_or(i16::MAX)).ok()?;
    for column in columns {
        w.string(column.as_ref()).ok()?;
    }
    for (index, (name, masks)) in (first..).zip(rows) {
        let before = w.len();
        let fits = w
            .string(name)
            .and_then(|()| write_masks(&mut w, &masks[..columns.len()]));
        if fits.is_err() {
            w.truncate(before);
            return Some((w.into_bytes(), u16::try_from(index).unwrap_or(NO_MORE_ROWS)));
        }
    }
    Some((w.into_bytes(), NO_MORE_ROWS))
}

/// A LIST reply as the client reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListPage {
    pub columns: Vec<String>,
    /// Rows in the directory.
    pub total: usize,
    /// Names and masks (one a column) of the rows in this reply.
    pub rows: Vec<(String, Vec<u32>)>,
}

pub fn decode_list(bytes: &[u8]) -> Option<ListPage> {
    let mut r = Reader::new(bytes);
    let ncols = usize::try_from(r.i16()?)
        .ok()
        .filter(|n| *n <= MAX_COLUMNS)?;
    let total = usize::try_from(r.i16()?).ok()?;
    let mut columns = Vec::with_capacity(ncols);
    for _ in 0..ncols {
        columns.push(r.string()?.to_string());
    }
    let mut rows = Vec::new();
    while !r.at_end() {
        let name = r.string()?.to_string();
        let masks = (0..ncols).map(|_| r.u32()).collect::<Option<Vec<_>>>()?;
        rows.push((name, masks));
    }
    Some(ListPage {
        columns,
        total,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Port;

    fn cap(n: u8) -> Capability {
        Capability::new(Port([n; 6]), u32::from(n), 0xFF, [n; 6]).unwrap()
    }

    #[test]
    fn append_chmod_replace_round_trip() {
        let set = CapSet::singleton(cap(1));
        let bytes = encode_append("f", &set, &[0xFF, 2]).unwrap();
        assert_eq!(
            decode_append(&bytes),
            Some(("f", set.clone(), [0xFF, 2, 0, 0]))
        );
        let bytes = encode_chmod("f", &[1, 2, 3, 4]).unwrap();
        assert_eq!(decode_chmod(&bytes), Some(("f", [1, 2, 3, 4])));
        assert_eq!(decode_chmod(&encode_chmod("f", &[]).unwrap()), None);
        assert_eq!(
            decode_chmod(&encode_chmod("f", &[1, 2, 3, 4, 5]).unwrap()),
            None
        );
        let bytes = encode_replace("g", &set).unwrap();
        assert_eq!(decode_replace(&bytes), Some(("g", set)));
        assert_eq!(decode_append(b"bad name\0"), None);
    }

    #[test]
    fn a_list_stops_at_the_first_row_that_does_not_fit() {
        let names = ["alpha", "beta", "gamma"];
        let masks = [[1u32, 2, 3, 0]; 3];
        let rows = || names.iter().copied().zip(masks.iter().map(|m| &m[..]));
        let columns = ["owner", "group", "other"];
        let (all, next) = encode_list(&columns, 3, rows(), 0, 8192).unwrap();
        assert_eq!(next, NO_MORE_ROWS);
        let page = decode_list(&all).unwrap();
        assert_eq!(page.total, 3);
        assert_eq!(page.columns, columns);
        assert_eq!(page.rows[2], ("gamma".to_string(), alloc::vec![1, 2, 3]));
        // Header (4 + 20 bytes of names) and one row (6 + 12) fit 45 bytes, not two.
        let (part, next) = encode_list(&columns, 3, rows(), 0, 45).unwrap();
        assert_eq!(next, 1);
        assert_eq!(decode_list(&part).unwrap().rows.len(), 1);
        let (rest, next) = encode_list(&columns, 3, rows().skip(1), 1, 8192).unwrap();
        assert_eq!(next, NO_MORE_ROWS);
        assert_eq!(decode_list(&rest).unwrap().rows[0].0, "beta");
        assert_eq!(encode_list(&columns, 3, rows(), 0, 10), None);
    }

    #[test]
    fn setlookup_and_install_round_trip() {
        let set = CapSet::singleton(cap(2));
        let bytes = encode_setlookup(&[(set.clone(), "a"), (set.clone(), "b")]).unwrap();
        assert_eq!(decode_setlookup(&bytes).unwrap().len(), 2);
        let mut w = Writer::new(1000);
        let found = [
            Found::Failed(-1008),
            Found::Found {
                type_cap: Capability::NULL,
                time: 5,
                capset: set.clone(),
            },
        ];
        found.iter().for_each(|f| write_found(&mut w, f).unwrap());
        assert_eq!(decode_setlookup_reply(&w.into_bytes(), 2).unwrap(), found);
        let install = Install {
            dir: set.clone(),
            name: "n".into(),
            capset: set,
            old: cap(3),
        };
        let bytes = encode_install(core::slice::from_ref(&install)).unwrap();
        assert_eq!(decode_install(&bytes), Some(alloc::vec![install]));
    }

    #[test]
    fn lookup_reply_round_trips() {
        let set = CapSet::singleton(cap(4));
        let bytes = encode_lookup_reply("bin/hello", &set, 100).unwrap();
        assert_eq!(decode_lookup_reply(&bytes), Some(("bin/hello", set)));
        assert_eq!(decode_path(b"a/b\0"), Some("a/b"));
        assert_eq!(decode_names(b"owner\0other\0").unwrap().len(), 2);
        assert_eq!(decode_name(b"x\0y\0"), None);
    }
}
