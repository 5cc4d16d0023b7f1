//! Harness for the end-to-end tests: build each node profile once per test run, boot it in QEMU
//! with a hard time limit, and read its serial console.
//!
//! Every QEMU instance is owned by a [`Node`]: dropping it (a passing test, a failed assertion, a
//! panic) kills the process, and QEMU also runs under coreutils `timeout`, so even a test process
//! that dies without unwinding cannot leave a guest running.

pub mod images;
/// The host's seat on a virtual LAN (from amunix, the host side of the nodes' network).
pub use amunix::lan;
pub mod node;

pub use images::{BuiltProfile, built};
pub use node::{Node, NodeFailure};
