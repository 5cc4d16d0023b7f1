//! The node's network side: every NIC driver implements [`Nic`]; the cards are the node's
//! `interfaces`, one kernel thread per card (`link`) waits for its interrupts and hands the
//! frames it receives on: FLIP to `flip` (remote RPC), link checks answered (and `peers`
//! learned from them), the rest to `ip` (smoltcp).

pub mod flip;
pub mod interfaces;
pub mod ip;
pub mod link;
pub mod peers;

// Frame sizes (`MAX_FRAME`, `MIN_FRAME`, `ETHERNET_HEADER`) and `SendError`: shared with the
// drivers' logic in amoeba-kernel-core. A glob, as not every driver selection uses them all.
pub use amoeba_kernel_core::drivers::ethernet::*;

/// What every network card driver offers the rest of the kernel.
pub trait Nic: Send {
    /// The driver's name for logs ("ne2000", "virtio-net").
    fn name(&self) -> &'static str;
    fn mac(&self) -> [u8; 6];
    /// The legacy interrupt line the card raises.
    fn interrupt_line(&self) -> u8;
    /// Queues `frame` (destination, source, EtherType, payload) for sending; short frames are
    /// padded to [`MIN_FRAME`].
    fn send(&mut self, frame: &[u8]) -> Result<(), SendError>;
    /// The next received frame, copied into `buffer`: its length. `None` when none is waiting.
    fn receive(&mut self, buffer: &mut [u8; MAX_FRAME]) -> Option<usize>;
    /// Acknowledges the card's interrupt causes (after which it may interrupt again), recovers
    /// from receive-ring overflow; returns whether frames may be waiting.
    fn service_interrupt(&mut self) -> bool;
    /// Frames dropped so far: ring overflows, receive errors, frames too large.
    fn dropped(&self) -> u64;
}
