//! What a host peer's FLIP frames travel on. A frame is what follows the Ethernet header (flow
//! control, FLIP header, fragment: `libamoeba::flip::station`), on either medium:
//!
//! - [`LanMedium`]: a seat on the nodes' virtual LAN ([`LanSeat`]); frames of EtherType 0x8146
//!   to our card address or to everyone, neighbours named by card address, [`Hop::Everyone`]
//!   = an Ethernet broadcast.
//! - [`UdpMedium`]: FLIP inside UDP, a datagram's payload being exactly the frame. Either
//!   towards one node (`amoeba --udp HOST:PORT`: everyone is that node, and only its datagrams
//!   are taken) or bound to a known port answering whoever calls (everyone is then every peer
//!   heard so far).

use crate::lan::{LAN_GROUP, LanSeat};
use libamoeba::ethernet::MacText;
use libamoeba::flip::header::ETHERTYPE_FLIP;
use libamoeba::flip::station::Hop;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// Ethernet broadcast: where [`Hop::Everyone`] goes on a LAN.
pub const BROADCAST: [u8; 6] = [0xFF; 6];
/// Bytes of an Ethernet header (destination, source, EtherType).
pub const ETHERNET_HEADER: usize = 14;
/// Receive buffer asked of the system: a burst of fragments (a 128 KiB message is ninety
/// frames, and a LAN seat also hears everyone else's) waits there instead of being lost.
pub const RECEIVE_BUFFER_BYTES: usize = 4 << 20;
/// The most UDP peers a bound medium remembers (for [`Hop::Everyone`]).
pub const MAX_HEARD_PEERS: usize = 64;
/// Room for any datagram.
const BUFFER_BYTES: usize = 64 * 1024;

/// A neighbour, named the way its medium names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Neighbour {
    Ethernet([u8; 6]),
    Udp(SocketAddr),
}

impl fmt::Display for Neighbour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ethernet(mac) => write!(f, "{}", MacText(mac)),
            Self::Udp(address) => write!(f, "{address}"),
        }
    }
}

/// Frames in and out.
pub trait Medium: Send {
    /// Puts `frame` on the wire towards `hop`.
    fn send(&self, hop: Hop<Neighbour>, frame: &[u8]) -> io::Result<()>;

    /// The next FLIP frame for us within `wait`, with its sender; `None` if none came. Other
    /// traffic is skipped, not returned.
    fn receive(&self, wait: Duration) -> io::Result<Option<(Neighbour, Vec<u8>)>>;

    /// Where this medium reaches, for messages: "the LAN at 230.0.0.1:47474".
    fn describe(&self) -> String;
}

/// FLIP on the nodes' virtual LAN.
pub struct LanMedium {
    seat: LanSeat,
    buffer: RefCell<Vec<u8>>,
}

impl LanMedium {
    /// FLIP on `seat`'s LAN, from its card address. Asks for a large receive buffer; a
    /// smaller one granted is no error (the RPC layer retransmits what is lost).
    pub fn new(seat: LanSeat) -> Self {
        let _granted = seat.enlarge_receive_buffer(RECEIVE_BUFFER_BYTES);
        Self {
            seat,
            buffer: RefCell::new(vec![0; BUFFER_BYTES]),
        }
    }

    pub fn seat(&self) -> &LanSeat {
        &self.seat
    }
}

/// The sender and FLIP frame of an Ethernet frame, if it is FLIP for `mac` (to it or to
/// everyone) from another station.
pub fn flip_frame(frame: &[u8], mac: [u8; 6]) -> Option<([u8; 6], &[u8])> {
    let (header, payload) = frame.split_at_checked(ETHERNET_HEADER)?;
    let (destination, rest) = header.split_at(6);
    let (source, ethertype) = rest.split_at(6);
    let source: [u8; 6] = source.try_into().ok()?;
    let for_us = destination == mac || destination == BROADCAST;
    (for_us && source != mac && ethertype == ETHERTYPE_FLIP.to_be_bytes())
        .then_some((source, payload))
}

impl Medium for LanMedium {
    fn send(&self, hop: Hop<Neighbour>, frame: &[u8]) -> io::Result<()> {
        let destination = match hop {
            Hop::Neighbour(Neighbour::Ethernet(mac)) => mac,
            Hop::Everyone => BROADCAST,
            Hop::Neighbour(Neighbour::Udp(address)) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("a LAN cannot reach UDP peer {address}"),
                ));
            }
        };
        self.seat.send(destination, ETHERTYPE_FLIP, frame)
    }

    fn receive(&self, wait: Duration) -> io::Result<Option<(Neighbour, Vec<u8>)>> {
        let deadline = Instant::now() + wait;
        let mut buffer = self.buffer.borrow_mut();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(length) = self.seat.receive_frame(&mut buffer, left)? else {
                return Ok(None);
            };
            let frame = buffer.get(..length).unwrap_or_default();
            if let Some((source, payload)) = flip_frame(frame, self.seat.mac) {
                return Ok(Some((Neighbour::Ethernet(source), payload.to_vec())));
            }
            if left.is_zero() {
                return Ok(None);
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "the LAN at {LAN_GROUP}:{} (as {})",
            self.seat.port(),
            MacText(&self.seat.mac)
        )
    }
}

/// FLIP inside UDP.
pub struct UdpMedium {
    socket: UdpSocket,
    /// The one node this medium talks to, if it was opened towards one.
    peer: Option<SocketAddr>,
    heard: RefCell<BTreeSet<SocketAddr>>,
    buffer: RefCell<Vec<u8>>,
}

impl UdpMedium {
    /// Towards the node at `peer`, from an ephemeral port.
    pub fn connect(peer: SocketAddr) -> io::Result<Self> {
        let any: SocketAddr = match peer {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        Self::open(UdpSocket::bind(any)?, Some(peer))
    }

    /// Bound to `local`, answering whoever sends to it.
    pub fn bind(local: SocketAddr) -> io::Result<Self> {
        Self::open(UdpSocket::bind(local)?, None)
    }

    fn open(socket: UdpSocket, peer: Option<SocketAddr>) -> io::Result<Self> {
        let _granted = socket2::SockRef::from(&socket).set_recv_buffer_size(RECEIVE_BUFFER_BYTES);
        Ok(Self {
            socket,
            peer,
            heard: RefCell::new(BTreeSet::new()),
            buffer: RefCell::new(vec![0; BUFFER_BYTES]),
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    fn remember(&self, source: SocketAddr) {
        let mut heard = self.heard.borrow_mut();
        if heard.len() < MAX_HEARD_PEERS {
            heard.insert(source);
        }
    }

    fn everyone(&self) -> Vec<SocketAddr> {
        match self.peer {
            Some(peer) => vec![peer],
            None => self.heard.borrow().iter().copied().collect(),
        }
    }
}

impl Medium for UdpMedium {
    fn send(&self, hop: Hop<Neighbour>, frame: &[u8]) -> io::Result<()> {
        let targets = match hop {
            Hop::Neighbour(Neighbour::Udp(address)) => vec![address],
            Hop::Everyone => self.everyone(),
            Hop::Neighbour(Neighbour::Ethernet(mac)) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("UDP cannot reach card {}", MacText(&mac)),
                ));
            }
        };
        for target in targets {
            self.socket.send_to(frame, target)?;
        }
        Ok(())
    }

    fn receive(&self, wait: Duration) -> io::Result<Option<(Neighbour, Vec<u8>)>> {
        let deadline = Instant::now() + wait;
        let mut buffer = self.buffer.borrow_mut();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            self.socket
                .set_read_timeout(Some(left.max(Duration::from_micros(100))))?;
            match self.socket.recv_from(&mut buffer) {
                Ok((length, source)) if self.peer.is_none_or(|peer| peer == source) => {
                    self.remember(source);
                    let frame = buffer.get(..length).unwrap_or_default().to_vec();
                    return Ok(Some((Neighbour::Udp(source), frame)));
                }
                Ok(_) => {}
                Err(e) if timed_out(&e) => {}
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    fn describe(&self) -> String {
        match (self.peer, self.socket.local_addr()) {
            (Some(peer), _) => format!("UDP peer {peer}"),
            (None, Ok(local)) => format!("UDP port {local}"),
            (None, Err(_)) => "a UDP socket".to_string(),
        }
    }
}

#[cfg(test)]
pub(crate) mod memory;

fn timed_out(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: [u8; 6] = [2, 0, 0, 0, 0, 9];
    const THEM: [u8; 6] = [0x52, 0x54, 0, 0xa0, 0, 1];

    fn ethernet(destination: [u8; 6], source: [u8; 6], ethertype: u16) -> Vec<u8> {
        [&destination[..], &source, &ethertype.to_be_bytes(), b"flip"].concat()
    }

    #[test]
    fn flip_frames_to_us_or_everyone_from_others_are_taken() {
        let to_us = ethernet(US, THEM, ETHERTYPE_FLIP);
        assert_eq!(flip_frame(&to_us, US), Some((THEM, &b"flip"[..])));
        let broadcast = ethernet(BROADCAST, THEM, ETHERTYPE_FLIP);
        assert_eq!(flip_frame(&broadcast, US), Some((THEM, &b"flip"[..])));
    }

    #[test]
    fn other_frames_are_skipped() {
        for frame in [
            ethernet([2, 0, 0, 0, 0, 8], THEM, ETHERTYPE_FLIP),
            ethernet(BROADCAST, US, ETHERTYPE_FLIP),
            ethernet(US, THEM, 0x0800),
        ] {
            assert_eq!(flip_frame(&frame, US), None);
        }
        assert_eq!(flip_frame(&[0xFF; 13], US), None);
    }

    #[test]
    fn neighbours_print_as_the_medium_names_them() {
        assert_eq!(Neighbour::Ethernet(THEM).to_string(), "52:54:00:a0:00:01");
        let udp = Neighbour::Udp(SocketAddr::from(([127, 0, 0, 1], 4146)));
        assert_eq!(udp.to_string(), "127.0.0.1:4146");
    }
}
