//! The owner's side of PS_CHECKPOINT: a one-object server a process's owner runs (the host's
//! `amoeba exec`, a migration manager) to hear how its processes stop ([`super::checkpoint`]).
//!
//! It also takes PS_SWAPPROC (data: the old process capability, then the new one), by which
//! whoever moved one of its processes to another node tells it the process's new name.
//!
//! Ours, where 5.3 is silent: both commands need [`CHECKPOINT`] (we hand out the owner
//! capability with all rights); a request that is not well-formed is STD_ARGBAD. The reply is
//! empty: a process that exited stays ended, and a stunned one ends too (this owner does not
//! resume processes; a migration's owner answers its checkpoint itself).

use super::checkpoint::Checkpoint;
use super::{PS_CHECKPOINT, PS_SWAPPROC};
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
    /// The process `old` now runs as `new` (it moved).
    fn swap(&mut self, old: Capability, new: Capability);
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
        let take = |command, _: &mut Reply<'_>| {
            if command == PS_SWAPPROC {
                let (old, new) = swapped(request.data).ok_or(ErrorCode::STD_ARGBAD)?;
                sink.swap(old, new);
                return Ok(());
            }
            let checkpoint = Checkpoint::from_request(&request.header, request.data)
                .map_err(|_| ErrorCode::STD_ARGBAD)?;
            sink.receive(checkpoint);
            Ok(())
        };
        let commands = [(PS_CHECKPOINT, CHECKPOINT), (PS_SWAPPROC, CHECKPOINT)];
        object.serve(request, reply, &commands, take)
    }
}

/// PS_SWAPPROC's data: the old capability, then the new.
pub fn swap_data(old: &Capability, new: &Capability) -> [u8; 32] {
    let mut data = [0; 32];
    data[..16].copy_from_slice(&old.to_bytes());
    data[16..].copy_from_slice(&new.to_bytes());
    data
}

fn swapped(data: &[u8]) -> Option<(Capability, Capability)> {
    if data.len() != 32 {
        return None;
    }
    let old = Capability::from_bytes(&data[..16]).ok()?;
    let new = Capability::from_bytes(&data[16..]).ok()?;
    Some((old, new))
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
        fn swap(&mut self, old: Capability, new: Capability) {
            for checkpoint in self.iter_mut().filter(|c| c.process() == old) {
                checkpoint.descriptor.self_cap = new;
            }
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
        assert_eq!(owner.sink(), &alloc::vec![sent.clone()]);
        let moved = Capability { object: 4, ..cap };
        let swap = Header::request(&cap, PS_SWAPPROC);
        let (reply, _) = call(&mut owner, swap, &swap_data(&sent.process(), &moved));
        assert_eq!(reply.status(), 0);
        assert_eq!(owner.sink()[0].process(), moved);
        let (reply, _) = call(&mut owner, swap, b"short");
        assert_eq!(reply.error(), Some(ErrorCode::STD_ARGBAD));
    }
}
