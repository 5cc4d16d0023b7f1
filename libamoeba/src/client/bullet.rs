//! Bullet file server stubs (formats in `bullet/server.rs`); reading and sizing a file are
//! [`super::bs_read`] and the process server's BS_SIZE, which segments answer too.

use super::transact_bare;
use crate::bullet::server::{BS_CREATE, COMMIT};
use crate::capability::Capability;
use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;
use crate::rpc::transport::Rpc;

/// Most bytes one BS_CREATE carries (5.3's chunk).
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
