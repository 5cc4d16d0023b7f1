//! Process server stubs (formats in `servers/proc.rs` and `servers/proc/control.rs`); its `ps`
//! directory takes the directory stubs, a process's kill is [`super::std_destroy`].

use super::{GARBLED, size_field, transact, transact_bare};
use crate::capability::Capability;
use crate::process::ProcessDescriptor;
use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;
use crate::rpc::transport::Rpc;
use crate::servers::proc::{
    BS_READ, Load, PS_EXEC, PS_GETCOMMENT, PS_GETLOAD, PS_GETOWNER, PS_SEG_CREATE, PS_SEG_WRITE,
    PS_SETCOMMENT, PS_SETOWNER, PS_STUN, SEGMENT_CHUNK,
};

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

/// Creates a process from `descriptor` on the process server `proc`; the process's
/// capability.
pub fn ps_exec(
    rpc: &impl Rpc,
    proc: &Capability,
    descriptor: &ProcessDescriptor,
) -> Result<Capability, ErrorCode> {
    let reply = transact_bare(rpc, &Header::request(proc, PS_EXEC), &descriptor.encode())?;
    Ok(reply.capability())
}

/// A zero-filled segment of `bytes` bytes held by the process server `proc`.
pub fn ps_seg_create(
    rpc: &impl Rpc,
    proc: &Capability,
    bytes: u64,
) -> Result<Capability, ErrorCode> {
    let request = Header {
        offset: i32::try_from(bytes).map_err(|_| ErrorCode::STD_ARGBAD)?,
        ..Header::request(proc, PS_SEG_CREATE)
    };
    Ok(transact_bare(rpc, &request, &[])?.capability())
}

/// Writes `bytes` at `offset` of a held segment, in [`SEGMENT_CHUNK`]s.
pub fn ps_seg_write(
    rpc: &impl Rpc,
    segment: &Capability,
    offset: u64,
    bytes: &[u8],
) -> Result<(), ErrorCode> {
    for (index, chunk) in bytes.chunks(SEGMENT_CHUNK).enumerate() {
        let at = offset + (index * SEGMENT_CHUNK) as u64;
        let request = Header {
            offset: i32::try_from(at).map_err(|_| ErrorCode::STD_ARGBAD)?,
            ..Header::request(segment, PS_SEG_WRITE)
        };
        let reply = transact_bare(rpc, &request, chunk)?;
        if usize::from(reply.size) != chunk.len() {
            return Err(GARBLED);
        }
    }
    Ok(())
}

/// Reads up to `buffer.len()` bytes from `offset` of a segment or file; the bytes read.
pub fn bs_read(
    rpc: &impl Rpc,
    object: &Capability,
    offset: u64,
    buffer: &mut [u8],
) -> Result<usize, ErrorCode> {
    let request = Header {
        offset: i32::try_from(offset).map_err(|_| ErrorCode::STD_ARGBAD)?,
        size: size_field(buffer.len()),
        ..Header::request(object, BS_READ)
    };
    let answer = transact(rpc, &request, &[], buffer)?;
    if answer.truncated {
        return Err(GARBLED);
    }
    Ok(answer.data.len())
}

/// The owner of a process (null: none).
pub fn ps_getowner(rpc: &impl Rpc, process: &Capability) -> Result<Capability, ErrorCode> {
    Ok(transact_bare(rpc, &Header::request(process, PS_GETOWNER), &[])?.capability())
}

/// Makes `owner` the owner of a process (null: none).
pub fn ps_setowner(
    rpc: &impl Rpc,
    process: &Capability,
    owner: &Capability,
) -> Result<(), ErrorCode> {
    transact_bare(
        rpc,
        &Header::request(process, PS_SETOWNER),
        &owner.to_bytes(),
    )
    .map(drop)
}

/// The name of a process (what `ps` shows).
pub fn ps_getcomment(
    rpc: &impl Rpc,
    process: &Capability,
) -> Result<alloc::string::String, ErrorCode> {
    let mut buffer = [0u8; crate::servers::proc::MAX_COMMENT + 1];
    let answer = transact(
        rpc,
        &Header::request(process, PS_GETCOMMENT),
        &[],
        &mut buffer,
    )?;
    let text = core::str::from_utf8(answer.data).map_err(|_| GARBLED)?;
    Ok(alloc::string::String::from(text))
}

/// Names a process (what `ps` shows).
pub fn ps_setcomment(rpc: &impl Rpc, process: &Capability, name: &str) -> Result<(), ErrorCode> {
    transact_bare(
        rpc,
        &Header::request(process, PS_SETCOMMENT),
        name.as_bytes(),
    )
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::scripted::scripted;
    use crate::client::{dir_list, dir_lookup, std_destroy, std_info};
    use crate::process::sample::small_descriptor;
    use crate::servers::loopback::Loopback;
    use crate::servers::proc::PS_EXEC;
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
    fn a_creator_sends_segments_then_execs_them() {
        let (rpc, ps, owner) = node();
        let text: alloc::vec::Vec<u8> = (0..8192u32).map(|i| i as u8).collect();
        let segment = ps_seg_create(&rpc, &owner, 8192).unwrap();
        ps_seg_write(&rpc, &segment, 0, &text).unwrap();
        let mut back = [0u8; 100];
        assert_eq!(bs_read(&rpc, &segment, 8000, &mut back), Ok(100));
        assert_eq!(&back[..], &text[8000..8100]);
        let creator = Capability {
            object: 77,
            ..owner
        };
        let process = ps_exec(&rpc, &owner, &small_descriptor(segment, creator)).unwrap();
        assert_eq!(process.rights, crate::capability::ALL_RIGHTS);
        {
            let ps = ps.borrow();
            let (sent, contents) = &ps.control().execs[0];
            assert_eq!(sent.owner_cap, creator);
            assert_eq!(contents[0].as_deref(), Some(&text[..]));
            assert_eq!(contents[1], None, "the stack starts zero-filled");
            assert!(
                ps.control().segments.is_empty(),
                "the process took the text"
            );
        }
        // The segment went into the process: its capability is spent.
        assert_eq!(
            bs_read(&rpc, &segment, 0, &mut back),
            Err(ErrorCode::STD_CAPBAD)
        );
        assert_eq!(ps_getowner(&rpc, &process), Ok(creator));
        let read_only =
            crate::client::std_restrict(&rpc, &process, crate::servers::proc::READ).unwrap();
        assert_eq!(ps_getowner(&rpc, &read_only).map(|c| c.rights), Ok(0));
        assert_eq!(
            ps_setowner(&rpc, &read_only, &owner),
            Err(ErrorCode::STD_DENIED)
        );
        assert_eq!(ps_setowner(&rpc, &process, &Capability::NULL), Ok(()));
        assert_eq!(ps_getowner(&rpc, &process), Ok(Capability::NULL));
        assert_eq!(ps_setcomment(&rpc, &process, "hello"), Ok(()));
        let mut buf = [0; 64];
        let text = std_info(&rpc, &process, &mut buf).map(|t| t.to_string());
        assert!(text.is_ok_and(|t| t.starts_with("process hello pid")));
    }

    #[test]
    fn segments_of_other_servers_are_read_from_them() {
        let (rpc, ps, owner) = node();
        let elsewhere = Capability {
            port: crate::capability::Port([0x42; 6]),
            object: 5,
            rights: 0xff,
            check: [9; 6],
        };
        ps.borrow_mut()
            .control_mut()
            .remote
            .push((elsewhere, alloc::vec![0xAB; 5000]));
        ps_exec(&rpc, &owner, &small_descriptor(elsewhere, Capability::NULL)).unwrap();
        let ps = ps.borrow();
        let text = ps.control().execs[0].1[0].clone().unwrap();
        assert_eq!(text.len(), 8192);
        assert!(
            text[..5000].iter().all(|&b| b == 0xAB),
            "read from its server"
        );
        assert!(text[5000..].iter().all(|&b| b == 0), "the rest zero-filled");
    }

    #[test]
    fn a_bad_exec_starts_nothing_and_holds_nothing() {
        let (rpc, ps, owner) = node();
        let nowhere = Capability {
            port: crate::capability::Port([0x43; 6]),
            ..owner
        };
        let segment = ps_seg_create(&rpc, &owner, 8192).unwrap();
        let good = small_descriptor(segment, Capability::NULL);
        let mut no_threads = good.clone();
        no_threads.threads.clear();
        let mut overlapping = good.clone();
        overlapping.segments[1].address = overlapping.segments[0].address;
        let mut pc_outside = good.clone();
        pc_outside.threads[0].pc = 0x1000;
        for bad in [no_threads, overlapping, pc_outside] {
            assert_eq!(ps_exec(&rpc, &owner, &bad), Err(ErrorCode::STD_ARGBAD));
        }
        let mut encoded = good.encode();
        encoded[0] = b'i'; // another architecture
        let exec = Header::request(&owner, PS_EXEC);
        assert_eq!(
            transact_bare(&rpc, &exec, &encoded),
            Err(ErrorCode::STD_ARGBAD)
        );
        let encoded = good.encode();
        assert_eq!(
            transact_bare(&rpc, &exec, &encoded[..encoded.len() - 1]),
            Err(ErrorCode::STD_ARGBAD)
        );
        let unreadable = small_descriptor(nowhere, Capability::NULL);
        assert_eq!(
            ps_exec(&rpc, &owner, &unreadable),
            Err(ErrorCode::RPC_NOTFOUND)
        );
        let read_only =
            crate::client::std_restrict(&rpc, &owner, crate::servers::proc::READ).unwrap();
        assert_eq!(ps_exec(&rpc, &read_only, &good), Err(ErrorCode::STD_DENIED));
        assert_eq!(
            ps_seg_create(&rpc, &owner, 4 << 20),
            Err(ErrorCode::STD_NOMEM)
        );
        assert_eq!(
            ps_seg_create(&rpc, &read_only, 4096),
            Err(ErrorCode::STD_DENIED)
        );
        let ps = ps.borrow();
        assert!(ps.control().execs.is_empty());
        assert_eq!(
            ps.control().segments.len(),
            1,
            "only the creator's segment, still held"
        );
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
