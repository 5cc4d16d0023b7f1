//! The echo server: a null and bulk RPC partner for benchmarks and tests.
//!
//! Ours entirely (`docs/amoeba-protocol.md#performance-anchors` has the null and bulk RPC
//! figures of other systems it is measured against). ECHO
//! ([`crate::rpc::codes::ECHO_FIRST_COM`], 2900) replies with the request's data and its
//! h_offset, h_size and h_extra; it needs [`USE`].
//! Nothing else is done, so a round trip measures the transport alone; STD_INFO says how
//! many echoes it sent ("echo server, N echoes"), so a test can count what a server ran.

use crate::capability::{Capability, Port};
use crate::random::Entropy;
use crate::rpc::codes::{Command, ECHO_FIRST_COM, ErrorCode};
use crate::rpc::server::{Reply, Request, Server};
use crate::servers::server_object::ServerObject;
use crate::servers::standard::whole_data;

/// Right to be echoed.
pub const USE: u8 = 0x01;

/// Send the request back.
pub const ECHO: Command = Command(ECHO_FIRST_COM);

/// The echo server.
pub struct EchoServer {
    object: ServerObject,
    echoes: u64,
}

impl EchoServer {
    /// The server at `put_port` with its owner capability.
    pub fn new(put_port: Port, entropy: &mut impl Entropy) -> (Self, Capability) {
        let (object, owner) = ServerObject::new(put_port, entropy, "echo server");
        (Self { object, echoes: 0 }, owner)
    }
}

impl Server for EchoServer {
    fn handle(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let Self { object, echoes } = self;
        let count = *echoes;
        let info = || alloc::format!("echo server, {count} echoes");
        let echo = |_, reply: &mut Reply<'_>| {
            let header = &request.header;
            reply.header.offset = header.offset;
            reply.header.size = header.size;
            reply.header.extra = header.extra;
            reply.push(whole_data(request)?)?;
            *echoes += 1;
            Ok(())
        };
        object.serve_described(request, reply, &[(ECHO, USE)], info, echo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededGenerator;
    use crate::rpc::header::Header;
    use crate::servers::loopback::call;
    use crate::servers::refusals::assert_refusals;

    fn server() -> (EchoServer, Capability) {
        EchoServer::new(Port([0xec; 6]), &mut SeededGenerator::new(1))
    }

    #[test]
    fn echo_sends_data_and_fields_back() {
        let (mut echo, owner) = server();
        let header = Header {
            offset: -5,
            size: 6,
            extra: 7,
            ..Header::request(&owner, ECHO)
        };
        let (reply, data) = call(&mut echo, header, b"ping");
        assert_eq!(
            (reply.status(), reply.offset, reply.size, reply.extra),
            (0, -5, 6, 7)
        );
        assert_eq!(data, b"ping");
        let (reply, data) = call(&mut echo, Header::request(&owner, ECHO), &[]);
        assert_eq!((reply.status(), data.len()), (0, 0));
        let (_, info) = call(&mut echo, Header::request(&owner, Command::STD_INFO), &[]);
        assert_eq!(info, b"echo server, 2 echoes");
    }

    #[test]
    fn bad_capabilities_are_refused() {
        let (mut echo, owner) = server();
        assert_refusals(&mut echo, owner, USE, |cap| Header::request(cap, ECHO));
    }
}
