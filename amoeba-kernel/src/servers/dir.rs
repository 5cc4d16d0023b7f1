//! The kernel directory: every server's capability by name. Processes get it as ROOT with the
//! rights to look up, list, add and delete names (a server process publishes itself), not the
//! owner capability printed at boot; the kernel's own names cannot be deleted or replaced.

use super::{BUFFER_BYTES, Publications, new_ports, run};
use crate::entropy::KernelEntropy;
use libamoeba::capability::Capability;
use libamoeba::rights::restrict_owner;
use libamoeba::servers::dir::{Directory, MODIFY, READ};

/// Names the directory holds at most: bounds the heap processes can make it use (a row is at
/// most ~300 bytes).
const MAX_NAMES: usize = 256;

#[inline(never)] // one symbol per server: image checks find selected servers by name
/// Returns the capabilities for processes (look up, list, add, delete) and for the LAN (look
/// up and list only).
pub fn start(published: &Publications) -> (Capability, Capability) {
    let ports = new_ports();
    let (mut directory, owner) = Directory::with_limit(ports.put, &mut KernelEntropy, MAX_NAMES);
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
    (restricted(READ | MODIFY), restricted(READ))
}
