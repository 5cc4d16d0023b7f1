//! The random server in the kernel, on the kernel's entropy (RDRAND or the seeded generator;
//! STD_INFO says which).

use super::{BUFFER_BYTES, Publications, new_ports, run};
use crate::entropy::{self, KernelEntropy};
use libamoeba::servers::random::RandomServer;

#[inline(never)] // one symbol per server: image checks find selected servers by name
pub fn start(published: &mut Publications) {
    let ports = new_ports();
    let (server, owner) = RandomServer::new(ports.put, KernelEntropy, entropy::source());
    published.add("random", owner, owner);
    run("random", ports, owner, server, BUFFER_BYTES);
}
