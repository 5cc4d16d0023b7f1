//! Bullet file server stubs (formats in `bullet/server.rs`); reading a file is
//! [`super::bs_read`], which a process server's segments answer too, as they answer
//! [`bs_size`].

use super::transact_bare;
use crate::bullet::server::{BS_CREATE, BS_MODIFY, BS_SIZE, COMMIT};
use crate::capability::Capability;
use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;
use crate::rpc::transport::Rpc;

/// Most bytes one BS_CREATE or BS_MODIFY carries (5.3's chunk).
pub const CREATE_CHUNK: usize = 29768;

/// A new file of `data` (at most [`CREATE_CHUNK`] bytes) on the Bullet server `bullet`,
/// committed if `commit`; its capability.
pub fn bs_create(
    rpc: &impl Rpc,
    bullet: &Capability,
    data: &[u8],
    commit: bool,
) -> Result<Capability, ErrorCode> {
    if data.len() > CREATE_CHUNK {
        return Err(ErrorCode::STD_ARGBAD);
    }
    let request = Header {
        extra: if commit { COMMIT } else { 0 },
        ..Header::request(bullet, BS_CREATE)
    };
    Ok(transact_bare(rpc, &request, data)?.capability())
}

/// Writes `data` (at most [`CREATE_CHUNK`] bytes) at `offset` of the uncommitted file `file`,
/// committing it if `commit`; the file's capability (a committed file gets a modified copy
/// under a new one).
pub fn bs_modify(
    rpc: &impl Rpc,
    file: &Capability,
    offset: u64,
    data: &[u8],
    commit: bool,
) -> Result<Capability, ErrorCode> {
    if data.len() > CREATE_CHUNK {
        return Err(ErrorCode::STD_ARGBAD);
    }
    let request = Header {
        offset: i32::try_from(offset).map_err(|_| ErrorCode::STD_ARGBAD)?,
        extra: if commit { COMMIT } else { 0 },
        ..Header::request(file, BS_MODIFY)
    };
    Ok(transact_bare(rpc, &request, data)?.capability())
}

/// The size of file `file` in bytes.
pub fn bs_size(rpc: &impl Rpc, file: &Capability) -> Result<u64, ErrorCode> {
    let answer = transact_bare(rpc, &Header::request(file, BS_SIZE), &[])?;
    u64::try_from(answer.offset).map_err(|_| super::GARBLED)
}

/// A new committed file of `data` on `bullet`, sent in chunks (BS_CREATE, then BS_MODIFY,
/// the commit with the last); `progress` hears the bytes sent so far. A failure destroys
/// the uncommitted file rather than leave it to expire.
pub fn write_file(
    rpc: &impl Rpc,
    bullet: &Capability,
    data: &[u8],
    progress: &mut dyn FnMut(u64),
) -> Result<Capability, ErrorCode> {
    let mut chunks = data.chunks(CREATE_CHUNK).peekable();
    let first = chunks.next().unwrap_or(&[]);
    let mut file = bs_create(rpc, bullet, first, chunks.peek().is_none())?;
    let mut sent = first.len() as u64;
    progress(sent);
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        match bs_modify(rpc, &file, sent, chunk, last) {
            Ok(cap) => file = cap,
            Err(error) => {
                let _ = super::std_destroy(rpc, &file);
                return Err(error);
            }
        }
        sent += chunk.len() as u64;
        progress(sent);
    }
    Ok(file)
}
