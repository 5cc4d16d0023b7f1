//! The run server's RPC side: the pool's one object, answering which pool processor a new
//! process should go to, and taking processes to balance.
//!
//! Formats (5.3's commands, `docs/amoeba-protocol.md#kernel-servers`; layouts of the
//! descriptors ours):
//!
//! | command | rights | request → reply |
//! |---|---|---|
//! | RUN_GET_EXEC_CAP 3000 | FINDHOST | data = a host's process-server capability → that host's exec capability in the header, data = architecture (`x86_64`) |
//! | RUN_MULTI_FINDHOST 3001 | FINDHOST | h_extra = n (1–10), data = n process descriptors back to back → h_offset = index of the one to run, the host's exec capability in the header, data = host name |
//! | RUN_BALANCE 3010 (ours) | CREATE | data = a process capability with KILL → the pool may move the process to balance load |
//! | PS_GETLOAD 2305 | STATUS | the pool's load: free memory, load and speed summed over its hosts |
//!
//! STD_INFO says "run server: H pool processors, P processes balanced". No host that can
//! take the process is STD_NOTFOUND; a descriptor that does not decode is STD_ARGBAD.

use alloc::format;

use super::RUN_MULTI_FINDHOST;
use super::pool::Pool;
use super::{ADMIN, CREATE, FINDHOST, MAX_FINDHOST, RUN_BALANCE, RUN_GET_EXEC_CAP, STATUS};
use crate::capability::{CAPABILITY_LEN, Capability, Port};
use crate::process::{ArchMagic, DescriptorError, ProcessDescriptor};
use crate::random::Entropy;
use crate::rpc::codes::{Command, ErrorCode};
use crate::rpc::server::{Reply, Request, Server};
use crate::servers::proc::PS_GETLOAD;
use crate::servers::server_object::ServerObject;
use crate::servers::standard::whole_data;

/// What the run server needs around it: the pool it shares with its poller, and a clock.
pub trait PoolAccess {
    fn with<R>(&self, f: impl FnOnce(&mut Pool) -> R) -> R;
    /// Milliseconds on the clock the poller uses.
    fn now_ms(&self) -> u64;
}

const COMMANDS: &[(Command, u8)] = &[
    (RUN_GET_EXEC_CAP, FINDHOST),
    (RUN_MULTI_FINDHOST, FINDHOST),
    (RUN_BALANCE, CREATE),
    (PS_GETLOAD, STATUS),
];

/// The run server.
pub struct RunServer<A, E> {
    object: ServerObject,
    pool: A,
    entropy: E,
}

impl<A: PoolAccess, E: Entropy> RunServer<A, E> {
    /// The server at `put_port` over `pool`, with its owner capability.
    pub fn new(put_port: Port, mut entropy: E, pool: A) -> (Self, Capability) {
        let (object, owner) = ServerObject::new(put_port, &mut entropy, "run server");
        let server = Self {
            object,
            pool,
            entropy,
        };
        (server, owner)
    }

    /// The capability others use: choose hosts, hand processes over, read the load.
    pub fn public_capability(&self) -> Capability {
        self.object.capability(!ADMIN)
    }
}

impl<A: PoolAccess, E: Entropy> Server for RunServer<A, E> {
    fn handle(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let Self {
            object,
            pool,
            entropy,
        } = self;
        let info = || {
            pool.with(|p| {
                let balanced: usize = (0..p.hosts().len()).map(|i| p.balanced_on(i)).sum();
                let hosts = p.hosts().len();
                format!("run server: {hosts} pool processors, {balanced} processes balanced")
            })
        };
        let execute = |command, reply: &mut Reply<'_>| match command {
            RUN_GET_EXEC_CAP => exec_cap(pool, request, reply),
            RUN_MULTI_FINDHOST => find_host(pool, entropy, request, reply),
            RUN_BALANCE => balance(pool, request),
            _ => {
                pool.with(|p| p.total_load()).to_header(&mut reply.header);
                Ok(())
            }
        };
        object.serve_described(request, reply, COMMANDS, info, execute)
    }
}

fn capability_in(request: &Request<'_>) -> Result<Capability, ErrorCode> {
    let data = whole_data(request)?;
    let bytes = data.get(..CAPABILITY_LEN).ok_or(ErrorCode::STD_ARGBAD)?;
    Capability::from_bytes(bytes).map_err(|_| ErrorCode::STD_ARGBAD)
}

fn exec_cap(
    pool: &impl PoolAccess,
    request: &Request<'_>,
    reply: &mut Reply<'_>,
) -> Result<(), ErrorCode> {
    let asked = capability_in(request)?;
    let exec = pool.with(|p| p.host_of(&asked).map(|h| h.proc));
    reply
        .header
        .set_capability(&exec.ok_or(ErrorCode::STD_NOTFOUND)?);
    reply.push(ArchMagic::X86_64.name().unwrap_or_default().as_bytes())
}

fn find_host(
    pool: &impl PoolAccess,
    entropy: &mut impl Entropy,
    request: &Request<'_>,
    reply: &mut Reply<'_>,
) -> Result<(), ErrorCode> {
    let wanted = usize::from(request.header.extra);
    if !(1..=MAX_FINDHOST).contains(&wanted) {
        return Err(ErrorCode::STD_ARGBAD);
    }
    // Every pool processor is ours, of one architecture: the first descriptor, if it is for
    // that architecture, is the one to run (5.3 walks on to the next when a host of the
    // first's kind is missing; with one kind there is no next to find a host for).
    let data = whole_data(request)?;
    let descriptor = match ProcessDescriptor::decode(data, ArchMagic::X86_64) {
        Ok((descriptor, _)) => descriptor,
        Err(DescriptorError::WrongArch { .. }) => return Err(ErrorCode::STD_NOTFOUND),
        Err(_) => return Err(ErrorCode::STD_ARGBAD),
    };
    let needed = descriptor.segments.iter().map(|s| s.length).sum();
    let now = pool.now_ms();
    let host = pool.with(|p| {
        p.choose(needed, entropy, now)
            .map(|h| (h.proc, h.name.clone()))
    });
    let (exec, name) = host.ok_or(ErrorCode::STD_NOTFOUND)?;
    // h_offset: the index of the descriptor to run, always the first here.
    reply.header.offset = 0;
    reply.header.set_capability(&exec);
    reply.push(name.as_bytes())
}

fn balance(pool: &impl PoolAccess, request: &Request<'_>) -> Result<(), ErrorCode> {
    let process = capability_in(request)?;
    if process.is_null() {
        return Err(ErrorCode::STD_ARGBAD);
    }
    if pool.with(|p| p.adopt(process)) {
        Ok(())
    } else {
        Err(ErrorCode::STD_NOSPACE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ps_getload, run_balance, run_findhost};
    use crate::process::sample::small_descriptor;
    use crate::random::SeededGenerator;
    use crate::rpc::header::Header;
    use crate::rpc::transport::Rpc;
    use crate::servers::loopback::Loopback;
    use crate::servers::proc::Load;
    use crate::servers::run::DESTROY;
    use alloc::rc::Rc;
    use core::cell::RefCell;

    const PORT: Port = Port([0x7a; 6]);

    #[derive(Clone, Default)]
    struct Shared(Rc<RefCell<Pool>>);

    impl PoolAccess for Shared {
        fn with<R>(&self, f: impl FnOnce(&mut Pool) -> R) -> R {
            f(&mut self.0.borrow_mut())
        }
        fn now_ms(&self) -> u64 {
            1000
        }
    }

    fn proc(n: u8) -> Capability {
        Capability {
            port: Port([n; 6]),
            rights: crate::servers::proc::EXEC,
            ..Capability::NULL
        }
    }

    /// A run server over hosts answering `ready` threads each.
    fn run(ready: &[u16]) -> (Loopback, Shared, Capability, Capability) {
        let shared = Shared::default();
        for (i, &r) in ready.iter().enumerate() {
            let n = u8::try_from(i + 1).unwrap();
            let mut pool = shared.0.borrow_mut();
            pool.offer(&format!("pool-{n}"), proc(n));
            let load = Load {
                free_memory: 64 << 20,
                load_average: r * 256,
                speed_mhz: 1000,
            };
            pool.polled(i, &proc(n), Some(load), 0);
        }
        let (server, owner) = RunServer::new(PORT, SeededGenerator::new(5), shared.clone());
        let public = server.public_capability();
        let mut rpc = Loopback::new();
        rpc.add(PORT, server);
        (rpc, shared, public, owner)
    }

    #[test]
    fn a_process_is_sent_to_the_least_loaded_pool_processor() {
        let (rpc, shared, public, _) = run(&[3, 0, 1]);
        let chosen = run_findhost(
            &rpc,
            &public,
            &small_descriptor(Capability::NULL, Capability::NULL),
        );
        assert_eq!(
            chosen,
            Ok(crate::client::ChosenHost {
                exec: proc(2),
                name: "pool-2".into()
            })
        );
        assert!(
            shared.0.borrow().hosts()[1].state.stale,
            "polled again soon"
        );
        let load = ps_getload(&rpc, &public).unwrap();
        assert_eq!(load.load_average, 4 * 256);
        assert_eq!(load.free_memory, 3 * (64 << 20));
    }

    #[test]
    fn processes_handed_over_are_balanced() {
        let (rpc, shared, public, _) = run(&[2, 0]);
        let process = Capability {
            object: 4,
            rights: 0xff,
            ..proc(1)
        };
        assert_eq!(run_balance(&rpc, &public, &process), Ok(()));
        assert_eq!(shared.0.borrow().balanced_on(0), 1);
        assert_eq!(
            shared.0.borrow().next_move(0).map(|m| m.process),
            Some(process)
        );
        let mut buffer = [0u8; 80];
        let info = crate::client::std_info(&rpc, &public, &mut buffer).unwrap();
        assert_eq!(info, "run server: 2 pool processors, 1 processes balanced");
    }

    #[test]
    fn bad_requests_get_clear_errors() {
        let (rpc, _, public, owner) = run(&[0]);
        let descriptor = small_descriptor(Capability::NULL, Capability::NULL).encode();
        let ask = |cap: &Capability, extra, data: &[u8]| {
            let header = Header {
                extra,
                ..Header::request(cap, RUN_MULTI_FINDHOST)
            };
            let mut reply = Header::default();
            rpc.trans(&header, data, &mut reply, &mut [0u8; 64])
                .unwrap();
            reply.error()
        };
        assert_eq!(ask(&public, 0, &descriptor), Some(ErrorCode::STD_ARGBAD));
        assert_eq!(ask(&public, 11, &descriptor), Some(ErrorCode::STD_ARGBAD));
        assert_eq!(
            ask(&public, 1, &descriptor[..20]),
            Some(ErrorCode::STD_ARGBAD)
        );
        assert_eq!(ask(&owner, 1, &descriptor), None);
        let mut other = small_descriptor(Capability::NULL, Capability::NULL);
        other.arch = ArchMagic::new("i80386").unwrap();
        assert_eq!(
            ask(&public, 1, &other.encode()),
            Some(ErrorCode::STD_NOTFOUND)
        );
        let lacking = Capability {
            rights: DESTROY,
            ..public
        };
        assert_eq!(ask(&lacking, 1, &descriptor), Some(ErrorCode::STD_CAPBAD));
        let (empty, _, public, _) = run(&[]);
        let nowhere = run_findhost(
            &empty,
            &public,
            &small_descriptor(Capability::NULL, Capability::NULL),
        );
        assert_eq!(nowhere, Err(ErrorCode::STD_NOTFOUND));
        assert_eq!(
            run_balance(&empty, &public, &Capability::NULL),
            Err(ErrorCode::STD_ARGBAD)
        );
    }
}
