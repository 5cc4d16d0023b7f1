//! FLIP and remote RPC on this node: the portable `libamoeba::remote_rpc::node::RpcNode` (the
//! RPC engine on a FLIP station) wired to the kernel's cards, threads and clock.
//!
//! - In: each card's link thread hands FLIP frames (EtherType 0x8146) to [`receive`], and
//!   datagrams of the FLIP-in-UDP port (`flip-udp=`, the same bytes) to [`receive_udp`].
//! - Out: frames go to the card (and UDP peer) they name, broadcasts to every card's LAN
//!   ([`Hop::Everyone`]); UDP peers are answered, not located.
//! - Local RPC: [`start`] registers FLIP as ipc's remote transport ([`ipc::RemoteTransport`]).
//!   A request whose port has no server on this node comes to [`Flip::trans`], which blocks the
//!   thread until its transaction completes here; a request from another node goes to the
//!   local switchboard through `ipc::deliver_remote`, and its reply comes back through
//!   [`Flip::reply`].
//! - Time: the FLIP thread sleeps on a [`Doorbell`] until the next protocol deadline
//!   (retransmission, locate round, enquiry); whoever adds an earlier one rings it.
//!
//! Lock order: the node's lock is never held while calling the scheduler, the switchboard
//! lock may be taken under it (to ask whether a port is served here).

use super::interfaces::{self, Interface};
use super::{ETHERNET_HEADER, MAX_FRAME};
use crate::arch::tsc;
use crate::entropy::KernelEntropy;
use crate::ipc::{self, RemoteTransport};
use crate::sched::{self, Doorbell, ThreadId};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use libamoeba::capability::Port;
use libamoeba::flip::header::{ETHERTYPE_FLIP, MAX_FRAGMENT_PAYLOAD, MAX_UDP_FRAGMENT_PAYLOAD};
use libamoeba::flip::station::{Hop, Outgoing};
use libamoeba::priority::Level;
use libamoeba::remote_rpc::engine::{Action, RemoteRequest};
use libamoeba::remote_rpc::node::RpcNode;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::switchboard::Message;
use libamoeba::udp_peer::UdpPeer;
use spin::Mutex;

/// Where a FLIP neighbour is: the card that heard it, and its Ethernet address or (FLIP inside
/// UDP) its IP address and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Neighbour {
    Ethernet { interface: u8, mac: [u8; 6] },
    Udp { interface: u8, peer: UdpPeer },
}

static NODE: Mutex<Option<RpcNode<ThreadId, Neighbour>>> = Mutex::new(None);
/// Transactions that completed, until their client thread collects them.
static COMPLETIONS: Mutex<BTreeMap<ThreadId, Result<Message, ErrorCode>>> =
    Mutex::new(BTreeMap::new());
static DOORBELL: Doorbell = Doorbell::new();

/// The FLIP thread's longest sleep while local servers work on remote requests: how soon a
/// request whose server thread died is answered with RPC_FAILURE.
const REAP_INTERVAL_MS: u64 = 1_000;

/// Starts FLIP on the node's cards (none: nothing to do), with a fresh kernel id and FLIP
/// address.
pub fn start() {
    let cards = interfaces::all();
    if cards.is_empty() {
        return;
    }
    for card in &cards {
        crate::entropy::stir(&card.mac);
    }
    let mut node = RpcNode::with_random_identity(&mut KernelEntropy);
    node.station_mut().set_fragment_limit(fragment_limit);
    log::info!("flip: address {}", node.station().address());
    *NODE.lock() = Some(node);
    ipc::register_remote_transport(&Flip);
    if sched::spawn_kernel_task(Level::High, serve_timers).is_err() {
        log::error!("flip: no memory for the FLIP thread; remote RPC will not retransmit");
    }
}

/// Takes a FLIP frame (what follows the Ethernet header) that `interface` received from
/// `source`.
pub fn receive(interface: u8, source: [u8; 6], frame: &[u8]) {
    let from = Neighbour::Ethernet {
        interface,
        mac: source,
    };
    take(from, frame);
}

/// Takes a FLIP frame that came inside a UDP datagram from `peer` to `interface`'s FLIP port.
pub fn receive_udp(interface: u8, peer: UdpPeer, frame: &[u8]) {
    take(Neighbour::Udp { interface, peer }, frame);
}

fn take(from: Neighbour, frame: &[u8]) {
    let serves = |port: Port| ipc::has_server(port);
    let actions = with_node(|node, now| node.on_frame(from, frame, &serves, now));
    carry_out(actions.unwrap_or_default());
}

/// Remote RPC over FLIP, as local RPC sees it.
struct Flip;

impl RemoteTransport for Flip {
    fn trans(
        &self,
        me: ThreadId,
        request: Message,
        locate_timeout_ms: u64,
    ) -> Result<Message, ErrorCode> {
        let started = with_node(|node, now| node.trans_start(me, request, locate_timeout_ms, now));
        carry_out(started.ok_or(ErrorCode::RPC_NOTFOUND)??);
        DOORBELL.ring();
        loop {
            let collected = || COMPLETIONS.lock().contains_key(&me);
            sched::rpc_block_unless(None, collected);
            if let Some(result) = COMPLETIONS.lock().remove(&me) {
                return result;
            }
        }
    }

    fn reply(&self, request: RemoteRequest, reply: Message) {
        let actions = with_node(|node, now| node.reply(request, reply, now));
        carry_out(actions.unwrap_or_default());
    }

    fn not_run(&self, request: RemoteRequest) {
        let actions = with_node(|node, now| node.not_run(request, now));
        carry_out(actions.unwrap_or_default());
    }

    /// Takes only this module's locks (the scheduler's is held).
    fn thread_ended(&self, thread: ThreadId) {
        if let Some(node) = NODE.lock().as_mut() {
            node.trans_cancel(thread);
        }
        COMPLETIONS.lock().remove(&thread);
    }
}

/// What FLIP and remote RPC have done since boot, for the sys server's KSTAT.
#[cfg(feature = "server-sys")]
pub fn counts() -> libamoeba::servers::sys::FlipCounts {
    let node = NODE.lock();
    let Some(node) = node.as_ref() else {
        return Default::default();
    };
    let (station, engine) = (node.station().stats(), node.engine().counts());
    libamoeba::servers::sys::FlipCounts {
        frames_in: station.frames_in,
        frames_out: station.frames_out,
        malformed: station.malformed + engine.malformed,
        completed: engine.completed,
        failed: engine.failed + engine.not_found,
        executed: engine.executed,
        retransmissions: engine.retransmissions,
    }
}

/// Runs `f` on the node with the time; sends the frames it made. `None` before [`start`].
fn with_node<R>(f: impl FnOnce(&mut RpcNode<ThreadId, Neighbour>, u64) -> R) -> Option<R> {
    let (result, outgoing) = {
        let mut node = NODE.lock();
        let node = node.as_mut()?;
        let result = f(node, now_ms());
        (result, node.take_outgoing())
    };
    transmit_paced(outgoing);
    Some(result)
}

/// Sends `outgoing` with the pauses the station asks for (`libamoeba::flip::station::Pacing`).
fn transmit_paced(outgoing: Vec<Outgoing<Neighbour>>) {
    for frame in outgoing {
        if frame.pause_before_nanos > 0 {
            sched::sleep(frame.pause_before_nanos);
        }
        transmit(frame);
    }
}

/// What the engine left for the kernel: requests for local servers, finished transactions.
fn carry_out(actions: Vec<Action<ThreadId>>) {
    for action in actions {
        match action {
            Action::Deliver { request, message } => ipc::deliver_remote(request, message),
            Action::Complete { client, result } => {
                COMPLETIONS.lock().insert(client, result);
                sched::rpc_wake(client, false);
            }
            // RpcNode gives sends to its station; none reach here.
            Action::Send { .. } | Action::Broadcast { .. } => {}
        }
    }
}

fn transmit(outgoing: Outgoing<Neighbour>) {
    match outgoing.hop {
        Hop::Neighbour(Neighbour::Ethernet { interface, mac }) => {
            if let Some(interface) = interfaces::get(interface) {
                send_frame(interface, mac, &outgoing.frame);
            }
        }
        Hop::Neighbour(Neighbour::Udp { interface, peer }) => {
            if let Some(interface) = interfaces::get(interface) {
                interface.with_ip(|ip, nic| ip.send_udp(nic, peer, &outgoing.frame));
            }
        }
        // Ethernet broadcasts only: a node reached by UDP is reached by name, not located.
        Hop::Everyone => {
            for interface in interfaces::all() {
                send_frame(interface, [0xFF; 6], &outgoing.frame);
            }
        }
    }
}

/// Puts `flip` behind an Ethernet header and sends it; a frame that does not fit or a card
/// that stays busy loses it (FLIP's users retransmit).
fn send_frame(interface: &Interface, to: [u8; 6], flip: &[u8]) {
    if ETHERNET_HEADER + flip.len() > MAX_FRAME {
        return;
    }
    let mut frame = Vec::with_capacity(ETHERNET_HEADER + flip.len());
    frame.extend_from_slice(&to);
    frame.extend_from_slice(&interface.mac);
    frame.extend_from_slice(&ETHERTYPE_FLIP.to_be_bytes());
    frame.extend_from_slice(flip);
    interface.send(&frame);
}

/// The FLIP thread: protocol timers, and remote requests whose server thread ended.
fn serve_timers() {
    loop {
        let next = with_node(|node, now| (node.on_timer(now), node.next_deadline()));
        let Some((actions, next)) = next else { return };
        carry_out(actions);
        let reaping = ipc::reap_remote().then_some(now_ms().saturating_add(REAP_INTERVAL_MS));
        let wake_at = next.into_iter().chain(reaping).min();
        let timeout = wake_at.map(|at| at.saturating_sub(now_ms()).max(1) * 1_000_000);
        DOORBELL.wait(timeout);
    }
}

/// FLIP frames inside UDP must fit one unfragmented datagram: smoltcp here does not
/// reassemble IP fragments.
fn fragment_limit(hop: &Hop<Neighbour>) -> usize {
    match hop {
        Hop::Neighbour(Neighbour::Udp { .. }) => MAX_UDP_FRAGMENT_PAYLOAD,
        Hop::Neighbour(Neighbour::Ethernet { .. }) | Hop::Everyone => MAX_FRAGMENT_PAYLOAD,
    }
}

fn now_ms() -> u64 {
    tsc::nanos_since_reset().unwrap_or(0) / 1_000_000
}
