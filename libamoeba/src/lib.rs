//! libamoeba: the OS-independent half of an Amoeba node.
//!
//! Everything here is portable `no_std` code tested on the host with plain `cargo test`:
//! the kernel, user programs and host tools all use these definitions, so a byte layout or a
//! protocol rule exists exactly once.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod boot;
pub mod memory;
pub mod time;
