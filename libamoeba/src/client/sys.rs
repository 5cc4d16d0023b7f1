//! sys server stubs (formats in `servers/sys.rs` and `servers/sys/kstat.rs`).

use super::{GARBLED, size_field, transact, transact_bare};
use crate::capability::Capability;
use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;
use crate::rpc::transport::Rpc;
use crate::servers::sys::{BOOT, BootAction, KSTAT, Kstat, PRINTBUF};

/// Bytes [`kstat`] takes of a reply: room for records of later versions, which append fields.
pub const KSTAT_REPLY_BYTES: usize = 1024;

/// The kernel's statistics.
pub fn kstat(rpc: &impl Rpc, sys: &Capability) -> Result<Kstat, ErrorCode> {
    let mut record = [0; KSTAT_REPLY_BYTES];
    let answer = transact(rpc, &Header::request(sys, KSTAT), &[], &mut record)?;
    Kstat::decode(answer.data).map_err(|_| GARBLED)
}

/// The newest kernel log bytes, as many as fit `buf` (oldest first); how many there are.
/// An empty `buf` gets nothing and asks nothing.
pub fn printbuf(rpc: &impl Rpc, sys: &Capability, buf: &mut [u8]) -> Result<usize, ErrorCode> {
    if buf.is_empty() {
        return Ok(0);
    }
    let request = Header {
        size: size_field(buf.len()),
        ..Header::request(sys, PRINTBUF)
    };
    let answer = transact(rpc, &request, &[], buf)?;
    // A server that ignored the limit sent more than asked: what arrived is not the newest.
    if answer.truncated {
        return Err(GARBLED);
    }
    Ok(answer.data.len())
}

/// Reboots or halts the node (needs the sys server's ADMIN right).
pub fn boot(rpc: &impl Rpc, sys: &Capability, how: BootAction) -> Result<(), ErrorCode> {
    let request = Header {
        extra: how.extra(),
        ..Header::request(sys, BOOT)
    };
    transact_bare(rpc, &request, &[]).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Port;
    use crate::client::scripted::scripted;
    use crate::random::SeededGenerator;
    use crate::servers::loopback::Loopback;
    use crate::servers::sys::SysServer;
    use crate::servers::sys::kstat::tests::sample;
    use crate::servers::sys::tests::FakeKernel;
    use alloc::rc::Rc;
    use core::cell::RefCell;

    const PORT: Port = Port([0x5a; 6]);

    type Sys = Rc<RefCell<SysServer<FakeKernel>>>;

    fn node() -> (Loopback, Sys, Capability) {
        let kernel = FakeKernel {
            log: b"boot\nready\n".to_vec(),
            ..FakeKernel::default()
        };
        let (server, owner) = SysServer::new(PORT, &mut SeededGenerator::new(1), kernel);
        let mut loopback = Loopback::new();
        let sys = loopback.add(PORT, server);
        (loopback, sys, owner)
    }

    #[test]
    fn kstat_printbuf_boot_end_to_end() {
        let (rpc, sys, owner) = node();
        let public = sys.borrow().public_capability();
        assert_eq!(kstat(&rpc, &public), Ok(sample()));
        let mut buf = [0; 6];
        assert_eq!(printbuf(&rpc, &public, &mut buf), Ok(6));
        assert_eq!(&buf, b"ready\n");
        let mut all = [0; 64];
        assert_eq!(printbuf(&rpc, &public, &mut all), Ok(11));
        assert_eq!(printbuf(&rpc, &public, &mut []), Ok(0));
        assert_eq!(
            boot(&rpc, &public, BootAction::Halt),
            Err(ErrorCode::STD_DENIED)
        );
        assert_eq!(boot(&rpc, &owner, BootAction::Reboot), Ok(()));
        assert_eq!(sys.borrow().facts().boots, [BootAction::Reboot]);
    }

    #[test]
    fn garbled_replies_are_garbled() {
        let record = sample().encode();
        for bad in [&record[..91], b"", &[0; 92]] {
            let (rpc, cap) = scripted(Header::default(), bad);
            assert_eq!(kstat(&rpc, &cap), Err(GARBLED));
        }
        let (rpc, cap) = scripted(Header::default(), b"more than asked");
        assert_eq!(printbuf(&rpc, &cap, &mut [0; 4]), Err(GARBLED));
        assert_eq!(boot(&rpc, &cap, BootAction::Halt), Err(GARBLED));
    }
}
