//! The virtual disk server in the kernel: `libamoeba::servers::vdisk` over the node's virtio
//! block device. The directory publishes `vdisk:00` with the right to read only: anyone on the
//! LAN can look it up, and a disk that anyone could overwrite would be no disk. The owner
//! capability (all rights) goes to the console, for the node's owner and the file servers.

use super::{BUFFER_BYTES, Publications, new_ports, run};
use crate::drivers::virtio_blk;
use crate::entropy::KernelEntropy;
use libamoeba::capability::Capability;
use libamoeba::rights::restrict_owner;
use libamoeba::servers::vdisk::{READ, VdiskServer};

/// The directory name of the first disk (5.3 numbers them `vdisk:NN`).
pub const NAME: &str = "vdisk:00";

#[inline(never)] // one symbol per server: image checks find selected servers by name
pub fn start(published: &mut Publications) {
    let Some(disk) = virtio_blk::probe() else {
        log::warn!("server vdisk: no virtio block device; not started");
        return;
    };
    let ports = new_ports();
    let (server, owner) = VdiskServer::new(ports.put, &mut KernelEntropy, disk);
    let read_only = restrict_owner(&owner, READ).unwrap_or(Capability::NULL);
    published.add(NAME, read_only, owner);
    run("vdisk", ports, owner, server, BUFFER_BYTES.max(32 * 1024));
}
