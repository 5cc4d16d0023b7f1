//! The portable logic of a node's servers.
//!
//! | module     | server                                   | commands                                  |
//! |------------|------------------------------------------|-------------------------------------------|
//! | [`sys`]    | kernel statistics, log, reboot           | KSTAT, PRINTBUF, BOOT                     |
//! | [`tod`]    | time of day                              | GETTIME                                   |
//! | [`random`] | random bytes                             | GETRANDOM                                 |
//! | [`proc`]   | processes, the `ps` directory, load      | PS_GETLOAD, PS_STUN, STD_DESTROY, LIST... |
//! | [`tty`]    | the node's console                       | TTY_WRITE (ours)                          |
//! | [`echo`]   | null and bulk RPC for benchmarks, tests  | ECHO (ours)                               |
//! | [`vdisk`]  | a block device as a virtual disk         | DS_READ, DS_WRITE, DS_SIZE, DS_INFO...    |
//!
//! Every server also answers STD_INFO and STD_RESTRICT for each of its objects, through
//! [`standard`]. Command numbers and error codes are from `docs/amoeba-protocol.md`
//! (`#commands-and-error-codes`, `#kernel-servers`); each module says which parts of its
//! wire format are ours where the sources are silent.
//!
//! The rule: a server's logic is pure and tested on the host. It reaches the machine only
//! through a small trait of facts ([`sys::SysFacts`], [`tod::Clock`], [`proc::ProcessControl`],
//! [`tty::Console`], [`vdisk::BlockDevice`], [`crate::random::Entropy`]) that the kernel, or a
//! user process, implements.
//! Each server is an [`crate::rpc::server::Server`], so [`crate::rpc::server::serve`] runs the
//! same code as a kernel thread (the kernel's direct [`crate::rpc::transport::Rpc`]) or as a
//! process (system calls). [`crate::client`] has the matching client stubs.
//!
//! Each server keeps its objects in an [`crate::rpc::objects::ObjectTable`]: object 0 is the
//! server itself, and its constructor returns that object's owner capability. The servers
//! that are nothing but that object share [`server_object`]; the process server, which has
//! more objects, uses [`standard`] directly. The kernel directory is a SOAP server
//! ([`crate::soap`]). Each server names its rights
//! bits as constants (`READ`, `MODIFY`, ...): they are ours, not 5.3's, except the process
//! server's and the virtual disk's (`docs/amoeba-protocol.md#kernel-servers`).
//!
//! Tests drive the servers, and the stubs against them, through an in-memory transport
//! (`loopback`, test-only), and check every server's refusals the same way (`refusals`).

pub mod echo;
pub mod proc;
pub mod random;
pub mod run;
pub mod server_object;
pub mod standard;
pub mod sys;
pub mod tod;
pub mod tty;
pub mod vdisk;

#[cfg(test)]
pub(crate) mod loopback;
#[cfg(test)]
pub(crate) mod refusals;
