//! The RPC-over-FLIP protocol engine of one node: client and server side in one state machine.
//!
//! From `docs/amoeba-protocol.md#wire-behaviour` (message types, port locate
//! with a cache, at-most-once by kernel id and transaction id, the 5.3 timers). The engine is
//! the remote counterpart of [`crate::rpc::switchboard::Switchboard`]: the kernel calls
//! [`Engine::trans_start`] for a request whose port no local server holds, feeds it every
//! arriving message ([`Engine::on_message`]) and the passing of time ([`Engine::on_timer`] at
//! [`Engine::next_deadline`]), and carries out the [`Action`]s it returns. There is no clock
//! inside: `now` is milliseconds on any monotonic clock the caller likes.
//!
//! The exchanges (5.3 names the message types; who sends which when is ours):
//! * Client: LOCATE is broadcast until some kernel answers HEREIS (cached, see
//!   [`super::port_cache`]), or until the locate timeout: RPC_NOTFOUND. The REQUEST is
//!   retransmitted with backoff ([`super::timers`]) until the server answers; after
//!   [`MAX_RETRIES`] retransmissions: RPC_FAILURE. ALIVE says the server has the request: the
//!   client then only sends ENQUIRE, every second, and fails when the server has been silent
//!   for the ALIVE timeout. The REPLY completes the transaction and is acknowledged with ACK
//!   (every copy of it, so that a lost ACK is repaired).
//! * Server: LOCATE is answered with HEREIS when a local server listens on the port. A new
//!   REQUEST is delivered to the local switchboard once ([`super::tid_table`]); a duplicate or
//!   an ENQUIRE gets ALIVE while it runs, the REPLY again once it has one, FAIL once the reply
//!   is acknowledged or given up on. The REPLY is retransmitted until ACK, at most
//!   [`MAX_RETRIES`] times.
//! * NAK (ours): a REQUEST for a port not served here is refused, and the refusal recorded, so
//!   the request never runs here under that id. The client forgets the cached address and
//!   locates again with a fresh transaction id (at most [`MAX_RELOCATIONS`] times), which is
//!   what makes a stale cache entry harmless.
//! * FAIL (ours): the server cannot produce the reply of a request that may have run; the
//!   client reports RPC_FAILURE.
//!
//! Malformed messages are counted and dropped; messages that fit no transaction are counted as
//! ignored. Every table is bounded: transactions in progress ([`MAX_CLIENT_TRANSACTIONS`]),
//! the port cache, the server's transaction table. Not implemented: RECEIVED, FORWARD (process
//! migration) and SIGTRANS (signals to a running request) are decoded but ignored.

mod client;
mod server;
#[cfg(test)]
mod tests;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use self::client::ClientTransaction;
use super::address::{FlipAddress, FlipLink, KernelId, LocalPorts};
use super::header::{Flags, MessageType, RpcHeader};
use super::packet::Packet;
use super::port_cache::PortCache;
use super::tid_table::TidTable;
use crate::capability::Port;
use crate::rpc::codes::ErrorCode;
use crate::rpc::switchboard::Message;

pub use self::client::MAX_RELOCATIONS;
pub use super::timers::MAX_RETRIES;

/// Transactions this node may have in progress as a client at once (ours).
pub const MAX_CLIENT_TRANSACTIONS: usize = 256;

/// A request from another kernel, handed to the local switchboard; pass it back with the
/// reply to [`Engine::reply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RemoteRequest {
    pub kernel: KernelId,
    pub tid: u32,
}

/// Something the caller must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action<T> {
    /// Send `bytes` to the kernel at `to`.
    Send { to: FlipAddress, bytes: Vec<u8> },
    /// Send `bytes` to every kernel (a port locate).
    Broadcast { bytes: Vec<u8> },
    /// Give `message` to a local server of its port; answer with [`Engine::reply`]. The local
    /// server must answer (with an error status if it cannot): until then the request holds
    /// one of [`super::tid_table::MAX_LIVE_TRANSACTIONS`].
    Deliver {
        request: RemoteRequest,
        message: Message,
    },
    /// `client`'s transaction is over: the reply, or RPC_NOTFOUND / RPC_FAILURE.
    Complete {
        client: T,
        result: Result<Message, ErrorCode>,
    },
}

impl<T> Action<T> {
    /// Carries out a send or broadcast on `link`; hands any other action back.
    pub fn transmit(self, link: &mut impl FlipLink) -> Option<Self> {
        match self {
            Self::Send { to, bytes } => link.send(to, &bytes),
            Self::Broadcast { bytes } => link.broadcast(&bytes),
            other => return Some(other),
        }
        None
    }
}

/// Counters for the sys server's statistics and for tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Messages that did not decode.
    pub malformed: u64,
    /// Well-formed messages that fit nothing: stale or duplicate answers, our own broadcasts,
    /// types the engine does not use.
    pub ignored: u64,
    /// Requests dropped because the server's table was full (their clients retransmit).
    pub refused_full: u64,
    /// REQUESTs and REPLYs sent again.
    pub retransmissions: u64,
    /// Remote requests delivered to local servers.
    pub executed: u64,
    /// Client transactions completed with a reply.
    pub completed: u64,
    /// Client transactions that ended with RPC_FAILURE.
    pub failed: u64,
    /// Client transactions that ended with RPC_NOTFOUND.
    pub not_found: u64,
}

impl Counts {
    const ZERO: Self = Self {
        malformed: 0,
        ignored: 0,
        refused_full: 0,
        retransmissions: 0,
        executed: 0,
        completed: 0,
        failed: 0,
        not_found: 0,
    };
}

/// The remote RPC state of one node; `T` identifies the kernel's client threads.
pub struct Engine<T> {
    kernel: KernelId,
    /// The id of the next transaction this node starts (ids start at 1 on every boot).
    next_tid: u32,
    /// Client transactions in progress, by transaction id.
    transactions: BTreeMap<u32, ClientTransaction<T>>,
    port_cache: PortCache,
    /// Server side: remote transactions seen, per client kernel.
    tids: TidTable,
    counts: Counts,
}

impl<T> Engine<T> {
    /// A node whose kernel id is `kernel` (fresh on every boot, see [`KernelId`]).
    pub const fn new(kernel: KernelId) -> Self {
        Self {
            kernel,
            next_tid: 1,
            transactions: BTreeMap::new(),
            port_cache: PortCache::new(),
            tids: TidTable::new(),
            counts: Counts::ZERO,
        }
    }

    pub const fn kernel(&self) -> KernelId {
        self.kernel
    }

    pub const fn counts(&self) -> Counts {
        self.counts
    }

    /// Client transactions in progress.
    pub fn in_progress(&self) -> usize {
        self.transactions.len()
    }

    /// Ports in the locate cache.
    pub fn cached_ports(&self) -> usize {
        self.port_cache.len()
    }
}

impl<T: Copy + Ord> Engine<T> {
    /// Handles a message FLIP delivered from `from`; `ports` says which ports local servers
    /// listen on.
    pub fn on_message(
        &mut self,
        from: FlipAddress,
        bytes: &[u8],
        ports: &impl LocalPorts,
        now: u64,
    ) -> Vec<Action<T>> {
        let mut actions = Vec::new();
        let Ok(packet) = Packet::decode(bytes) else {
            self.counts.malformed += 1;
            return actions;
        };
        // Our own broadcasts may come back to us; a local port is served by the switchboard.
        let handled = packet.rpc.kernel != self.kernel
            && match packet.rpc.kind {
                MessageType::Locate => self.on_locate(from, &packet.rpc, ports, &mut actions),
                MessageType::Request => {
                    self.on_request(from, packet, ports, now, &mut actions);
                    true
                }
                MessageType::Enquire => self.on_enquire(from, &packet.rpc, now, &mut actions),
                MessageType::Ack => self.on_ack(&packet.rpc),
                MessageType::HereIs => self.on_here_is(from, &packet.rpc, now, &mut actions),
                MessageType::Reply => self.on_reply(from, packet, &mut actions),
                MessageType::Alive => self.on_alive(from, &packet.rpc, now),
                MessageType::Nak => self.on_nak(from, &packet.rpc, now, &mut actions),
                MessageType::Fail => self.on_fail(from, &packet.rpc, &mut actions),
                MessageType::Received | MessageType::Forward => false,
            };
        if !handled {
            self.counts.ignored += 1;
        }
        actions
    }

    /// Retransmissions, enquiries and timeouts due by `now`.
    pub fn on_timer(&mut self, now: u64) -> Vec<Action<T>> {
        let mut actions = Vec::new();
        self.client_timers(now, &mut actions);
        self.server_timers(now, &mut actions);
        actions
    }

    /// When [`Engine::on_timer`] next has something to do, if ever.
    pub fn next_deadline(&self) -> Option<u64> {
        let client = self.transactions.values().map(ClientTransaction::deadline);
        client.chain(self.server_deadlines()).min()
    }

    /// A control message from this kernel: no Amoeba header, no data. `side` is
    /// [`Flags::REQUEST`] from a client, [`Flags::REPLY`] from a server.
    fn control(&self, kind: MessageType, port: Port, tid: u32, side: Flags) -> Vec<u8> {
        let mut rpc = RpcHeader::new(self.kernel, kind, port, tid);
        rpc.flags = side;
        Packet::control(rpc).encode()
    }
}

/// `bytes`, an encoded message of ours, marked as a retransmission.
fn retransmission(bytes: &[u8]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    if let Some(flags) = bytes.get_mut(super::header::FLAGS_OFFSET) {
        *flags |= Flags::RETRANS.bits();
    }
    bytes
}
