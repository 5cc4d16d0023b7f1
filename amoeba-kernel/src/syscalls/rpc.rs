//! The RPC system calls: copy headers and data between the caller's memory and kernel messages,
//! and run the same `ipc` operations kernel threads call.
//!
//! Buffers the reply or request will land in are checked before the call blocks, so a bad
//! buffer is refused before a server executes anything; they are checked again when the
//! message arrives, because another thread of the process may have freed them meanwhile (the
//! message is then lost, and the caller gets RPC_BADADDRESS). A server whose reply cannot be
//! read, or whose request cannot be written, answers its client with an error instead, so no
//! client waits for ever on a server's bad buffer.

use crate::ipc;
use crate::mm::address_space::AddressSpace;
use crate::sched;
use alloc::vec::Vec;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::header::{HEADER_LEN, Header};
use libamoeba::rpc::switchboard::Message;
use libamoeba::rpc::transport::MAX_MESSAGE_BYTES;
use libamoeba::syscall::{Call, encode_rpc};

/// Runs an RPC call; the result is in the RPC encoding (`libamoeba::syscall::decode_rpc`).
pub fn dispatch(call: Call, args: [u64; 6]) -> u64 {
    let [a0, a1, a2, a3, a4, a5] = args;
    encode_rpc(match call {
        Call::Trans => trans(a0, a1, a2, a3, a4, a5),
        Call::GetReq => getreq(a0, a1, a2),
        Call::PutRep => putrep(a0, a1, a2).map(|()| 0),
        // The old timeout must read as a value, not as a negative error code.
        Call::RpcTimeout => Ok(ipc::set_locate_timeout(a0).min(i64::MAX as u64)),
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
    let request = sched::with_address_space(|space| -> Result<Message, ErrorCode> {
        let space = space.ok_or(ErrorCode::RPC_BADADDRESS)?;
        let request = read_message(space, request_header, request_data, request_len)?;
        check_writable(space, reply_header, HEADER_LEN as u64)?;
        check_writable(space, reply_data, reply_capacity)?;
        Ok(request)
    })?;
    let reply = ipc::trans(request)?;
    write_message(&reply, reply_header, reply_data, reply_capacity)?;
    Ok(reply.data.len() as u64)
}

fn getreq(header: u64, buffer: u64, capacity: u64) -> Result<u64, ErrorCode> {
    let get_port = sched::with_address_space(|space| -> Result<_, ErrorCode> {
        let space = space.ok_or(ErrorCode::RPC_BADADDRESS)?;
        let get_port = read_header(space, header)?.port;
        check_writable(space, header, HEADER_LEN as u64)?;
        check_writable(space, buffer, capacity)?;
        Ok(get_port)
    })?;
    let request = ipc::getreq(get_port)?;
    if let Err(error) = write_message(&request, header, buffer, capacity) {
        // Another thread freed the buffers meanwhile: the client must not wait for ever.
        ipc::putrep_error(ErrorCode::RPC_FAILURE);
        return Err(error);
    }
    Ok(request.data.len() as u64)
}

fn putrep(header: u64, data: u64, len: u64) -> Result<(), ErrorCode> {
    let reply = sched::with_address_space(|space| {
        read_message(space.ok_or(ErrorCode::RPC_BADADDRESS)?, header, data, len)
    });
    match reply {
        Ok(reply) => ipc::putrep(reply),
        Err(error) => {
            // The reply is unusable; its client still gets an answer: the error.
            ipc::putrep_error(error);
            Err(error)
        }
    }
}

fn read_header(space: &AddressSpace, address: u64) -> Result<Header, ErrorCode> {
    let bytes = space
        .user_bytes(address, HEADER_LEN as u64)
        .ok_or(ErrorCode::RPC_BADADDRESS)?;
    Header::from_bytes(bytes).map_err(|_| ErrorCode::RPC_BADADDRESS)
}

fn read_message(
    space: &AddressSpace,
    header: u64,
    data: u64,
    len: u64,
) -> Result<Message, ErrorCode> {
    if len > MAX_MESSAGE_BYTES as u64 {
        return Err(ErrorCode::RPC_BADADDRESS);
    }
    let data = match len {
        0 => Vec::new(),
        _ => ipc::copy_data(
            space
                .user_bytes(data, len)
                .ok_or(ErrorCode::RPC_BADADDRESS)?,
        )?,
    };
    Ok(Message {
        header: read_header(space, header)?,
        data,
    })
}

/// Whether the caller may write `[address, address + len)` (an empty range always).
fn check_writable(space: &AddressSpace, address: u64, len: u64) -> Result<(), ErrorCode> {
    let ok = len == 0 || space.contains(address, len, true);
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
    sched::with_address_space(|space| {
        let space = space.ok_or(ErrorCode::RPC_BADADDRESS)?;
        write_user(space, header, &message.header.to_bytes())?;
        write_user(space, buffer, &message.data[..kept])
    })
}

fn write_user(space: &mut AddressSpace, address: u64, bytes: &[u8]) -> Result<(), ErrorCode> {
    if bytes.is_empty() {
        return Ok(());
    }
    let target = space
        .user_bytes_mut(address, bytes.len() as u64)
        .ok_or(ErrorCode::RPC_BADADDRESS)?;
    target.copy_from_slice(bytes);
    Ok(())
}
