//! The process server in the kernel: the scheduler's processes as objects, and the `ps`
//! directory of them.
//!
//! PS_STUN: a stunned process is checkpointed to its owner in Amoeba; our processes have no
//! owners (nothing migrates yet), so a stun ends the process with the stun code, as 5.3 does
//! for a process without an owner.

use super::{BUFFER_BYTES, Publications, new_ports, run};
use crate::arch::tsc;
use crate::entropy::KernelEntropy;
use crate::{mm, sched};
use alloc::vec::Vec;
use libamoeba::capability::Capability;
use libamoeba::rights::restrict_owner;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::servers::proc::{
    Load, ProcServer, ProcessControl, ProcessState, ProcessSummary, READ,
};

struct Scheduler;

impl ProcessControl for Scheduler {
    fn processes(&self) -> Vec<ProcessSummary> {
        sched::process_facts()
            .into_iter()
            .map(|p| ProcessSummary {
                pid: p.pid,
                name: p.name,
                threads: p.threads,
                state: match p.state {
                    "blocked" => ProcessState::Blocked,
                    _ => ProcessState::Running,
                },
            })
            .collect()
    }

    fn kill(&mut self, pid: u64) -> Result<(), ErrorCode> {
        sched::kill_process(pid, -9).map_err(|_| ErrorCode::STD_NOTFOUND)
    }

    fn stun(&mut self, pid: u64, code: i32) -> Result<(), ErrorCode> {
        sched::kill_process(pid, i64::from(code)).map_err(|_| ErrorCode::STD_NOTFOUND)
    }

    /// The load is the number of threads ready to run now (not an average), ×256.
    fn load(&self) -> Load {
        let (_, _, ready) = sched::population();
        Load {
            free_memory: mm::frames::stats().free_bytes,
            load_average: u16::try_from(ready.saturating_mul(256)).unwrap_or(u16::MAX),
            speed_mhz: u16::try_from(tsc::frequency() / 1_000_000).unwrap_or(u16::MAX),
        }
    }
}

fn read_only(owner: &Capability) -> Capability {
    restrict_owner(owner, READ).unwrap_or(Capability::NULL)
}

#[inline(never)] // one symbol per server: image checks find selected servers by name
pub fn start(published: &mut Publications) {
    let ports = new_ports();
    let (server, owner) = ProcServer::new(ports.put, KernelEntropy, Scheduler);
    // Everyone may look; ending processes takes the owner capabilities (admin programs').
    let ps = server.ps_directory();
    published.add("proc", read_only(&owner), owner);
    published.add("ps", read_only(&ps), ps);
    run("proc", ports, owner, server, BUFFER_BYTES);
}
