//! One kernel thread per interrupt line of the node's cards: it waits for the line (the same
//! interrupt-await a driver process uses; one waiter per line, so cards that share a line,
//! as PCI cards often do, share the thread), drains each card's receive ring and sorts frames
//! by EtherType.
//!
//! - 0x8146, FLIP (`docs/amoeba-protocol.md#flip-on-ethernet`): to `net::flip`.
//! - 0x88B5, the link check of `libamoeba::link_check`: `ping TEXT` is answered to its sender
//!   with `pong TEXT from NODE` and, on a node with a directory server, its read-only root
//!   directory capability; `amoeba nodes`, the host peer and `net::peers` use it.
//! - Everything else goes to the IP side (`net::ip`, smoltcp: ARP, ping, DHCP) when the node
//!   has one (`ip=` on the command line), and is counted. Datagrams to the FLIP-in-UDP port
//!   (`flip-udp=`) go to `net::flip` too.

use super::flip;
use super::interfaces::{self, Interface};
use super::ip::{IpStack, UdpCounts};
use super::{ETHERNET_HEADER, MAX_FRAME, Nic};
use crate::node_config::NetSettings;
use crate::sched;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use libamoeba::ethernet::MacText;
use libamoeba::flip::header::ETHERTYPE_FLIP;
use libamoeba::link_check;
use libamoeba::priority::Level;
use libamoeba::syscall::Error;

/// Frames by what became of them.
#[derive(Clone, Copy, Default)]
struct Counts {
    flip: u64,
    link_checks: u64,
    /// Everything else: smoltcp's if the node has an address.
    ip: u64,
    /// Link-check answers the card refused (busy sending).
    unsent: u64,
}

/// Registers `nic` as one of the node's interfaces and starts the thread that serves its
/// interrupt line, unless an earlier card's thread serves that line already; `node` names the
/// node in link-check answers, `net` says how it gets its IPv4 address (if at all) and its
/// FLIP-in-UDP port.
pub fn start(nic: Box<dyn Nic>, node: &str, net: NetSettings) {
    let name = nic.name();
    log::info!(
        "net: {name} {} on irq {}",
        MacText(&nic.mac()),
        nic.interrupt_line()
    );
    let Some(interface) = interfaces::register(nic) else {
        log::error!("net: {name} is one card too many; it stays idle");
        return;
    };
    if let Some(setting) = net.ip {
        let ip = interface.with_nic(|nic| IpStack::new(nic, setting, net.flip_udp));
        interface.set_ip(ip);
    }
    let line = interface.interrupt_line;
    let shared = interfaces::all()
        .iter()
        .any(|other| other.interrupt_line == line && other.index != interface.index);
    if shared {
        return;
    }
    let node = String::from(node);
    if sched::spawn_kernel_task(Level::High, move || serve(line, node)).is_err() {
        log::error!("net: no memory for the link thread of irq {line}; its cards stay idle");
    }
}

/// Frames handled per turn before the thread lets the rest of the node run.
const FRAMES_PER_TURN: usize = 32;
/// How long it steps aside after a full turn.
const FLOOD_PAUSE_NANOS: u64 = 1_000_000;

/// What the link thread keeps besides the card.
struct Link {
    interface: &'static Interface,
    node: String,
    counts: Counts,
    /// Drops reported so far (reported at 1, 10, 100...).
    dropped_reported: u64,
}

/// The link thread of interrupt line `line`: every turn, each card on the line.
fn serve(line: u8, node: String) {
    let mut frame = Box::new([0u8; MAX_FRAME]);
    let mut links: Vec<Link> = Vec::new();
    loop {
        // Cards found after the thread started join it (the registry only grows).
        for interface in interfaces::all() {
            let known = links.iter().any(|l| l.interface.index == interface.index);
            if interface.interrupt_line == line && !known {
                links.push(Link::new(interface, node.clone()));
            }
        }
        let mut flooded = false;
        for link in &mut links {
            flooded |= link.turn(&mut frame);
        }
        if flooded {
            // A flood: let the rest of the node run before the next batch.
            sched::sleep(FLOOD_PAUSE_NANOS);
            continue;
        }
        // smoltcp's timers (DHCP, UDP sends waiting for ARP) end the wait too.
        let timeout = links
            .iter()
            .filter_map(|l| l.interface.with_ip(|ip, _| ip.poll_delay_nanos()).flatten())
            .min();
        if let Err(error) = sched::interrupt_await(u64::from(line), timeout)
            && error != Error::TimedOut
        {
            log::error!("net: cannot wait for irq {line}: {error:?}; its cards stay idle");
            return;
        }
    }
}

impl Link {
    fn new(interface: &'static Interface, node: String) -> Self {
        Self {
            interface,
            node,
            counts: Counts::default(),
            dropped_reported: 0,
        }
    }

    /// Serves the card once: its interrupt causes, up to [`FRAMES_PER_TURN`] frames, the IP
    /// side's timers. Whether the turn was full (more frames may wait).
    fn turn(&mut self, frame: &mut [u8; MAX_FRAME]) -> bool {
        let interface = self.interface;
        interface.with_nic(|nic| nic.service_interrupt());
        let mut handled = 0;
        while handled < FRAMES_PER_TURN
            && let Some(length) = interface.with_nic(|nic| nic.receive(frame))
        {
            self.sort(&frame[..length]);
            handled += 1;
        }
        self.poll_ip();
        self.report_drops();
        handled == FRAMES_PER_TURN
    }

    fn sort(&mut self, frame: &[u8]) {
        let (Some(destination), Some(source), Some(&[high, low])) = (
            frame.get(..6),
            frame.get(6..12),
            frame.get(12..ETHERNET_HEADER),
        ) else {
            return;
        };
        // Cards may be promiscuous (QEMU's virtio-net is): frames for other nodes are not ours.
        let group = destination[0] & 1 == 1;
        if !group && destination != self.interface.mac {
            return;
        }
        // The LAN may hand a card its own broadcasts back (QEMU's multicast socket does).
        if source == self.interface.mac {
            return;
        }
        let mut from = [0; 6];
        from.copy_from_slice(source);
        let payload = &frame[ETHERNET_HEADER..];
        match u16::from_be_bytes([high, low]) {
            ETHERTYPE_FLIP => {
                self.counts.flip += 1;
                flip::receive(self.interface.index, from, payload);
            }
            link_check::ETHERTYPE => {
                self.counts.link_checks += 1;
                if !self.answer_link_check(from, payload) {
                    self.counts.unsent += 1;
                }
            }
            _ => {
                self.counts.ip += 1;
                self.interface.with_ip(|ip, nic| ip.receive(nic, frame));
            }
        }
    }

    /// Lets smoltcp run its timers, and hands FLIP what came by UDP.
    fn poll_ip(&mut self) {
        let datagrams = self.interface.with_ip(|ip, nic| {
            ip.poll(nic);
            ip.take_udp()
        });
        for (peer, datagram) in datagrams.unwrap_or_default() {
            flip::receive_udp(self.interface.index, peer, &datagram);
        }
    }

    /// Answers a ping (a pong is also how other nodes' `net::peers` learn of us); whether an
    /// answer went out (a card that is busy sending drops it: the sender asks again, as the
    /// link check's users do).
    fn answer_link_check(&self, to: [u8; 6], payload: &[u8]) -> bool {
        let Some(text) = link_check::ping_text(payload) else {
            if let Some(pong) = link_check::pong_parts(payload) {
                super::peers::heard(pong.1, link_check::pong_directory(payload));
            }
            return true;
        };
        let node = self.node.as_bytes();
        let pong = match crate::servers::lan_directory() {
            Some(directory) => link_check::pong_with_directory(text, node, &directory),
            None => link_check::pong(text, node),
        };
        let mut answer = Vec::with_capacity(MAX_FRAME);
        answer.extend_from_slice(&to);
        answer.extend_from_slice(&self.interface.mac);
        answer.extend_from_slice(&link_check::ETHERTYPE.to_be_bytes());
        answer.extend_from_slice(&pong);
        answer.truncate(MAX_FRAME);
        self.interface.with_nic(|nic| nic.send(&answer).is_ok())
    }

    fn report_drops(&mut self) {
        let dropped = self.interface.with_nic(|nic| nic.dropped());
        if dropped == 0 || dropped < self.dropped_reported.saturating_mul(10) {
            return;
        }
        self.dropped_reported = dropped;
        let Counts {
            flip,
            link_checks,
            ip,
            unsent,
        } = self.counts;
        log::warn!(
            "net: {dropped} frames dropped so far ({flip} FLIP, {link_checks} link checks, \
             {ip} IP received; {unsent} answers not sent)"
        );
        if let Some(udp) = self.interface.with_ip(|ip, _| ip.udp_counts())
            && udp != UdpCounts::default()
        {
            log::warn!(
                "net: FLIP in UDP so far: {} datagrams in, {} dropped, {} out, {} not sent",
                udp.received,
                udp.dropped,
                udp.sent,
                udp.unsent
            );
        }
    }
}
