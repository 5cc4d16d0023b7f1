//! Time-of-day stub (format in `servers/tod.rs`).

use super::{GARBLED, transact};
use crate::capability::Capability;
use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;
use crate::rpc::transport::Rpc;
use crate::servers::tod::{GETTIME, UNIX_TIME_LEN, UnixTime};

/// The time of day, from the reply data (full 64-bit seconds, not the 32-bit header field).
/// Fields a later server appends after the time are not read.
pub fn gettime(rpc: &impl Rpc, tod: &Capability) -> Result<UnixTime, ErrorCode> {
    let mut time = [0; UNIX_TIME_LEN];
    let answer = transact(rpc, &Header::request(tod, GETTIME), &[], &mut time)?;
    UnixTime::decode(answer.data).map_err(|_| GARBLED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Port;
    use crate::client::scripted::scripted;
    use crate::random::SeededGenerator;
    use crate::servers::loopback::Loopback;
    use crate::servers::tod::TodServer;
    use crate::servers::tod::tests::{FakeClock, NOW};
    use core::cell::Cell;

    const PORT: Port = Port([0x70; 6]);

    #[test]
    fn gettime_end_to_end() {
        let clock = FakeClock(Cell::new(Some(NOW)));
        let (server, owner) = TodServer::new(PORT, &mut SeededGenerator::new(1), clock);
        let mut rpc = Loopback::new();
        let tod = rpc.add(PORT, server);
        assert_eq!(gettime(&rpc, &owner), Ok(NOW));
        let unset = FakeClock(Cell::new(None));
        let (server, owner) = TodServer::new(PORT, &mut SeededGenerator::new(1), unset);
        drop(tod);
        rpc.add(PORT, server);
        assert_eq!(gettime(&rpc, &owner), Err(ErrorCode::STD_NOTNOW));
    }

    #[test]
    fn garbled_replies_are_garbled_and_appended_fields_ignored() {
        let time = NOW.encode();
        let mut later = time.to_vec();
        later.extend_from_slice(b"new field");
        let (rpc, cap) = scripted(Header::default(), &later);
        assert_eq!(gettime(&rpc, &cap), Ok(NOW));
        let bad_nanos = UnixTime {
            secs: 1,
            nanos: 2_000_000_000,
        }
        .encode();
        for bad in [&time[..11], b"", &bad_nanos] {
            let (rpc, cap) = scripted(Header::default(), bad);
            assert_eq!(gettime(&rpc, &cap), Err(GARBLED));
        }
    }
}
