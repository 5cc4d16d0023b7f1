//! What every network card driver shares: the sizes of the Ethernet frames it carries and the
//! reasons a frame is not sent. The kernel's `net` module offers these to the rest of the
//! kernel together with its `Nic` trait.

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
    Failed,
}
