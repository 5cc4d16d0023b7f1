//! The random server.
//!
//! From `docs/amoeba-protocol.md#kernel-servers`: GETRANDOM 2600, at most 1024 bytes a call.
//! Ours, where the sources are silent: the request's h_size says how many bytes
//! (more than [`MAX_RANDOM_BYTES`] is STD_ARGBAD), the reply data is exactly that many, and
//! GETRANDOM needs [`READ`]. STD_INFO names the source (e.g. "rdrand" or "seeded
//! generator"), so a client can tell how much to trust the bytes.

use alloc::format;
use alloc::vec;

use crate::capability::{Capability, Port};
use crate::random::Entropy;
use crate::rpc::codes::{Command, ErrorCode, RND_FIRST_COM};
use crate::rpc::server::{Reply, Request, Server};
use crate::servers::server_object::ServerObject;

/// Right to get random bytes.
pub const READ: u8 = 0x01;

/// Random bytes.
pub const GETRANDOM: Command = Command(RND_FIRST_COM);

/// The most bytes one GETRANDOM returns.
pub const MAX_RANDOM_BYTES: usize = 1024;

/// The random server, handing out the bytes of `E`.
pub struct RandomServer<E> {
    object: ServerObject,
    entropy: E,
}

impl<E: Entropy> RandomServer<E> {
    /// The server at `put_port` giving the bytes of `entropy` (which also makes its check),
    /// `source` naming where they come from; with its owner capability.
    pub fn new(put_port: Port, mut entropy: E, source: &'static str) -> (Self, Capability) {
        let info = format!("random server, source: {source}");
        let (object, owner) = ServerObject::new(put_port, &mut entropy, info);
        (Self { object, entropy }, owner)
    }
}

impl<E: Entropy> Server for RandomServer<E> {
    fn handle(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let Self { object, entropy } = self;
        let getrandom = |_, reply: &mut Reply<'_>| {
            let wanted = usize::from(request.header.size);
            if wanted > MAX_RANDOM_BYTES {
                return Err(ErrorCode::STD_ARGBAD);
            }
            let mut bytes = vec![0; wanted];
            entropy.fill(&mut bytes);
            reply.push(&bytes)
        };
        object.serve(request, reply, &[(GETRANDOM, READ)], getrandom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededGenerator;
    use crate::rpc::header::Header;
    use crate::servers::loopback::call;
    use crate::servers::refusals::assert_refusals;

    fn server() -> (RandomServer<SeededGenerator>, Capability) {
        RandomServer::new(Port([0x72; 6]), SeededGenerator::new(8), "seeded generator")
    }

    fn wanting(cap: &Capability, size: u16) -> Header {
        Header {
            size,
            ..Header::request(cap, GETRANDOM)
        }
    }

    #[test]
    fn getrandom_gives_as_many_fresh_bytes_as_asked() {
        let (mut random, owner) = server();
        let (reply, first) = call(&mut random, wanting(&owner, 1024), &[]);
        assert_eq!((reply.status(), first.len()), (0, 1024));
        let (_, second) = call(&mut random, wanting(&owner, 1024), &[]);
        assert_ne!(first, second);
        let (reply, none) = call(&mut random, wanting(&owner, 0), &[]);
        assert_eq!((reply.status(), none.len()), (0, 0));
        let (_, info) = call(&mut random, Header::request(&owner, Command::STD_INFO), &[]);
        assert_eq!(info, b"random server, source: seeded generator");
    }

    #[test]
    fn too_many_bytes_and_bad_capabilities_are_refused() {
        let (mut random, owner) = server();
        for size in [1025, u16::MAX] {
            let (reply, data) = call(&mut random, wanting(&owner, size), &[]);
            assert_eq!(
                (reply.error(), data.len()),
                (Some(ErrorCode::STD_ARGBAD), 0)
            );
        }
        assert_refusals(&mut random, owner, READ, |cap| wanting(cap, 8));
    }
}
