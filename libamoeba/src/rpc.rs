//! Amoeba RPC: the 32-byte header every request and reply carries, and the numbers in it
//! (commands, error codes). From `docs/amoeba-protocol.md#rpc-header`.

pub mod codes;
pub mod header;
pub mod objects;
pub mod server;
pub mod switchboard;
pub mod transport;
