//! libamoeba: the OS-independent half of an Amoeba node.
//!
//! Everything here is portable `no_std` code tested on the host with plain `cargo test`:
//! the kernel, user programs and host tools all use these definitions, so a byte layout or a
//! protocol rule exists exactly once.
//!
//! It has no unsafe code: what meets the hardware or the kernel's system-call instruction lives
//! in `amoeba-kernel`, in the user runtime `amoeba-user` and in `amoeba-freestanding`.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod boot;
pub mod bullet;
pub mod byte_order;
pub mod capability;
pub mod client;
pub mod crc32;
pub mod ethernet;
pub mod flip;
pub mod gzip;
mod le;
pub mod link_check;
pub mod memory;
pub mod oneway;
pub mod priority;
pub mod process;
pub mod random;
pub mod remote_rpc;
pub mod rights;
pub mod rpc;
pub mod servers;
pub mod soap;
pub mod syscall;
pub mod time;
pub mod udp_peer;
