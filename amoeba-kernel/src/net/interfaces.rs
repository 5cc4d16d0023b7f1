//! The node's network cards, numbered in the order their drivers found them, each behind a lock
//! so that any kernel thread can send (FLIP replies go out from server threads, retransmissions
//! from the FLIP thread) while the card's link thread receives.
//!
//! Cards live for the rest of the boot: they are registered once and never removed.

use super::ip::IpStack;
use super::{Nic, SendError};
use crate::sched;
use alloc::boxed::Box;
use alloc::vec::Vec;
use spin::Mutex;

/// How often a sender tries a card that is busy sending before it drops the frame (the
/// protocols above retransmit). NE2000 sends one frame at a time, virtio-net a few.
const BUSY_RETRIES: u32 = 2_000;

/// Cards at most: FLIP names a card by a byte.
pub const MAX_INTERFACES: usize = 8;

pub struct Interface {
    pub index: u8,
    pub mac: [u8; 6],
    pub interrupt_line: u8,
    nic: Mutex<Box<dyn Nic>>,
    /// The card's IP side, if the command line gave it one. Locked before the card.
    ip: Mutex<Option<IpStack>>,
}

static INTERFACES: Mutex<Vec<&'static Interface>> = Mutex::new(Vec::new());

/// Makes `nic` one of the node's interfaces; `None` when [`MAX_INTERFACES`] are taken.
pub fn register(nic: Box<dyn Nic>) -> Option<&'static Interface> {
    let mut interfaces = INTERFACES.lock();
    let index = u8::try_from(interfaces.len())
        .ok()
        .filter(|&i| usize::from(i) < MAX_INTERFACES)?;
    let interface = Box::leak(Box::new(Interface {
        index,
        mac: nic.mac(),
        interrupt_line: nic.interrupt_line(),
        nic: Mutex::new(nic),
        ip: Mutex::new(None),
    }));
    interfaces.push(interface);
    Some(interface)
}

/// Interface number `index`.
pub fn get(index: u8) -> Option<&'static Interface> {
    INTERFACES.lock().get(usize::from(index)).copied()
}

/// Every interface.
pub fn all() -> Vec<&'static Interface> {
    INTERFACES.lock().clone()
}

impl Interface {
    /// Runs `f` with the card to itself.
    pub fn with_nic<R>(&self, f: impl FnOnce(&mut dyn Nic) -> R) -> R {
        f(self.nic.lock().as_mut())
    }

    /// Gives the card its IP side.
    pub fn set_ip(&self, ip: IpStack) {
        *self.ip.lock() = Some(ip);
    }

    /// Runs `f` with the card's IP side and the card; `None` if it has no IP side.
    pub fn with_ip<R>(&self, f: impl FnOnce(&mut IpStack, &mut dyn Nic) -> R) -> Option<R> {
        let mut ip = self.ip.lock();
        let ip = ip.as_mut()?;
        Some(f(ip, self.nic.lock().as_mut()))
    }

    /// Sends `frame`, waiting for a card that is busy sending; whether it went out.
    pub fn send(&self, frame: &[u8]) -> bool {
        for _ in 0..BUSY_RETRIES {
            match self.with_nic(|nic| nic.send(frame)) {
                Ok(()) => return true,
                Err(SendError::Busy) => sched::yield_now(),
                Err(SendError::BadLength(_) | SendError::Failed) => return false,
            }
        }
        false
    }
}
