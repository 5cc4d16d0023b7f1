//! `amoeba migrate PROCESS --to NODE`: moves a running process to another node, as Amoeba's
//! process descriptors allow (stun, checkpoint, exec of the descriptor elsewhere).
//!
//! This command becomes the process's owner for the move: it stuns the process, takes the
//! checkpoint (the full descriptor) and holds its reply while the target node's process server
//! execs the descriptor, reading every segment straight from the source node. Then it answers
//! the checkpoint: "end" if the target runs the process (the source drops its copy), the
//! descriptor back if the target refused (the process runs on where it was). The process's own
//! owner is restored on the moved process (its descriptor names it) and told the new
//! capability by PS_SWAPPROC, so `amoeba exec` in the foreground keeps the output and the exit
//! status across any number of moves.

use crate::commands::rpc_context;
use crate::entropy::HostEntropy;
use crate::peer::HostPeer;
use anyhow::{Result, anyhow, bail};
use libamoeba::capability::{Capability, Port};
use libamoeba::client;
use libamoeba::oneway::put_port;
use libamoeba::random::Entropy;
use libamoeba::rpc::header::Header;
use libamoeba::rpc::transport::{MAX_MESSAGE_BYTES, Rpc};
use libamoeba::servers::proc::owner::swap_data;
use libamoeba::servers::proc::{Checkpoint, PS_SWAPPROC, Termination};
use std::time::{Duration, Instant};

/// The stun code a migration uses (what the checkpoint's owner sees as the reason).
pub const MIGRATION_CODE: i32 = 1;
/// How long to wait for the checkpoint once the stun is accepted: the process's threads finish
/// their system calls first (a reply on its way, a request being answered).
const CHECKPOINT_WAIT: Duration = Duration::from_secs(30);

/// What a migration did.
#[derive(Clone, Copy, Debug)]
pub struct Moved {
    /// The process on its new node.
    pub process: Capability,
    /// Bytes of memory moved (every segment).
    pub bytes: u64,
    /// From the stun to the target running the process.
    pub freeze: Duration,
    /// From the first request to the end.
    pub total: Duration,
}

/// A capability for this command as the process's owner, and its get-port.
fn temporary_owner() -> (Port, Capability) {
    let get = Port(HostEntropy.nonzero48());
    let mut check = [0u8; 6];
    HostEntropy.fill(&mut check);
    let cap = Capability {
        port: put_port(get),
        object: 0,
        rights: 0xff,
        check,
    };
    (get, cap)
}

/// Moves `process` to the node whose process server is `target` (called `node`).
pub fn migrate(
    peer: &HostPeer,
    process: &Capability,
    target: &Capability,
    node: &str,
) -> Result<Moved> {
    let started = Instant::now();
    let owner = rpc_context(client::ps_getowner(peer, process), || {
        "asking the process for its owner (PS_GETOWNER)".to_string()
    })?;
    if !owner.is_null() && owner.rights == 0 {
        bail!("the capability lacks the right to move the process (KILL); use its owner's");
    }
    let name = client::ps_getcomment(peer, process).unwrap_or_default();
    let (get, me) = temporary_owner();
    rpc_context(client::ps_setowner(peer, process, &me), || {
        "becoming the process's owner for the move (PS_SETOWNER)".to_string()
    })?;
    let stunned = Instant::now();
    if let Err(error) = client::ps_stun(peer, process, MIGRATION_CODE) {
        let _ = client::ps_setowner(peer, process, &owner);
        return rpc_context(Err(error), || "stunning the process (PS_STUN)".to_string());
    }
    let checkpoint = match wait_for_checkpoint(peer, get, process) {
        Ok(checkpoint) => checkpoint,
        Err(error) => {
            let _ = client::ps_setowner(peer, process, &owner);
            return Err(error);
        }
    };
    let mut descriptor = checkpoint.descriptor;
    let bytes = descriptor.segments.iter().map(|s| s.length).sum();
    let back = descriptor.encode();
    descriptor.owner_cap = owner;
    descriptor.self_cap = Capability::NULL;
    let moved = match client::ps_exec(peer, target, &descriptor) {
        Ok(moved) => moved,
        Err(error) => {
            // The source resumes the process when it gets its descriptor back.
            let resumed = answer(peer, &back);
            let _ = client::ps_setowner(peer, process, &owner);
            let fate = match resumed {
                Ok(()) => "it runs on where it was",
                Err(_) => "and its node did not take it back: it stays stunned there",
            };
            return rpc_context(Err(error), || {
                format!("starting the process on {node} (PS_EXEC); {fate}")
            });
        }
    };
    let freeze = stunned.elapsed();
    // Ends the source's copy; if that answer is lost the source keeps it stunned, never runs it.
    let _ = answer(peer, &[]);
    if !name.is_empty() {
        let _ = client::ps_setcomment(peer, &moved, &name);
    }
    if !owner.is_null() {
        let swap = Header::request(&owner, PS_SWAPPROC);
        let data = swap_data(process, &moved);
        let _ = peer.trans(&swap, &data, &mut Header::default(), &mut []);
    }
    Ok(Moved {
        process: moved,
        bytes,
        freeze,
        total: started.elapsed(),
    })
}

/// The checkpoint of `process` coming to this command's owner port; other requests there are
/// answered and ignored.
fn wait_for_checkpoint(peer: &HostPeer, get: Port, process: &Capability) -> Result<Checkpoint> {
    let deadline = Instant::now() + CHECKPOINT_WAIT;
    let mut buffer = vec![0u8; MAX_MESSAGE_BYTES];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut header = Header {
            port: get,
            ..Header::default()
        };
        let received = peer
            .getreq_within(&mut header, &mut buffer, left)
            .map_err(|_| {
                anyhow!("the process was stunned but no checkpoint came within {CHECKPOINT_WAIT:?}")
            })?;
        let data = &buffer[..received.len];
        match Checkpoint::from_request(&header, data) {
            Ok(checkpoint) if checkpoint.process().object == process.object => {
                if let Termination::Stunned(_) = checkpoint.termination {
                    return Ok(checkpoint);
                }
                let _ = answer(peer, &[]);
                bail!(
                    "the process ended before it could move ({:?})",
                    checkpoint.termination
                );
            }
            _ => {
                let _ = answer(peer, &[]);
            }
        }
    }
}

/// Answers the request taken last with STD_OK and `data`.
fn answer(peer: &HostPeer, data: &[u8]) -> Result<(), libamoeba::rpc::codes::ErrorCode> {
    peer.putrep(&Header::default(), data)
}
