//! The other end of a UDP datagram: an IPv4 address and a port. FLIP carried inside UDP
//! (`flip-udp=PORT` on a node's command line) names its neighbours this way where FLIP on
//! Ethernet names them by card address.

use core::fmt;
use core::net::{Ipv4Addr, SocketAddrV4};

/// An IPv4 address and UDP port; ordered by address, then port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UdpPeer {
    /// The address in network order (`[10, 0, 2, 2]` is 10.0.2.2).
    pub address: [u8; 4],
    pub port: u16,
}

impl UdpPeer {
    pub const fn new(address: [u8; 4], port: u16) -> Self {
        Self { address, port }
    }

    pub const fn ip(&self) -> Ipv4Addr {
        let [a, b, c, d] = self.address;
        Ipv4Addr::new(a, b, c, d)
    }
}

impl From<SocketAddrV4> for UdpPeer {
    fn from(socket: SocketAddrV4) -> Self {
        Self::new(socket.ip().octets(), socket.port())
    }
}

impl From<UdpPeer> for SocketAddrV4 {
    fn from(peer: UdpPeer) -> Self {
        SocketAddrV4::new(peer.ip(), peer.port)
    }
}

impl fmt::Display for UdpPeer {
    /// `A.B.C.D:PORT`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.ip(), self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_as_address_and_port() {
        assert_eq!(
            UdpPeer::new([10, 0, 2, 2], 4146).to_string(),
            "10.0.2.2:4146"
        );
    }

    #[test]
    fn converts_to_and_from_socket_addresses() {
        let socket = SocketAddrV4::new(Ipv4Addr::new(192, 168, 1, 7), 65535);
        let peer = UdpPeer::from(socket);
        assert_eq!(peer, UdpPeer::new([192, 168, 1, 7], 65535));
        assert_eq!(SocketAddrV4::from(peer), socket);
    }

    #[test]
    fn ordered_by_address_then_port() {
        let mut peers = [
            UdpPeer::new([10, 0, 2, 3], 1),
            UdpPeer::new([10, 0, 2, 2], 9),
            UdpPeer::new([10, 0, 2, 2], 2),
        ];
        peers.sort();
        assert_eq!(
            peers,
            [
                UdpPeer::new([10, 0, 2, 2], 2),
                UdpPeer::new([10, 0, 2, 2], 9),
                UdpPeer::new([10, 0, 2, 3], 1),
            ]
        );
    }
}
