//! Stopping the machine, with an exit code where QEMU's isa-debug-exit device listens.

use super::{cpu, port};
use libamoeba::boot::{ExitCode, exit::DEBUG_EXIT_PORT};

/// Stops the node. Under QEMU with isa-debug-exit the process exits with
/// [`ExitCode::qemu_status`]; on other machines the write goes nowhere and the CPU halts.
pub fn exit(code: ExitCode) -> ! {
    // SAFETY: port 0xf4 is unassigned on PC hardware; the only device there is QEMU's
    // isa-debug-exit, whose whole purpose is to receive this write.
    unsafe { port::outb(DEBUG_EXIT_PORT, code.port_value()) };
    cpu::halt_forever()
}
