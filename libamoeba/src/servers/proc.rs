//! The process server: processes created by PS_EXEC from segments their creator holds here
//! or anyone serves, the node's load, the `ps` directory of live processes, one object per
//! process to inspect, own, stun or kill it, and one per held segment.
//!
//! Command numbers and rights from `docs/amoeba-protocol.md#kernel-servers` (Amoeba 5.3's):
//!
//! | object | command | rights | request → reply |
//! |---|---|---|---|
//! | server | PS_GETLOAD 2305 | READ | h_offset free KiB, h_size load ×256, h_extra MHz ([`control`]) |
//! | server | PS_GETDEF 2304 | READ | h_extra first user page, h_offset last page + 1 (saturated), h_size 12 |
//! | server | PS_SEG_CREATE 2306 | CREATE | h_offset = bytes; data = optional source capability → segment capability |
//! | server | PS_EXEC 2303 | EXEC | data = descriptor → process capability (all rights) |
//! | server | PS_SGETLOAD 2312 | all | as GETLOAD, plus the current exec capability in the header ([`exec_keys`]) |
//! | exec capability | PS_EXEC 2303 | EXEC | as on the server |
//! | segment | PS_SEG_WRITE 2307 | WRITE | h_offset = where; data → h_size = bytes written |
//! | segment | BS_READ 2006 | READ | h_offset, h_size → the bytes |
//! | segment | BS_SIZE 2007 | READ | → h_offset = bytes |
//! | segment | STD_DESTROY | DELETE | |
//! | process | PS_STUN 2300 | KILL | h_offset = code (negative: kill at once) |
//! | process | BS_READ 2006 | READ | h_offset, h_size → bytes of a stunned process: its segments one after another |
//! | process | STD_DESTROY | KILL | ends it |
//! | process | PS_GETOWNER 2301 | READ | → owner capability in the header (rights 0 without KILL) |
//! | process | PS_SETOWNER 2302 | KILL | data = capability (null: none) |
//! | process | PS_SETCOMMENT 2309 / GETCOMMENT 2310 | KILL / READ | the name `ps` shows (31 bytes) |
//! | `ps` | SP_LIST, SP_LOOKUP | READ | as every directory ([`crate::soap::flat`]) |
//!
//! PS_EXEC checks the descriptor (this architecture, at least one segment and one thread, the
//! address-space rules of [`check_address_layout`]) and gathers every segment before the kernel
//! sees it: a null capability is zero-filled; a segment of this server is taken as it is; any
//! other is read by BS_READ from whoever serves it into a segment held here. So a creator on
//! another machine sends its segments with PS_SEG_CREATE and PS_SEG_WRITE, and a migrating
//! process's segments come straight from the node it leaves. The descriptor's owner
//! capability becomes the process's owner (told of its end by a [`checkpoint`]).
//!
//! A `ps` row's capability carries the rights the `ps` capability used holds, so a read-only
//! `ps` hands out read-only processes. A command on an object of the wrong kind is STD_COMBAD.
//!
//! Processes come and go without telling the server: before each request it matches its
//! objects to [`ProcessControl::processes`]. A new pid gets an object with a fresh random
//! check; a pid gone takes its object along, so its capabilities become STD_CAPBAD.

pub mod checkpoint;
pub mod control;
mod exec;
mod exec_keys;
pub mod owner;
mod segments;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::capability::{ALL_RIGHTS, Capability, Port};
use crate::random::Entropy;
use crate::rpc::codes::{BULLET_FIRST_COM, Command, ErrorCode, PS_FIRST_COM};
use crate::rpc::objects::ObjectTable;
use crate::rpc::server::{Reply, Request, Server};
use crate::servers::standard::{answer_standard, server_table};
use crate::soap::flat::{answer_list, answer_lookup};
use crate::soap::server::{SP_LIST, SP_LOOKUP};
pub use checkpoint::{Checkpoint, CheckpointError, Termination};
pub use control::{ExecRequest, Load, ProcessControl, ProcessState, ProcessSummary, SegmentId};

/// Right to read the load, list, look up and read.
pub const READ: u8 = 0x01;
/// Right to write a held segment.
pub const WRITE: u8 = 0x02;
/// Right to create segments.
pub const CREATE: u8 = 0x04;
/// Right to destroy a held segment.
pub const DELETE: u8 = 0x08;
/// Right to create processes (PS_EXEC).
pub const EXEC: u8 = 0x10;
/// Right to stun, kill or give away a process.
pub const KILL: u8 = 0x20;

/// Stop a process and checkpoint it to its owner.
pub const PS_STUN: Command = Command(PS_FIRST_COM);
pub const PS_GETOWNER: Command = Command(PS_FIRST_COM + 1);
pub const PS_SETOWNER: Command = Command(PS_FIRST_COM + 2);
/// Create a process from a descriptor.
pub const PS_EXEC: Command = Command(PS_FIRST_COM + 3);
/// The address-space facts of this node.
pub const PS_GETDEF: Command = Command(PS_FIRST_COM + 4);
/// The node's load.
pub const PS_GETLOAD: Command = Command(PS_FIRST_COM + 5);
pub const PS_SEG_CREATE: Command = Command(PS_FIRST_COM + 6);
pub const PS_SEG_WRITE: Command = Command(PS_FIRST_COM + 7);
/// Process server → owner: the process stopped ([`checkpoint`]).
pub const PS_CHECKPOINT: Command = Command(PS_FIRST_COM + 8);
pub const PS_SETCOMMENT: Command = Command(PS_FIRST_COM + 9);
pub const PS_GETCOMMENT: Command = Command(PS_FIRST_COM + 10);
/// Whoever moved a process → its owner: the old capability and the new ([`owner`]).
pub const PS_SWAPPROC: Command = Command(PS_FIRST_COM + 11);
/// The load and the current exec capability (server capability with all rights).
pub const PS_SGETLOAD: Command = Command(PS_FIRST_COM + 12);
/// Read bytes of a file or segment (the Bullet server's command, which segments answer too).
pub const BS_READ: Command = Command(BULLET_FIRST_COM + 6);
/// The size of a file or segment.
pub const BS_SIZE: Command = Command(BULLET_FIRST_COM + 7);

/// Most bytes one PS_SEG_WRITE or BS_READ carries; creators send segments in such chunks.
pub const SEGMENT_CHUNK: usize = 8192;
/// Longest process name PS_SETCOMMENT takes.
pub const MAX_COMMENT: usize = 31;

/// What an object of the process server is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProcObject {
    Server,
    PsDirectory,
    Process(u64),
    Segment(SegmentId),
    /// An exec capability PS_SGETLOAD gave out ([`exec_keys`]).
    ExecKey,
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
    exec_keys: exec_keys::ExecKeys,
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
            exec_keys: exec_keys::ExecKeys::default(),
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
            ProcObject::Segment(id) => match self.control.segment_size(id) {
                Some(bytes) => format!("segment of {bytes} bytes"),
                None => "segment, gone".to_string(),
            },
            ProcObject::ExecKey => "process server, exec only".to_string(),
        }
    }

    /// The object the request names, if it holds `needed`.
    fn object(&self, request: &Request<'_>, needed: u8) -> Result<ProcObject, ErrorCode> {
        self.objects
            .get(&request.header, needed)
            .map(|(_, object)| *object)
    }

    /// Checks that the request names the `ps` directory with [`READ`]; the rights it holds.
    fn ps_rights(&self, request: &Request<'_>) -> Result<u8, ErrorCode> {
        match self.object(request, READ)? {
            ProcObject::PsDirectory => Ok(request.header.private.rights),
            _ => Err(ErrorCode::STD_COMBAD),
        }
    }

    /// The `ps` rows: pids in decimal.
    fn ps_names(&self) -> Vec<String> {
        self.live.keys().map(|pid| pid.to_string()).collect()
    }

    fn ps_lookup(&self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let rights = self.ps_rights(request)?;
        answer_lookup(request, reply, |name| {
            // Only the canonical decimal form names a process ("007" and "+7" do not).
            let live = name
                .parse::<u64>()
                .ok()
                .filter(|pid| pid.to_string() == name)
                .and_then(|pid| self.live.get(&pid))?;
            self.objects.capability(live.object, rights)
        })
    }

    fn getload(&self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        self.object(request, READ)?;
        self.control.load().to_header(&mut reply.header);
        Ok(())
    }

    /// Pages are 4 KiB; the end of user space (page 2^35) does not fit h_offset and saturates.
    fn getdef(&self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        use crate::memory::PAGE_SIZE;
        use crate::process::image::{USER_SPACE_END, USER_SPACE_START};
        self.object(request, READ)?;
        reply.header.extra = u16::try_from(USER_SPACE_START / PAGE_SIZE).unwrap_or(u16::MAX);
        reply.header.offset = i32::try_from(USER_SPACE_END / PAGE_SIZE).unwrap_or(i32::MAX);
        reply.header.size = PAGE_SIZE.trailing_zeros() as u16;
        Ok(())
    }
}

impl<P: ProcessControl, E: Entropy> ProcServer<P, E> {
    fn on_server(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        match request.header.command() {
            PS_GETLOAD => self.getload(request, reply),
            PS_GETDEF => self.getdef(request, reply),
            PS_SEG_CREATE => self.seg_create(request, reply),
            PS_EXEC => self.exec(request, reply),
            PS_SGETLOAD => self.sgetload(request, reply),
            _ => Err(ErrorCode::STD_COMBAD),
        }
    }

    fn on_process(
        &mut self,
        pid: u64,
        request: &Request<'_>,
        reply: &mut Reply<'_>,
    ) -> Result<(), ErrorCode> {
        let rights = request.header.private.rights;
        let need = |right: u8| {
            if rights & right == right {
                Ok(())
            } else {
                Err(ErrorCode::STD_DENIED)
            }
        };
        match request.header.command() {
            Command::STD_DESTROY => {
                need(KILL)?;
                self.control.kill(pid)
            }
            PS_STUN if request.header.offset < 0 => {
                need(KILL)?;
                self.control.kill(pid)
            }
            PS_STUN => {
                need(KILL)?;
                self.control.stun(pid, request.header.offset)
            }
            BS_READ => {
                need(READ)?;
                let offset =
                    u64::try_from(request.header.offset).map_err(|_| ErrorCode::STD_ARGBAD)?;
                let want = usize::from(request.header.size).min(reply.room());
                let mut buffer = alloc::vec![0u8; want];
                let got = self.control.process_read(pid, offset, &mut buffer)?;
                reply.push(&buffer[..got.min(want)])
            }
            PS_GETOWNER => {
                need(READ)?;
                let owner = self.control.owner(pid).ok_or(ErrorCode::STD_NOTFOUND)?;
                let shown = if rights & KILL != 0 {
                    owner
                } else {
                    Capability { rights: 0, ..owner }
                };
                reply.header.set_capability(&shown);
                Ok(())
            }
            PS_SETOWNER => {
                need(KILL)?;
                let owner =
                    Capability::from_bytes(request.data).map_err(|_| ErrorCode::STD_ARGBAD)?;
                self.control.set_owner(pid, owner)
            }
            PS_SETCOMMENT => {
                need(KILL)?;
                let name = core::str::from_utf8(request.data).map_err(|_| ErrorCode::STD_ARGBAD)?;
                let name = name.trim_end_matches('\0');
                if name.is_empty() || name.len() > MAX_COMMENT || name.contains('\0') {
                    return Err(ErrorCode::STD_ARGBAD);
                }
                self.control.rename(pid, name)
            }
            PS_GETCOMMENT => {
                need(READ)?;
                let name = self.live.get(&pid).map(|l| l.summary.name.clone());
                reply.push(name.unwrap_or_default().as_bytes())
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
        // Any right gets a command to its handler, which checks the rights that command needs.
        let (object, kind) = self.objects.get(&request.header, 0)?;
        match *kind {
            ProcObject::Server => self.on_server(request, reply),
            ProcObject::PsDirectory => match request.header.command() {
                SP_LIST => {
                    self.ps_rights(request)?;
                    answer_list(&self.ps_names(), request, reply)
                }
                SP_LOOKUP => self.ps_lookup(request, reply),
                _ => Err(ErrorCode::STD_COMBAD),
            },
            ProcObject::Process(pid) => self.on_process(pid, request, reply),
            ProcObject::Segment(id) => self.on_segment(object, id, request, reply),
            ProcObject::ExecKey => match request.header.command() {
                PS_EXEC => self.exec(request, reply),
                _ => Err(ErrorCode::STD_COMBAD),
            },
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
