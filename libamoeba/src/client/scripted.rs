//! Test-only: a server that gives the same reply to every request, whatever it asks, to show
//! how the stubs take replies that break the protocol.

use alloc::vec::Vec;

use crate::capability::{ALL_RIGHTS, Capability, Port};
use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;
use crate::rpc::server::{Reply, Request, Server};
use crate::servers::loopback::Loopback;

/// Where [`scripted`] serves.
const PORT: Port = Port([0x5c; 6]);

struct Scripted {
    header: Header,
    data: Vec<u8>,
}

impl Server for Scripted {
    fn handle(&mut self, _request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        reply.header = self.header;
        reply.push(&self.data)?;
        self.header.error().map_or(Ok(()), Err)
    }
}

/// A loopback where every request to the returned capability is answered with `header`
/// (its status included) and `data`.
pub(crate) fn scripted(header: Header, data: &[u8]) -> (Loopback, Capability) {
    scripted_at(PORT, header, data)
}

/// As [`scripted`], serving at `port`.
pub(crate) fn scripted_at(port: Port, header: Header, data: &[u8]) -> (Loopback, Capability) {
    let mut loopback = Loopback::new();
    let data = data.to_vec();
    loopback.add(port, Scripted { header, data });
    let cap = Capability {
        port,
        rights: ALL_RIGHTS,
        ..Capability::NULL
    };
    (loopback, cap)
}
