//! The time-of-day server in the kernel, on the CMOS clock read at boot and the TSC since.

use super::{BUFFER_BYTES, Publications, new_ports, run};
use crate::drivers::rtc;
use crate::entropy::KernelEntropy;
use libamoeba::servers::tod::{Clock, TodServer, UnixTime};

struct BootClockPlusTsc;

impl Clock for BootClockPlusTsc {
    fn now(&self) -> Option<UnixTime> {
        rtc::unix_time_now().map(|(secs, nanos)| UnixTime { secs, nanos })
    }
}

#[inline(never)] // one symbol per server: image checks find selected servers by name
pub fn start(published: &mut Publications) {
    let ports = new_ports();
    let (server, owner) = TodServer::new(ports.put, &mut KernelEntropy, BootClockPlusTsc);
    published.add("tod", owner, owner);
    run("tod", ports, owner, server, BUFFER_BYTES);
}
