//! The process server in the kernel: the scheduler's processes as objects, the `ps` directory
//! of them, PS_EXEC from segments held in page frames, and owners told of their processes'
//! ends by PS_CHECKPOINT.
//!
//! PS_STUN: a stunned process is checkpointed to its owner in Amoeba; this kernel cannot stop
//! a process for its owner yet, so a stun ends the process with the stun code, as 5.3 does for
//! a process without an owner.
//!
//! Owners live here, not in the scheduler: the server thread sets them, and a second kernel
//! thread (`proc-owners`) waits for process ends and sends each owner its checkpoint, so a slow
//! or dead owner never holds up the server.

use super::{BUFFER_BYTES, Publications, new_ports, run};
use crate::arch::tsc;
use crate::entropy::KernelEntropy;
use crate::ipc::KernelRpc;
use crate::loader::{self, LoadError};
use crate::mm::address_space::{HeldFrames, MapError};
use crate::{mm, sched};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use libamoeba::capability::Capability;
use libamoeba::client::bs_read;
use libamoeba::priority::Level;
use libamoeba::rights::restrict_owner;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::transport::Rpc;
use libamoeba::servers::proc::checkpoint::ended_descriptor;
use libamoeba::servers::proc::{
    CREATE, Checkpoint, EXEC, ExecRequest, Load, ProcServer, ProcessControl, ProcessState,
    ProcessSummary, READ, SegmentId, Termination,
};
use spin::Mutex;

/// A process's owner and the capability that names the process to it.
#[derive(Clone, Copy)]
struct Owned {
    owner: Capability,
    process: Capability,
}

/// Owners by pid, for the server thread and the thread that sends checkpoints.
static OWNERS: Mutex<BTreeMap<u64, Owned>> = Mutex::new(BTreeMap::new());

/// The kernel's side of the process server: the scheduler, and the segments held for creators.
#[derive(Default)]
struct Processes {
    held: BTreeMap<SegmentId, HeldFrames>,
    next_segment: SegmentId,
}

fn is_alive(pid: u64) -> bool {
    sched::process_facts().iter().any(|p| p.pid == pid)
}

fn exec_error(error: &LoadError) -> ErrorCode {
    match error {
        LoadError::Map(MapError::OutOfMemory) => ErrorCode::STD_NOMEM,
        LoadError::Start(libamoeba::syscall::Error::NoMemory) => ErrorCode::STD_NOMEM,
        LoadError::Unsupported(_) => ErrorCode::STD_COMBAD,
        _ => ErrorCode::STD_ARGBAD,
    }
}

impl ProcessControl for Processes {
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

    fn exec(&mut self, request: ExecRequest) -> Result<u64, ErrorCode> {
        let segments = request
            .segments
            .iter()
            .map(|held| held.and_then(|id| self.held.remove(&id)))
            .collect();
        let pid =
            loader::exec_descriptor("process", &request.descriptor, segments).map_err(|error| {
                log::warn!("exec refused: {error}");
                exec_error(&error)
            })?;
        let owned = Owned {
            owner: request.descriptor.owner_cap,
            process: Capability::NULL,
        };
        OWNERS.lock().insert(pid, owned);
        Ok(pid)
    }

    fn created(&mut self, pid: u64, process: Capability) {
        if let Some(owned) = OWNERS.lock().get_mut(&pid) {
            owned.process = process;
        }
    }

    fn owner(&self, pid: u64) -> Option<Capability> {
        let owner = OWNERS.lock().get(&pid).map(|o| o.owner);
        is_alive(pid).then(|| owner.unwrap_or(Capability::NULL))
    }

    fn set_owner(&mut self, pid: u64, owner: Capability) -> Result<(), ErrorCode> {
        if !is_alive(pid) {
            return Err(ErrorCode::STD_NOTFOUND);
        }
        let mut owners = OWNERS.lock();
        let entry = owners.entry(pid).or_insert(Owned {
            owner,
            process: Capability::NULL,
        });
        entry.owner = owner;
        Ok(())
    }

    fn rename(&mut self, pid: u64, name: &str) -> Result<(), ErrorCode> {
        sched::rename_process(pid, name).map_err(|_| ErrorCode::STD_NOTFOUND)
    }

    fn segment_create(&mut self, bytes: u64) -> Result<SegmentId, ErrorCode> {
        let frames = HeldFrames::new(bytes).map_err(|_| ErrorCode::STD_NOMEM)?;
        self.next_segment += 1;
        self.held.insert(self.next_segment, frames);
        Ok(self.next_segment)
    }

    fn segment_write(&mut self, id: SegmentId, offset: u64, data: &[u8]) -> Result<(), ErrorCode> {
        let held = self.held.get_mut(&id).ok_or(ErrorCode::STD_NOTFOUND)?;
        if held.write(offset, data) {
            Ok(())
        } else {
            Err(ErrorCode::STD_ARGBAD)
        }
    }

    fn segment_read(
        &self,
        id: SegmentId,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, ErrorCode> {
        let held = self.held.get(&id).ok_or(ErrorCode::STD_NOTFOUND)?;
        Ok(held.read(offset, buffer))
    }

    fn segment_size(&self, id: SegmentId) -> Option<u64> {
        self.held.get(&id).map(HeldFrames::len)
    }

    fn segment_destroy(&mut self, id: SegmentId) {
        self.held.remove(&id);
    }

    fn remote_read(
        &self,
        source: &Capability,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, ErrorCode> {
        bs_read(&KernelRpc, source, offset, buffer)
    }
}

/// Sends each owner the checkpoint of its process's end, for ever.
fn tell_owners() {
    sched::watch_process_ends();
    loop {
        let end = sched::next_process_end();
        let Some(owned) = OWNERS.lock().remove(&end.pid) else {
            continue;
        };
        if owned.owner.is_null() {
            continue;
        }
        let termination = match end.ending {
            sched::Ending::Exited(code) => Termination::Exited(code as i32),
            sched::Ending::Aborted => Termination::Exception(-1),
        };
        let checkpoint = Checkpoint {
            termination,
            descriptor: ended_descriptor(owned.process, owned.owner),
        };
        let (header, data) = checkpoint.request(&owned.owner);
        let mut reply = libamoeba::rpc::header::Header::default();
        if let Err(error) = KernelRpc.trans(&header, &data, &mut reply, &mut []) {
            log::warn!(
                "pid {}: telling its owner {} that it ended: {error}",
                end.pid,
                owned.owner
            );
        }
    }
}

/// What everyone finds under `proc`: the right to look and, on this pool processor, to send
/// segments and start processes of them.
fn published(owner: &Capability) -> Capability {
    restrict_owner(owner, READ | CREATE | EXEC).unwrap_or(Capability::NULL)
}

fn read_only(owner: &Capability) -> Capability {
    restrict_owner(owner, READ).unwrap_or(Capability::NULL)
}

#[inline(never)] // one symbol per server: image checks find selected servers by name
pub fn start(published_caps: &mut Publications) {
    let ports = new_ports();
    let (server, owner) = ProcServer::new(ports.put, KernelEntropy, Processes::default());
    // Everyone may look and start processes; ending others' processes takes the owner
    // capabilities (admin programs') or the process's own capability.
    let ps = server.ps_directory();
    published_caps.add("proc", published(&owner), owner);
    published_caps.add("ps", read_only(&ps), ps);
    if sched::spawn_kernel_task(Level::Norm, tell_owners).is_err() {
        log::error!("server proc: no memory for the thread that tells owners");
    }
    run("proc", ports, owner, server, BUFFER_BYTES);
}
