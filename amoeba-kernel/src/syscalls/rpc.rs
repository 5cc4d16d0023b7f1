//! The RPC system calls: copy headers and data between the caller's memory and kernel messages,
//! and run the same `ipc` operations kernel threads call.
//!
//! Buffers the reply or request will land in are checked before the call blocks, so a bad
//! buffer is refused before a server executes anything; they are checked again when the
//! message arrives, because another thread of the process may have freed them meanwhile (the
//! message is then lost, and the caller gets RPC_BADADDRESS).

use crate::ipc;
use crate::sched;
use alloc::vec::Vec;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::header::{HEADER_LEN, Header};
use libamoeba::rpc::switchboard::Message;
use libamoeba::rpc::transport::MAX_MESSAGE_BYTES;
use libamoeba::syscall::{Call, encode_rpc};

pub fn is_rpc(call: Call) -> bool {
    matches!(
        call,
        Call::Trans | Call::GetReq | Call::PutRep | Call::RpcTimeout
    )
}

/// Runs an RPC call; the result is in the RPC encoding (`libamoeba::syscall::decode_rpc`).
pub fn dispatch(call: Call, args: [u64; 6]) -> u64 {
    let [a0, a1, a2, a3, a4, a5] = args;
    encode_rpc(match call {
        Call::Trans => trans(a0, a1, a2, a3, a4, a5),
        Call::GetReq => getreq(a0, a1, a2),
        Call::PutRep => putrep(a0, a1, a2).map(|()| 0),
        Call::RpcTimeout => Ok(ipc::set_locate_timeout(a0)),
        _ => Err(ErrorCode::RPC_FAILURE),
    })
}

fn trans(
    request_header: u64,
    request_data: u64,
    request_len: u64,
    reply_header: u64,
    reply_data: u64,
    reply_capacity: u64,
) -> Result<u64, ErrorCode> {
    let request = read_message(request_header, request_data, request_len)?;
    check_writable(reply_header, HEADER_LEN as u64)?;
    check_writable(reply_data, reply_capacity)?;
    let reply = ipc::trans(request)?;
    write_message(&reply, reply_header, reply_data, reply_capacity)?;
    Ok(reply.data.len() as u64)
}

fn getreq(header: u64, buffer: u64, capacity: u64) -> Result<u64, ErrorCode> {
    let get_port = read_header(header)?.port;
    check_writable(header, HEADER_LEN as u64)?;
    check_writable(buffer, capacity)?;
    let request = ipc::getreq(get_port)?;
    write_message(&request, header, buffer, capacity)?;
    Ok(request.data.len() as u64)
}

fn putrep(header: u64, data: u64, len: u64) -> Result<(), ErrorCode> {
    ipc::putrep(read_message(header, data, len)?)
}

fn read_header(address: u64) -> Result<Header, ErrorCode> {
    let bytes = read_user(address, HEADER_LEN as u64)?;
    Header::from_bytes(&bytes).map_err(|_| ErrorCode::RPC_BADADDRESS)
}

fn read_message(header: u64, data: u64, len: u64) -> Result<Message, ErrorCode> {
    if len > MAX_MESSAGE_BYTES as u64 {
        return Err(ErrorCode::RPC_BADADDRESS);
    }
    Ok(Message {
        header: read_header(header)?,
        data: read_user(data, len)?,
    })
}

/// A kernel copy of user memory (empty for length 0, whatever the address).
fn read_user(address: u64, len: u64) -> Result<Vec<u8>, ErrorCode> {
    if len == 0 {
        return Ok(Vec::new());
    }
    sched::with_address_space(|space| {
        let bytes = space
            .and_then(|s| s.user_bytes(address, len))
            .ok_or(ErrorCode::RPC_BADADDRESS)?;
        ipc::copy_data(bytes)
    })
}

fn check_writable(address: u64, len: u64) -> Result<(), ErrorCode> {
    if len == 0 {
        return Ok(());
    }
    let ok =
        sched::with_address_space(|space| space.is_some_and(|s| s.contains(address, len, true)));
    ok.then_some(()).ok_or(ErrorCode::RPC_BADADDRESS)
}

/// Writes `message`'s header and as much of its data as `capacity` allows.
fn write_message(
    message: &Message,
    header: u64,
    buffer: u64,
    capacity: u64,
) -> Result<(), ErrorCode> {
    let kept = message.data.len().min(capacity as usize);
    write_user(header, &message.header.to_bytes())?;
    write_user(buffer, &message.data[..kept])
}

fn write_user(address: u64, bytes: &[u8]) -> Result<(), ErrorCode> {
    if bytes.is_empty() {
        return Ok(());
    }
    sched::with_address_space(|space| {
        let target = space
            .and_then(|s| s.user_bytes_mut(address, bytes.len() as u64))
            .ok_or(ErrorCode::RPC_BADADDRESS)?;
        target.copy_from_slice(bytes);
        Ok(())
    })
}
