//! LIST and LOOKUP for a directory a server computes from its own state rather than keeps
//! (the process server's `ps`, a row a process): the same formats as every SOAP directory
//! ([`super::wire`]), with the default columns and every right in every mask, since the
//! capability a row hands out carries the rights itself.

use alloc::vec::Vec;

use super::capset::CapSet;
use super::directory::{DEFAULT_COLUMNS, MAX_COLUMNS};
use super::wire::{self, BUFFER_BYTES};
use crate::capability::{ALL_RIGHTS, Capability};
use crate::rpc::codes::ErrorCode;
use crate::rpc::server::{Reply, Request};
use crate::servers::standard::{reply_limit, whole_data};

/// Answers SP_LIST with `names`, from the row in h_extra.
pub fn answer_list<N: AsRef<str>>(
    names: &[N],
    request: &Request<'_>,
    reply: &mut Reply<'_>,
) -> Result<(), ErrorCode> {
    let masks = [u32::from(ALL_RIGHTS); MAX_COLUMNS];
    let first = usize::from(request.header.extra);
    let rows: Vec<(&str, &[u32])> = names
        .iter()
        .skip(first)
        .map(|name| (name.as_ref(), &masks[..]))
        .collect();
    let limit = reply_limit(request, reply).min(BUFFER_BYTES);
    let (bytes, next) = wire::encode_list(
        &DEFAULT_COLUMNS,
        names.len(),
        rows.into_iter(),
        first,
        limit,
    )
    .ok_or(ErrorCode::STD_OVERFLOW)?;
    reply.push(&bytes)?;
    reply.header.extra = next;
    reply.header.size = bytes.len() as u16;
    Ok(())
}

/// Answers SP_LOOKUP: the path's first name as `find` maps it, and the rest of the path for
/// the server of what it maps to.
pub fn answer_lookup(
    request: &Request<'_>,
    reply: &mut Reply<'_>,
    find: impl FnOnce(&str) -> Option<Capability>,
) -> Result<(), ErrorCode> {
    let path = wire::decode_path(whole_data(request)?).ok_or(ErrorCode::STD_ARGBAD)?;
    let path = path.trim_start_matches('/');
    let (name, rest) = path.split_once('/').unwrap_or((path, ""));
    let cap = find(name).ok_or(ErrorCode::STD_NOTFOUND)?;
    let limit = reply_limit(request, reply).min(BUFFER_BYTES);
    let bytes = wire::encode_lookup_reply(rest, &CapSet::singleton(cap), limit)
        .map_err(|_| ErrorCode::STD_OVERFLOW)?;
    reply.push(&bytes)?;
    reply.header.size = bytes.len() as u16;
    Ok(())
}
