//! libamoeba: the OS-independent half of an Amoeba node.
//!
//! Everything here is portable `no_std` code tested on the host with plain `cargo test`:
//! the kernel, user programs and host tools all use these definitions, so a byte layout or a
//! protocol rule exists exactly once.
//!
//! The one exception to "portable" is the `user` module (feature `user`, for programs only):
//! the user-side system-call stubs and runtime. It is the only module allowed `unsafe`.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

pub mod boot;
pub mod capability;
pub mod crc32;
pub mod gzip;
mod le;
pub mod memory;
pub mod priority;
pub mod process;
pub mod syscall;
pub mod time;
#[cfg(feature = "user")]
#[allow(unsafe_code)]
pub mod user;
