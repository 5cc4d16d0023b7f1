//! The owner's side of PS_CHECKPOINT: a one-object server a process's owner runs (the host's
//! `amoeba exec`, a migration manager) to hear how its processes stop ([`super::checkpoint`]).
//!
//! Ours, where 5.3 is silent: the owner capability needs [`CHECKPOINT`] (we hand out the
//! owner capability with all rights); a request that is not a well-formed checkpoint is
//! STD_ARGBAD. The reply is empty: a process that exited stays ended, and a stunned one ends
//! too until an owner resumes processes with the descriptor back.

use super::PS_CHECKPOINT;
use super::checkpoint::Checkpoint;
use crate::capability::{Capability, Port};
use crate::random::Entropy;
use crate::rpc::codes::ErrorCode;
use crate::rpc::server::{Reply, Request, Server};
use crate::servers::server_object::ServerObject;

/// Right to send a checkpoint to this owner.
pub const CHECKPOINT: u8 = 0x01;

/// What an owner does with each checkpoint it receives.
pub trait CheckpointSink {
    fn receive(&mut self, checkpoint: Checkpoint);
}

/// The owner server.
pub struct OwnerServer<S> {
    object: ServerObject,
    sink: S,
}

impl<S: CheckpointSink> OwnerServer<S> {
    /// The server at `put_port` with its owner capability (what goes in a descriptor's owner
    /// field).
    pub fn new(put_port: Port, entropy: &mut impl Entropy, sink: S) -> (Self, Capability) {
        let (object, owner) = ServerObject::new(put_port, entropy, "process owner");
        (Self { object, sink }, owner)
    }

    pub fn sink(&self) -> &S {
        &self.sink
    }
}

impl<S: CheckpointSink> Server for OwnerServer<S> {
    fn handle(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let Self { object, sink } = self;
        let take = |_, _: &mut Reply<'_>| {
            let checkpoint = Checkpoint::from_request(&request.header, request.data)
                .map_err(|_| ErrorCode::STD_ARGBAD)?;
            sink.receive(checkpoint);
            Ok(())
        };
        object.serve(request, reply, &[(PS_CHECKPOINT, CHECKPOINT)], take)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededGenerator;
    use crate::rpc::header::Header;
    use crate::servers::loopback::call;
    use crate::servers::proc::checkpoint::{Termination, ended_descriptor};
    use alloc::vec::Vec;

    impl CheckpointSink for Vec<Checkpoint> {
        fn receive(&mut self, checkpoint: Checkpoint) {
            self.push(checkpoint);
        }
    }

    #[test]
    fn checkpoints_reach_the_sink_and_garbage_does_not() {
        let (mut owner, cap) =
            OwnerServer::new(Port([5; 6]), &mut SeededGenerator::new(3), Vec::new());
        let sent = Checkpoint {
            termination: Termination::Exited(7),
            descriptor: ended_descriptor(Capability::NULL, cap),
        };
        let (header, data) = sent.request(&cap);
        let (reply, _) = call(&mut owner, header, &data);
        assert_eq!(reply.status(), 0);
        let (reply, _) = call(&mut owner, header, b"junk");
        assert_eq!(reply.error(), Some(ErrorCode::STD_ARGBAD));
        let forged = Capability {
            check: [0; 6],
            ..cap
        };
        let (reply, _) = call(
            &mut owner,
            Header {
                ..sent.request(&forged).0
            },
            &data,
        );
        assert_eq!(reply.error(), Some(ErrorCode::STD_CAPBAD));
        assert_eq!(owner.sink(), &alloc::vec![sent]);
    }
}
