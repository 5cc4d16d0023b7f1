//! Process server stubs (formats in `servers/proc.rs` and `servers/proc/control.rs`); its `ps`
//! directory takes the directory stubs, a process's kill is [`super::std_destroy`].

use super::{GARBLED, transact_bare};
use crate::capability::Capability;
use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;
use crate::rpc::transport::Rpc;
use crate::servers::proc::{Load, PS_GETLOAD, PS_STUN};

/// The node's load.
pub fn ps_getload(rpc: &impl Rpc, proc: &Capability) -> Result<Load, ErrorCode> {
    let reply = transact_bare(rpc, &Header::request(proc, PS_GETLOAD), &[])?;
    Load::from_header(&reply).ok_or(GARBLED)
}

/// Stuns the process `process` names; its owner hears of it with `code`.
pub fn ps_stun(rpc: &impl Rpc, process: &Capability, code: i32) -> Result<(), ErrorCode> {
    let request = Header {
        offset: code,
        ..Header::request(process, PS_STUN)
    };
    transact_bare(rpc, &request, &[]).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::scripted::scripted;
    use crate::client::{dir_list, dir_lookup, std_destroy, std_info};
    use crate::servers::loopback::Loopback;
    use crate::servers::proc::tests::{TestServer, server};
    use alloc::rc::Rc;
    use alloc::string::ToString;
    use core::cell::RefCell;

    fn node() -> (Loopback, Rc<RefCell<TestServer>>, Capability) {
        let (server, owner) = server();
        let mut rpc = Loopback::new();
        let ps = rpc.add(owner.port, server);
        (rpc, ps, owner)
    }

    #[test]
    fn load_stun_and_kill_end_to_end() {
        let (rpc, ps, owner) = node();
        assert_eq!(ps_getload(&rpc, &owner), Ok(ps.borrow().control().load));
        let dir = ps.borrow().ps_directory();
        let shell = dir_lookup(&rpc, &dir, "12").unwrap();
        assert_eq!(ps_stun(&rpc, &shell, 5), Ok(()));
        assert_eq!(ps.borrow().control().stuns, [(12, 5)]);
        let mut buf = [0; 64];
        let text = std_info(&rpc, &shell, &mut buf).map(|text| text.to_string());
        assert_eq!(
            text.as_deref(),
            Ok("process shell pid 12, 1 threads, stunned")
        );
        assert_eq!(std_destroy(&rpc, &shell), Ok(()));
        assert_eq!(ps_stun(&rpc, &shell, 5), Err(ErrorCode::STD_CAPBAD));
        let names: alloc::vec::Vec<_> = dir_list(&rpc, &dir)
            .unwrap()
            .into_iter()
            .map(|row| row.0)
            .collect();
        assert_eq!(names, ["7"]);
    }

    #[test]
    fn processes_started_later_appear_in_ps() {
        let (rpc, ps, _) = node();
        let dir = ps.borrow().ps_directory();
        ps.borrow_mut().control_mut().start(99, "late");
        let rows = dir_list(&rpc, &dir).unwrap();
        assert_eq!(rows.last().map(|row| row.0.as_str()), Some("99"));
        let late = dir_lookup(&rpc, &dir, "99").unwrap();
        assert_eq!(Some(late), ps.borrow_mut().process_capability(99));
    }

    #[test]
    fn negative_free_memory_is_garbled() {
        let (rpc, cap) = scripted(
            Header {
                offset: -1,
                ..Header::default()
            },
            b"",
        );
        assert_eq!(ps_getload(&rpc, &cap), Err(GARBLED));
        let (rpc, cap) = scripted(Header::default(), b"x");
        assert_eq!(ps_stun(&rpc, &cap, 1), Err(GARBLED));
    }
}
