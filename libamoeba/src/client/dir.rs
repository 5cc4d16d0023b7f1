//! Directory stubs, 5.3's SOAP stubs (`src/lib/stubs/soap/`): for every directory a node
//! serves (the kernel directory, the process server's `ps`, a file server's SOAP), which all
//! speak the formats of `soap/wire.rs`.
//!
//! Paths: [`sp_lookup`] sends the whole path and follows the reply from server to server
//! (a directory may name one on another node) until nothing is left, at most
//! [`MAX_LOOKUP_STEPS`] times. [`dir_list`] is LIST then a LOOKUP a row, since SOAP's LIST
//! carries names and masks, not capabilities.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::{GARBLED, size_field, transact, transact_bare};
use crate::capability::{ALL_RIGHTS, Capability};
use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;
use crate::rpc::transport::Rpc;
use crate::soap::capset::CapSet;
use crate::soap::directory::{MAX_COLUMNS, is_valid_name};
use crate::soap::server::{
    SP_APPEND, SP_CHMOD, SP_CREATE, SP_DELETE, SP_DISCARD, SP_GETMASKS, SP_INSTALL, SP_LIST,
    SP_LOOKUP, SP_REPLACE, SP_SETLOOKUP,
};
use crate::soap::wire::{self, BUFFER_BYTES, Found, Install, NO_MORE_ROWS};

/// Servers a lookup may pass through (5.3's MAX_STEPS, plus the first).
pub const MAX_LOOKUP_STEPS: usize = 11;

/// A directory's columns and rows (names and one mask a column), as LIST gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub columns: Vec<String>,
    pub rows: Vec<(String, Vec<u32>)>,
}

fn first_cap(capset: &CapSet) -> Result<Capability, ErrorCode> {
    capset.first().ok_or(ErrorCode::SP_UNREACH)
}

fn valid_name(name: &str) -> Result<&str, ErrorCode> {
    if is_valid_name(name) {
        Ok(name)
    } else {
        Err(ErrorCode::STD_ARGBAD)
    }
}

/// The capability set `path` names from `dir`, followed across servers.
pub fn sp_lookup(rpc: &impl Rpc, dir: &Capability, path: &str) -> Result<CapSet, ErrorCode> {
    let mut at = CapSet::singleton(*dir);
    let mut rest = String::from(path);
    let mut reply = vec![0; BUFFER_BYTES];
    for _ in 0..MAX_LOOKUP_STEPS {
        if rest.trim_start_matches('/').is_empty() {
            return Ok(at);
        }
        let request = wire::encode_name(&rest);
        let header = Header::request(&first_cap(&at)?, SP_LOOKUP);
        let answer = transact(rpc, &header, &request, &mut reply)?;
        let (left, capset) = wire::decode_lookup_reply(answer.data).ok_or(GARBLED)?;
        // A server owes progress: the same path back would send the client round for ever.
        if left.len() >= rest.len() && !left.is_empty() {
            return Err(GARBLED);
        }
        rest = String::from(left);
        at = capset;
    }
    Err(ErrorCode::STD_OVERFLOW)
}

/// The capability `path` (one name or several, `/`-separated) names from `dir`.
pub fn dir_lookup(rpc: &impl Rpc, dir: &Capability, path: &str) -> Result<Capability, ErrorCode> {
    if !path.split('/').filter(|c| !c.is_empty()).all(is_valid_name) || path.is_empty() {
        return Err(ErrorCode::STD_ARGBAD);
    }
    first_cap(&sp_lookup(rpc, dir, path)?)
}

/// The directory holding the last name of `path` from `dir`, and that name.
pub fn sp_traverse<'p>(
    rpc: &impl Rpc,
    dir: &Capability,
    path: &'p str,
) -> Result<(Capability, &'p str), ErrorCode> {
    let path = path.trim_end_matches('/');
    let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
    let name = valid_name(name)?;
    if parent.trim_start_matches('/').is_empty() {
        return Ok((*dir, name));
    }
    Ok((dir_lookup(rpc, dir, parent)?, name))
}

/// Every row's name and masks (LIST, as many requests as the rows need).
pub fn sp_list(rpc: &impl Rpc, dir: &Capability) -> Result<Listing, ErrorCode> {
    let mut page = vec![0; BUFFER_BYTES];
    let mut listing = Listing {
        columns: Vec::new(),
        rows: Vec::new(),
    };
    let mut first: u16 = 0;
    loop {
        let request = Header {
            extra: first,
            size: size_field(page.len()),
            ..Header::request(dir, SP_LIST)
        };
        let answer = transact(rpc, &request, &[], &mut page)?;
        let listed = wire::decode_list(answer.data).ok_or(GARBLED)?;
        let next = answer.header.extra;
        let added = listed.rows.len();
        listing.columns = listed.columns;
        listing.rows.extend(listed.rows);
        if next == NO_MORE_ROWS || listing.rows.len() >= listed.total {
            return Ok(listing);
        }
        // The server owes a row a request, or it would send the client round for ever.
        if added == 0 || next <= first {
            return Err(GARBLED);
        }
        first = next;
    }
}

/// Every row's name and capability: LIST, then a LOOKUP a row; a row deleted in between is
/// left out.
pub fn dir_list(rpc: &impl Rpc, dir: &Capability) -> Result<Vec<(String, Capability)>, ErrorCode> {
    let mut rows = Vec::new();
    for (name, _) in sp_list(rpc, dir)?.rows {
        match dir_lookup(rpc, dir, &name) {
            Ok(cap) => rows.push((name, cap)),
            Err(ErrorCode::STD_NOTFOUND) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(rows)
}

/// Adds `name` → `capset` to `dir` with one mask a column (1 to 4).
pub fn sp_append(
    rpc: &impl Rpc,
    dir: &Capability,
    name: &str,
    capset: &CapSet,
    masks: &[u32],
) -> Result<(), ErrorCode> {
    if !(1..=MAX_COLUMNS).contains(&masks.len()) {
        return Err(ErrorCode::STD_ARGBAD);
    }
    let request =
        wire::encode_append(valid_name(name)?, capset, masks).map_err(|_| ErrorCode::STD_ARGBAD)?;
    transact_bare(rpc, &Header::request(dir, SP_APPEND), &request).map(drop)
}

/// Adds `name` → `cap` to `dir`, every right in every column (needs MODIFY).
pub fn dir_append(
    rpc: &impl Rpc,
    dir: &Capability,
    name: &str,
    cap: &Capability,
) -> Result<(), ErrorCode> {
    let all = [u32::from(ALL_RIGHTS); MAX_COLUMNS];
    sp_append(rpc, dir, name, &CapSet::singleton(*cap), &all)
}

/// Removes `name` from `dir` (needs MODIFY).
pub fn dir_delete(rpc: &impl Rpc, dir: &Capability, name: &str) -> Result<(), ErrorCode> {
    let request = wire::encode_name(valid_name(name)?);
    transact_bare(rpc, &Header::request(dir, SP_DELETE), &request).map(drop)
}

/// A new directory with these columns on the server of `server` (any of its directories).
pub fn sp_create<S: AsRef<str>>(
    rpc: &impl Rpc,
    server: &Capability,
    columns: &[S],
) -> Result<Capability, ErrorCode> {
    let request = wire::encode_names(columns).map_err(|_| ErrorCode::STD_ARGBAD)?;
    let answer = transact_bare(rpc, &Header::request(server, SP_CREATE), &request)?;
    Ok(answer.capability())
}

/// Discards the empty directory `dir` (needs DELETE).
pub fn sp_discard(rpc: &impl Rpc, dir: &Capability) -> Result<(), ErrorCode> {
    transact_bare(rpc, &Header::request(dir, SP_DISCARD), &[]).map(drop)
}

/// Sets `name`'s masks (needs MODIFY).
pub fn sp_chmod(
    rpc: &impl Rpc,
    dir: &Capability,
    name: &str,
    masks: &[u32],
) -> Result<(), ErrorCode> {
    let request =
        wire::encode_chmod(valid_name(name)?, masks).map_err(|_| ErrorCode::STD_ARGBAD)?;
    transact_bare(rpc, &Header::request(dir, SP_CHMOD), &request).map(drop)
}

/// Makes `name` hold `capset` (needs MODIFY).
pub fn sp_replace(
    rpc: &impl Rpc,
    dir: &Capability,
    name: &str,
    capset: &CapSet,
) -> Result<(), ErrorCode> {
    let request =
        wire::encode_replace(valid_name(name)?, capset).map_err(|_| ErrorCode::STD_ARGBAD)?;
    transact_bare(rpc, &Header::request(dir, SP_REPLACE), &request).map(drop)
}

/// `name`'s masks, one a column.
pub fn sp_getmasks(rpc: &impl Rpc, dir: &Capability, name: &str) -> Result<Vec<u32>, ErrorCode> {
    let mut reply = [0; 4 * MAX_COLUMNS];
    let request = wire::encode_name(valid_name(name)?);
    let answer = transact(
        rpc,
        &Header::request(dir, SP_GETMASKS),
        &request,
        &mut reply,
    )?;
    if answer.data.len() % 4 != 0 || answer.truncated {
        return Err(GARBLED);
    }
    Ok(answer
        .data
        .chunks_exact(4)
        .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]))
        .collect())
}

/// Several lookups of one name each, in one request to the server of `at`.
pub fn sp_setlookup(
    rpc: &impl Rpc,
    at: &Capability,
    entries: &[(CapSet, &str)],
) -> Result<Vec<Found>, ErrorCode> {
    let request = wire::encode_setlookup(entries).map_err(|_| ErrorCode::STD_ARGBAD)?;
    let mut reply = vec![0; BUFFER_BYTES];
    let answer = transact(
        rpc,
        &Header::request(at, SP_SETLOOKUP),
        &request,
        &mut reply,
    )?;
    wire::decode_setlookup_reply(answer.data, entries.len()).ok_or(GARBLED)
}

/// Replaces several entries of the server of `at` together, each only if it holds its `old`.
pub fn sp_install(rpc: &impl Rpc, at: &Capability, entries: &[Install]) -> Result<(), ErrorCode> {
    let request = wire::encode_install(entries).map_err(|_| ErrorCode::STD_ARGBAD)?;
    transact_bare(rpc, &Header::request(at, SP_INSTALL), &request).map(drop)
}
