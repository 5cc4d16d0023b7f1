//! RPC for kernel threads: the [`Rpc`] interface as direct calls, so a server written against it
//! runs as a kernel thread exactly as it runs in a process.

use super::{copy_data, getreq, getreq_within, putrep, putrep_error, trans};
use libamoeba::client::migration::Mover;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::header::Header;
use libamoeba::rpc::switchboard::Message;
use libamoeba::rpc::transport::{Received, Rpc};

/// The kernel's side of RPC (a unit value: the scheduler knows the calling thread).
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelRpc;

impl Rpc for KernelRpc {
    fn trans(
        &self,
        request: &Header,
        request_data: &[u8],
        reply: &mut Header,
        reply_data: &mut [u8],
    ) -> Result<Received, ErrorCode> {
        let message = Message {
            header: *request,
            data: copy_data(request_data)?,
        };
        let answer = trans(message)?;
        *reply = answer.header;
        Ok(copy_out(&answer.data, reply_data))
    }

    fn getreq(&self, header: &mut Header, buffer: &mut [u8]) -> Result<Received, ErrorCode> {
        let request = getreq(header.port)?;
        *header = request.header;
        Ok(copy_out(&request.data, buffer))
    }

    fn putrep(&self, header: &Header, data: &[u8]) -> Result<(), ErrorCode> {
        match copy_data(data) {
            Ok(data) => putrep(Message {
                header: *header,
                data,
            }),
            Err(error) => {
                putrep_error(error);
                Err(error)
            }
        }
    }
}

impl Mover for KernelRpc {
    fn getreq_within(
        &self,
        header: &mut Header,
        buffer: &mut [u8],
        millis: u64,
    ) -> Result<Received, ErrorCode> {
        let request = getreq_within(header.port, Some(millis))?;
        *header = request.header;
        Ok(copy_out(&request.data, buffer))
    }
}

/// Copies what fits of `data` into `buffer`.
fn copy_out(data: &[u8], buffer: &mut [u8]) -> Received {
    let received = Received::of(data.len(), buffer.len());
    buffer[..received.len].copy_from_slice(&data[..received.len]);
    received
}
