//! amoeba-kernel-core: the part of the kernel that needs no machine.
//!
//! The kernel binary (`amoeba-kernel/src`) owns the CPU, memory and devices; what it decides
//! with them (which thread runs next, which timer is due, what a sync object does, how a
//! device's ring is read) lives here as plain data structures and algorithms over small traits,
//! so that `cargo test` runs it on the host. Hardware is reached only through those traits:
//! this crate has no unsafe code.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod drivers;
pub mod sched;
