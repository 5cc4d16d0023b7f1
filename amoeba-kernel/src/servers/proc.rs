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
use libamoeba::process::ProcessDescriptor;
use libamoeba::rights::restrict_owner;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::header::Header;
use libamoeba::rpc::transport::Rpc;
use libamoeba::servers::proc::checkpoint::ended_descriptor;
use libamoeba::servers::proc::{
    CREATE, Checkpoint, EXEC, ExecRequest, Load, ProcServer, ProcessControl, ProcessState,
    ProcessSummary, READ, SegmentId, Termination,
};
use spin::Mutex;

/// A process's owner, the capability that names the process to it, and the code of the last
/// stun asked for.
#[derive(Clone, Copy)]
struct Owned {
    owner: Capability,
    process: Capability,
    stun_code: i32,
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
        let has_owner = {
            let mut owners = OWNERS.lock();
            let owned = owners.get_mut(&pid).filter(|o| !o.owner.is_null());
            owned.map(|o| o.stun_code = code).is_some()
        };
        if !has_owner {
            return sched::kill_process(pid, i64::from(code)).map_err(|_| ErrorCode::STD_NOTFOUND);
        }
        sched::stun_process(pid).map_err(|error| match error {
            libamoeba::syscall::Error::Denied => ErrorCode::STD_NOTNOW,
            _ => ErrorCode::STD_NOTFOUND,
        })?;
        let watch = move || {
            sched::sleep(STUN_LIMIT_MS * 1_000_000);
            if sched::abandon_incomplete_stun(pid) {
                log::warn!("pid {pid}: stun not complete after {STUN_LIMIT_MS} ms: resumed");
            }
        };
        if sched::spawn_kernel_task(Level::Norm, watch).is_err() {
            // Without the watch a stun that never completes leaves the process stopped.
            log::warn!("pid {pid}: no memory to watch its stun");
        }
        Ok(())
    }

    fn process_read(&self, pid: u64, offset: u64, buffer: &mut [u8]) -> Result<usize, ErrorCode> {
        sched::read_stopped(pid, offset, buffer).ok_or(ErrorCode::STD_NOTNOW)
    }

    /// The load is the number of user threads at work now (not an average), ×256: see
    /// `sched::busy_user_threads`.
    fn load(&self) -> Load {
        let busy = sched::busy_user_threads();
        Load {
            free_memory: mm::frames::stats().free_bytes,
            load_average: u16::try_from(busy.saturating_mul(256)).unwrap_or(u16::MAX),
            speed_mhz: u16::try_from(tsc::frequency() / 1_000_000).unwrap_or(u16::MAX),
        }
    }

    fn exec(&mut self, request: ExecRequest) -> Result<u64, ErrorCode> {
        let segments = request
            .segments
            .iter()
            .map(|held| held.and_then(|id| self.held.remove(&id)))
            .collect();
        let started = crate::arch::cpu::rdtsc();
        let pid =
            loader::exec_descriptor("process", &request.descriptor, segments).map_err(|error| {
                log::warn!("exec refused: {error}");
                exec_error(&error)
            })?;
        log::info!(
            "process pid {pid} created from its descriptor in {} cycles",
            crate::arch::cpu::rdtsc() - started
        );
        let owned = Owned {
            owner: request.descriptor.owner_cap,
            process: Capability::NULL,
            stun_code: 0,
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
            stun_code: 0,
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

/// Tells owners what happened to their processes, for ever.
fn tell_owners() {
    sched::watch_process_events();
    loop {
        let event = sched::next_process_event();
        let pid = event.pid;
        let termination = match event.happened {
            sched::Happened::Stunned => {
                let started = sched::spawn_kernel_task(Level::Norm, move || checkpoint_stun(pid));
                if started.is_err() {
                    log::error!("pid {pid}: no memory to checkpoint it; it stays stunned");
                }
                continue;
            }
            sched::Happened::Exited(code) => Termination::Exited(code as i32),
            sched::Happened::Aborted => Termination::Exception(-1),
        };
        let Some(owned) = OWNERS.lock().remove(&pid) else {
            continue;
        };
        let checkpoint = Checkpoint {
            termination,
            descriptor: ended_descriptor(owned.process, owned.owner),
        };
        if let Err(error) = send(&owned, &checkpoint, &mut []).map(drop) {
            log::warn!(
                "pid {pid}: telling its owner {} that it ended: {error}",
                owned.owner
            );
        }
    }
}

/// Sends `checkpoint` to the owner; the reply's header and the bytes of its data.
fn send(
    owned: &Owned,
    checkpoint: &Checkpoint,
    reply_data: &mut [u8],
) -> Result<(Header, usize), ErrorCode> {
    let (header, data) = checkpoint.request(&owned.owner);
    let mut reply = Header::default();
    let received = KernelRpc.trans(&header, &data, &mut reply, reply_data)?;
    Ok((reply, received.len))
}

/// The descriptor of stunned process `pid` as its owner gets it: itself and its owner named,
/// each segment read by the process's capability at its place in the process's memory.
fn checkpoint_descriptor(pid: u64, owned: &Owned) -> Option<ProcessDescriptor> {
    let mut descriptor = sched::describe_stopped(pid)?;
    let readable = restrict_owner(&owned.process, READ)?;
    descriptor.self_cap = owned.process;
    descriptor.owner_cap = owned.owner;
    let mut offset = 0;
    for segment in &mut descriptor.segments {
        segment.cap = readable;
        segment.offset = offset;
        offset += segment.length;
    }
    Some(descriptor)
}

/// Sends the owner of stunned process `pid` its checkpoint and does what the reply says.
fn checkpoint_stun(pid: u64) {
    let Some(owned) = OWNERS.lock().get(&pid).copied() else {
        return;
    };
    let Some(descriptor) = checkpoint_descriptor(pid, &owned) else {
        log::error!("pid {pid}: stunned but cannot be described; resumed");
        let _ = sched::resume_process(pid);
        return;
    };
    let checkpoint = Checkpoint {
        termination: Termination::Stunned(owned.stun_code),
        descriptor,
    };
    // A descriptor back means "resume": a few bytes of it are enough to tell.
    let mut back = [0u8; 64];
    match send(&owned, &checkpoint, &mut back) {
        Ok((reply, len)) if reply.error().is_none() && len > 0 => {
            let _ = sched::resume_process(pid);
        }
        Ok(_) => {
            // It runs elsewhere now (or the owner wants it gone): no end to report.
            OWNERS.lock().remove(&pid);
            let _ = sched::kill_process(pid, i64::from(owned.stun_code));
        }
        Err(ErrorCode::RPC_NOTFOUND) => {
            log::warn!("pid {pid}: its owner {} is not there; resumed", owned.owner);
            let _ = sched::resume_process(pid);
        }
        Err(error) => log::warn!(
            "pid {pid}: checkpoint to its owner {}: {error}; it stays stunned",
            owned.owner
        ),
    }
}

/// What everyone finds under `proc`: the right to look and, on a pool processor, to send
/// segments and start processes of them. A node built with `proc-exec-withheld` (`[kernel]
/// remote_exec = false`) publishes the right to look only, so no other host or node can start
/// processes on it; its own admin programs hold the owner capability and still can.
fn published(owner: &Capability) -> Capability {
    // `cfg!` rather than `#[cfg]`: both arms compile, so CREATE and EXEC stay used either way.
    let rights = if cfg!(feature = "proc-exec-withheld") {
        READ
    } else {
        READ | CREATE | EXEC
    };
    restrict_owner(owner, rights).unwrap_or(Capability::NULL)
}

fn read_only(owner: &Capability) -> Capability {
    restrict_owner(owner, READ).unwrap_or(Capability::NULL)
}

/// How long a stun may take to stop every thread (milliseconds) before it is given up and the
/// process goes on: a thread in a call that never ends must not leave it stopped for ever.
/// Less than a mover's wait for the checkpoint (`libamoeba::client::migration`), so the mover
/// finds the process running when it gives up.
const STUN_LIMIT_MS: u64 = 20_000;

#[inline(never)] // one symbol per server: image checks find selected servers by name
pub fn start(published_caps: &mut Publications) {
    let ports = new_ports();
    let (server, owner) = ProcServer::new(ports.put, KernelEntropy, Processes::default());
    // Everyone may look and (unless the profile withholds it) start processes; ending others'
    // processes takes the owner capabilities (admin programs') or the process's own.
    let ps = server.ps_directory();
    published_caps.add("proc", published(&owner), owner);
    published_caps.add("ps", read_only(&ps), ps);
    if sched::spawn_kernel_task(Level::Norm, tell_owners).is_err() {
        log::error!("server proc: no memory for the thread that tells owners");
    }
    run("proc", ports, owner, server, BUFFER_BYTES);
}
