//! The node's network side: every NIC driver implements [`Nic`]; the cards are the node's
//! `interfaces`, one kernel thread per card (`link`) waits for its interrupts and hands the
//! frames it receives on: FLIP to `flip` (remote RPC), link checks answered (and `peers`
//! learned from them), the rest to `ip` (smoltcp).

pub mod flip;
pub mod interfaces;
pub mod ip;
pub mod link;
pub mod peers;

/// The size of the largest Ethernet frame a NIC sends or delivers, without the CRC.
pub const MAX_FRAME: usize = 1514;
/// Frames shorter than this are padded by the sender (Ethernet's minimum without the CRC).
pub const MIN_FRAME: usize = 60;
/// Bytes of destination, source and EtherType.
pub const ETHERNET_HEADER: usize = 14;

/// Why a NIC did not send a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// Longer than [`MAX_FRAME`] or shorter than an Ethernet header.
    BadLength(usize),
    /// The card is still sending the previous frame (or all its transmit buffers are queued).
    Busy,
    /// The card refused the frame: its queues are broken.
    #[cfg_attr(not(feature = "driver-virtio-net"), allow(dead_code))]
    Failed,
}

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
