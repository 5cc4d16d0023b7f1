//! Run server stubs (formats in `servers/run/server.rs`).

use alloc::string::String;

use super::{GARBLED, transact, transact_bare};
use crate::capability::Capability;
use crate::process::ProcessDescriptor;
use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;
use crate::rpc::transport::Rpc;
use crate::servers::run::{RUN_BALANCE, RUN_MULTI_FINDHOST};

/// Longest host name a reply carries.
const MAX_HOST_NAME: usize = 64;

/// The pool processor the run server chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChosenHost {
    /// Its process server, with the right to exec.
    pub exec: Capability,
    pub name: String,
}

/// Asks the run server `run` where to run a process of `descriptor`.
pub fn run_findhost(
    rpc: &impl Rpc,
    run: &Capability,
    descriptor: &ProcessDescriptor,
) -> Result<ChosenHost, ErrorCode> {
    let request = Header {
        extra: 1,
        ..Header::request(run, RUN_MULTI_FINDHOST)
    };
    let mut name = [0u8; MAX_HOST_NAME];
    let answer = transact(rpc, &request, &descriptor.encode(), &mut name)?;
    if answer.truncated || answer.header.offset != 0 {
        return Err(GARBLED);
    }
    let name = core::str::from_utf8(answer.data).map_err(|_| GARBLED)?;
    Ok(ChosenHost {
        exec: answer.header.capability(),
        name: String::from(name),
    })
}

/// Hands `process` (a capability with KILL) to the run server `run` to balance.
pub fn run_balance(
    rpc: &impl Rpc,
    run: &Capability,
    process: &Capability,
) -> Result<(), ErrorCode> {
    let request = Header::request(run, RUN_BALANCE);
    transact_bare(rpc, &request, &process.to_bytes()).map(drop)
}
