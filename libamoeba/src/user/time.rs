//! The node's clock.

use core::time::Duration;

use super::raw;
use crate::syscall::Call;

/// Time since the node booted.
pub fn now() -> Duration {
    // SAFETY: Now only returns a number.
    Duration::from_nanos(unsafe { raw::syscall0(Call::Now) }.unwrap_or(0))
}
