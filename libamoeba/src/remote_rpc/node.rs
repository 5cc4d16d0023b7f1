//! The remote RPC engine on top of a FLIP station: what a kernel (or the host peer) runs to
//! take part in RPC on a network, written once for both.
//!
//! [`RpcNode`] joins [`Engine`] (transactions) and [`Station`] (addresses, locate,
//! fragmentation): the engine's sends and broadcasts go to the station, the station's
//! delivered messages to the engine. What remains for the caller is the two ends: frames in
//! and out ([`RpcNode::on_frame`], [`RpcNode::take_outgoing`]), local servers
//! ([`Action::Deliver`], [`RpcNode::reply`]) and local clients ([`RpcNode::trans_start`],
//! [`Action::Complete`]), and the clock ([`RpcNode::on_timer`] at [`RpcNode::next_deadline`]).
//! The engine's FLIP address is the station's public address, byte for byte.

use alloc::vec::Vec;

use super::address::{FlipAddress, KERNEL_ID_LEN, KernelId, LocalPorts};
use super::engine::{Action, Engine, RemoteRequest};
use super::header::{FLAGS_OFFSET, Flags};
use crate::flip::Millis;
use crate::flip::address::{ADDRESS_BYTES_LEN, ADDRESS_LEN, Address, PrivateAddress};
use crate::flip::station::{Outgoing, Station};
use crate::random::Entropy;
use crate::rpc::codes::ErrorCode;
use crate::rpc::switchboard::Message;
use recent_sends::RecentSends;

mod recent_sends;

/// A node's remote RPC: client threads named by `T`, neighbours by `N`.
pub struct RpcNode<T, N> {
    engine: Engine<T>,
    station: Station<N>,
    recent_sends: RecentSends,
}

impl<T: Copy + Ord, N: Copy + Eq> RpcNode<T, N> {
    /// A node with kernel id `kernel`, listening on `private`'s public FLIP address. Both must
    /// be fresh on every boot (see [`KernelId`]) and hard to guess.
    pub fn new(kernel: KernelId, private: &PrivateAddress) -> Self {
        Self {
            engine: Engine::new(kernel),
            station: Station::new(private),
            recent_sends: RecentSends::default(),
        }
    }

    /// A node with a kernel id and a private FLIP address drawn from `entropy`: what a kernel
    /// does at every boot and a host peer at every start.
    pub fn with_random_identity(entropy: &mut impl Entropy) -> Self {
        let mut kernel = [0; KERNEL_ID_LEN];
        // The last byte is the address's "space", zero for ordinary endpoints.
        let mut private = [0; ADDRESS_LEN];
        entropy.fill(&mut kernel);
        entropy.fill(&mut private[..ADDRESS_BYTES_LEN]);
        Self::new(KernelId(kernel), &PrivateAddress(private))
    }

    pub const fn engine(&self) -> &Engine<T> {
        &self.engine
    }

    pub const fn station(&self) -> &Station<N> {
        &self.station
    }

    /// The station, e.g. to set its fragment sizes per medium.
    pub fn station_mut(&mut self) -> &mut Station<N> {
        &mut self.station
    }

    /// Starts `client`'s transaction with a server on another node; the outcome comes as
    /// [`Action::Complete`] from a later call. Refusals as [`Engine::trans_start`].
    pub fn trans_start(
        &mut self,
        client: T,
        request: Message,
        locate_timeout_ms: u64,
        now: Millis,
    ) -> Result<Vec<Action<T>>, ErrorCode> {
        let actions = self
            .engine
            .trans_start(client, request, locate_timeout_ms, now)?;
        Ok(self.transmit(actions, now))
    }

    /// Forgets `client`'s transaction (its thread ended).
    pub fn trans_cancel(&mut self, client: T) -> bool {
        self.engine.trans_cancel(client)
    }

    /// The reply of a local server to a request from another node.
    pub fn reply(&mut self, request: RemoteRequest, reply: Message, now: Millis) -> Vec<Action<T>> {
        let actions = self.engine.reply(request, reply, now);
        self.transmit(actions, now)
    }

    /// A request from another node that no local server will take: NAKed so the client goes
    /// elsewhere (`Engine::not_run`).
    pub fn not_run(&mut self, request: RemoteRequest, now: Millis) -> Vec<Action<T>> {
        let actions = self.engine.not_run(request);
        self.transmit(actions, now)
    }

    /// Takes a FLIP frame received from `from`; `ports` says which ports local servers serve.
    pub fn on_frame(
        &mut self,
        from: N,
        frame: &[u8],
        ports: &impl LocalPorts,
        now: Millis,
    ) -> Vec<Action<T>> {
        let Some(message) = self.station.on_frame(from, frame, now) else {
            return Vec::new();
        };
        let sender = FlipAddress(message.from.0);
        let actions = self.engine.on_message(sender, &message.data, ports, now);
        self.transmit(actions, now)
    }

    /// Retransmissions, locates and timeouts due by `now`.
    pub fn on_timer(&mut self, now: Millis) -> Vec<Action<T>> {
        self.station.on_timer(now);
        let actions = self.engine.on_timer(now);
        self.transmit(actions, now)
    }

    /// When [`RpcNode::on_timer`] next has work, if ever.
    pub fn next_deadline(&self) -> Option<Millis> {
        let engine = self.engine.next_deadline();
        let station = self.station.next_deadline();
        engine.into_iter().chain(station).min()
    }

    /// The frames to put on the wire, oldest first.
    pub fn take_outgoing(&mut self) -> Vec<Outgoing<N>> {
        self.station.take_outgoing()
    }

    /// Hands the engine's sends to the station; returns the rest (deliveries, completions).
    fn transmit(&mut self, actions: Vec<Action<T>>, now: Millis) -> Vec<Action<T>> {
        let mut rest = Vec::new();
        for action in actions {
            match action {
                Action::Send { to, bytes } => self.send(Address(to.0), &bytes, now),
                Action::Broadcast { bytes } => self.station.broadcast(&bytes),
                other => rest.push(other),
            }
        }
        rest
    }

    /// A retransmission goes out under its first try's message id, when that is remembered.
    fn send(&mut self, to: Address, message: &[u8], now: Millis) {
        if is_retransmission(message) {
            let message_id = (self.recent_sends.message_id(to, message))
                .unwrap_or_else(|| self.station.new_message_id());
            self.station.send_again(to, message, message_id, now);
        } else {
            let message_id = self.station.send(to, message, now);
            self.recent_sends.remember(to, message, message_id);
        }
    }
}

/// Whether `bytes`, a message of ours, is marked as sent before (the engine's retransmissions
/// of REQUESTs and REPLYs, the only large messages).
fn is_retransmission(bytes: &[u8]) -> bool {
    bytes
        .get(FLAGS_OFFSET)
        .is_some_and(|&flags| flags & Flags::RETRANS.bits() != 0)
}

#[cfg(test)]
mod tests;
