//! What a booting node and the tools around it agree on: the kernel command line and the
//! exit codes a node reports through QEMU's isa-debug-exit device.

pub mod cmdline;
pub mod exit;

pub use cmdline::{BootArg, CmdlineError, CrashKind, LogLevel, OnReady, SelfTest};
pub use exit::ExitCode;
