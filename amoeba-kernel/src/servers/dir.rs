//! The kernel directory: every server's capability by name, served with SOAP's formats
//! (`libamoeba::soap`, in memory). Processes get it as ROOT with the columns and the right to
//! add names (a server process publishes itself), not the owner capability printed at boot;
//! the kernel's own names cannot be deleted or replaced.

use super::{BUFFER_BYTES, Publications, new_ports, run};
use crate::entropy::KernelEntropy;
use crate::ipc::KernelRpc;
use libamoeba::capability::Capability;
use libamoeba::client::std_restrict;
use libamoeba::rights::restrict_owner;
use libamoeba::soap::server::{COLUMNS, Limits, MODIFY, Outside, SoapServer};

/// Names the directory holds at most: bounds the heap processes can make it use (a row is at
/// most ~300 bytes).
const MAX_NAMES: usize = 256;

/// The clock and the other servers, for a SOAP server in the kernel.
pub struct KernelOutside;

impl Outside for KernelOutside {
    fn now(&mut self) -> u32 {
        #[cfg(all(feature = "server-tod", feature = "driver-rtc"))]
        if let Some((seconds, _)) = crate::drivers::rtc::unix_time_now() {
            return u32::try_from(seconds).unwrap_or(u32::MAX);
        }
        0
    }

    fn restrict(&mut self, cap: &Capability, mask: u8) -> Option<Capability> {
        std_restrict(&KernelRpc, cap, mask).ok()
    }
}

#[inline(never)] // one symbol per server: image checks find selected servers by name
/// Returns the capabilities for processes (look up, list, add) and for the LAN (look up and
/// list only).
pub fn start(published: &Publications) -> (Capability, Capability) {
    let ports = new_ports();
    let made = SoapServer::kernel_directory(ports.put, KernelOutside, KernelEntropy);
    let Ok((directory, owner)) = made else {
        log::error!("dir: cannot make the kernel directory; not started");
        return (Capability::NULL, Capability::NULL);
    };
    let mut directory = directory.with_limits(Limits {
        rows: MAX_NAMES,
        directories: 1,
    });
    for (name, cap) in published.public() {
        if let Err(error) = directory.publish(name, cap) {
            log::error!("dir: cannot publish {name}: {error}");
        }
    }
    run("dir", ports, owner, directory, BUFFER_BYTES);
    let restricted = |rights| {
        restrict_owner(&owner, rights).unwrap_or_else(|| {
            log::error!("dir: cannot restrict its owner capability; it is not given out");
            Capability::NULL
        })
    };
    (restricted(COLUMNS | MODIFY), restricted(COLUMNS))
}
