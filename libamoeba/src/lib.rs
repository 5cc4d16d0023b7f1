//! libamoeba: the OS-independent half of an Amoeba node.
//!
//! Everything here is portable `no_std` code tested on the host with plain `cargo test`:
//! the kernel, user programs and host tools all use these definitions, so a byte layout or a
//! protocol rule exists exactly once.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

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
