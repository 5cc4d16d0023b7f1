//! The node's IP side, on smoltcp: ARP and ICMP echo on the address the command line gives
//! (`ip=A.B.C.D/N`), so a node answers ping. The link thread hands it every frame that is
//! neither FLIP nor a link check; smoltcp answers through the same card.

use super::{MAX_FRAME, Nic};
use crate::arch::tsc;
use alloc::vec;
use alloc::vec::Vec;
use libamoeba::boot::cmdline::Ipv4Config;
use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address};

pub struct IpStack {
    interface: Interface,
    sockets: SocketSet<'static>,
}

impl IpStack {
    /// An interface with `config`'s address on `nic`.
    pub fn new(nic: &mut dyn Nic, config: Ipv4Config) -> Self {
        let hardware = HardwareAddress::Ethernet(EthernetAddress(nic.mac()));
        let mut device = Frames { nic, frame: None };
        let mut interface = Interface::new(Config::new(hardware), &mut device, now());
        let [a, b, c, d] = config.address.octets();
        interface.update_ip_addrs(|addresses| {
            let cidr = IpCidr::new(Ipv4Address::new(a, b, c, d).into(), config.prefix);
            if addresses.push(cidr).is_err() {
                log::warn!("net: no room for the IPv4 address");
            }
        });
        Self {
            interface,
            sockets: SocketSet::new(vec![]),
        }
    }

    /// Gives smoltcp one received frame (it answers ARP and ping at once).
    pub fn receive(&mut self, nic: &mut dyn Nic, frame: &[u8]) {
        let mut device = Frames {
            nic,
            frame: Some(frame.to_vec()),
        };
        self.interface.poll(now(), &mut device, &mut self.sockets);
    }
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
        // A card busy sending refuses the frame; IP's own retries (ARP, the pinger's next
        // echo) stand in for a queue here.
        let _ = self.0.send(&frame);
        result
    }
}
