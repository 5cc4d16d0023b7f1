//! The Bullet file server's storage: its on-disk format and the logic that keeps it, over a
//! [`crate::servers::vdisk::BlockDevice`], and a first subset of its RPC commands.
//!
//! From the reference's "Bullet file server" (`docs/amoeba-protocol.md`): files are
//! immutable once committed, stored contiguously, and the server keeps its super capability
//! (port included) on the disk so capabilities survive reboots. 5.3 leaves the on-disk layout
//! to each implementation; this one is ours and is described in `docs/bullet-format.md`.
//!
//! | module     | what it holds                                                        |
//! |------------|----------------------------------------------------------------------|
//! | [`layout`] | the superblock and inode records: byte layouts, encode and decode    |
//! | [`free`]   | free space as a list of runs, first-fit contiguous allocation        |
//! | [`device`] | filesystem blocks of 4096 bytes on a device of 512-byte sectors      |
//! | [`table`]  | reading the inode table and judging every record (mount and fsck)    |
//! | `open`     | an uncommitted file: its bytes on the disk in an extent of its own   |
//! | [`volume`] | [`Volume`]: format, mount, create, modify, insert, delete, commit, ... |
//! | [`fsck`]   | the consistency check and its report                                 |
//! | [`error`]  | the typed errors of format, mount and the store                      |
//! | [`server`] | [`server::BulletServer`]: BS_CREATE, BS_MODIFY, BS_READ, BS_SIZE, ...  |

pub mod device;
pub mod error;
pub mod free;
pub mod fsck;
pub mod layout;
mod open;
pub mod server;
pub mod table;
pub mod volume;

#[cfg(test)]
mod open_tests;
#[cfg(test)]
mod server_tests;
#[cfg(test)]
mod tests;

pub use error::{FormatError, MountError, StoreError};
pub use fsck::{FsckProblem, FsckReport};
pub use volume::Volume;
