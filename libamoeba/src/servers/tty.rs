//! The tty server: text to the node's console.
//!
//! A TTY capability is among a process's standard capabilities
//! (`docs/amoeba-protocol.md#kernel-servers`); the commands here are ours, not 5.3's. TTY_WRITE
//! ([`crate::rpc::codes::TTY_FIRST_COM`], 2800): request data = the bytes to write, at most
//! [`MAX_WRITE`] (more is STD_ARGBAD, so any server buffer of that size serves every client);
//! needs [`WRITE`]; reply h_size = bytes written.

use crate::capability::{Capability, Port};
use crate::random::Entropy;
use crate::rpc::codes::{Command, ErrorCode, TTY_FIRST_COM};
use crate::rpc::server::{Reply, Request, Server};
use crate::servers::server_object::ServerObject;
use crate::servers::standard::whole_data;

/// Right to write to the console.
pub const WRITE: u8 = 0x01;

/// Write bytes to the console.
pub const TTY_WRITE: Command = Command(TTY_FIRST_COM);

/// The most bytes one TTY_WRITE carries; clients split longer writes.
pub const MAX_WRITE: usize = 1024;

/// Where the tty server's bytes go.
pub trait Console {
    fn write(&mut self, bytes: &[u8]);
}

/// The tty server.
pub struct TtyServer<C> {
    object: ServerObject,
    console: C,
}

impl<C: Console> TtyServer<C> {
    /// The server at `put_port` with its owner capability.
    pub fn new(put_port: Port, entropy: &mut impl Entropy, console: C) -> (Self, Capability) {
        let info = "tty server: the node's console";
        let (object, owner) = ServerObject::new(put_port, entropy, info);
        (Self { object, console }, owner)
    }

    pub fn console(&self) -> &C {
        &self.console
    }
}

impl<C: Console> Server for TtyServer<C> {
    fn handle(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let Self { object, console } = self;
        let write = |_, reply: &mut Reply<'_>| {
            let bytes = whole_data(request)?;
            if bytes.len() > MAX_WRITE {
                return Err(ErrorCode::STD_ARGBAD);
            }
            console.write(bytes);
            reply.header.size = bytes.len() as u16;
            Ok(())
        };
        object.serve(request, reply, &[(TTY_WRITE, WRITE)], write)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::random::SeededGenerator;
    use crate::rpc::header::Header;
    use crate::servers::loopback::call;
    use crate::servers::refusals::assert_refusals;
    use alloc::vec::Vec;

    /// A console that keeps what it is given.
    #[derive(Default)]
    pub(crate) struct Recorder(pub(crate) Vec<u8>);

    impl Console for Recorder {
        fn write(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }
    }

    fn server() -> (TtyServer<Recorder>, Capability) {
        TtyServer::new(
            Port([0x77; 6]),
            &mut SeededGenerator::new(2),
            Recorder::default(),
        )
    }

    #[test]
    fn write_reaches_the_console_and_counts() {
        let (mut tty, owner) = server();
        let (reply, data) = call(&mut tty, Header::request(&owner, TTY_WRITE), b"hello\n");
        assert_eq!((reply.status(), reply.size, data.len()), (0, 6, 0));
        let full = [b'x'; MAX_WRITE];
        let (reply, _) = call(&mut tty, Header::request(&owner, TTY_WRITE), &full);
        assert_eq!((reply.status(), usize::from(reply.size)), (0, MAX_WRITE));
        assert_eq!(tty.console().0.len(), 6 + MAX_WRITE);
    }

    #[test]
    fn long_writes_and_bad_capabilities_are_refused() {
        let (mut tty, owner) = server();
        let long = [b'x'; MAX_WRITE + 1];
        let (reply, _) = call(&mut tty, Header::request(&owner, TTY_WRITE), &long);
        assert_eq!(reply.error(), Some(ErrorCode::STD_ARGBAD));
        assert_refusals(&mut tty, owner, WRITE, |cap| {
            Header::request(cap, TTY_WRITE)
        });
        assert!(tty.console().0.is_empty());
    }
}
