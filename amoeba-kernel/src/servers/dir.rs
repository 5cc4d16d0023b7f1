//! The kernel directory: every server's capability by name. Processes get it as ROOT with the
//! rights to look up, list and add names (a server process publishes itself), not the owner
//! capability printed at boot.

use super::{BUFFER_BYTES, Publications, new_ports, run};
use crate::entropy::KernelEntropy;
use libamoeba::capability::Capability;
use libamoeba::rights::restrict_owner;
use libamoeba::servers::dir::{Directory, MODIFY, READ};

#[inline(never)] // one symbol per server: image checks find selected servers by name
pub fn start(published: &Publications) -> Capability {
    let ports = new_ports();
    let (mut directory, owner) = Directory::new(ports.put, &mut KernelEntropy);
    for (name, cap) in &published.0 {
        if let Err(error) = directory.publish(name, *cap) {
            log::error!("dir: cannot publish {name}: {error}");
        }
    }
    run("dir", ports, owner, directory, BUFFER_BYTES);
    restrict_owner(&owner, READ | MODIFY).unwrap_or(Capability::NULL)
}
