//! The disk image a build writes for a node with a disk: so far the paths a profile puts on it
//! ([`tree`]), which validation checks.

pub mod tree;
