//! An in-memory [`Rpc`] for tests: a `trans` goes straight to the [`Server`] registered under
//! the request's put-port, through buffers of fixed sizes as a kernel's would be, so client
//! stubs and servers are tested end to end without a kernel.
//!
//! Like the kernel: a null port is RPC_BADADDRESS, a port nobody serves RPC_NOTFOUND, request
//! data longer than the server's buffer arrives truncated (and flagged), and reply data longer
//! than the client's buffer is cut (the [`Received`] tells). `getreq` and `putrep` have no
//! meaning here: the servers are called, not running.

use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;

use crate::capability::Port;
use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;
use crate::rpc::server::{Reply, Request, Server, answer};
use crate::rpc::transport::{Received, Rpc};

/// Amoeba 5.3's classic message limit: the servers' buffers unless a test says otherwise.
pub(crate) const SERVER_BUFFER_BYTES: usize = 30_000;

/// Servers by put-port, called in place.
pub(crate) struct Loopback {
    servers: BTreeMap<Port, Rc<RefCell<dyn Server>>>,
    server_buffer_bytes: usize,
}

impl Loopback {
    pub(crate) fn new() -> Self {
        Self::with_server_buffers(SERVER_BUFFER_BYTES)
    }

    /// A loopback whose servers get and answer requests through buffers of `bytes`.
    pub(crate) fn with_server_buffers(bytes: usize) -> Self {
        Self {
            servers: BTreeMap::new(),
            server_buffer_bytes: bytes,
        }
    }

    /// Serves `server` at `put_port`; the returned handle lets a test reach into it later.
    pub(crate) fn add<S: Server + 'static>(&mut self, put_port: Port, server: S) -> Rc<RefCell<S>> {
        let shared = Rc::new(RefCell::new(server));
        self.servers.insert(put_port, shared.clone());
        shared
    }
}

impl Rpc for Loopback {
    fn trans(
        &self,
        request: &Header,
        request_data: &[u8],
        reply: &mut Header,
        reply_data: &mut [u8],
    ) -> Result<Received, ErrorCode> {
        if request.port.is_null() {
            return Err(ErrorCode::RPC_BADADDRESS);
        }
        let server = self
            .servers
            .get(&request.port)
            .ok_or(ErrorCode::RPC_NOTFOUND)?;
        let mut server = server.borrow_mut();
        let (header, data) = deliver(
            &mut *server,
            request,
            request_data,
            self.server_buffer_bytes,
        );
        *reply = header;
        let received = Received::of(data.len(), reply_data.len());
        reply_data[..received.len].copy_from_slice(&data[..received.len]);
        Ok(received)
    }

    fn getreq(&self, _header: &mut Header, _buffer: &mut [u8]) -> Result<Received, ErrorCode> {
        Err(ErrorCode::RPC_BADADDRESS)
    }

    fn putrep(&self, _header: &Header, _data: &[u8]) -> Result<(), ErrorCode> {
        Err(ErrorCode::RPC_BADADDRESS)
    }
}

/// Sends one request straight to `server` through buffers of [`SERVER_BUFFER_BYTES`]; the
/// reply's header and data. For tests of one server without stubs.
pub(crate) fn call(server: &mut dyn Server, header: Header, data: &[u8]) -> (Header, Vec<u8>) {
    deliver(server, &header, data, SERVER_BUFFER_BYTES)
}

/// What a server thread does with one request: copy it into its buffer, handle, reply.
fn deliver(
    server: &mut dyn Server,
    header: &Header,
    data: &[u8],
    buffer_bytes: usize,
) -> (Header, Vec<u8>) {
    let arrived = Received::of(data.len(), buffer_bytes);
    let request = Request {
        header: *header,
        data: &data[..arrived.len],
        truncated: arrived.truncated(),
    };
    let mut buffer = vec![0; buffer_bytes];
    let mut reply = Reply::new(&mut buffer);
    let _ = answer(&mut Unsized(server), &request, &mut reply);
    (reply.header, reply.data().to_vec())
}

/// Lets a `dyn Server` go where `answer` wants a sized one.
struct Unsized<'a>(&'a mut dyn Server);

impl Server for Unsized<'_> {
    fn handle(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        self.0.handle(request, reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Capability;
    use crate::rpc::codes::Command;

    /// Replies with the request's length in h_size and its data, and whether it was cut.
    struct Measure;

    impl Server for Measure {
        fn handle(
            &mut self,
            request: &Request<'_>,
            reply: &mut Reply<'_>,
        ) -> Result<(), ErrorCode> {
            reply.header.size = request.data.len() as u16;
            reply.header.extra = u16::from(request.truncated);
            reply.push(request.data)
        }
    }

    const PORT: Port = Port([1, 1, 1, 1, 1, 1]);

    fn to(port: Port) -> Header {
        let cap = Capability {
            port,
            ..Capability::NULL
        };
        Header::request(&cap, Command::STD_INFO)
    }

    #[test]
    fn unknown_and_null_ports_fail_like_the_kernel() {
        let mut loopback = Loopback::new();
        loopback.add(PORT, Measure);
        let mut reply = Header::default();
        let other = Port([2; 6]);
        assert_eq!(
            loopback.trans(&to(other), b"", &mut reply, &mut []),
            Err(ErrorCode::RPC_NOTFOUND)
        );
        assert_eq!(
            loopback.trans(&to(Port::NULL), b"", &mut reply, &mut []),
            Err(ErrorCode::RPC_BADADDRESS)
        );
        assert_eq!(
            loopback.getreq(&mut reply, &mut []),
            Err(ErrorCode::RPC_BADADDRESS)
        );
        assert_eq!(loopback.putrep(&reply, &[]), Err(ErrorCode::RPC_BADADDRESS));
    }

    #[test]
    fn long_requests_arrive_cut_and_long_replies_are_cut() {
        let mut loopback = Loopback::with_server_buffers(4);
        loopback.add(PORT, Measure);
        let mut reply = Header::default();
        let mut data = [0; 2];
        let received = loopback.trans(&to(PORT), b"abcdef", &mut reply, &mut data);
        assert_eq!(received, Ok(Received { len: 2, sent: 4 }));
        assert_eq!((reply.size, reply.extra, &data), (4, 1, b"ab"));
    }
}
