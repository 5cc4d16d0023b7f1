//! Test-only: the refusals every server owes its clients, checked the same way for each.
//!
//! A capability lacking the command's right gets STD_DENIED; one whose rights were raised,
//! whose check was forged, or that names an object the server does not have gets STD_CAPBAD;
//! an unknown command gets STD_COMBAD; STD_RESTRICT and STD_INFO work on any genuine
//! capability (`servers/standard.rs` says why).

use crate::capability::{ALL_RIGHTS, Capability, MAX_OBJECT};
use crate::rpc::codes::{Command, ErrorCode};
use crate::rpc::header::Header;
use crate::rpc::server::Server;
use crate::servers::loopback::call;

/// A command no server of the node knows.
const UNKNOWN_COMMAND: Command = Command(1);

/// Checks the refusals of `server` for the request `request` makes from a capability, which
/// needs the rights `needed`; `owner` is an owner capability of one of its objects.
pub(crate) fn assert_refusals(
    server: &mut dyn Server,
    owner: Capability,
    needed: u8,
    request: impl Fn(&Capability) -> Header,
) {
    let lacking = restrict(server, &owner, ALL_RIGHTS & !needed);
    let raised = Capability {
        rights: lacking.rights | needed,
        ..lacking
    };
    let forged = Capability {
        check: owner.check.map(|byte| byte ^ 0x5a),
        ..owner
    };
    let unknown = Capability {
        object: MAX_OBJECT,
        ..owner
    };
    let unknown_command = Header {
        command: UNKNOWN_COMMAND.0,
        ..request(&owner)
    };
    let cases = [
        (request(&lacking), ErrorCode::STD_DENIED),
        (request(&raised), ErrorCode::STD_CAPBAD),
        (request(&forged), ErrorCode::STD_CAPBAD),
        (request(&unknown), ErrorCode::STD_CAPBAD),
        (
            Header::request(&forged, Command::STD_INFO),
            ErrorCode::STD_CAPBAD,
        ),
        (unknown_command, ErrorCode::STD_COMBAD),
    ];
    for (header, error) in cases {
        let (reply, data) = call(server, header, &[]);
        assert_eq!((reply.error(), data.len()), (Some(error), 0), "{header:?}");
    }
    let (reply, info) = call(server, Header::request(&lacking, Command::STD_INFO), &[]);
    assert_eq!(reply.status(), 0);
    assert_eq!(usize::from(reply.size), info.len());
    assert!(!info.is_empty() && core::str::from_utf8(&info).is_ok());
}

/// `cap` restricted to `mask` by the server's STD_RESTRICT.
pub(crate) fn restrict(server: &mut dyn Server, cap: &Capability, mask: u8) -> Capability {
    let header = Header {
        offset: i32::from(mask),
        ..Header::request(cap, Command::STD_RESTRICT)
    };
    let (reply, data) = call(server, header, &[]);
    assert_eq!((reply.status(), data.len()), (0, 0));
    let restricted = reply.capability();
    assert_eq!((restricted.port, restricted.object), (cap.port, cap.object));
    assert_eq!(restricted.rights, cap.rights & mask);
    restricted
}
