//! Amoeba RPC from a process: the [`Rpc`] calls as system calls, so the clients and servers of
//! [`libamoeba::rpc`] run here unchanged.

use super::raw::syscall6_raw;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::header::{HEADER_LEN, Header};
use libamoeba::rpc::transport::{Received, Rpc};
use libamoeba::syscall::{Call, decode_rpc};

/// The process's side of RPC (a unit value: the kernel knows the calling thread).
#[derive(Clone, Copy, Debug, Default)]
pub struct UserRpc;

impl Rpc for UserRpc {
    fn trans(
        &self,
        request: &Header,
        request_data: &[u8],
        reply: &mut Header,
        reply_data: &mut [u8],
    ) -> Result<Received, ErrorCode> {
        let request_bytes = request.to_bytes();
        let mut reply_bytes = [0u8; HEADER_LEN];
        let args = [
            request_bytes.as_ptr() as u64,
            request_data.as_ptr() as u64,
            request_data.len() as u64,
            reply_bytes.as_mut_ptr() as u64,
            reply_data.as_mut_ptr() as u64,
            reply_data.len() as u64,
        ];
        // SAFETY: the kernel reads the request header and data and writes at most HEADER_LEN
        // bytes of reply header and `reply_data.len()` bytes of reply data, all into buffers
        // this function borrows for the whole call.
        let sent = decode_rpc(unsafe { syscall6_raw(Call::Trans, args) })?;
        *reply = Header::from_array(&reply_bytes);
        Ok(Received::of(sent as usize, reply_data.len()))
    }

    fn getreq(&self, header: &mut Header, buffer: &mut [u8]) -> Result<Received, ErrorCode> {
        let mut bytes = header.to_bytes();
        let args = [
            bytes.as_mut_ptr() as u64,
            buffer.as_mut_ptr() as u64,
            buffer.len() as u64,
            0,
            0,
            0,
        ];
        // SAFETY: the kernel reads and rewrites the 32-byte header and writes at most
        // `buffer.len()` bytes into `buffer`, both borrowed for the whole call.
        let sent = decode_rpc(unsafe { syscall6_raw(Call::GetReq, args) })?;
        *header = Header::from_array(&bytes);
        Ok(Received::of(sent as usize, buffer.len()))
    }

    fn putrep(&self, header: &Header, data: &[u8]) -> Result<(), ErrorCode> {
        let bytes = header.to_bytes();
        let args = [
            bytes.as_ptr() as u64,
            data.as_ptr() as u64,
            data.len() as u64,
            0,
            0,
            0,
        ];
        // SAFETY: the kernel only reads the header and data, borrowed for the whole call.
        decode_rpc(unsafe { syscall6_raw(Call::PutRep, args) }).map(|_| ())
    }
}

/// Sets the calling thread's locate timeout (how long a `trans` waits for a server) in
/// milliseconds; returns the previous one.
pub fn set_locate_timeout(millis: u64) -> u64 {
    // SAFETY: RpcTimeout touches no memory of the caller.
    let raw = unsafe { syscall6_raw(Call::RpcTimeout, [millis, 0, 0, 0, 0, 0]) };
    decode_rpc(raw).unwrap_or(0)
}
