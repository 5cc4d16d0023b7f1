//! The node's IP side, on smoltcp: ARP and ICMP echo on the address the command line gives
//! (`ip=A.B.C.D/N`) or a DHCP server leases (`ip=dhcp`), so a node answers ping; and, with
//! `flip-udp=PORT`, a UDP socket on that port whose datagrams the link thread takes (FLIP
//! carried inside UDP, so a node can be reached across IP).
//!
//! The link thread hands it every frame that is neither FLIP nor a link check
//! ([`IpStack::receive`]); smoltcp answers through the same card. DHCP's and UDP's own
//! timers need polls between frames too: the link thread waits for its card's interrupt at
//! most [`IpStack::poll_delay_nanos`] and then calls [`IpStack::poll`].

use super::{ETHERNET_HEADER, MAX_FRAME, Nic, SendError};
use crate::arch::tsc;
use crate::entropy::KernelEntropy;
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use libamoeba::boot::cmdline::IpSetting;
use libamoeba::random::Entropy;
use libamoeba::udp_peer::UdpPeer;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::{dhcpv4, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint, Ipv4Cidr};

/// Bytes of an IPv4 header without options (RFC 791) and of a UDP header (RFC 768).
const IPV4_HEADER: usize = 20;
const UDP_HEADER: usize = 8;
/// The largest UDP payload one Ethernet frame carries (smoltcp here does not reassemble
/// fragments): 1514 - 14 - 20 - 8 = 1472 bytes.
pub const MAX_UDP_PAYLOAD: usize = MAX_FRAME - ETHERNET_HEADER - IPV4_HEADER - UDP_HEADER;
/// Datagrams kept for the link thread between two [`IpStack::take_udp`]; later ones are
/// dropped (and counted) until it takes them.
pub const UDP_RECEIVE_QUEUE: usize = 32;
/// Datagrams queued for sending (e.g. while the peer's card address is asked by ARP).
pub const UDP_SEND_QUEUE: usize = 32;
/// How long a frame waits for a card that is busy sending before it is dropped.
const BUSY_WAIT_NANOS: u64 = 2_000_000;
/// Datagrams smoltcp's own receive buffer holds: one frame is given to smoltcp at a time and
/// its datagram moves to the receive queue at once, so a few are room enough.
const UDP_SOCKET_RECEIVE: usize = 4;

/// What became of the FLIP-in-UDP datagrams so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UdpCounts {
    /// Received on the port and queued for the link thread.
    pub received: u64,
    /// Received but dropped: the queue held [`UDP_RECEIVE_QUEUE`] datagrams already.
    pub dropped: u64,
    /// Accepted by [`IpStack::send_udp`] for sending.
    pub sent: u64,
    /// Refused by [`IpStack::send_udp`]: no address yet, longer than [`MAX_UDP_PAYLOAD`], or
    /// the send queue full.
    pub unsent: u64,
}

/// The UDP socket of FLIP inside UDP and the datagrams it received.
struct FlipUdp {
    handle: SocketHandle,
    received: VecDeque<(UdpPeer, Vec<u8>)>,
    counts: UdpCounts,
}

pub struct IpStack {
    /// The card's driver name, for logs.
    card: &'static str,
    interface: Interface,
    sockets: SocketSet<'static>,
    /// The DHCP client, with `ip=dhcp`.
    dhcp: Option<SocketHandle>,
    flip_udp: Option<FlipUdp>,
}

impl IpStack {
    /// An interface on `nic` with `setting`'s address (a static one at once, a DHCP lease once
    /// a server grants it); with `flip_udp`, a UDP socket bound to that port.
    pub fn new(nic: &mut dyn Nic, setting: IpSetting, flip_udp: Option<u16>) -> Self {
        let card = nic.name();
        let hardware = HardwareAddress::Ethernet(EthernetAddress(nic.mac()));
        let mut config = Config::new(hardware);
        // DHCP transaction ids and smoltcp's ephemeral ports come from this seed.
        let mut seed = [0; 8];
        KernelEntropy.fill(&mut seed);
        config.random_seed = u64::from_le_bytes(seed);
        let mut device = Frames { nic, frame: None };
        let mut interface = Interface::new(config, &mut device, now());
        let mut sockets = SocketSet::new(vec![]);
        let dhcp = match setting {
            IpSetting::Static(config) => {
                let cidr = Ipv4Cidr::new(config.address, config.prefix);
                set_address(&mut interface, Some(cidr));
                log::info!("net: {card} is {cidr}");
                None
            }
            IpSetting::Dhcp => {
                log::info!("net: {card} asks DHCP for an address");
                Some(sockets.add(dhcpv4::Socket::new()))
            }
        };
        let flip_udp = flip_udp.and_then(|port| {
            let mut socket =
                udp::Socket::new(udp_buffer(UDP_SOCKET_RECEIVE), udp_buffer(UDP_SEND_QUEUE));
            if let Err(error) = socket.bind(port) {
                log::warn!("net: {card} cannot bind UDP port {port} ({error:?}); no FLIP over UDP");
                return None;
            }
            log::info!("net: {card} carries FLIP in UDP on port {port}");
            Some(FlipUdp {
                handle: sockets.add(socket),
                received: VecDeque::new(),
                counts: UdpCounts::default(),
            })
        });
        Self {
            card,
            interface,
            sockets,
            dhcp,
            flip_udp,
        }
    }

    /// Gives smoltcp one received frame (it answers ARP and ping at once).
    pub fn receive(&mut self, nic: &mut dyn Nic, frame: &[u8]) {
        self.poll_with(nic, Some(frame.to_vec()));
    }

    /// Lets smoltcp do what is due without a frame: DHCP's messages and renewals, datagrams
    /// waiting to be sent, ARP retries. Call it when [`IpStack::poll_delay_nanos`] has passed
    /// (calling it earlier or more often is harmless).
    pub fn poll(&mut self, nic: &mut dyn Nic) {
        self.poll_with(nic, None);
    }

    /// Nanoseconds until smoltcp next needs [`IpStack::poll`] (0: now), or `None` if only a
    /// received frame gives it something to do.
    pub fn poll_delay_nanos(&mut self) -> Option<u64> {
        self.interface
            .poll_delay(now(), &self.sockets)
            .map(|delay| delay.total_micros().saturating_mul(1000))
    }

    fn poll_with(&mut self, nic: &mut dyn Nic, frame: Option<Vec<u8>>) {
        let mut device = Frames { nic, frame };
        self.interface.poll(now(), &mut device, &mut self.sockets);
        self.dhcp_events();
        self.collect_udp();
    }

    /// Applies what the DHCP client learnt to the interface.
    fn dhcp_events(&mut self) {
        let Some(handle) = self.dhcp else {
            return;
        };
        let card = self.card;
        match self.sockets.get_mut::<dhcpv4::Socket>(handle).poll() {
            None => {}
            Some(dhcpv4::Event::Configured(lease)) => {
                set_address(&mut self.interface, Some(lease.address));
                let routes = self.interface.routes_mut();
                match lease.router {
                    Some(router) => {
                        if routes.add_default_ipv4_route(router).is_err() {
                            log::warn!("net: {card}: no room for the default route");
                        }
                        log::info!(
                            "net: {card} got {} from DHCP (router {router})",
                            lease.address
                        );
                    }
                    None => {
                        routes.remove_default_ipv4_route();
                        log::info!("net: {card} got {} from DHCP (no router)", lease.address);
                    }
                }
            }
            Some(dhcpv4::Event::Deconfigured) => {
                let old = self.interface.ipv4_addr();
                set_address(&mut self.interface, None);
                self.interface.routes_mut().remove_default_ipv4_route();
                match old {
                    Some(old) => log::warn!(
                        "net: {card} lost its DHCP lease on {old}; no address until a server \
                         grants one"
                    ),
                    None => log::debug!("net: {card}: DHCP client restarted"),
                }
            }
        }
    }

    /// Moves what the UDP socket received into the bounded queue the link thread takes from.
    fn collect_udp(&mut self) {
        let Some(udp) = self.flip_udp.as_mut() else {
            return;
        };
        let socket = self.sockets.get_mut::<udp::Socket>(udp.handle);
        while let Ok((bytes, metadata)) = socket.recv() {
            let IpAddress::Ipv4(from) = metadata.endpoint.addr;
            if udp.received.len() >= UDP_RECEIVE_QUEUE {
                udp.counts.dropped += 1;
                // Reported at 1, 10, 100... drops, as the link thread reports the card's.
                if is_power_of_ten(udp.counts.dropped) {
                    log::warn!(
                        "net: {}: {} UDP datagrams dropped so far (queue of {UDP_RECEIVE_QUEUE} \
                         full)",
                        self.card,
                        udp.counts.dropped
                    );
                }
                continue;
            }
            udp.counts.received += 1;
            let peer = UdpPeer::new(from.octets(), metadata.endpoint.port);
            udp.received.push_back((peer, bytes.to_vec()));
        }
    }
}

/// FLIP inside UDP: the link thread takes what arrived on the port and sends through it.
impl IpStack {
    /// The datagrams received on the FLIP-in-UDP port since the last call, oldest first, with
    /// their senders (none without `flip-udp=`).
    pub fn take_udp(&mut self) -> Vec<(UdpPeer, Vec<u8>)> {
        self.flip_udp
            .as_mut()
            .map(|udp| udp.received.drain(..).collect())
            .unwrap_or_default()
    }

    /// Queues `bytes` as one datagram from the FLIP-in-UDP port to `to` and sends it as far
    /// as it can now (the rest goes with later polls, e.g. once ARP found `to`'s card).
    /// Whether it was queued: not without `flip-udp=` or an address, nor when longer than
    /// [`MAX_UDP_PAYLOAD`] or [`UDP_SEND_QUEUE`] datagrams wait already.
    pub fn send_udp(&mut self, nic: &mut dyn Nic, to: UdpPeer, bytes: &[u8]) -> bool {
        let has_address = self.interface.ipv4_addr().is_some();
        let Some(udp) = self.flip_udp.as_mut() else {
            return false;
        };
        let socket = self.sockets.get_mut::<udp::Socket>(udp.handle);
        let endpoint = IpEndpoint::new(IpAddress::Ipv4(to.ip()), to.port);
        let queued = has_address
            && bytes.len() <= MAX_UDP_PAYLOAD
            && socket.send_slice(bytes, endpoint).is_ok();
        if queued {
            udp.counts.sent += 1;
            self.poll(nic);
        } else {
            udp.counts.unsent += 1;
        }
        queued
    }

    /// What became of FLIP-in-UDP datagrams so far (all zero without `flip-udp=`).
    pub fn udp_counts(&self) -> UdpCounts {
        self.flip_udp
            .as_ref()
            .map(|udp| udp.counts)
            .unwrap_or_default()
    }
}

/// 1, 10, 100, ...
fn is_power_of_ten(mut n: u64) -> bool {
    while n >= 10 && n.is_multiple_of(10) {
        n /= 10;
    }
    n == 1
}

/// The interface's one IPv4 address: `cidr`, or none.
fn set_address(interface: &mut Interface, cidr: Option<Ipv4Cidr>) {
    interface.update_ip_addrs(|addresses| {
        addresses.clear();
        if let Some(cidr) = cidr
            && addresses.push(IpCidr::Ipv4(cidr)).is_err()
        {
            log::warn!("net: no room for the IPv4 address");
        }
    });
}

/// A UDP buffer for `datagrams` datagrams of up to [`MAX_UDP_PAYLOAD`] bytes.
fn udp_buffer(datagrams: usize) -> udp::PacketBuffer<'static> {
    udp::PacketBuffer::new(
        vec![udp::PacketMetadata::EMPTY; datagrams],
        vec![0; datagrams * MAX_UDP_PAYLOAD],
    )
}

fn now() -> Instant {
    Instant::from_micros((tsc::nanos_since_reset().unwrap_or(0) / 1000) as i64)
}

/// smoltcp's view of a card: the one frame just received, and sending through the card.
struct Frames<'a> {
    nic: &'a mut dyn Nic,
    frame: Option<Vec<u8>>,
}

impl Device for Frames<'_> {
    type RxToken<'t>
        = Received
    where
        Self: 't;
    type TxToken<'t>
        = Sending<'t>
    where
        Self: 't;

    fn receive(&mut self, _: Instant) -> Option<(Received, Sending<'_>)> {
        let frame = self.frame.take()?;
        Some((Received(frame), Sending(&mut *self.nic)))
    }

    fn transmit(&mut self, _: Instant) -> Option<Sending<'_>> {
        Some(Sending(&mut *self.nic))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        capabilities.max_transmission_unit = MAX_FRAME;
        capabilities.max_burst_size = Some(1);
        capabilities
    }
}

struct Received(Vec<u8>);

impl phy::RxToken for Received {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

struct Sending<'a>(&'a mut dyn Nic);

impl phy::TxToken for Sending<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let result = f(&mut frame);
        // A card busy sending (NE2000 sends one frame at a time, virtio-net a few) is given a
        // moment to finish: a burst of datagrams should not lose its tail. Past that the frame
        // is dropped; IP's own retries (ARP, DHCP, the pinger's next echo, FLIP's
        // retransmissions) stand in for a queue here.
        let deadline = tsc::nanos_since_reset().map(|now| now + BUSY_WAIT_NANOS);
        while self.0.send(&frame) == Err(SendError::Busy)
            && deadline.is_some_and(|end| tsc::nanos_since_reset().is_some_and(|now| now < end))
        {
            core::hint::spin_loop();
        }
        result
    }
}
