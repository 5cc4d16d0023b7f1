//! The process server: the node's load, the `ps` directory of live processes, and one object
//! per process to inspect, stun or kill it.
//!
//! Command numbers from `docs/amoeba-protocol.md#kernel-servers`: PS_STUN 2300, PS_GETLOAD 2305
//! (its header layout is in [`control`]), STD_DESTROY 1003. Ours, where the sources are silent:
//!
//! - Object 0 (the server) answers PS_GETLOAD, which needs [`READ`].
//! - The `ps` directory answers LIST and LOOKUP exactly as the kernel directory does
//!   ([`crate::servers::dir::listing`]), needing [`READ`]: one row per live process, named by
//!   its pid in decimal, in pid order. A row's capability carries the rights the `ps`
//!   capability used holds, so a read-only `ps` hands out read-only processes.
//! - A process object answers STD_INFO ("process NAME pid N, T threads, STATE"), STD_DESTROY
//!   (kill; needs [`DESTROY`]) and PS_STUN (code in h_offset; needs [`STUN`]).
//! - A command on an object of the wrong kind is STD_COMBAD.
//!
//! Processes come and go without telling the server: before each request it matches its
//! objects to [`ProcessControl::processes`]. A new pid gets an object with a fresh random
//! check; a pid gone takes its object along, so its capabilities become STD_CAPBAD.

pub mod control;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::capability::{ALL_RIGHTS, Capability, Port};
use crate::random::Entropy;
use crate::rpc::codes::{Command, ErrorCode, PS_FIRST_COM};
use crate::rpc::objects::ObjectTable;
use crate::rpc::server::{Reply, Request, Server};
use crate::servers::dir::listing::{answer_list, answer_lookup, requested_name};
use crate::servers::dir::{LIST, LOOKUP};
use crate::servers::standard::{answer_standard, server_table};
pub use control::{Load, ProcessControl, ProcessState, ProcessSummary};

/// Right to read the load, list and look up processes.
pub const READ: u8 = 0x01;
/// Right to stun a process.
pub const STUN: u8 = 0x02;
/// Right to kill a process.
pub const DESTROY: u8 = 0x04;

/// Stun a process.
pub const PS_STUN: Command = Command(PS_FIRST_COM);
/// The node's load.
pub const PS_GETLOAD: Command = Command(PS_FIRST_COM + 5);

/// What an object of the process server is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProcObject {
    Server,
    PsDirectory,
    Process(u64),
}

/// A live process and its object.
struct Live {
    object: u32,
    summary: ProcessSummary,
}

/// The process server over the kernel's [`ProcessControl`].
pub struct ProcServer<P, E> {
    objects: ObjectTable<ProcObject>,
    ps_directory: Capability,
    live: BTreeMap<u64, Live>,
    control: P,
    entropy: E,
}

impl<P: ProcessControl, E: Entropy> ProcServer<P, E> {
    /// The server at `put_port`, making the checks of new process objects with `entropy`;
    /// with its owner capability.
    pub fn new(put_port: Port, mut entropy: E, control: P) -> (Self, Capability) {
        let (mut objects, owner) = server_table(put_port, &mut entropy, ProcObject::Server);
        // The second object of a fresh table: there is room.
        let ps_directory = objects
            .insert(&mut entropy, ProcObject::PsDirectory)
            .expect("a table with one object has room");
        let server = Self {
            objects,
            ps_directory,
            live: BTreeMap::new(),
            control,
            entropy,
        };
        (server, owner)
    }

    /// The owner capability of the `ps` directory.
    pub fn ps_directory(&self) -> Capability {
        self.ps_directory
    }

    /// The owner capability of process `pid`, if it is alive.
    pub fn process_capability(&mut self, pid: u64) -> Option<Capability> {
        self.sync();
        let live = self.live.get(&pid)?;
        self.objects.capability(live.object, ALL_RIGHTS)
    }

    pub fn control(&self) -> &P {
        &self.control
    }

    pub fn control_mut(&mut self) -> &mut P {
        &mut self.control
    }

    /// Matches the process objects to the processes alive now.
    fn sync(&mut self) {
        let mut now: BTreeMap<u64, ProcessSummary> = self
            .control
            .processes()
            .into_iter()
            .map(|summary| (summary.pid, summary))
            .collect();
        let objects = &mut self.objects;
        self.live.retain(|pid, live| match now.remove(pid) {
            Some(summary) => {
                live.summary = summary;
                true
            }
            None => {
                objects.remove(live.object);
                false
            }
        });
        for (pid, summary) in now {
            // Only 2^24 objects: a process beyond that has none (and is not listed) until
            // others go.
            if let Ok(cap) = objects.insert(&mut self.entropy, ProcObject::Process(pid)) {
                let object = cap.object;
                self.live.insert(pid, Live { object, summary });
            }
        }
    }

    fn describe(&self, object: ProcObject) -> String {
        match object {
            ProcObject::Server => "process server".to_string(),
            ProcObject::PsDirectory => format!("ps directory, {} processes", self.live.len()),
            ProcObject::Process(pid) => match self.live.get(&pid) {
                Some(Live { summary: p, .. }) => format!(
                    "process {} pid {}, {} threads, {}",
                    p.name,
                    p.pid,
                    p.threads,
                    p.state.name()
                ),
                None => format!("process pid {pid}, gone"),
            },
        }
    }

    /// The object the request names, if it holds `needed`.
    fn object(&self, request: &Request<'_>, needed: u8) -> Result<ProcObject, ErrorCode> {
        self.objects
            .get(&request.header, needed)
            .map(|(_, object)| *object)
    }

    /// The pid of the process object the request names, if it holds `needed`.
    fn process(&self, request: &Request<'_>, needed: u8) -> Result<u64, ErrorCode> {
        match self.object(request, needed)? {
            ProcObject::Process(pid) => Ok(pid),
            _ => Err(ErrorCode::STD_COMBAD),
        }
    }

    /// Checks that the request names the `ps` directory with [`READ`]; the rights it holds.
    fn ps_rights(&self, request: &Request<'_>) -> Result<u8, ErrorCode> {
        match self.object(request, READ)? {
            ProcObject::PsDirectory => Ok(request.header.private.rights),
            _ => Err(ErrorCode::STD_COMBAD),
        }
    }

    /// The `ps` rows: pid in decimal → the process with `rights`.
    fn ps_rows(&self, rights: u8) -> Vec<(String, Capability)> {
        let row = |(pid, live): (&u64, &Live)| {
            let cap = self.objects.capability(live.object, rights)?;
            Some((pid.to_string(), cap))
        };
        self.live.iter().filter_map(row).collect()
    }

    fn ps_lookup(&self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let rights = self.ps_rights(request)?;
        let name = requested_name(request)?;
        // Only the canonical decimal form names a process ("007" and "+7" do not).
        let live = name
            .parse::<u64>()
            .ok()
            .filter(|pid| pid.to_string() == name)
            .and_then(|pid| self.live.get(&pid));
        let found = live.and_then(|live| self.objects.capability(live.object, rights));
        answer_lookup(found, reply)
    }

    fn getload(&self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        match self.object(request, READ)? {
            ProcObject::Server => {
                self.control.load().to_header(&mut reply.header);
                Ok(())
            }
            _ => Err(ErrorCode::STD_COMBAD),
        }
    }
}

impl<P: ProcessControl, E: Entropy> Server for ProcServer<P, E> {
    fn handle(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        self.sync();
        let describe = |_, object: &ProcObject| self.describe(*object);
        if let Some(result) = answer_standard(&self.objects, request, reply, describe) {
            return result;
        }
        match request.header.command() {
            PS_GETLOAD => self.getload(request, reply),
            LIST => {
                let rows = self.ps_rows(self.ps_rights(request)?);
                answer_list(rows.into_iter(), request, reply)
            }
            LOOKUP => self.ps_lookup(request, reply),
            Command::STD_DESTROY => {
                let pid = self.process(request, DESTROY)?;
                self.control.kill(pid)
            }
            PS_STUN => {
                let pid = self.process(request, STUN)?;
                self.control.stun(pid, request.header.offset)
            }
            _ => Err(ErrorCode::STD_COMBAD),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
