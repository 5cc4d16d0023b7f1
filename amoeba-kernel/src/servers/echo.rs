//! The echo server in the kernel: the same `libamoeba::servers::echo` code the `echo-server`
//! program runs as a process, so RPC to a kernel server and to a process server compare like
//! for like.

use super::{BUFFER_BYTES, Publications, new_ports, run};
use crate::entropy::KernelEntropy;
use libamoeba::rpc::transport::MAX_MESSAGE_BYTES;
use libamoeba::servers::echo::EchoServer;

#[inline(never)] // one symbol per server: image checks find selected servers by name
pub fn start(published: &mut Publications) {
    let ports = new_ports();
    let (server, owner) = EchoServer::new(ports.put, &mut KernelEntropy);
    published.add("echo", owner, owner);
    // Bulk benchmarks send the largest messages there are.
    run(
        "echo",
        ports,
        owner,
        server,
        BUFFER_BYTES.max(MAX_MESSAGE_BYTES),
    );
}
