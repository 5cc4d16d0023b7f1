//! Tests of the process server against a fake kernel whose processes a test changes.

use super::*;
use crate::process::ProcessDescriptor;
use crate::random::SeededGenerator;
use crate::rpc::header::Header;
use crate::servers::loopback::call;
use crate::servers::refusals::{assert_refusals, restrict};
use crate::soap::server::{SP_LIST as LIST, SP_LOOKUP as LOOKUP};
use crate::soap::wire;
use alloc::vec;

/// Processes a test sets up; kill removes one, stun marks it, exec adds one. Segments are
/// vectors; remote ones are read from `remote`.
#[derive(Default)]
pub(crate) struct FakeProcesses {
    pub(crate) processes: Vec<ProcessSummary>,
    pub(crate) stuns: Vec<(u64, i32)>,
    pub(crate) load: Load,
    pub(crate) segments: BTreeMap<SegmentId, Vec<u8>>,
    next_segment: SegmentId,
    pub(crate) owners: BTreeMap<u64, Capability>,
    /// Every exec: its descriptor and each segment's bytes (`None`: zero-filled).
    pub(crate) execs: Vec<(ProcessDescriptor, Vec<Option<Vec<u8>>>)>,
    /// What a remote capability's BS_READ returns.
    pub(crate) remote: Vec<(Capability, Vec<u8>)>,
    /// The capability each exec'd process got.
    pub(crate) created: Vec<(u64, Capability)>,
    /// Most bytes of segments the fake may hold at once.
    pub(crate) memory: usize,
}

impl FakeProcesses {
    pub(crate) fn start(&mut self, pid: u64, name: &str) {
        self.processes.push(ProcessSummary {
            pid,
            name: name.to_string(),
            threads: 1,
            state: ProcessState::Running,
        });
    }

    fn find(&mut self, pid: u64) -> Result<&mut ProcessSummary, ErrorCode> {
        let found = self.processes.iter_mut().find(|p| p.pid == pid);
        found.ok_or(ErrorCode::STD_NOTFOUND)
    }
}

impl ProcessControl for FakeProcesses {
    fn processes(&self) -> Vec<ProcessSummary> {
        self.processes.clone()
    }

    fn kill(&mut self, pid: u64) -> Result<(), ErrorCode> {
        self.find(pid)?;
        self.processes.retain(|p| p.pid != pid);
        Ok(())
    }

    fn stun(&mut self, pid: u64, code: i32) -> Result<(), ErrorCode> {
        self.find(pid)?.state = ProcessState::Stunned;
        self.stuns.push((pid, code));
        Ok(())
    }

    fn load(&self) -> Load {
        self.load
    }

    fn exec(&mut self, request: ExecRequest) -> Result<u64, ErrorCode> {
        let contents = request
            .segments
            .iter()
            .map(|held| held.map(|id| self.segments.remove(&id).unwrap_or_default()))
            .collect();
        let pid = self.processes.iter().map(|p| p.pid).max().unwrap_or(0) + 1;
        self.start(pid, "exec");
        self.owners.insert(pid, request.descriptor.owner_cap);
        self.execs.push((request.descriptor, contents));
        Ok(pid)
    }

    fn created(&mut self, pid: u64, process: Capability) {
        self.created.push((pid, process));
    }

    fn owner(&self, pid: u64) -> Option<Capability> {
        self.processes
            .iter()
            .any(|p| p.pid == pid)
            .then(|| self.owners.get(&pid).copied().unwrap_or(Capability::NULL))
    }

    fn set_owner(&mut self, pid: u64, owner: Capability) -> Result<(), ErrorCode> {
        self.find(pid)?;
        self.owners.insert(pid, owner);
        Ok(())
    }

    fn rename(&mut self, pid: u64, name: &str) -> Result<(), ErrorCode> {
        self.find(pid)?.name = name.to_string();
        Ok(())
    }

    fn process_read(&self, pid: u64, offset: u64, buffer: &mut [u8]) -> Result<usize, ErrorCode> {
        let process = self.processes.iter().find(|p| p.pid == pid);
        match process {
            Some(p) if p.state == ProcessState::Stunned => {
                let memory = vec![pid as u8; 100];
                Ok(read_at(&memory, offset, buffer))
            }
            Some(_) => Err(ErrorCode::STD_NOTNOW),
            None => Err(ErrorCode::STD_NOTFOUND),
        }
    }

    fn segment_create(&mut self, bytes: u64) -> Result<SegmentId, ErrorCode> {
        let held: usize = self.segments.values().map(Vec::len).sum();
        let bytes = usize::try_from(bytes).map_err(|_| ErrorCode::STD_NOMEM)?;
        if held + bytes > self.memory {
            return Err(ErrorCode::STD_NOMEM);
        }
        self.next_segment += 1;
        self.segments.insert(self.next_segment, vec![0; bytes]);
        Ok(self.next_segment)
    }

    fn segment_write(&mut self, id: SegmentId, offset: u64, data: &[u8]) -> Result<(), ErrorCode> {
        let segment = self.segments.get_mut(&id).ok_or(ErrorCode::STD_NOTFOUND)?;
        let start = usize::try_from(offset).map_err(|_| ErrorCode::STD_ARGBAD)?;
        let target = segment
            .get_mut(start..start.saturating_add(data.len()))
            .ok_or(ErrorCode::STD_ARGBAD)?;
        target.copy_from_slice(data);
        Ok(())
    }

    fn segment_read(
        &self,
        id: SegmentId,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, ErrorCode> {
        let segment = self.segments.get(&id).ok_or(ErrorCode::STD_NOTFOUND)?;
        Ok(read_at(segment, offset, buffer))
    }

    fn segment_size(&self, id: SegmentId) -> Option<u64> {
        self.segments.get(&id).map(|s| s.len() as u64)
    }

    fn segment_destroy(&mut self, id: SegmentId) {
        self.segments.remove(&id);
    }

    fn remote_read(
        &self,
        source: &Capability,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, ErrorCode> {
        let (_, bytes) = self
            .remote
            .iter()
            .find(|(cap, _)| cap == source)
            .ok_or(ErrorCode::RPC_NOTFOUND)?;
        Ok(read_at(bytes, offset, buffer))
    }
}

fn read_at(bytes: &[u8], offset: u64, buffer: &mut [u8]) -> usize {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    let n = (bytes.len() - start).min(buffer.len());
    buffer[..n].copy_from_slice(&bytes[start..start + n]);
    n
}

pub(crate) type TestServer = ProcServer<FakeProcesses, SeededGenerator>;

pub(crate) fn server() -> (TestServer, Capability) {
    let mut fake = FakeProcesses {
        memory: 1 << 20,
        ..FakeProcesses::default()
    };
    fake.start(7, "init");
    fake.start(12, "shell");
    fake.load = Load {
        free_memory: 64 << 20,
        load_average: 256,
        speed_mhz: 3000,
    };
    ProcServer::new(Port([0x9c; 6]), SeededGenerator::new(6), fake)
}

fn send(ps: &mut TestServer, header: Header, data: &[u8]) -> Result<(Header, Vec<u8>), ErrorCode> {
    let (reply, data) = call(ps, header, data);
    reply.error().map_or(Ok((reply, data)), Err)
}

fn info(ps: &mut TestServer, cap: &Capability) -> String {
    let (_, text) = send(ps, Header::request(cap, Command::STD_INFO), &[]).unwrap();
    String::from_utf8(text).unwrap()
}

/// Every row of `ps`, LIST then a LOOKUP a name, as the client stubs do.
fn list(ps: &mut TestServer, cap: &Capability) -> Vec<(String, Capability)> {
    let (_, data) = send(ps, Header::request(cap, LIST), &[]).unwrap();
    let page = wire::decode_list(&data).unwrap();
    page.rows
        .into_iter()
        .map(|(name, _)| {
            let found = lookup(ps, cap, name.as_bytes()).unwrap();
            (name, found)
        })
        .collect()
}

/// LOOKUP of `name` in `ps`: the capability, or the error.
fn lookup(ps: &mut TestServer, dir: &Capability, name: &[u8]) -> Result<Capability, ErrorCode> {
    let mut request = name.to_vec();
    request.push(0);
    let (_, data) = send(ps, Header::request(dir, LOOKUP), &request)?;
    let (rest, capset) = wire::decode_lookup_reply(&data).unwrap();
    assert_eq!(rest, "");
    Ok(capset.first().unwrap())
}

#[test]
fn every_object_describes_itself() {
    let (mut ps, owner) = server();
    let dir = ps.ps_directory();
    let init = ps.process_capability(7).unwrap();
    assert_eq!(info(&mut ps, &owner), "process server");
    assert_eq!(info(&mut ps, &dir), "ps directory, 2 processes");
    assert_eq!(
        info(&mut ps, &init),
        "process init pid 7, 1 threads, running"
    );
    assert_eq!(ps.process_capability(8), None);
}

#[test]
fn getload_answers_in_the_header() {
    let (mut ps, owner) = server();
    let (reply, data) = send(&mut ps, Header::request(&owner, PS_GETLOAD), &[]).unwrap();
    assert_eq!(
        (reply.offset, reply.size, reply.extra, data.len()),
        (64 << 10, 256, 3000, 0)
    );
    assert_eq!(Load::from_header(&reply), Some(ps.control().load));
}

#[test]
fn ps_lists_and_looks_up_processes_by_pid() {
    let (mut ps, _) = server();
    let dir = ps.ps_directory();
    let rows = list(&mut ps, &dir);
    let init = ps.process_capability(7).unwrap();
    let shell = ps.process_capability(12).unwrap();
    assert_eq!(rows, [("7".to_string(), init), ("12".to_string(), shell)]);
    assert_eq!(lookup(&mut ps, &dir, b"12"), Ok(shell));
    for absent in [&b"8"[..], b"007", b"+7", b"init"] {
        assert_eq!(lookup(&mut ps, &dir, absent), Err(ErrorCode::STD_NOTFOUND));
    }
    // A request without its NUL is not a path.
    let result = send(&mut ps, Header::request(&dir, LOOKUP), b"12");
    assert_eq!(result.map(|_| ()), Err(ErrorCode::STD_ARGBAD));
}

#[test]
fn a_read_only_ps_hands_out_read_only_processes() {
    let (mut ps, _) = server();
    let dir = ps.ps_directory();
    let read = restrict(&mut ps, &dir, READ);
    let rows = list(&mut ps, &read);
    assert!(rows.iter().all(|(_, cap)| cap.rights == READ));
    let init = lookup(&mut ps, &read, b"7").unwrap();
    assert_eq!(init.rights, READ);
    let kill = send(&mut ps, Header::request(&init, Command::STD_DESTROY), &[]);
    assert_eq!(kill.map(|_| ()), Err(ErrorCode::STD_DENIED));
    assert_eq!(ps.control().processes.len(), 2);
}

#[test]
fn objects_follow_processes_as_they_come_and_go() {
    let (mut ps, _) = server();
    let dir = ps.ps_directory();
    let init = ps.process_capability(7).unwrap();
    ps.control_mut().start(30, "daemon");
    ps.control_mut().processes.retain(|p| p.pid != 7);
    let names: Vec<String> = list(&mut ps, &dir)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(names, ["12", "30"]);
    let gone = send(&mut ps, Header::request(&init, Command::STD_INFO), &[]);
    assert_eq!(gone.map(|_| ()), Err(ErrorCode::STD_CAPBAD));
    // The same pid again is a new process: a new object, the old capability stays bad.
    ps.control_mut().start(7, "init");
    let again = ps.process_capability(7).unwrap();
    assert_ne!((again.object, again.check), (init.object, init.check));
    assert_eq!(
        info(&mut ps, &again),
        "process init pid 7, 1 threads, running"
    );
    let old = send(&mut ps, Header::request(&init, Command::STD_INFO), &[]);
    assert_eq!(old.map(|_| ()), Err(ErrorCode::STD_CAPBAD));
}

#[test]
fn destroy_kills_and_stun_passes_the_code() {
    let (mut ps, _) = server();
    let shell = ps.process_capability(12).unwrap();
    let stun = Header {
        offset: 42,
        ..Header::request(&shell, PS_STUN)
    };
    assert!(send(&mut ps, stun, &[]).is_ok());
    assert_eq!(ps.control().stuns, [(12, 42)]);
    assert_eq!(
        info(&mut ps, &shell),
        "process shell pid 12, 1 threads, stunned"
    );
    // A stunned process's memory reads by its capability.
    let read = Header {
        offset: 90,
        size: 64,
        ..Header::request(&shell, BS_READ)
    };
    let (_, bytes) = send(&mut ps, read, &[]).unwrap();
    assert_eq!(bytes, [12; 10]);
    assert!(send(&mut ps, Header::request(&shell, Command::STD_DESTROY), &[]).is_ok());
    let after = send(&mut ps, Header::request(&shell, PS_STUN), &[]);
    assert_eq!(after.map(|_| ()), Err(ErrorCode::STD_CAPBAD));
    // A negative code kills at once, without a stun.
    let init = ps.process_capability(7).unwrap();
    let emergency = Header {
        offset: -1,
        ..Header::request(&init, PS_STUN)
    };
    assert!(send(&mut ps, emergency, &[]).is_ok());
    assert_eq!(ps.control().stuns.len(), 1);
    assert!(ps.control().processes.is_empty());
    let running = Header {
        size: 4,
        ..Header::request(&shell, BS_READ)
    };
    assert!(send(&mut ps, running, &[]).is_err());
}

#[test]
fn commands_on_the_wrong_kind_of_object_are_combad() {
    let (mut ps, owner) = server();
    let dir = ps.ps_directory();
    let init = ps.process_capability(7).unwrap();
    let cases = [
        (&dir, PS_GETLOAD),
        (&init, PS_GETLOAD),
        (&owner, LIST),
        (&init, LOOKUP),
        (&owner, Command::STD_DESTROY),
        (&dir, PS_STUN),
    ];
    for (cap, command) in cases {
        let result = send(&mut ps, Header::request(cap, command), b"7");
        assert_eq!(result.map(|_| ()), Err(ErrorCode::STD_COMBAD), "{command}");
    }
}

#[test]
fn capabilities_and_rights_are_checked_on_every_object() {
    let (mut ps, owner) = server();
    let dir = ps.ps_directory();
    let init = ps.process_capability(7).unwrap();
    assert_refusals(&mut ps, owner, READ, |cap| Header::request(cap, PS_GETLOAD));
    assert_refusals(&mut ps, dir, READ, |cap| Header::request(cap, LIST));
    assert_refusals(&mut ps, init, KILL, |cap| {
        Header::request(cap, Command::STD_DESTROY)
    });
    assert_refusals(&mut ps, init, KILL, |cap| Header::request(cap, PS_STUN));
    assert_eq!(ps.control().processes.len(), 2);
}

#[test]
fn ps_pages_like_every_directory() {
    let (mut ps, _) = server();
    let dir = ps.ps_directory();
    // Header: 4 bytes and the column names "owner", "group", "other" (18); rows of "7" and
    // "12" are 2 + 12 and 3 + 12 bytes: 40 bytes hold the header and one row.
    let page = Header {
        size: 40,
        ..Header::request(&dir, LIST)
    };
    let (reply, data) = send(&mut ps, page, &[]).unwrap();
    assert_eq!((reply.extra, reply.size, data.len()), (1, 36, 36));
    let next = Header { extra: 1, ..page };
    let (reply, data) = send(&mut ps, next, &[]).unwrap();
    assert_eq!((reply.extra, data.len()), (wire::NO_MORE_ROWS, 37));
    let tiny = Header { size: 17, ..page };
    assert_eq!(
        send(&mut ps, tiny, &[]).map(|_| ()),
        Err(ErrorCode::STD_OVERFLOW)
    );
}

#[test]
fn sgetload_hands_out_an_exec_capability_that_changes_every_second_call() {
    let (mut ps, owner) = server();
    let descriptor = crate::process::sample::small_descriptor(Capability::NULL, Capability::NULL);
    let sgetload = |ps: &mut TestServer| {
        let (reply, _) = send(ps, Header::request(&owner, PS_SGETLOAD), &[]).unwrap();
        assert_eq!(Load::from_header(&reply), Some(ps.control().load));
        reply.capability()
    };
    let exec = |ps: &mut TestServer, cap: &Capability| {
        send(ps, Header::request(cap, PS_EXEC), &descriptor.encode()).map(drop)
    };
    let first = sgetload(&mut ps);
    assert_eq!(first.rights, EXEC);
    assert_eq!(sgetload(&mut ps), first, "the same for two calls");
    let second = sgetload(&mut ps);
    assert_ne!(second, first);
    assert_eq!(
        exec(&mut ps, &first),
        Ok(()),
        "the previous one still works"
    );
    assert_eq!(exec(&mut ps, &second), Ok(()));
    assert_eq!(sgetload(&mut ps), second);
    let third = sgetload(&mut ps);
    assert_ne!(third, second);
    assert_eq!(
        exec(&mut ps, &first),
        Err(ErrorCode::STD_CAPBAD),
        "two changes ago"
    );
    assert_eq!(exec(&mut ps, &third), Ok(()));
    // An exec capability starts processes and nothing else; only all rights get one.
    let load = send(&mut ps, Header::request(&third, PS_GETLOAD), &[]);
    assert_eq!(load.map(drop), Err(ErrorCode::STD_COMBAD));
    let published = restrict(&mut ps, &owner, READ | CREATE | EXEC);
    let denied = send(&mut ps, Header::request(&published, PS_SGETLOAD), &[]);
    assert_eq!(denied.map(drop), Err(ErrorCode::STD_DENIED));
}
