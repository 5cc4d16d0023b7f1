//! RPC between nodes: Amoeba transactions carried over FLIP.
//!
//! From `docs/amoeba-protocol.md#rpc-over-flip`:
//! every message is a 24-byte RPC-over-FLIP header ([`header`]), the 32-byte Amoeba header and
//! the data ([`packet`]). A client finds the kernel serving a put-port with a broadcast LOCATE
//! (answers are cached, [`port_cache`]); a server keeps, per client kernel id, a table of
//! recent transaction ids ([`tid_table`]) so that a request runs at most once. The 5.3 timers
//! (10 retries, ENQUIRE 1 s, ALIVE 20 s) are in [`timers`].
//!
//! [`engine::Engine`] is the protocol state machine, the remote counterpart of the local
//! [`crate::rpc::switchboard::Switchboard`]: time comes in as an argument and every effect goes
//! out as an [`engine::Action`], so every path runs in host tests (including a lossy in-memory
//! network). It sits above FLIP but does not depend on it: [`address`] defines the little it
//! needs from below (an opaque FLIP address, something to send bytes on).
//! [`node::RpcNode`] puts the engine on a [`crate::flip::station::Station`]: what a kernel
//! and the host peer run.

pub mod address;
pub mod engine;
pub mod header;
pub mod node;
pub mod packet;
pub mod port_cache;
pub mod tid_table;
pub mod timers;

#[cfg(test)]
mod simulation;
