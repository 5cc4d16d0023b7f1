//! `amoeba migrate PROCESS --to NODE`: moves a running process to another node by the one
//! migration sequence of `libamoeba::client::migration` (stun, checkpoint, exec of the
//! descriptor on the target, which reads the segments straight from the source), timing it.
//!
//! `AMOEBA_MIGRATE_PAUSE=STEP:FILE` (a test hook, for the tests that kill a node in the middle
//! of a move) stops the move when it reaches STEP (`owner`, `stunned`, `checkpointed`,
//! `started`), creates FILE and waits until FILE is removed.

use crate::entropy::HostEntropy;
use crate::peer::HostPeer;
use anyhow::{Result, anyhow};
use libamoeba::capability::Capability;
use libamoeba::client::migration::{self, Mover, Step};
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::header::Header;
use libamoeba::rpc::transport::Received;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The test hook's environment variable.
pub const PAUSE_VARIABLE: &str = "AMOEBA_MIGRATE_PAUSE";

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

impl Mover for HostPeer {
    fn getreq_within(
        &self,
        header: &mut Header,
        buffer: &mut [u8],
        millis: u64,
    ) -> Result<Received, ErrorCode> {
        HostPeer::getreq_within(self, header, buffer, Duration::from_millis(millis))
    }
}

fn step_name(step: Step) -> &'static str {
    match step {
        Step::OwnerTaken => "owner",
        Step::Stunned => "stunned",
        Step::Checkpointed { .. } => "checkpointed",
        Step::Started => "started",
        Step::Finished => "finished",
    }
}

/// The test hook: announces the pause by creating `file` and waits for its removal.
fn pause_at(step: &str, file: &PathBuf) {
    if std::fs::write(file, step).is_err() {
        return;
    }
    eprintln!(
        "migration paused at {step}: remove {} to go on",
        file.display()
    );
    while file.exists() {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn pause_from_environment() -> Option<(String, PathBuf)> {
    let value = std::env::var(PAUSE_VARIABLE).ok()?;
    let (step, file) = value.split_once(':')?;
    Some((step.to_string(), PathBuf::from(file)))
}

/// Moves `process` to the node whose process server is `target` (called `node`).
pub fn migrate(
    peer: &HostPeer,
    process: &Capability,
    target: &Capability,
    node: &str,
) -> Result<Moved> {
    let started = Instant::now();
    let pause = pause_from_environment();
    let (mut stunned, mut running) = (None, None);
    let reached = |step: Step| {
        match step {
            Step::Stunned => stunned = Some(Instant::now()),
            Step::Started => running = Some(Instant::now()),
            _ => {}
        }
        if let Some((at, file)) = &pause
            && at == step_name(step)
        {
            pause_at(at, file);
        }
    };
    let owner = migration::temporary_owner(&mut HostEntropy);
    let moved = migration::migrate(peer, process, target, owner, reached)
        .map_err(|error| anyhow!("moving the process to {node}: {error}"))?;
    let freeze = match (stunned, running) {
        (Some(stunned), Some(running)) => running.duration_since(stunned),
        _ => Duration::ZERO,
    };
    Ok(Moved {
        process: moved.process,
        bytes: moved.bytes,
        freeze,
        total: started.elapsed(),
    })
}
