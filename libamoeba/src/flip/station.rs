//! One FLIP endpoint on a network: the router, reassembly and fragmentation put together, so
//! that the layer above sends and receives whole messages and the layer below moves frames.
//!
//! From `docs/amoeba-protocol.md#flip-on-ethernet`. The kernel and the host peer
//! (`amunix`) each run one [`Station`]: they hand it every FLIP frame they receive
//! ([`Station::on_frame`]) and the passing of time ([`Station::on_timer`] at
//! [`Station::next_deadline`]), and put on the wire what [`Station::take_outgoing`] returns.
//! `N` names a neighbour the way the medium does: an (interface, Ethernet address) pair on a
//! LAN, an IP address and port for FLIP inside UDP.
//!
//! # Our choices
//!
//! * A frame is what follows the Ethernet header: the 2-byte flow-control header, the FLIP
//!   header and one fragment ([`Frame`]). FLIP inside UDP carries exactly the same bytes as the
//!   datagram's payload, so one decoder serves both media.
//! * Messages to everyone (the RPC layer's port locate) are MULTIDATA to the null address, sent
//!   to [`Hop::Everyone`] with a maximum hop count of 1: a LAN broadcast that no router passes.
//! * A message for an address being located waits here, at most [`MAX_HELD_PER_DESTINATION`]
//!   per destination and [`MAX_HELD_BYTES`] in all; beyond that, and when the locate gives up,
//!   messages are dropped and counted. Sending may always lose a message: the RPC layer above
//!   retransmits.
//! * Frames from our own address (a broadcast echoed back by the medium) are ignored.
//! * A message sent again ([`Station::send_again`]) keeps the message id of its first try, so
//!   the receiver's reassembly joins the fragments of every try: a large message crosses a
//!   lossy link once each fragment has got through in some try, not only when all of them do
//!   in the same one. 5.3 gives every send a new id; reusing one is safe because
//!   the tries carry the same bytes at the same offsets, and a try that completes a message
//!   already delivered is one more duplicate for the RPC layer, which drops those anyway.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::Millis;
use super::address::{Address, PrivateAddress};
use super::fragment::{Reassembly, ReassemblyLimits, fragments};
use super::header::{Frame, Header, MAX_FRAGMENT_PAYLOAD, MAX_HOPS, Packet, PacketType};
use super::route::{Action, Router, RouterLimits};

/// Messages held for one destination while it is located.
pub const MAX_HELD_PER_DESTINATION: usize = 8;
/// Bytes of messages held for all destinations together.
pub const MAX_HELD_BYTES: usize = 1 << 20;
/// Where messages to everyone are addressed (see "Our choices").
pub const EVERYONE: Address = Address::NULL;

/// How the fragments of one message are spaced on the wire (ours): `frames` back to back,
/// then a pause of `pause_nanos` ([`Outgoing::pause_before_nanos`] of the next one).
///
/// An NE2000 receives into a ring of about nine full frames (twenty with an RTL8029's 32 KiB)
/// and QEMU's model drops whatever arrives while that ring is full, without telling the guest;
/// a node under TCG may not drain it for a while. Unpaced, a large message's fragments would overflow it on every
/// retransmission alike. A sender cannot know which card the receiver has, so every message is
/// paced ([`Pacing::FIRST_TRY`]), and a message sent again is paced more
/// ([`Pacing::CAREFUL`]): the receiver was slower than we hoped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pacing {
    pub frames: usize,
    pub pause_nanos: u64,
}

impl Pacing {
    pub const FIRST_TRY: Self = Self {
        frames: 6,
        pause_nanos: 300_000,
    };
    pub const CAREFUL: Self = Self {
        frames: 2,
        pause_nanos: 1_000_000,
    };

    /// The pause before fragment number `index` (from 0) of a message.
    const fn pause_before(&self, index: usize) -> u64 {
        if index > 0 && index.is_multiple_of(self.frames) {
            self.pause_nanos
        } else {
            0
        }
    }
}

/// Where a frame goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hop<N> {
    Neighbour(N),
    /// Every station the medium reaches (an Ethernet broadcast).
    Everyone,
}

/// A frame to put on the wire: flow-control header, FLIP header, fragment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing<N> {
    pub hop: Hop<N>,
    pub frame: Vec<u8>,
    /// How long the sender waits before it sends this frame (see [`Pacing`]).
    pub pause_before_nanos: u64,
}

/// A whole message that arrived for us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    pub from: Address,
    pub data: Vec<u8>,
}

/// What the station has done since it started, beyond what its router and reassembly count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StationStats {
    pub frames_in: u64,
    pub frames_out: u64,
    /// Frames that did not decode.
    pub malformed: u64,
    /// Frames from ourselves, or data for an address that is not ours.
    pub not_for_us: u64,
    pub messages_in: u64,
    pub messages_out: u64,
    /// Messages dropped before they were sent: no room to hold them, or their destination
    /// could not be located.
    pub messages_dropped: u64,
}

/// How one try of a message goes out.
#[derive(Clone, Copy)]
struct Try {
    message_id: u32,
    pacing: Pacing,
}

/// A message waiting for its destination to be located.
struct Held {
    data: Vec<u8>,
    how: Try,
}

/// One FLIP endpoint; see the module documentation.
pub struct Station<N> {
    address: Address,
    router: Router<N>,
    reassembly: Reassembly,
    next_message_id: u32,
    held: BTreeMap<Address, Vec<Held>>,
    held_bytes: usize,
    outgoing: Vec<Outgoing<N>>,
    stats: StationStats,
    fragment_limit: fn(&Hop<N>) -> usize,
}

/// The fragment size of FLIP on Ethernet, for every hop: [`MAX_FRAGMENT_PAYLOAD`].
pub fn ethernet_fragments<N>(_: &Hop<N>) -> usize {
    MAX_FRAGMENT_PAYLOAD
}

impl<N: Copy + Eq> Station<N> {
    /// A station answering for `private`'s public address.
    pub fn new(private: &PrivateAddress) -> Self {
        let mut router = Router::new(RouterLimits::default());
        let address = router.register(private);
        Self {
            address,
            router,
            reassembly: Reassembly::new(ReassemblyLimits::default()),
            next_message_id: 1,
            held: BTreeMap::new(),
            held_bytes: 0,
            outgoing: Vec::new(),
            stats: StationStats::default(),
            fragment_limit: ethernet_fragments,
        }
    }

    /// Says how many message bytes a frame to each hop may carry (default:
    /// [`ethernet_fragments`]); a medium with a smaller payload, e.g. FLIP inside UDP, needs
    /// smaller fragments.
    pub fn set_fragment_limit(&mut self, limit: fn(&Hop<N>) -> usize) {
        self.fragment_limit = limit;
    }

    /// Our public address.
    pub const fn address(&self) -> Address {
        self.address
    }

    pub const fn stats(&self) -> &StationStats {
        &self.stats
    }

    pub const fn router(&self) -> &Router<N> {
        &self.router
    }

    pub const fn reassembly(&self) -> &Reassembly {
        &self.reassembly
    }

    /// Sends `message` to `to`, at once or once `to` is located; returns the message id it
    /// goes under, for [`Station::send_again`].
    pub fn send(&mut self, to: Address, message: &[u8], now: Millis) -> u32 {
        let message_id = self.new_message_id();
        let pacing = Pacing::FIRST_TRY;
        self.send_as(to, message, Try { message_id, pacing }, now);
        message_id
    }

    /// Sends `message` to `to` once more, under the `message_id` of an earlier try (see
    /// "Our choices") and with the fragments spaced by [`Pacing::CAREFUL`].
    pub fn send_again(&mut self, to: Address, message: &[u8], message_id: u32, now: Millis) {
        let pacing = Pacing::CAREFUL;
        self.send_as(to, message, Try { message_id, pacing }, now);
    }

    /// A message id no message of ours has had lately (they wrap after 2^32 - 1 messages).
    pub fn new_message_id(&mut self) -> u32 {
        let id = self.next_message_id;
        self.next_message_id = self.next_message_id.wrapping_add(1).max(1);
        id
    }

    fn send_as(&mut self, to: Address, message: &[u8], how: Try, now: Millis) {
        match self.router.send(to, now) {
            Action::SendTo {
                destination,
                neighbour,
            } => self.emit_data(destination, Hop::Neighbour(neighbour), message, how),
            Action::Hold { destination } => self.hold(destination, message, how),
            Action::BroadcastLocate {
                destination,
                max_hops,
            } => {
                self.hold(destination, message, how);
                self.emit_locate(destination, max_hops);
            }
            Action::Deliver { .. } => {
                // To ourselves: nothing of ours sends that way, and a loop back would let a
                // message skip the medium's checks. Dropped.
                self.stats.messages_dropped += 1;
            }
            other => self.carry_out(other),
        }
    }

    /// Sends `message` to every station the medium reaches.
    pub fn broadcast(&mut self, message: &[u8]) {
        let how = Try {
            message_id: self.new_message_id(),
            pacing: Pacing::FIRST_TRY,
        };
        self.emit_data(EVERYONE, Hop::Everyone, message, how);
    }

    /// Takes a received frame that came from `from`; returns the message it completes.
    pub fn on_frame(&mut self, from: N, bytes: &[u8], now: Millis) -> Option<Delivered> {
        self.stats.frames_in += 1;
        let Ok(frame) = Frame::decode(bytes) else {
            self.stats.malformed += 1;
            return None;
        };
        let packet = frame.packet;
        if packet.header.source == self.address {
            self.stats.not_for_us += 1;
            return None;
        }
        let to_everyone =
            packet.header.kind == PacketType::MultiData && packet.header.destination == EVERYONE;
        let mut deliver = to_everyone;
        for action in self.router.on_frame(from, &packet.header, now) {
            match action {
                Action::Deliver { .. } => deliver = true,
                other => self.carry_out(other),
            }
        }
        if !deliver {
            if matches!(
                packet.header.kind,
                PacketType::UniData | PacketType::MultiData
            ) {
                self.stats.not_for_us += 1;
            }
            return None;
        }
        let message = self.reassembly.accept(now, &packet).ok()??;
        self.stats.messages_in += 1;
        Some(Delivered {
            from: message.header.source,
            data: message.data,
        })
    }

    /// The next locate rounds, locates given up and reassemblies timed out, at `now`.
    pub fn on_timer(&mut self, now: Millis) {
        for action in self.router.on_timer(now) {
            self.carry_out(action);
        }
        self.reassembly.expire(now);
    }

    /// When [`Station::on_timer`] next has work, if ever (reassemblies expire on their own as
    /// frames arrive, so only locates set deadlines).
    pub fn next_deadline(&self) -> Option<Millis> {
        self.router.next_deadline()
    }

    /// The frames to put on the wire, oldest first.
    pub fn take_outgoing(&mut self) -> Vec<Outgoing<N>> {
        core::mem::take(&mut self.outgoing)
    }

    fn carry_out(&mut self, action: Action<N>) {
        match action {
            Action::SendTo {
                destination,
                neighbour,
            } => self.release_held(destination, neighbour),
            Action::Hold { .. } | Action::Deliver { .. } => {}
            Action::BroadcastLocate {
                destination,
                max_hops,
            } => self.emit_locate(destination, max_hops),
            Action::GiveUp { destination } => self.drop_held(destination),
            Action::SendHereIs {
                address,
                locator,
                neighbour,
            } => self.emit_control(PacketType::HereIs, locator, address, neighbour),
            Action::SendNotHere {
                address,
                sender,
                neighbour,
            } => self.emit_control(PacketType::NotHere, sender, address, neighbour),
        }
    }

    fn hold(&mut self, destination: Address, message: &[u8], how: Try) {
        let queue = self.held.entry(destination).or_default();
        if queue.len() >= MAX_HELD_PER_DESTINATION
            || self.held_bytes.saturating_add(message.len()) > MAX_HELD_BYTES
        {
            self.stats.messages_dropped += 1;
            return;
        }
        self.held_bytes += message.len();
        queue.push(Held {
            data: message.to_vec(),
            how,
        });
    }

    fn release_held(&mut self, destination: Address, neighbour: N) {
        for held in self.take_held(destination) {
            self.emit_data(destination, Hop::Neighbour(neighbour), &held.data, held.how);
        }
    }

    fn drop_held(&mut self, destination: Address) {
        let dropped = self.take_held(destination).len();
        self.stats.messages_dropped += dropped as u64;
    }

    fn take_held(&mut self, destination: Address) -> Vec<Held> {
        let held = self.held.remove(&destination).unwrap_or_default();
        let bytes: usize = held.iter().map(|h| h.data.len()).sum();
        self.held_bytes = self.held_bytes.saturating_sub(bytes);
        held
    }

    /// Fragments `message` into frames for `hop`, under the try's message id and pacing.
    fn emit_data(&mut self, destination: Address, hop: Hop<N>, message: &[u8], how: Try) {
        let (kind, max_hops) = match hop {
            Hop::Everyone => (PacketType::MultiData, 1),
            Hop::Neighbour(_) => (PacketType::UniData, MAX_HOPS),
        };
        let mut template = Header::new(kind, destination, self.address, how.message_id, 0);
        template.max_hops = max_hops;
        let limit = (self.fragment_limit)(&hop).min(MAX_FRAGMENT_PAYLOAD);
        let Ok(packets) = fragments(template, message, limit) else {
            self.stats.messages_dropped += 1;
            return;
        };
        for (index, packet) in packets.enumerate() {
            self.emit(hop, packet, how.pacing.pause_before(index));
        }
        self.stats.messages_out += 1;
    }

    fn emit_locate(&mut self, destination: Address, max_hops: u16) {
        let mut header = Header::new(PacketType::Locate, destination, self.address, 0, 0);
        header.max_hops = max_hops;
        self.emit(Hop::Everyone, Packet::new(header, &[]), 0);
    }

    /// A HEREIS or NOTHERE: `about` in the source field, `to` in the destination field.
    fn emit_control(&mut self, kind: PacketType, to: Address, about: Address, neighbour: N) {
        let header = Header::new(kind, to, about, 0, 0);
        self.emit(Hop::Neighbour(neighbour), Packet::new(header, &[]), 0);
    }

    fn emit(&mut self, hop: Hop<N>, packet: Packet<'_>, pause_before_nanos: u64) {
        // Packets made here always encode (valid hop counts, payload = fragment length).
        if let Ok(frame) = Frame::data(packet).to_vec() {
            self.stats.frames_out += 1;
            self.outgoing.push(Outgoing {
                hop,
                frame,
                pause_before_nanos,
            });
        }
    }
}

#[cfg(test)]
mod tests;
