//! One kernel thread per NIC: it waits for the card's interrupt (the same interrupt-await a
//! driver process uses), drains the receive ring and sorts frames by EtherType.
//!
//! - 0x8146, FLIP (`shared/reference/amoeba.md`, "FLIP on Ethernet"): counted; the protocol
//!   engine is not connected yet.
//! - 0x88B5, the link check of `libamoeba::link_check`: `ping TEXT` is answered to its sender
//!   with `pong TEXT from NODE`; `amoeba nodes` and the tests use it to see cards on a LAN.
//! - Everything else goes to the IP side (`net::ip`, smoltcp: ARP and ping) when the node has
//!   an address (`ip=` on the command line), and is counted.

use super::ip::IpStack;
use super::{ETHERNET_HEADER, MAX_FRAME, Nic};
use crate::sched;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use libamoeba::boot::cmdline::Ipv4Config;
use libamoeba::ethernet::MacText;
use libamoeba::link_check;
use libamoeba::priority::Level;

pub const ETHERTYPE_FLIP: u16 = libamoeba::flip::header::ETHERTYPE_FLIP;

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

/// Starts the thread that serves `nic`; `node` names the node in link-check answers, `ip`
/// is its IPv4 address, if it has one.
pub fn start(nic: Box<dyn Nic>, node: &str, ip: Option<Ipv4Config>) {
    let mac = nic.mac();
    log::info!(
        "net: {} {} on irq {}",
        nic.name(),
        MacText(&mac),
        nic.interrupt_line()
    );
    if let Some(ip) = ip {
        log::info!("net: {} is {}/{}", nic.name(), ip.address, ip.prefix);
    }
    let node = String::from(node);
    if sched::spawn_kernel_task(Level::High, move || serve(nic, node, ip)).is_err() {
        log::error!("net: no memory for the link thread; the card stays idle");
    }
}

/// Frames handled per turn before the thread lets the rest of the node run.
const FRAMES_PER_TURN: usize = 32;
/// How long it steps aside after a full turn.
const FLOOD_PAUSE_NANOS: u64 = 1_000_000;

/// What the link thread keeps besides the card.
struct Link {
    mac: [u8; 6],
    node: String,
    ip: Option<IpStack>,
    counts: Counts,
}

fn serve(mut nic: Box<dyn Nic>, node: String, ip: Option<Ipv4Config>) {
    let mut frame = Box::new([0u8; MAX_FRAME]);
    let ip = ip.map(|config| IpStack::new(nic.as_mut(), config));
    let mut link = Link {
        mac: nic.mac(),
        node,
        ip,
        counts: Counts::default(),
    };
    let line = u64::from(nic.interrupt_line());
    let mut dropped = 0;
    loop {
        nic.service_interrupt();
        let mut handled = 0;
        while handled < FRAMES_PER_TURN
            && let Some(length) = nic.receive(&mut frame)
        {
            link.sort(nic.as_mut(), &frame[..length]);
            handled += 1;
        }
        // Reported at 1, 10, 100... drops: a flood must not flood the console too.
        if nic.dropped() >= dropped * 10 && nic.dropped() > 0 {
            dropped = nic.dropped().max(1);
            let Counts {
                flip,
                link_checks,
                ip,
                unsent,
            } = link.counts;
            log::warn!(
                "net: {dropped} frames dropped so far ({flip} FLIP, {link_checks} link checks, \
                 {ip} IP received; {unsent} answers not sent)"
            );
        }
        if handled == FRAMES_PER_TURN {
            // A flood: let the rest of the node run before the next batch.
            sched::sleep(FLOOD_PAUSE_NANOS);
            continue;
        }
        if let Err(error) = sched::interrupt_await(line, None) {
            log::error!("net: cannot wait for irq {line}: {error:?}; link thread ends");
            return;
        }
    }
}

impl Link {
    fn sort(&mut self, nic: &mut dyn Nic, frame: &[u8]) {
        let (Some(destination), Some(&[high, low])) =
            (frame.get(..6), frame.get(12..ETHERNET_HEADER))
        else {
            return;
        };
        // Cards may be promiscuous (QEMU's virtio-net is): frames for other nodes are not ours.
        let group = destination[0] & 1 == 1;
        if !group && destination != self.mac {
            return;
        }
        match u16::from_be_bytes([high, low]) {
            ETHERTYPE_FLIP => self.counts.flip += 1,
            link_check::ETHERTYPE => {
                self.counts.link_checks += 1;
                if !answer_link_check(nic, frame, &self.node) {
                    self.counts.unsent += 1;
                }
            }
            _ => {
                self.counts.ip += 1;
                if let Some(ip) = &mut self.ip {
                    ip.receive(nic, frame);
                }
            }
        }
    }
}

/// Answers a ping; whether an answer went out (a card that is busy sending drops it: the
/// sender asks again, as the link check's users do).
fn answer_link_check(nic: &mut dyn Nic, frame: &[u8], node: &str) -> bool {
    let Some(text) = link_check::ping_text(&frame[ETHERNET_HEADER..]) else {
        return true;
    };
    let mut answer = Vec::with_capacity(MAX_FRAME);
    answer.extend_from_slice(&frame[6..12]);
    answer.extend_from_slice(&nic.mac());
    answer.extend_from_slice(&link_check::ETHERTYPE.to_be_bytes());
    answer.extend_from_slice(&link_check::pong(text, node.as_bytes()));
    answer.truncate(MAX_FRAME);
    nic.send(&answer).is_ok()
}
