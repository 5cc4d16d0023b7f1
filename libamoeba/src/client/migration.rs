//! Moving a running process to another node, as Amoeba's process descriptors allow: stun,
//! checkpoint, exec of the descriptor elsewhere. Written once for every mover: the host's
//! `amoeba migrate` and the run server that balances a pool.
//!
//! The mover becomes the process's owner for the move (PS_SETOWNER with a capability of its
//! own), stuns it (PS_STUN), takes the checkpoint (the full descriptor) on its own get-port and
//! holds the reply while the target's process server execs the descriptor, reading every
//! segment straight from the source node by BS_READ. Then it answers the checkpoint: "end" if
//! the target runs the process (the source drops its copy), the descriptor back if the target
//! refused (the process runs on where it was). The process's own owner is restored on the moved
//! process (its descriptor names it) and told the new capability by PS_SWAPPROC, so an owner in
//! the foreground keeps the output and the exit status across any number of moves.
//!
//! Faults: a target that dies or refuses before it started the process leaves the process
//! running at the source; a source that dies once the target has started the process leaves it
//! running on the target (the answer to the checkpoint goes nowhere, and a source that missed
//! it keeps its copy stunned, never running); only a source dying before the target read its
//! segments loses the process, and [`MigrationError::Exec`] says so (`resumed: false`). A
//! target that dies after starting the process takes it along, as any node that dies does
//! with its processes: the source's copy is never resumed once the process ran elsewhere,
//! which would repeat what it did there.

use core::fmt;

use super::{ps_exec, ps_getcomment, ps_getowner, ps_setcomment, ps_setowner, ps_stun};
use crate::capability::{Capability, Port};
use crate::oneway::put_port;
use crate::random::Entropy;
use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;
use crate::rpc::transport::{MAX_MESSAGE_BYTES, Received, Rpc};
use crate::servers::proc::owner::swap_data;
use crate::servers::proc::{Checkpoint, PS_SWAPPROC, Termination};

/// The stun code a migration uses (what the checkpoint's owner sees as the reason).
pub const MIGRATION_CODE: i32 = 1;
/// How long to wait for the checkpoint once the stun is accepted (milliseconds): the process's
/// threads finish their system calls first (a reply on its way, a request being answered).
pub const CHECKPOINT_WAIT_MS: u64 = 30_000;

/// The steps of a move, in order, as the mover sees them happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The mover is the process's owner now.
    OwnerTaken,
    /// The stun was accepted: the process is stopping.
    Stunned,
    /// The checkpoint came: the process stands still, every segment readable at the source.
    Checkpointed { bytes: u64 },
    /// The target runs the process; the source still holds its stunned copy.
    Started,
    /// The source was told to drop its copy.
    Finished,
}

/// Where a move is made from: RPC plus a getreq that gives up.
pub trait Mover: Rpc {
    /// [`Rpc::getreq`] waiting at most `millis` milliseconds; an error if nothing came.
    fn getreq_within(
        &self,
        header: &mut Header,
        buffer: &mut [u8],
        millis: u64,
    ) -> Result<Received, ErrorCode>;
}

/// A finished move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moved {
    /// The process on its new node.
    pub process: Capability,
    /// Bytes of memory moved (every segment).
    pub bytes: u64,
}

/// Why a move did not happen, and where the process is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MigrationError {
    /// Asking for the process's owner failed (the process is gone, or the capability is bad).
    Owner(ErrorCode),
    /// The capability lacks KILL, the right to move the process.
    NoRight,
    /// Becoming the owner for the move failed; nothing changed.
    TakeOwner(ErrorCode),
    /// The stun was refused; the process runs on.
    Stun(ErrorCode),
    /// The process was stunned but its checkpoint did not come.
    NoCheckpoint,
    /// The process ended before it could move.
    Ended(Termination),
    /// The target refused the descriptor; `resumed` says whether the source runs the process
    /// on (it does unless the source itself is gone: then the process is lost).
    Exec { error: ErrorCode, resumed: bool },
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Owner(e) => write!(f, "{e} asking the process for its owner (PS_GETOWNER)"),
            Self::NoRight => write!(
                f,
                "the capability lacks the right to move the process (KILL); use its owner's"
            ),
            Self::TakeOwner(e) => {
                write!(
                    f,
                    "{e} becoming the process's owner for the move (PS_SETOWNER)"
                )
            }
            Self::Stun(e) => write!(f, "{e} stunning the process (PS_STUN)"),
            Self::NoCheckpoint => write!(
                f,
                "the process was stunned but no checkpoint came within {} s (a thread that does \
                 not stop); its node resumes a stun that does not complete",
                CHECKPOINT_WAIT_MS / 1000
            ),
            Self::Ended(how) => write!(f, "the process ended before it could move ({how:?})"),
            Self::Exec { error, resumed } => {
                let fate = if *resumed {
                    "it runs on where it was"
                } else {
                    "and its node did not take it back: the process is lost"
                };
                write!(
                    f,
                    "{error} starting the process on the target (PS_EXEC); {fate}"
                )
            }
        }
    }
}

/// A capability naming the mover as a process's owner, and the get-port it listens on.
pub fn temporary_owner(entropy: &mut impl Entropy) -> (Port, Capability) {
    let get = Port(entropy.nonzero48());
    let mut check = [0u8; 6];
    entropy.fill(&mut check);
    let cap = Capability {
        port: put_port(get),
        object: 0,
        rights: 0xff,
        check,
    };
    (get, cap)
}

/// Moves `process` to the process server `target`, listening for the checkpoint on `get`
/// (the get-port of `me`, from [`temporary_owner`]); `reached` is told each step as it is
/// reached (to time it, or to pause there in a fault test).
pub fn migrate(
    mover: &impl Mover,
    process: &Capability,
    target: &Capability,
    (get, me): (Port, Capability),
    mut reached: impl FnMut(Step),
) -> Result<Moved, MigrationError> {
    let owner = ps_getowner(mover, process).map_err(MigrationError::Owner)?;
    if !owner.is_null() && owner.rights == 0 {
        return Err(MigrationError::NoRight);
    }
    let name = ps_getcomment(mover, process).unwrap_or_default();
    ps_setowner(mover, process, &me).map_err(MigrationError::TakeOwner)?;
    reached(Step::OwnerTaken);
    let restore = |error| {
        let _ = ps_setowner(mover, process, &owner);
        error
    };
    // From here on every failure gives the process its owner back.
    ps_stun(mover, process, MIGRATION_CODE).map_err(|e| restore(MigrationError::Stun(e)))?;
    reached(Step::Stunned);
    let checkpoint = wait_for_checkpoint(mover, get, process).map_err(restore)?;
    let mut descriptor = checkpoint.descriptor;
    let bytes = descriptor.segments.iter().map(|s| s.length).sum();
    reached(Step::Checkpointed { bytes });
    let back = descriptor.encode();
    descriptor.owner_cap = owner;
    descriptor.self_cap = Capability::NULL;
    let moved = match ps_exec(mover, target, &descriptor) {
        Ok(moved) => moved,
        Err(error) => return Err(take_back(mover, process, &owner, &back, error)),
    };
    reached(Step::Started);
    // From here the process has run on the target: the source's copy is older than what the
    // process did there (printed, called), so it never runs again, even if the target dies now.
    // Ends the source's copy; if that answer is lost the source keeps it stunned, never runs it.
    let _ = answer(mover, &[]);
    reached(Step::Finished);
    tell(mover, &moved, &owner, process, &name);
    Ok(Moved {
        process: moved,
        bytes,
    })
}

/// The target refused the process (or died): the source gets the descriptor back, which
/// resumes it there, and the process its owner. Whether that worked says whether it runs on.
fn take_back(
    mover: &impl Mover,
    process: &Capability,
    owner: &Capability,
    back: &[u8],
    error: ErrorCode,
) -> MigrationError {
    let _ = answer(mover, back);
    // A source that is gone answers neither: the process was lost with it.
    let resumed = ps_setowner(mover, process, owner).is_ok();
    MigrationError::Exec { error, resumed }
}

/// Gives the moved process its name again and tells its owner where it runs now.
fn tell(mover: &impl Rpc, moved: &Capability, owner: &Capability, old: &Capability, name: &str) {
    if !name.is_empty() {
        let _ = ps_setcomment(mover, moved, name);
    }
    if !owner.is_null() {
        let swap = Header::request(owner, PS_SWAPPROC);
        let data = swap_data(old, moved);
        let _ = mover.trans(&swap, &data, &mut Header::default(), &mut []);
    }
}

/// The checkpoint of `process` coming to the mover's port; other requests there are answered
/// and ignored.
fn wait_for_checkpoint(
    mover: &impl Mover,
    get: Port,
    process: &Capability,
) -> Result<Checkpoint, MigrationError> {
    let mut buffer = alloc::vec![0u8; MAX_MESSAGE_BYTES];
    // Requests that are not the checkpoint are few (a stray owner call); each gets the wait.
    for _ in 0..8 {
        let mut header = Header {
            port: get,
            ..Header::default()
        };
        let received = mover
            .getreq_within(&mut header, &mut buffer, CHECKPOINT_WAIT_MS)
            .map_err(|_| MigrationError::NoCheckpoint)?;
        let data = buffer.get(..received.len).unwrap_or_default();
        match Checkpoint::from_request(&header, data) {
            Ok(checkpoint) if checkpoint.process().object == process.object => {
                if let Termination::Stunned(_) = checkpoint.termination {
                    return Ok(checkpoint);
                }
                let _ = answer(mover, &[]);
                return Err(MigrationError::Ended(checkpoint.termination));
            }
            _ => {
                let _ = answer(mover, &[]);
            }
        }
    }
    Err(MigrationError::NoCheckpoint)
}

/// Answers the request taken last with STD_OK and `data`.
fn answer(mover: &impl Rpc, data: &[u8]) -> Result<(), ErrorCode> {
    mover.putrep(&Header::default(), data)
}
