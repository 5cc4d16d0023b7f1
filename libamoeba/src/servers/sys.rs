//! The sys server: the kernel's statistics, the tail of its log, and reboot or halt.
//!
//! Command numbers from `docs/amoeba-protocol.md#kernel-servers`: PRINTBUF 2500, KSTAT 2501,
//! BOOT 2504. The rest is ours, not 5.3's:
//!
//! - KSTAT: reply data = a [`Kstat`] record ([`kstat`] has the layout); needs [`READ`].
//! - PRINTBUF: reply data = the newest kernel log bytes that fit the reply (request h_size =
//!   the most the client takes, 0: the server's buffer), oldest first; needs [`READ`].
//! - BOOT: h_extra = [`BootAction`] (0 reboot, 1 halt, else STD_ARGBAD); needs [`ADMIN`],
//!   which the capability published in the directory ([`SysServer::public_capability`]) does
//!   not carry. A successful BOOT may never be answered: the node is going down.

pub mod kstat;

use alloc::vec;

use crate::capability::{ALL_RIGHTS, Capability, Port};
use crate::random::Entropy;
use crate::rpc::codes::{Command, ErrorCode, SYS_FIRST_COM};
use crate::rpc::server::{Reply, Request, Server};
use crate::servers::server_object::{CommandRights, ServerObject};
use crate::servers::standard::reply_limit;
pub use kstat::{FlipCounts, Kstat, RpcCounts};

/// Right to read statistics and the log.
pub const READ: u8 = 0x01;
/// Right to reboot or halt the node.
pub const ADMIN: u8 = 0x80;
/// The rights of the capability everyone may have: all but [`ADMIN`].
pub const PUBLIC_RIGHTS: u8 = ALL_RIGHTS & !ADMIN;

/// The newest kernel log bytes.
pub const PRINTBUF: Command = Command(SYS_FIRST_COM);
/// Kernel statistics.
pub const KSTAT: Command = Command(SYS_FIRST_COM + 1);
/// Reboot or halt.
pub const BOOT: Command = Command(SYS_FIRST_COM + 4);

/// What BOOT does, in h_extra.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootAction {
    Reboot,
    Halt,
}

impl BootAction {
    /// The action h_extra names, if any.
    pub const fn from_extra(extra: u16) -> Option<Self> {
        match extra {
            0 => Some(Self::Reboot),
            1 => Some(Self::Halt),
            _ => None,
        }
    }

    /// The h_extra value of this action.
    pub const fn extra(self) -> u16 {
        match self {
            Self::Reboot => 0,
            Self::Halt => 1,
        }
    }
}

/// What the sys server needs from the kernel.
pub trait SysFacts {
    fn kstat(&self) -> Kstat;
    /// Fills `out` with the newest bytes of the kernel log, oldest first; returns how many.
    fn log_tail(&self, out: &mut [u8]) -> usize;
    /// Reboots or halts; returns only if that failed (or will happen after the reply).
    fn boot(&mut self, how: BootAction) -> Result<(), ErrorCode>;
}

/// The sys server.
pub struct SysServer<F> {
    object: ServerObject,
    facts: F,
}

/// The commands and the rights they need.
const COMMANDS: &[CommandRights] = &[(KSTAT, READ), (PRINTBUF, READ), (BOOT, ADMIN)];

impl<F: SysFacts> SysServer<F> {
    /// The server at `put_port` with its owner capability (which may BOOT).
    pub fn new(put_port: Port, entropy: &mut impl Entropy, facts: F) -> (Self, Capability) {
        let info = "sys server: kstat, printbuf, boot";
        let (object, owner) = ServerObject::new(put_port, entropy, info);
        (Self { object, facts }, owner)
    }

    /// The capability to publish: [`PUBLIC_RIGHTS`], no BOOT.
    pub fn public_capability(&self) -> Capability {
        self.object.capability(PUBLIC_RIGHTS)
    }

    pub fn facts(&self) -> &F {
        &self.facts
    }
}

impl<F: SysFacts> Server for SysServer<F> {
    fn handle(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let Self { object, facts } = self;
        object.serve(request, reply, COMMANDS, |command, reply| match command {
            KSTAT => reply.push(&facts.kstat().encode()),
            PRINTBUF => printbuf(facts, request, reply),
            BOOT => boot(facts, request),
            _ => Err(ErrorCode::STD_COMBAD),
        })
    }
}

fn printbuf(
    facts: &impl SysFacts,
    request: &Request<'_>,
    reply: &mut Reply<'_>,
) -> Result<(), ErrorCode> {
    let mut tail = vec![0; reply_limit(request, reply)];
    let len = facts.log_tail(&mut tail).min(tail.len());
    reply.push(&tail[..len])
}

fn boot(facts: &mut impl SysFacts, request: &Request<'_>) -> Result<(), ErrorCode> {
    let how = BootAction::from_extra(request.header.extra).ok_or(ErrorCode::STD_ARGBAD)?;
    facts.boot(how)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::random::SeededGenerator;
    use crate::rpc::header::Header;
    use crate::servers::loopback::call;
    use crate::servers::refusals::assert_refusals;
    use alloc::vec::Vec;

    /// A kernel whose log is `log` and whose BOOT calls are recorded.
    #[derive(Default)]
    pub(crate) struct FakeKernel {
        pub(crate) log: Vec<u8>,
        pub(crate) boots: Vec<BootAction>,
    }

    impl SysFacts for FakeKernel {
        fn kstat(&self) -> Kstat {
            kstat::tests::sample()
        }

        fn log_tail(&self, out: &mut [u8]) -> usize {
            let len = out.len().min(self.log.len());
            out[..len].copy_from_slice(&self.log[self.log.len() - len..]);
            len
        }

        fn boot(&mut self, how: BootAction) -> Result<(), ErrorCode> {
            self.boots.push(how);
            Ok(())
        }
    }

    fn server() -> (SysServer<FakeKernel>, Capability) {
        let kernel = FakeKernel {
            log: b"line one\nline two\n".to_vec(),
            ..FakeKernel::default()
        };
        SysServer::new(Port([0x5a; 6]), &mut SeededGenerator::new(3), kernel)
    }

    fn send(sys: &mut SysServer<FakeKernel>, header: Header) -> Result<Vec<u8>, ErrorCode> {
        let (reply, data) = call(sys, header, &[]);
        reply.error().map_or(Ok(data), Err)
    }

    #[test]
    fn kstat_and_printbuf_answer_the_public_capability() {
        let (mut sys, _) = server();
        let public = sys.public_capability();
        assert_eq!(public.rights, PUBLIC_RIGHTS);
        let record = send(&mut sys, Header::request(&public, KSTAT)).unwrap();
        assert_eq!(Kstat::decode(&record), Ok(kstat::tests::sample()));
        let all = send(&mut sys, Header::request(&public, PRINTBUF)).unwrap();
        assert_eq!(all, b"line one\nline two\n");
        let tail = Header {
            size: 9,
            ..Header::request(&public, PRINTBUF)
        };
        assert_eq!(send(&mut sys, tail).unwrap(), b"line two\n");
    }

    #[test]
    fn boot_needs_admin_and_a_known_action() {
        let (mut sys, owner) = server();
        let public = sys.public_capability();
        let halt = |cap: &Capability, extra| Header {
            extra,
            ..Header::request(cap, BOOT)
        };
        assert_eq!(send(&mut sys, halt(&public, 1)), Err(ErrorCode::STD_DENIED));
        assert_eq!(send(&mut sys, halt(&owner, 2)), Err(ErrorCode::STD_ARGBAD));
        assert_eq!(send(&mut sys, halt(&owner, 1)), Ok(Vec::new()));
        assert_eq!(send(&mut sys, halt(&owner, 0)), Ok(Vec::new()));
        assert_eq!(sys.facts().boots, [BootAction::Halt, BootAction::Reboot]);
        for action in [BootAction::Reboot, BootAction::Halt] {
            assert_eq!(BootAction::from_extra(action.extra()), Some(action));
        }
    }

    #[test]
    fn bad_capabilities_and_missing_rights_are_refused() {
        let (mut sys, owner) = server();
        assert_refusals(&mut sys, owner, READ, |cap| Header::request(cap, KSTAT));
        assert_refusals(&mut sys, owner, ADMIN, |cap| Header::request(cap, BOOT));
        assert!(sys.facts().boots.is_empty());
        let public = sys.public_capability();
        let info = send(&mut sys, Header::request(&public, Command::STD_INFO)).unwrap();
        assert_eq!(info, b"sys server: kstat, printbuf, boot");
    }
}
