//! Stubs of the standard commands every server answers (`servers/standard.rs` has their
//! formats): STD_INFO, STD_RESTRICT, STD_DESTROY.

use super::{GARBLED, transact, transact_bare};
use crate::capability::Capability;
use crate::rpc::codes::{Command, ErrorCode};
use crate::rpc::header::Header;
use crate::rpc::transport::Rpc;

/// What the object `cap` names says about itself, in `buf`. A text longer than `buf` comes
/// back cut at a character boundary; one that is not UTF-8 is [`GARBLED`].
pub fn std_info<'b>(
    rpc: &impl Rpc,
    cap: &Capability,
    buf: &'b mut [u8],
) -> Result<&'b str, ErrorCode> {
    let answer = transact(rpc, &Header::request(cap, Command::STD_INFO), &[], buf)?;
    match core::str::from_utf8(answer.data) {
        Ok(text) => Ok(text),
        // Only a cut in the middle of a character at the very end is the buffer's doing.
        Err(error) if answer.truncated && error.error_len().is_none() => {
            let whole = answer.data.get(..error.valid_up_to()).unwrap_or_default();
            core::str::from_utf8(whole).map_err(|_| GARBLED)
        }
        Err(_) => Err(GARBLED),
    }
}

/// `cap` restricted by its server to the rights it holds that are in `mask`.
pub fn std_restrict(rpc: &impl Rpc, cap: &Capability, mask: u8) -> Result<Capability, ErrorCode> {
    let request = Header {
        offset: i32::from(mask),
        ..Header::request(cap, Command::STD_RESTRICT)
    };
    let restricted = transact_bare(rpc, &request, &[])?.capability();
    let same_object = restricted.port == cap.port && restricted.object == cap.object;
    if !same_object || restricted.rights & !(mask & cap.rights) != 0 {
        return Err(GARBLED);
    }
    Ok(restricted)
}

/// Destroys the object `cap` names (for a process: kills it).
pub fn std_destroy(rpc: &impl Rpc, cap: &Capability) -> Result<(), ErrorCode> {
    transact_bare(rpc, &Header::request(cap, Command::STD_DESTROY), &[]).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::{ALL_RIGHTS, Port};
    use crate::client::scripted::{scripted, scripted_at};
    use crate::random::SeededGenerator;
    use crate::servers::echo::{EchoServer, USE};
    use crate::servers::loopback::Loopback;

    const PORT: Port = Port([0xe1; 6]);

    fn echo_server() -> (Loopback, Capability) {
        let mut loopback = Loopback::new();
        let (server, owner) = EchoServer::new(PORT, &mut SeededGenerator::new(3));
        loopback.add(PORT, server);
        (loopback, owner)
    }

    #[test]
    fn info_and_restrict_through_the_loopback() {
        let (rpc, owner) = echo_server();
        let mut buf = [0; 64];
        assert_eq!(
            std_info(&rpc, &owner, &mut buf),
            Ok("echo server, 0 echoes")
        );
        let mut small = [0; 4];
        assert_eq!(std_info(&rpc, &owner, &mut small), Ok("echo"));
        let restricted = std_restrict(&rpc, &owner, USE).unwrap();
        assert_eq!((restricted.object, restricted.rights), (owner.object, USE));
        assert_ne!(restricted.check, owner.check);
        let none = std_restrict(&rpc, &restricted, 0).unwrap();
        assert_eq!(none.rights, 0);
        assert_eq!(std_info(&rpc, &none, &mut buf), Ok("echo server, 0 echoes"));
        let raised = Capability {
            rights: ALL_RIGHTS,
            ..restricted
        };
        assert_eq!(std_restrict(&rpc, &raised, USE), Err(ErrorCode::STD_CAPBAD));
        assert_eq!(std_destroy(&rpc, &owner), Err(ErrorCode::STD_COMBAD));
        let nowhere = Capability {
            port: Port([9; 6]),
            ..owner
        };
        assert_eq!(
            std_info(&rpc, &nowhere, &mut buf),
            Err(ErrorCode::RPC_NOTFOUND)
        );
    }

    #[test]
    fn info_cut_inside_a_character_keeps_the_whole_ones_garbage_is_garbled() {
        let (rpc, cap) = scripted(Header::default(), "añb".as_bytes());
        let mut buf = [0; 2];
        assert_eq!(std_info(&rpc, &cap, &mut buf), Ok("a"));
        let (rpc, cap) = scripted(Header::default(), b"a\xffb");
        let mut buf = [0; 8];
        assert_eq!(std_info(&rpc, &cap, &mut buf), Err(GARBLED));
    }

    #[test]
    fn a_restrict_reply_naming_another_object_or_more_rights_is_garbled() {
        let (_, owner) = echo_server();
        let other_object = Capability { object: 3, ..owner };
        let more_rights = Capability {
            rights: 0x03,
            ..owner
        };
        for wrong in [other_object, more_rights] {
            let mut header = Header::default();
            header.set_capability(&wrong);
            let (rpc, cap) = scripted_at(owner.port, header, b"");
            assert_eq!(std_restrict(&rpc, &cap, 0x01), Err(GARBLED));
        }
        let (rpc, cap) = scripted(Header::default(), b"data");
        assert_eq!(std_destroy(&rpc, &cap), Err(GARBLED));
    }
}
