//! A seat on the nodes' virtual LAN: QEMU's socket netdev sends every frame of every card to a
//! UDP multicast group on loopback (`amoeba-build cluster`, `amoeba_build::qemu::Lan`), so a
//! plain user process that joins the group sends and receives raw Ethernet frames there, no
//! root needed.

use socket2::{Domain, Protocol, Socket, Type};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

/// The multicast group of every virtual LAN (the port tells LANs apart); the same as
/// `amoeba_build::qemu::LAN_GROUP` (a test checks).
pub const LAN_GROUP: Ipv4Addr = Ipv4Addr::new(230, 0, 0, 1);

/// A LAN port for a test: one the system hands out as free, kept bound on loopback (for the
/// rest of the process) so no other process or test is given it; `_salt` is unused and kept
/// for callers that name their LANs. Ports from the system's ephemeral range also stay clear of
/// the default LAN port of `amoeba-build cluster`, unless the system hands that one out.
pub fn port_for(_salt: u16) -> u16 {
    static RESERVED: std::sync::Mutex<Vec<UdpSocket>> = std::sync::Mutex::new(Vec::new());
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap_or_else(|e| panic!("no free UDP port on loopback: {e}"));
    let port = socket
        .local_addr()
        .map(|address| address.port())
        .unwrap_or_else(|e| panic!("no local address for a bound socket: {e}"));
    RESERVED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(socket);
    port
}

pub struct LanSeat {
    socket: UdpSocket,
    group: SocketAddrV4,
    /// The address this seat sends from (a locally administered one).
    pub mac: [u8; 6],
}

impl LanSeat {
    pub fn join(port: u16, mac: [u8; 6]) -> std::io::Result<Self> {
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        socket.set_reuse_address(true)?;
        socket.bind(&SocketAddrV4::new(LAN_GROUP, port).into())?;
        socket.set_multicast_if_v4(&Ipv4Addr::LOCALHOST)?;
        let socket: UdpSocket = socket.into();
        socket.join_multicast_v4(&LAN_GROUP, &Ipv4Addr::LOCALHOST)?;
        socket.set_multicast_loop_v4(true)?;
        Ok(Self {
            socket,
            group: SocketAddrV4::new(LAN_GROUP, port),
            mac,
        })
    }

    /// Sends an Ethernet frame: `destination`, our address, `ethertype`, `payload`.
    pub fn send(
        &self,
        destination: [u8; 6],
        ethertype: u16,
        payload: &[u8],
    ) -> std::io::Result<()> {
        let mut frame = Vec::with_capacity(14 + payload.len());
        frame.extend_from_slice(&destination);
        frame.extend_from_slice(&self.mac);
        frame.extend_from_slice(&ethertype.to_be_bytes());
        frame.extend_from_slice(payload);
        self.socket.send_to(&frame, self.group).map(|_| ())
    }

    /// The LAN's port (its UDP port on the group [`LAN_GROUP`]).
    pub fn port(&self) -> u16 {
        self.group.port()
    }

    /// Sends `frame` as it is: a whole Ethernet frame without CRC, whatever its source address
    /// (a relay passes on other stations' frames).
    pub fn send_frame(&self, frame: &[u8]) -> std::io::Result<()> {
        self.socket.send_to(frame, self.group).map(|_| ())
    }

    /// The next frame on the LAN within `wait`, whoever sent it to whom (this seat's own sends
    /// included: multicast loopback hands them back): its length in `buffer`, `None` if none
    /// came. A frame longer than `buffer` is cut short, so give it 64 KiB to be sure.
    pub fn receive_frame(
        &self,
        buffer: &mut [u8],
        wait: Duration,
    ) -> std::io::Result<Option<usize>> {
        self.socket
            .set_read_timeout(Some(wait.max(Duration::from_micros(100))))?;
        match self.socket.recv(buffer) {
            Ok(length) => Ok(Some(length)),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Asks for a receive buffer of `bytes` (the system may give less: Linux caps it at
    /// `net.core.rmem_max`), so a burst of frames waits in it instead of being lost; the size
    /// granted.
    pub fn enlarge_receive_buffer(&self, bytes: usize) -> std::io::Result<usize> {
        let socket = socket2::SockRef::from(&self.socket);
        socket.set_recv_buffer_size(bytes)?;
        socket.recv_buffer_size()
    }

    /// Frames addressed to us with `ethertype` until `wait` passes: their payloads.
    pub fn receive_for(&self, ethertype: u16, wait: Duration) -> Vec<Vec<u8>> {
        self.receive_from(ethertype, wait)
            .into_iter()
            .map(|(_, payload)| payload)
            .collect()
    }

    /// Frames addressed to us with `ethertype` until `wait` passes: sender and payload.
    pub fn receive_from(&self, ethertype: u16, wait: Duration) -> Vec<([u8; 6], Vec<u8>)> {
        let mut payloads = Vec::new();
        self.receive_while(ethertype, wait, |source, payload| {
            payloads.push((source, payload.to_vec()));
            true
        });
        payloads
    }

    /// Hands frames addressed to us with `ethertype` (sender, payload) to `keep_going` until
    /// it returns false or `wait` passes; whether it stopped early.
    pub fn receive_while(
        &self,
        ethertype: u16,
        wait: Duration,
        mut keep_going: impl FnMut([u8; 6], &[u8]) -> bool,
    ) -> bool {
        let deadline = Instant::now() + wait;
        let mut buffer = [0u8; 2048];
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if self
                .socket
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .is_err()
            {
                break;
            }
            let Ok(length) = self.socket.recv(&mut buffer) else {
                continue;
            };
            let frame = &buffer[..length];
            if frame.len() >= 14
                && frame[..6] == self.mac
                && frame[12..14] == ethertype.to_be_bytes()
            {
                let mut source = [0; 6];
                source.copy_from_slice(&frame[6..12]);
                if !keep_going(source, &frame[14..]) {
                    return true;
                }
            }
        }
        false
    }
}
