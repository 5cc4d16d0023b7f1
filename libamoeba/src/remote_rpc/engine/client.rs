//! The client side of the engine: locate, request, retransmit, enquire, complete.
//!
//! See the parent module for the exchanges; the phases of one transaction are [`Phase`].

use alloc::vec::Vec;

use super::{Action, Engine, MAX_CLIENT_TRANSACTIONS};
use crate::capability::Port;
use crate::remote_rpc::address::{FlipAddress, KernelId};
use crate::remote_rpc::header::{ByteOrder, Flags, MessageType, RpcHeader};
use crate::remote_rpc::packet::{Packet, encode_message};
use crate::remote_rpc::timers::{
    ALIVE_TIMEOUT_MS, ENQUIRE_INTERVAL_MS, LOCATE_REBROADCAST_MS, MAX_RETRIES, retransmit_delay,
};
use crate::rpc::codes::ErrorCode;
use crate::rpc::switchboard::Message;
use crate::rpc::transport::MAX_MESSAGE_BYTES;

/// Times a transaction may start over with a fresh locate after servers refused its port
/// (ours: one refusal is a stale cache entry, several mean the port is moving or gone).
pub const MAX_RELOCATIONS: u32 = 3;

/// Where one transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// LOCATE broadcast, no HEREIS yet: broadcast again at `next_broadcast`, give up with
    /// RPC_NOTFOUND at `deadline`.
    Locating { deadline: u64, next_broadcast: u64 },
    /// REQUEST sent to `server`, no word from it: retransmission `retries + 1` at `next_send`.
    Sent {
        server: FlipAddress,
        retries: u32,
        next_send: u64,
    },
    /// `server` said ALIVE: it has the request. ENQUIRE at `next_enquire`; RPC_FAILURE when
    /// nothing has come from it since `last_heard` for the ALIVE timeout.
    Accepted {
        server: FlipAddress,
        last_heard: u64,
        next_enquire: u64,
    },
}

pub(super) struct ClientTransaction<T> {
    client: T,
    request: Message,
    locate_timeout_ms: u64,
    relocations: u32,
    phase: Phase,
}

impl<T> ClientTransaction<T> {
    fn port(&self) -> Port {
        self.request.header.port
    }

    /// The server the request went to, once one was found.
    fn server(&self) -> Option<FlipAddress> {
        match self.phase {
            Phase::Locating { .. } => None,
            Phase::Sent { server, .. } | Phase::Accepted { server, .. } => Some(server),
        }
    }

    /// When the timer next has something to do for this transaction.
    pub(super) fn deadline(&self) -> u64 {
        match self.phase {
            Phase::Locating {
                deadline,
                next_broadcast,
            } => deadline.min(next_broadcast),
            Phase::Sent { next_send, .. } => next_send,
            Phase::Accepted {
                last_heard,
                next_enquire,
                ..
            } => next_enquire.min(last_heard.saturating_add(ALIVE_TIMEOUT_MS)),
        }
    }
}

impl<T: Copy + Ord> Engine<T> {
    /// Starts `client`'s transaction: sends `request` to the kernel serving its port (from the
    /// cache) or broadcasts a locate for it, which fails with RPC_NOTFOUND after
    /// `locate_timeout_ms`. The outcome comes later as [`Action::Complete`].
    ///
    /// Refused at once: a null port or oversized data (RPC_BADADDRESS, as for an unusable
    /// buffer); a client already in a transaction, too many transactions, or transaction ids
    /// used up for this boot (RPC_FAILURE).
    pub fn trans_start(
        &mut self,
        client: T,
        request: Message,
        locate_timeout_ms: u64,
        now: u64,
    ) -> Result<Vec<Action<T>>, ErrorCode> {
        let port = request.header.port;
        if port.is_null() || request.data.len() > MAX_MESSAGE_BYTES {
            return Err(ErrorCode::RPC_BADADDRESS);
        }
        let busy = self.transactions.values().any(|t| t.client == client);
        if busy || self.transactions.len() >= MAX_CLIENT_TRANSACTIONS {
            return Err(ErrorCode::RPC_FAILURE);
        }
        let tid = self.take_tid()?;
        let transaction = ClientTransaction {
            client,
            request,
            locate_timeout_ms,
            relocations: 0,
            phase: Phase::Locating {
                deadline: now.saturating_add(locate_timeout_ms),
                next_broadcast: now,
            },
        };
        self.transactions.insert(tid, transaction);
        let mut actions = Vec::new();
        match self.port_cache.lookup(port, now) {
            Some(server) => self.send_request(tid, server, now, &mut actions),
            None => self.broadcast_locate(tid, now, &mut actions),
        }
        Ok(actions)
    }

    /// Forgets `client`'s transaction (its thread ended). A reply that comes later is still
    /// acknowledged, then dropped. Returns whether there was one.
    pub fn trans_cancel(&mut self, client: T) -> bool {
        let before = self.transactions.len();
        self.transactions.retain(|_, t| t.client != client);
        self.transactions.len() < before
    }

    /// A new transaction id. Ids are never reused within a boot, since servers remember them;
    /// after 2^32 - 1 transactions the node needs a new kernel id (a reboot).
    fn take_tid(&mut self) -> Result<u32, ErrorCode> {
        let tid = self.next_tid;
        self.next_tid = tid.checked_add(1).ok_or(ErrorCode::RPC_FAILURE)?;
        Ok(tid)
    }

    fn send_request(&mut self, tid: u32, server: FlipAddress, now: u64, out: &mut Vec<Action<T>>) {
        let Some(transaction) = self.transactions.get_mut(&tid) else {
            return;
        };
        transaction.phase = Phase::Sent {
            server,
            retries: 0,
            next_send: now.saturating_add(retransmit_delay(0)),
        };
        let bytes = request_bytes(self.kernel, tid, &transaction.request, Flags::REQUEST);
        out.push(Action::Send { to: server, bytes });
    }

    fn broadcast_locate(&mut self, tid: u32, now: u64, out: &mut Vec<Action<T>>) {
        let Some(transaction) = self.transactions.get_mut(&tid) else {
            return;
        };
        if let Phase::Locating { next_broadcast, .. } = &mut transaction.phase {
            *next_broadcast = now.saturating_add(LOCATE_REBROADCAST_MS);
        }
        let port = transaction.port();
        let bytes = self.control(MessageType::Locate, port, tid, Flags::REQUEST);
        out.push(Action::Broadcast { bytes });
    }

    /// HEREIS: `from` serves the port; every transaction locating it sends its request there.
    pub(super) fn on_here_is(
        &mut self,
        from: FlipAddress,
        rpc: &RpcHeader,
        now: u64,
        out: &mut Vec<Action<T>>,
    ) -> bool {
        let locating: Vec<u32> = self
            .transactions
            .iter()
            .filter(|(_, t)| t.port() == rpc.port && matches!(t.phase, Phase::Locating { .. }))
            .map(|(tid, _)| *tid)
            .collect();
        if locating.is_empty() {
            // A second answer to a locate, or one nobody asked for: not worth a cache slot.
            return false;
        }
        self.port_cache.insert(rpc.port, from, now);
        for tid in locating {
            self.send_request(tid, from, now, out);
        }
        true
    }

    /// ALIVE: the server has the request; from now on the client only enquires.
    pub(super) fn on_alive(&mut self, from: FlipAddress, rpc: &RpcHeader, now: u64) -> bool {
        let Some(transaction) = self.transactions.get_mut(&rpc.tid) else {
            return false;
        };
        if transaction.server() != Some(from) {
            return false;
        }
        let next_enquire = match transaction.phase {
            // Keep the enquiry rhythm: an ALIVE answering one must not delay the next.
            Phase::Accepted { next_enquire, .. } => next_enquire,
            _ => now.saturating_add(ENQUIRE_INTERVAL_MS),
        };
        transaction.phase = Phase::Accepted {
            server: from,
            last_heard: now,
            next_enquire,
        };
        true
    }

    /// REPLY: completes the transaction it answers. Every copy is acknowledged, also one for
    /// a transaction already over: the server retransmits until an ACK gets through.
    pub(super) fn on_reply(
        &mut self,
        from: FlipAddress,
        packet: Packet,
        out: &mut Vec<Action<T>>,
    ) -> bool {
        let rpc = packet.rpc;
        let ack = self.control(MessageType::Ack, rpc.port, rpc.tid, Flags::REQUEST);
        out.push(Action::Send {
            to: from,
            bytes: ack,
        });
        // The reply may come from another address than the request went to (the server's
        // kernel may have moved): the transaction id, unique to us, is what matches.
        let matches = self.transactions.get(&rpc.tid).map(|t| t.port()) == Some(rpc.port);
        if matches {
            self.finish(rpc.tid, Ok(packet.message), out);
        }
        matches
    }

    /// NAK: the server does not serve the port and did not run the request. Locate again.
    pub(super) fn on_nak(
        &mut self,
        from: FlipAddress,
        rpc: &RpcHeader,
        now: u64,
        out: &mut Vec<Action<T>>,
    ) -> bool {
        // Also after ALIVE: a server may give back a request it accepted but never ran (its
        // port's server went away first), and then NAKs it.
        let refused_here = self.transactions.get(&rpc.tid).is_some_and(|t| {
            matches!(t.phase,
                Phase::Sent { server, .. } | Phase::Accepted { server, .. } if server == from)
        });
        if !refused_here {
            return false;
        }
        self.port_cache.forget(rpc.port, from);
        self.relocate(rpc.tid, now, out);
        true
    }

    /// Moves a refused transaction to a fresh id (the server keeps the old one as refused, so
    /// it never runs there) and locates its port again.
    fn relocate(&mut self, tid: u32, now: u64, out: &mut Vec<Action<T>>) {
        let Some(transaction) = self.transactions.get_mut(&tid) else {
            return;
        };
        transaction.relocations += 1;
        if transaction.relocations > MAX_RELOCATIONS {
            self.finish(tid, Err(ErrorCode::RPC_NOTFOUND), out);
            return;
        }
        let Ok(fresh) = self.take_tid() else {
            self.finish(tid, Err(ErrorCode::RPC_FAILURE), out);
            return;
        };
        let Some(mut transaction) = self.transactions.remove(&tid) else {
            return;
        };
        transaction.phase = Phase::Locating {
            deadline: now.saturating_add(transaction.locate_timeout_ms),
            next_broadcast: now,
        };
        self.transactions.insert(fresh, transaction);
        self.broadcast_locate(fresh, now, out);
    }

    /// FAIL: the server cannot produce the reply of a request that may have run.
    pub(super) fn on_fail(
        &mut self,
        from: FlipAddress,
        rpc: &RpcHeader,
        out: &mut Vec<Action<T>>,
    ) -> bool {
        let ours = self
            .transactions
            .get(&rpc.tid)
            .is_some_and(|t| t.server() == Some(from));
        if ours {
            self.finish(rpc.tid, Err(ErrorCode::RPC_FAILURE), out);
        }
        ours
    }

    pub(super) fn client_timers(&mut self, now: u64, out: &mut Vec<Action<T>>) {
        let due: Vec<u32> = self
            .transactions
            .iter()
            .filter(|(_, t)| t.deadline() <= now)
            .map(|(tid, _)| *tid)
            .collect();
        for tid in due {
            self.client_timer(tid, now, out);
        }
    }

    fn client_timer(&mut self, tid: u32, now: u64, out: &mut Vec<Action<T>>) {
        let Some(transaction) = self.transactions.get(&tid) else {
            return;
        };
        let port = transaction.port();
        match transaction.phase {
            Phase::Locating { deadline, .. } if now >= deadline => {
                self.finish(tid, Err(ErrorCode::RPC_NOTFOUND), out);
            }
            Phase::Locating { .. } => self.broadcast_locate(tid, now, out),
            Phase::Sent {
                server, retries, ..
            } if retries >= MAX_RETRIES => {
                // The kernel behind the cache entry may be dead: locate afresh next time.
                self.port_cache.forget(port, server);
                self.finish(tid, Err(ErrorCode::RPC_FAILURE), out);
            }
            Phase::Sent { .. } => self.retransmit_request(tid, now, out),
            Phase::Accepted {
                server, last_heard, ..
            } if now >= last_heard.saturating_add(ALIVE_TIMEOUT_MS) => {
                self.port_cache.forget(port, server);
                self.finish(tid, Err(ErrorCode::RPC_FAILURE), out);
            }
            Phase::Accepted { .. } => self.enquire(tid, now, out),
        }
    }

    /// Sends the REQUEST of a transaction in the `Sent` phase again, and counts the retry.
    fn retransmit_request(&mut self, tid: u32, now: u64, out: &mut Vec<Action<T>>) {
        let Some(transaction) = self.transactions.get_mut(&tid) else {
            return;
        };
        let Phase::Sent {
            server, retries, ..
        } = transaction.phase
        else {
            return;
        };
        let retries = retries + 1;
        transaction.phase = Phase::Sent {
            server,
            retries,
            next_send: now.saturating_add(retransmit_delay(retries)),
        };
        let flags = Flags::REQUEST | Flags::RETRANS;
        let bytes = request_bytes(self.kernel, tid, &transaction.request, flags);
        out.push(Action::Send { to: server, bytes });
        self.counts.retransmissions += 1;
    }

    /// Asks the server of a transaction in the `Accepted` phase how its request is doing.
    fn enquire(&mut self, tid: u32, now: u64, out: &mut Vec<Action<T>>) {
        let Some(transaction) = self.transactions.get_mut(&tid) else {
            return;
        };
        let Phase::Accepted { server, .. } = transaction.phase else {
            return;
        };
        if let Phase::Accepted { next_enquire, .. } = &mut transaction.phase {
            *next_enquire = now.saturating_add(ENQUIRE_INTERVAL_MS);
        }
        let port = transaction.port();
        let bytes = self.control(MessageType::Enquire, port, tid, Flags::REQUEST);
        out.push(Action::Send { to: server, bytes });
    }

    /// Ends transaction `tid` with `result`.
    fn finish(&mut self, tid: u32, result: Result<Message, ErrorCode>, out: &mut Vec<Action<T>>) {
        let Some(transaction) = self.transactions.remove(&tid) else {
            return;
        };
        match result {
            Ok(_) => self.counts.completed += 1,
            Err(ErrorCode::RPC_NOTFOUND) => self.counts.not_found += 1,
            Err(_) => self.counts.failed += 1,
        }
        out.push(Action::Complete {
            client: transaction.client,
            result,
        });
    }
}

/// A REQUEST for `request` as transaction `tid` of `kernel`.
fn request_bytes(kernel: KernelId, tid: u32, request: &Message, flags: Flags) -> Vec<u8> {
    let mut rpc = RpcHeader::new(kernel, MessageType::Request, request.header.port, tid);
    rpc.flags = flags;
    encode_message(&rpc, request, ByteOrder::Little)
}
