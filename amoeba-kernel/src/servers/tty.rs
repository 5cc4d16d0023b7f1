//! The tty server in the kernel: the serial console, so processes print by RPC. The kernel
//! does not read the serial line, so a reader finds the end of input at once.

use super::{BUFFER_BYTES, Publications, new_ports, run};
use crate::console;
use crate::entropy::KernelEntropy;
use libamoeba::servers::tty::{Console, Input, TtyServer};

struct SerialConsole;

impl Console for SerialConsole {
    fn write(&mut self, bytes: &[u8]) {
        console::write_bytes(bytes);
    }

    fn read(&mut self, _buffer: &mut [u8]) -> Input {
        Input::End
    }
}

#[inline(never)] // one symbol per server: image checks find selected servers by name
pub fn start(published: &mut Publications) {
    let ports = new_ports();
    let (server, owner) = TtyServer::new(ports.put, &mut KernelEntropy, SerialConsole);
    published.add("tty", owner, owner);
    run("tty", ports, owner, server, BUFFER_BYTES);
}
