//! A server that is a single object, the server itself (sys, tod, random, tty, echo, vdisk): its
//! object table, its STD_INFO text and the checks before its own commands run.
//!
//! Each such server declares its commands with the rights each needs; a request then gets,
//! in this order, the standard commands' answers ([`super::standard`]), STD_COMBAD for a
//! command the server does not declare, STD_CAPBAD or STD_DENIED for its capability, and only
//! then the server's own code.

use alloc::string::String;

use crate::capability::{Capability, Port};
use crate::random::Entropy;
use crate::rpc::codes::{Command, ErrorCode};
use crate::rpc::objects::ObjectTable;
use crate::rpc::server::{Reply, Request};
use crate::servers::standard::{SERVER_OBJECT, answer_standard, server_table};

/// A command of a server and the rights it needs.
pub type CommandRights = (Command, u8);

/// The one object of a one-object server.
pub struct ServerObject {
    objects: ObjectTable<()>,
    info: String,
}

impl ServerObject {
    /// The object at `put_port` that STD_INFO describes with `info`, with its owner
    /// capability.
    pub fn new(
        put_port: Port,
        entropy: &mut impl Entropy,
        info: impl Into<String>,
    ) -> (Self, Capability) {
        let (objects, owner) = server_table(put_port, entropy, ());
        let info = info.into();
        (Self { objects, info }, owner)
    }

    /// The server's capability with `rights`.
    pub fn capability(&self, rights: u8) -> Capability {
        // Object 0 is made with the table and never removed.
        self.objects
            .capability(SERVER_OBJECT, rights)
            .unwrap_or(Capability::NULL)
    }

    /// Answers `request`: a standard command here, one of `commands` by `execute` once the
    /// capability is found to hold the rights it needs, any other with STD_COMBAD.
    pub fn serve(
        &self,
        request: &Request<'_>,
        reply: &mut Reply<'_>,
        commands: &[CommandRights],
        execute: impl FnOnce(Command, &mut Reply<'_>) -> Result<(), ErrorCode>,
    ) -> Result<(), ErrorCode> {
        self.serve_described(request, reply, commands, || self.info.clone(), execute)
    }

    /// As [`serve`](Self::serve), with STD_INFO's text made by `info` when it is asked for
    /// (for a server whose description changes).
    pub fn serve_described(
        &self,
        request: &Request<'_>,
        reply: &mut Reply<'_>,
        commands: &[CommandRights],
        info: impl FnOnce() -> String,
        execute: impl FnOnce(Command, &mut Reply<'_>) -> Result<(), ErrorCode>,
    ) -> Result<(), ErrorCode> {
        let mut info = Some(info);
        let describe = |_, _: &()| info.take().map(|f| f()).unwrap_or_default();
        if let Some(result) = answer_standard(&self.objects, request, reply, describe) {
            return result;
        }
        let command = request.header.command();
        let (_, needed) = commands
            .iter()
            .find(|(known, _)| *known == command)
            .ok_or(ErrorCode::STD_COMBAD)?;
        self.objects.get(&request.header, *needed)?;
        execute(command, reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededGenerator;
    use crate::rpc::header::Header;

    const PING: Command = Command(2901);
    const RIGHT: u8 = 0x04;

    fn serve(object: &ServerObject, cap: &Capability, command: Command) -> Result<u16, ErrorCode> {
        let mut buffer = [0; 32];
        let mut reply = Reply::new(&mut buffer);
        let request = Request {
            header: Header::request(cap, command),
            data: &[],
            truncated: false,
        };
        let executed = |_, reply: &mut Reply<'_>| {
            reply.header.extra = 1;
            Ok(())
        };
        object.serve(&request, &mut reply, &[(PING, RIGHT)], executed)?;
        Ok(reply.header.extra)
    }

    #[test]
    fn own_commands_run_only_with_their_right() {
        let (object, owner) = ServerObject::new(Port([3; 6]), &mut SeededGenerator::new(1), "x");
        assert_eq!(object.capability(0xff), owner);
        assert_eq!(serve(&object, &owner, PING), Ok(1));
        let lacking = object.capability(!RIGHT);
        assert_eq!(serve(&object, &lacking, PING), Err(ErrorCode::STD_DENIED));
        assert_eq!(
            serve(&object, &owner, Command(2902)),
            Err(ErrorCode::STD_COMBAD)
        );
        assert_eq!(serve(&object, &lacking, Command::STD_INFO), Ok(0));
    }
}
