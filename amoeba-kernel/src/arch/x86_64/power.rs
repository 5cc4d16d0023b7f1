//! Stopping the machine, with an exit code where QEMU's isa-debug-exit device listens, and
//! resetting it.

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

/// Resets the machine through the keyboard controller's reset line (pulse command 0xFE on port
/// 0x64, the PC/AT way); if that does nothing, a triple fault. QEMU started with `-no-reboot`
/// exits instead of resetting.
#[cfg(feature = "server-sys")]
pub fn reboot() -> ! {
    const KEYBOARD_COMMAND: u16 = 0x64;
    const PULSE_RESET: u8 = 0xFE;
    // SAFETY: the kernel owns the keyboard controller (port 0x64 is never granted to
    // processes); resetting the machine is the purpose of the call.
    unsafe { port::outb(KEYBOARD_COMMAND, PULSE_RESET) };
    for _ in 0..1_000_000 {
        core::hint::spin_loop();
    }
    triple_fault()
}

/// Resets the CPU the hard way: with an empty IDT, an exception finds no handler, nor does the
/// double fault that follows, and the third fault resets the machine (Intel SDM vol. 3A, 6.15,
/// interrupt 8: a fault while delivering a double fault shuts the processor down).
#[cfg(feature = "server-sys")]
fn triple_fault() -> ! {
    use x86_64::instructions::{interrupts, tables::lidt};
    use x86_64::{VirtAddr, structures::DescriptorTablePointer};

    let empty = DescriptorTablePointer {
        limit: 0,
        base: VirtAddr::zero(),
    };
    // SAFETY: deliberately fatal: the breakpoint raised next is the last thing this CPU does.
    unsafe { lidt(&empty) };
    interrupts::int3();
    cpu::halt_forever()
}
