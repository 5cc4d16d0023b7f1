//! A server written once: a [`Server`] answers one request at a time, and [`serve`] runs it on
//! any [`Rpc`] (a kernel thread's direct calls or a process's system calls).
//!
//! The handler sees the request's header and data and fills a [`Reply`]; returning an error puts
//! that code in the reply's status and sends no data, as Amoeba servers do.

use alloc::vec;

use super::codes::ErrorCode;
use super::header::Header;
use super::transport::{MAX_MESSAGE_BYTES, Rpc};
use crate::capability::Port;

/// A request as the handler sees it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub header: Header,
    /// The data that fit the server's buffer.
    pub data: &'a [u8],
    /// The client sent more than the buffer held.
    pub truncated: bool,
}

/// The reply being built: header fields and data up to the buffer's size.
#[derive(Debug)]
pub struct Reply<'a> {
    pub header: Header,
    buffer: &'a mut [u8],
    len: usize,
}

impl<'a> Reply<'a> {
    /// An empty reply (status STD_OK, every field zero) that can carry up to `buffer.len()`
    /// bytes.
    pub fn new(buffer: &'a mut [u8]) -> Self {
        Self {
            header: Header::default(),
            buffer,
            len: 0,
        }
    }

    /// Appends `bytes`; STD_OVERFLOW (and nothing appended) if they do not fit.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), ErrorCode> {
        let end = self
            .len
            .checked_add(bytes.len())
            .filter(|&end| end <= self.buffer.len())
            .ok_or(ErrorCode::STD_OVERFLOW)?;
        self.buffer[self.len..end].copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// Appends as much of `bytes` as fits; returns how much that was.
    pub fn push_truncated(&mut self, bytes: &[u8]) -> usize {
        let room = self.buffer.len() - self.len;
        let taken = bytes.len().min(room);
        self.buffer[self.len..self.len + taken].copy_from_slice(&bytes[..taken]);
        self.len += taken;
        taken
    }

    /// The data so far.
    pub fn data(&self) -> &[u8] {
        &self.buffer[..self.len]
    }

    /// Drops the data (an error reply carries none).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Bytes that can still be appended.
    pub fn room(&self) -> usize {
        self.buffer.len() - self.len
    }
}

/// An object server's logic: one request in, one reply out.
pub trait Server {
    /// Answers `request`. `Ok` sends `reply` with status STD_OK; `Err(code)` sends status
    /// `code` with the header fields set so far and no data.
    fn handle(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode>;
}

/// Runs `handle` on `request`, turning its result into the reply's status.
pub fn answer(
    server: &mut impl Server,
    request: &Request<'_>,
    reply: &mut Reply<'_>,
) -> Result<(), ErrorCode> {
    let result = server.handle(request, reply);
    if result.is_err() {
        reply.clear();
    }
    reply.header.set_status(result);
    result
}

/// Serves requests on `get_port` for ever, or until a getreq fails (which only a broken server
/// thread or kernel produces). Buffers of
/// `buffer_bytes` (at most [`MAX_MESSAGE_BYTES`]) for requests and replies come from the heap.
pub fn serve(
    rpc: &impl Rpc,
    get_port: Port,
    server: &mut impl Server,
    buffer_bytes: usize,
) -> ErrorCode {
    let size = buffer_bytes.min(MAX_MESSAGE_BYTES);
    let mut request_buffer = vec![0; size];
    let mut reply_buffer = vec![0; size];
    loop {
        if let Err(code) = serve_one(
            rpc,
            get_port,
            server,
            &mut request_buffer,
            &mut reply_buffer,
        ) {
            return code;
        }
    }
}

/// One getreq / handle / putrep round on `get_port`. Errors are getreq's only: a handler's
/// error goes to the client in the reply, and a reply the transport cannot deliver (no memory
/// for it) is answered by the transport with that error, so the server goes on.
pub fn serve_one(
    rpc: &impl Rpc,
    get_port: Port,
    server: &mut impl Server,
    request_buffer: &mut [u8],
    reply_buffer: &mut [u8],
) -> Result<(), ErrorCode> {
    let mut header = Header {
        port: get_port,
        ..Header::default()
    };
    let received = rpc.getreq(&mut header, request_buffer)?;
    let request = Request {
        header,
        data: &request_buffer[..received.len],
        truncated: received.truncated(),
    };
    let mut reply = Reply::new(reply_buffer);
    let _ = answer(server, &request, &mut reply);
    let _ = rpc.putrep(&reply.header, reply.data());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::codes::Command;

    struct Echo;

    impl Server for Echo {
        fn handle(
            &mut self,
            request: &Request<'_>,
            reply: &mut Reply<'_>,
        ) -> Result<(), ErrorCode> {
            reply.header.offset = request.header.offset + 1;
            reply.push(request.data)?;
            if request.header.command() == Command::STD_DESTROY {
                return Err(ErrorCode::STD_DENIED);
            }
            Ok(())
        }
    }

    #[test]
    fn reply_push_refuses_what_does_not_fit() {
        let mut buffer = [0; 4];
        let mut reply = Reply::new(&mut buffer);
        assert_eq!(reply.push(b"abc"), Ok(()));
        assert_eq!(reply.push(b"de"), Err(ErrorCode::STD_OVERFLOW));
        assert_eq!(reply.data(), b"abc");
        assert_eq!(reply.push_truncated(b"defg"), 1);
        assert_eq!((reply.data(), reply.room()), (&b"abcd"[..], 0));
    }

    #[test]
    fn answer_sets_the_status_and_drops_data_on_error() {
        let mut buffer = [0; 16];
        let header = Header {
            command: Command::STD_INFO.0,
            offset: 41,
            ..Header::default()
        };
        let request = Request {
            header,
            data: b"ping",
            truncated: false,
        };
        let mut reply = Reply::new(&mut buffer);
        assert_eq!(answer(&mut Echo, &request, &mut reply), Ok(()));
        assert_eq!((reply.header.status(), reply.header.offset), (0, 42));
        assert_eq!(reply.data(), b"ping");

        let mut buffer = [0; 16];
        let request = Request {
            header: Header {
                command: Command::STD_DESTROY.0,
                ..header
            },
            ..request
        };
        let mut reply = Reply::new(&mut buffer);
        assert_eq!(
            answer(&mut Echo, &request, &mut reply),
            Err(ErrorCode::STD_DENIED)
        );
        assert_eq!(reply.header.error(), Some(ErrorCode::STD_DENIED));
        assert_eq!(reply.data(), b"");
    }
}
