//! Exit codes a node reports by writing to QEMU's `isa-debug-exit` device.
//!
//! QEMU turns a value `v` written to the device's port into the process exit status
//! `(v << 1) | 1` (see QEMU's `hw/misc/debugexit.c`), so every status it reports is odd and
//! status 0 can never mean "the guest said so". Each outcome gets its own value so a test can
//! tell a clean stop from a panic or a CPU fault by the exit status alone.

/// The I/O port at which the kernel expects `isa-debug-exit` (QEMU's `iobase=0xf4`).
pub const DEBUG_EXIT_PORT: u16 = 0xf4;

/// The QEMU device arguments that match [`DEBUG_EXIT_PORT`].
pub const DEBUG_EXIT_DEVICE: &str = "isa-debug-exit,iobase=0xf4,iosize=0x04";

/// Why a node stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// The node finished what it was asked to do (for example `ready=exit`).
    Success,
    /// A kernel panic: message and location are on the serial console.
    Panic,
    /// A CPU exception in the kernel: vector, error code and registers are on the console.
    CpuException,
    /// The boot loader handed over something the kernel cannot boot from.
    BadBoot,
}

impl ExitCode {
    const ALL: [ExitCode; 4] = [
        Self::Success,
        Self::Panic,
        Self::CpuException,
        Self::BadBoot,
    ];

    /// The byte the kernel writes to [`DEBUG_EXIT_PORT`].
    pub const fn port_value(self) -> u8 {
        match self {
            Self::Success => 0x10,
            Self::Panic => 0x11,
            Self::CpuException => 0x12,
            Self::BadBoot => 0x13,
        }
    }

    /// The exit status of the QEMU process after the kernel wrote [`Self::port_value`].
    pub const fn qemu_status(self) -> i32 {
        ((self.port_value() as i32) << 1) | 1
    }

    /// Reads a QEMU exit status back; `None` when no kernel exit code produces it.
    pub fn from_qemu_status(status: i32) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|code| code.qemu_status() == status)
    }

    /// A short human description for logs and test failures.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Success => "clean stop",
            Self::Panic => "kernel panic",
            Self::CpuException => "CPU exception in the kernel",
            Self::BadBoot => "unusable boot information",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_status_round_trips_and_is_distinct() {
        let statuses: Vec<i32> = ExitCode::ALL.iter().map(|c| c.qemu_status()).collect();
        assert_eq!(statuses, [33, 35, 37, 39]);
        for code in ExitCode::ALL {
            assert_eq!(ExitCode::from_qemu_status(code.qemu_status()), Some(code));
        }
        assert_eq!(ExitCode::from_qemu_status(0), None);
        assert_eq!(ExitCode::from_qemu_status(1), None);
    }
}
