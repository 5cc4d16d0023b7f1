//! PS_CHECKPOINT: how a process server tells a process's owner that the process stopped.
//!
//! From `docs/amoeba-protocol.md#kernel-servers`: the request goes to the owner capability
//! with h_extra = the reason ([`Termination`]: TERM_NORMAL 0 with h_offset = the exit status,
//! TERM_STUNNED 1 with the stun code, TERM_EXCEPTION 2 with the exception number) and the
//! process descriptor as data, its self capability naming the process. For a normal exit the
//! descriptor has no segments and no threads (the memory is gone); for a stun it has all of
//! them, each segment named by a segment capability of the process server.

use alloc::vec::Vec;

use super::PS_CHECKPOINT;
use crate::capability::Capability;
use crate::process::{ArchMagic, DescriptorError, ProcessDescriptor};
use crate::rpc::header::Header;

/// Why a process stopped, with the number that goes with the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Termination {
    /// It ended by itself (or was killed) with this status.
    Exited(i32),
    /// PS_STUN stopped it with this code; it waits for its owner.
    Stunned(i32),
    /// A fault (this exception number) stopped it.
    Exception(i32),
}

const TERM_NORMAL: u16 = 0;
const TERM_STUNNED: u16 = 1;
const TERM_EXCEPTION: u16 = 2;

impl Termination {
    fn to_header(self, header: &mut Header) {
        let (reason, value) = match self {
            Self::Exited(status) => (TERM_NORMAL, status),
            Self::Stunned(code) => (TERM_STUNNED, code),
            Self::Exception(number) => (TERM_EXCEPTION, number),
        };
        header.extra = reason;
        header.offset = value;
    }

    fn from_header(header: &Header) -> Option<Self> {
        match header.extra {
            TERM_NORMAL => Some(Self::Exited(header.offset)),
            TERM_STUNNED => Some(Self::Stunned(header.offset)),
            TERM_EXCEPTION => Some(Self::Exception(header.offset)),
            _ => None,
        }
    }
}

/// One checkpoint as the owner receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub termination: Termination,
    pub descriptor: ProcessDescriptor,
}

/// Why a checkpoint request makes no sense.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointError {
    NotACheckpoint,
    UnknownReason(u16),
    Descriptor(DescriptorError),
}

impl Checkpoint {
    /// The request to send to `owner`, and its data.
    pub fn request(&self, owner: &Capability) -> (Header, Vec<u8>) {
        let mut header = Header::request(owner, PS_CHECKPOINT);
        self.termination.to_header(&mut header);
        (header, self.descriptor.encode())
    }

    /// The checkpoint a request carries.
    pub fn from_request(header: &Header, data: &[u8]) -> Result<Self, CheckpointError> {
        if header.command() != PS_CHECKPOINT {
            return Err(CheckpointError::NotACheckpoint);
        }
        let termination =
            Termination::from_header(header).ok_or(CheckpointError::UnknownReason(header.extra))?;
        let (descriptor, _) = ProcessDescriptor::decode(data, ArchMagic::X86_64)
            .map_err(CheckpointError::Descriptor)?;
        Ok(Self {
            termination,
            descriptor,
        })
    }

    /// The capability of the process that stopped.
    pub fn process(&self) -> Capability {
        self.descriptor.self_cap
    }
}

/// The descriptor of a process that ended: who it was, nothing else.
pub fn ended_descriptor(process: Capability, owner: Capability) -> ProcessDescriptor {
    ProcessDescriptor {
        arch: ArchMagic::X86_64,
        self_cap: process,
        owner_cap: owner,
        segments: Vec::new(),
        threads: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Port;

    #[test]
    fn a_checkpoint_travels_whole() {
        let owner = Capability {
            port: Port([1; 6]),
            object: 3,
            rights: 0xff,
            check: [2; 6],
        };
        let process = Capability { object: 9, ..owner };
        for termination in [
            Termination::Exited(7),
            Termination::Stunned(-3),
            Termination::Exception(14),
        ] {
            let sent = Checkpoint {
                termination,
                descriptor: ended_descriptor(process, owner),
            };
            let (header, data) = sent.request(&owner);
            assert_eq!(header.capability(), owner);
            let got = Checkpoint::from_request(&header, &data).unwrap();
            assert_eq!(got, sent);
            assert_eq!(got.process(), process);
        }
    }

    #[test]
    fn bad_checkpoints_are_refused() {
        let sent = Checkpoint {
            termination: Termination::Exited(0),
            descriptor: ended_descriptor(Capability::NULL, Capability::NULL),
        };
        let (mut header, data) = sent.request(&Capability::NULL);
        assert!(matches!(
            Checkpoint::from_request(&header, &data[..10]),
            Err(CheckpointError::Descriptor(_))
        ));
        header.extra = 9;
        assert_eq!(
            Checkpoint::from_request(&header, &data),
            Err(CheckpointError::UnknownReason(9))
        );
        header.command = 1;
        assert_eq!(
            Checkpoint::from_request(&header, &data),
            Err(CheckpointError::NotACheckpoint)
        );
    }
}
