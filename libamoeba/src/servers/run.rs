//! The run server: keeps a pool of processors (the pool nodes of its LAN), polls their load,
//! answers which of them a new process should go to, and (ours, when its node's profile says
//! so) moves processes it was given from the busiest pool processor to the idlest.
//!
//! Numbers and rights from `docs/amoeba-protocol.md#kernel-servers` (5.3's `src/admin/run`);
//! the choices in [`policy`], the pool in [`pool`], the RPC side in [`server`].

pub mod policy;
pub mod pool;
pub mod server;

use crate::rpc::codes::{Command, RUN_FIRST_COM};

pub use policy::{Host, Rebalance, choose, rebalance};
pub use pool::{Move, Pool, PoolHost};
pub use server::{PoolAccess, RunServer};

/// Right to hand processes to the pool (RUN_BALANCE).
pub const CREATE: u8 = 0x01;
/// Right to ask for a host (RUN_GET_EXEC_CAP, RUN_MULTI_FINDHOST).
pub const FINDHOST: u8 = 0x02;
/// Right to read the pool's load (PS_GETLOAD).
pub const STATUS: u8 = 0x04;
/// Right to destroy the pool (unused: the pool is the server's).
pub const DESTROY: u8 = 0x08;
/// The owner's right: what the published capability lacks.
pub const ADMIN: u8 = 0x80;

/// A host's process-server capability → its exec capability and architecture.
pub const RUN_GET_EXEC_CAP: Command = Command(RUN_FIRST_COM);
/// Up to [`MAX_FINDHOST`] descriptors → which to run, where.
pub const RUN_MULTI_FINDHOST: Command = Command(RUN_FIRST_COM + 1);
/// Ours: a process capability for the pool to balance.
pub const RUN_BALANCE: Command = Command(RUN_FIRST_COM + 10);

/// Most descriptors one RUN_MULTI_FINDHOST names.
pub const MAX_FINDHOST: usize = 10;
