//! The server side of the engine: answer locates, run each request at most once, deliver its
//! reply until acknowledged.
//!
//! See the parent module for the exchanges and [`crate::remote_rpc::tid_table`] for what is
//! remembered per client kernel.

use alloc::vec::Vec;

use super::{Action, Engine, RemoteRequest, retransmission};
use crate::remote_rpc::address::{FlipAddress, LocalPorts};
use crate::remote_rpc::header::{ByteOrder, Flags, MessageType, RpcHeader};
use crate::remote_rpc::packet::{Packet, encode_message};
use crate::remote_rpc::tid_table::{Lookup, TidState};
use crate::remote_rpc::timers::{MAX_RETRIES, retransmit_delay};
use crate::rpc::switchboard::Message;

impl<T: Copy + Ord> Engine<T> {
    /// LOCATE: answer HEREIS if a local server listens on the port; otherwise stay silent
    /// (another kernel may serve it).
    pub(super) fn on_locate(
        &mut self,
        from: FlipAddress,
        rpc: &RpcHeader,
        ports: &impl LocalPorts,
        out: &mut Vec<Action<T>>,
    ) -> bool {
        if ports.serves(rpc.port) {
            self.answer(from, MessageType::HereIs, rpc, out);
        }
        true
    }

    /// REQUEST: run it if it is new, otherwise tell the client where it stands.
    pub(super) fn on_request(
        &mut self,
        from: FlipAddress,
        packet: Packet,
        ports: &impl LocalPorts,
        now: u64,
        out: &mut Vec<Action<T>>,
    ) {
        // The table comes before the port check: a duplicate of a request that ran must get
        // its answer even if the port is no longer served here, never a NAK that would send
        // the client to another server.
        let rpc = packet.rpc;
        match self.tids.lookup(rpc.kernel, rpc.tid, now) {
            Lookup::Known => self.answer_again(from, &rpc, out),
            Lookup::Forgotten => self.answer(from, MessageType::Fail, &rpc, out),
            Lookup::New if ports.serves(rpc.port) => self.accept(from, packet, now, out),
            Lookup::New => self.refuse(from, &rpc, now, out),
        }
    }

    /// Records a new request as executing and hands it to the local switchboard.
    fn accept(&mut self, from: FlipAddress, packet: Packet, now: u64, out: &mut Vec<Action<T>>) {
        let rpc = packet.rpc;
        let executing = TidState::Executing {
            client: from,
            port: rpc.port,
        };
        if self
            .tids
            .insert(rpc.kernel, rpc.tid, executing, now)
            .is_err()
        {
            self.counts.refused_full += 1;
            return;
        }
        self.counts.executed += 1;
        let request = RemoteRequest {
            kernel: rpc.kernel,
            tid: rpc.tid,
        };
        out.push(Action::Deliver {
            request,
            message: packet.message,
        });
    }

    /// NAKs a request for a port not served here, remembering the refusal so that a late
    /// duplicate cannot run here after the client has gone elsewhere. No room to remember
    /// means no NAK: the client retransmits or fails, both safe.
    fn refuse(&mut self, from: FlipAddress, rpc: &RpcHeader, now: u64, out: &mut Vec<Action<T>>) {
        if self
            .tids
            .insert(rpc.kernel, rpc.tid, TidState::Refused, now)
            .is_ok()
        {
            self.answer(from, MessageType::Nak, rpc, out);
        } else {
            self.counts.refused_full += 1;
        }
    }

    /// ENQUIRE: how is the request doing? An id not in the table was forgotten: FAIL.
    pub(super) fn on_enquire(
        &mut self,
        from: FlipAddress,
        rpc: &RpcHeader,
        now: u64,
        out: &mut Vec<Action<T>>,
    ) -> bool {
        match self.tids.lookup(rpc.kernel, rpc.tid, now) {
            Lookup::Known => self.answer_again(from, rpc, out),
            Lookup::Forgotten | Lookup::New => self.answer(from, MessageType::Fail, rpc, out),
        }
        true
    }

    /// Answers a duplicate REQUEST or an ENQUIRE about a transaction in the table.
    fn answer_again(&mut self, from: FlipAddress, rpc: &RpcHeader, out: &mut Vec<Action<T>>) {
        let kind = match self.tids.get_mut(rpc.kernel, rpc.tid) {
            Some(TidState::Executing { client, .. }) => {
                *client = from;
                MessageType::Alive
            }
            Some(TidState::Replied { client, reply, .. }) => {
                *client = from;
                let bytes = retransmission(reply);
                out.push(Action::Send { to: from, bytes });
                self.counts.retransmissions += 1;
                return;
            }
            Some(TidState::Refused) => MessageType::Nak,
            Some(TidState::Finished) | None => MessageType::Fail,
        };
        self.answer(from, kind, rpc, out);
    }

    /// ACK: the client has the reply; forget it.
    pub(super) fn on_ack(&mut self, rpc: &RpcHeader) -> bool {
        match self.tids.get_mut(rpc.kernel, rpc.tid) {
            Some(state @ TidState::Replied { .. }) => {
                *state = TidState::Finished;
                true
            }
            _ => false,
        }
    }

    /// The local server's `reply` to `request`: sent now and retransmitted until ACK.
    /// A request not executing here (answered before, or never delivered) is ignored.
    pub fn reply(&mut self, request: RemoteRequest, reply: Message, now: u64) -> Vec<Action<T>> {
        let kernel = self.kernel;
        let state = self.tids.get_mut(request.kernel, request.tid);
        let Some(state) = state else {
            self.counts.ignored += 1;
            return Vec::new();
        };
        let TidState::Executing { client, port } = *state else {
            self.counts.ignored += 1;
            return Vec::new();
        };
        let mut rpc = RpcHeader::new(kernel, MessageType::Reply, port, request.tid);
        rpc.flags = Flags::REPLY;
        let bytes = encode_message(&rpc, &reply, ByteOrder::Little);
        *state = TidState::Replied {
            client,
            reply: bytes.clone(),
            retries: 0,
            next_send: now.saturating_add(retransmit_delay(0)),
        };
        Vec::from([Action::Send { to: client, bytes }])
    }

    /// A request handed to the local switchboard that no server will ever take (its port's
    /// last server went before taking it): refused as if it had come for a port not served
    /// here, so the client, told by a NAK, sends it to whoever serves the port now. Safe: it
    /// never ran here, and the table keeps a late duplicate from running.
    pub fn not_run(&mut self, request: RemoteRequest) -> Vec<Action<T>> {
        let state = self.tids.get_mut(request.kernel, request.tid);
        let Some(state) = state else {
            return Vec::new();
        };
        let TidState::Executing { client, port } = *state else {
            return Vec::new();
        };
        *state = TidState::Refused;
        self.counts.executed = self.counts.executed.saturating_sub(1);
        let bytes = self.control(MessageType::Nak, port, request.tid, Flags::REPLY);
        Vec::from([Action::Send { to: client, bytes }])
    }

    /// Retransmits the replies due; gives up on those sent [`MAX_RETRIES`] times more.
    pub(super) fn server_timers(&mut self, now: u64, out: &mut Vec<Action<T>>) {
        for (_, _, state) in self.tids.iter_mut() {
            let TidState::Replied {
                client,
                reply,
                retries,
                next_send,
            } = state
            else {
                continue;
            };
            if *next_send > now {
                continue;
            }
            if *retries >= MAX_RETRIES {
                // A duplicate REQUEST or ENQUIRE now gets FAIL: the client reports RPC_FAILURE.
                *state = TidState::Finished;
                continue;
            }
            *retries += 1;
            *next_send = now.saturating_add(retransmit_delay(*retries));
            out.push(Action::Send {
                to: *client,
                bytes: retransmission(reply),
            });
            self.counts.retransmissions += 1;
        }
    }

    /// When replies are next due for retransmission.
    pub(super) fn server_deadlines(&self) -> impl Iterator<Item = u64> + '_ {
        self.tids.iter().filter_map(|(_, _, state)| match state {
            TidState::Replied { next_send, .. } => Some(*next_send),
            _ => None,
        })
    }

    /// Sends a control message of `kind` about `rpc`'s transaction back to `to`.
    fn answer(
        &self,
        to: FlipAddress,
        kind: MessageType,
        rpc: &RpcHeader,
        out: &mut Vec<Action<T>>,
    ) {
        let bytes = self.control(kind, rpc.port, rpc.tid, Flags::REPLY);
        out.push(Action::Send { to, bytes });
    }
}
