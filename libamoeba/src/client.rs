//! Client stubs for the node's servers ([`crate::servers`]): one function a request, over any
//! [`Rpc`], so a kernel thread and a user process call a server the same way.
//!
//! Every stub returns `Result<_, ErrorCode>`: a transport error as the transport gave it, a
//! reply with a negative status as that status. Reply data is decoded defensively: a reply
//! that is cut short, too long, or does not follow the server's format (see each server's
//! module for its wire format) is [`GARBLED`], never a panic. Arguments the server would
//! refuse anyway (a directory name breaking the rules) are refused here with STD_ARGBAD,
//! before any request is sent.

mod bullet;
mod dir;
mod echo;
pub mod migration;
pub mod node_check;
mod proc;
mod random;
mod run;
mod standard;
mod sys;
mod tod;
mod tty;
mod vdisk;

#[cfg(test)]
mod scripted;

pub use bullet::{CREATE_CHUNK, bs_create, bs_delete, bs_insert, bs_modify, bs_size};
pub use bullet::{bs_fsck, bs_sync, read_file, read_into, write_file};
pub use dir::{Listing, MAX_LOOKUP_STEPS, dir_append, dir_delete, dir_list, dir_lookup};
pub use dir::{sp_append, sp_chmod, sp_create, sp_discard, sp_getmasks, sp_install, sp_list};
pub use dir::{sp_lookup, sp_replace, sp_setlookup, sp_traverse};
pub use echo::echo;
pub use proc::{
    bs_read, ps_exec, ps_getcomment, ps_getload, ps_getowner, ps_seg_create, ps_seg_write,
    ps_setcomment, ps_setowner, ps_stun,
};
pub use random::getrandom;
pub use run::{ChosenHost, run_balance, run_findhost};
pub use standard::{std_destroy, std_info, std_restrict};
pub use sys::{KSTAT_REPLY_BYTES, boot, kstat, printbuf};
pub use tod::gettime;
pub use tty::{tty_read, tty_write};
pub use vdisk::{ds_flush, ds_getgeometry, ds_info, ds_read, ds_size, ds_write};

use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;
use crate::rpc::transport::Rpc;

/// The error of a reply a stub cannot make sense of: the server broke its protocol.
pub const GARBLED: ErrorCode = ErrorCode::STD_SYSERR;

/// A reply with STD_OK: its header, its data (what fit `reply_data`) and whether the server
/// sent more than that.
struct Answer<'b> {
    header: Header,
    data: &'b [u8],
    truncated: bool,
}

/// One transaction; a negative reply status is the error.
fn transact<'b>(
    rpc: &impl Rpc,
    request: &Header,
    request_data: &[u8],
    reply_data: &'b mut [u8],
) -> Result<Answer<'b>, ErrorCode> {
    let mut header = Header::default();
    let received = rpc.trans(request, request_data, &mut header, reply_data)?;
    if let Some(error) = header.error() {
        return Err(error);
    }
    // A transport claiming more bytes than the buffer holds is as broken as a server.
    let data = reply_data.get(..received.len).ok_or(GARBLED)?;
    let truncated = received.truncated();
    Ok(Answer {
        header,
        data,
        truncated,
    })
}

/// A transaction whose reply carries no data: its header.
fn transact_bare(
    rpc: &impl Rpc,
    request: &Header,
    request_data: &[u8],
) -> Result<Header, ErrorCode> {
    let answer = transact(rpc, request, request_data, &mut [])?;
    if answer.truncated {
        return Err(GARBLED);
    }
    Ok(answer.header)
}

/// A length as h_size, saturating (the most a request can ask for in 16 bits).
fn size_field(len: usize) -> u16 {
    u16::try_from(len).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests;
