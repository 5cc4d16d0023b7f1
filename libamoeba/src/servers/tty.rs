//! The tty server: text to the node's console.
//!
//! A TTY capability is among a process's standard capabilities
//! (`docs/amoeba-protocol.md#kernel-servers`); the commands here are ours, not 5.3's:
//! - TTY_WRITE ([`crate::rpc::codes::TTY_FIRST_COM`], 2800): request data = the bytes to write,
//!   at most [`MAX_WRITE`] (more is STD_ARGBAD, so any server buffer of that size serves every
//!   client); needs [`WRITE`]; reply h_size = bytes written.
//! - TTY_READ (2801): request h_size = the most bytes wanted (at most [`MAX_WRITE`] are given);
//!   needs [`READ`]; reply data = what was typed so far, and no data with h_extra = 1 at the
//!   end of input, h_extra = 0 when nothing was typed yet (ask again later: the server never
//!   blocks, so one slow reader cannot hold up the output of others).

use crate::capability::{Capability, Port};
use crate::random::Entropy;
use crate::rpc::codes::{Command, ErrorCode, TTY_FIRST_COM};
use crate::rpc::server::{Reply, Request, Server};
use crate::servers::server_object::ServerObject;
use crate::servers::standard::whole_data;

/// Right to write to the console.
pub const WRITE: u8 = 0x01;
/// Right to read what is typed at the console.
pub const READ: u8 = 0x02;

/// Write bytes to the console.
pub const TTY_WRITE: Command = Command(TTY_FIRST_COM);
/// Read what was typed at the console.
pub const TTY_READ: Command = Command(TTY_FIRST_COM + 1);
/// TTY_READ's reply h_extra at the end of input.
pub const END_OF_INPUT: u16 = 1;

/// What a console has for a reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// This many bytes were put in the buffer.
    Bytes(usize),
    /// Nothing typed yet.
    Nothing,
    /// No more will come.
    End,
}

/// The most bytes one TTY_WRITE carries; clients split longer writes.
pub const MAX_WRITE: usize = 1024;

/// Where the tty server's bytes go, and where typed input comes from.
pub trait Console {
    fn write(&mut self, bytes: &[u8]);
    /// Takes what was typed so far into `buffer`.
    fn read(&mut self, buffer: &mut [u8]) -> Input;
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
        let execute = |command, reply: &mut Reply<'_>| {
            if command == TTY_READ {
                let want = usize::from(request.header.size)
                    .min(MAX_WRITE)
                    .min(reply.room());
                let mut buffer = [0u8; MAX_WRITE];
                return match console.read(&mut buffer[..want]) {
                    Input::Bytes(n) => reply.push(&buffer[..n.min(want)]),
                    Input::Nothing => Ok(()),
                    Input::End => {
                        reply.header.extra = END_OF_INPUT;
                        Ok(())
                    }
                };
            }
            let bytes = whole_data(request)?;
            if bytes.len() > MAX_WRITE {
                return Err(ErrorCode::STD_ARGBAD);
            }
            console.write(bytes);
            reply.header.size = bytes.len() as u16;
            Ok(())
        };
        let commands = [(TTY_WRITE, WRITE), (TTY_READ, READ)];
        object.serve(request, reply, &commands, execute)
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

    /// A console that keeps what it is given, and has `typed` for a reader.
    #[derive(Default)]
    pub(crate) struct Recorder(pub(crate) Vec<u8>, pub(crate) Vec<u8>);

    impl Console for Recorder {
        fn write(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }

        fn read(&mut self, buffer: &mut [u8]) -> Input {
            if self.1 == b"\x04" {
                return Input::End;
            }
            let n = buffer.len().min(self.1.len());
            buffer[..n].copy_from_slice(&self.1[..n]);
            self.1.drain(..n);
            if n == 0 {
                Input::Nothing
            } else {
                Input::Bytes(n)
            }
        }
    }

    #[test]
    fn read_gives_what_was_typed_then_nothing_then_the_end() {
        let (mut tty, owner) = server();
        let ask = |size| Header {
            size,
            ..Header::request(&owner, TTY_READ)
        };
        tty.console.1 = b"two words\n".to_vec();
        let (reply, data) = call(&mut tty, ask(4), &[]);
        assert_eq!(
            (reply.status(), reply.extra, &data[..]),
            (0, 0, &b"two "[..])
        );
        let (_, data) = call(&mut tty, ask(100), &[]);
        assert_eq!(data, b"words\n");
        let (reply, data) = call(&mut tty, ask(100), &[]);
        assert_eq!((reply.extra, data.len()), (0, 0), "nothing yet");
        tty.console.1 = b"\x04".to_vec();
        let (reply, _) = call(&mut tty, ask(100), &[]);
        assert_eq!(reply.extra, END_OF_INPUT);
        let write_only = crate::servers::refusals::restrict(&mut tty, &owner, WRITE);
        let (reply, _) = call(
            &mut tty,
            Header {
                size: 9,
                ..Header::request(&write_only, TTY_READ)
            },
            &[],
        );
        assert_eq!(reply.error(), Some(ErrorCode::STD_DENIED));
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
