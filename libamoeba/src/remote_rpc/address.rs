//! Who is who on the wire, and the two things the RPC layer asks of its surroundings.
//!
//! A FLIP address is 8 bytes (7 address bytes and a "space" byte,
//! `docs/amoeba-protocol.md#flip-addresses`); a kernel id is the 8-byte ah_kid of the
//! RPC-over-FLIP header. Both are opaque here: the RPC layer only compares and copies them, so
//! it needs nothing from the FLIP module (which maps these addresses to Ethernet stations and
//! fragments messages) and the two can be wired together by implementing [`FlipLink`].

use crate::capability::Port;

/// Bytes of a FLIP address.
pub const FLIP_ADDRESS_LEN: usize = 8;

/// Bytes of a kernel id (ah_kid).
pub const KERNEL_ID_LEN: usize = 8;

/// Where FLIP delivers a message: the address a kernel's RPC endpoint listens on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlipAddress(pub [u8; FLIP_ADDRESS_LEN]);

/// A kernel's identity for at-most-once: servers remember transaction ids per kernel id.
///
/// Ours: a kernel must take a fresh id each time it boots (5.3 does the same), because its
/// transaction ids start again from 1 and a server would refuse them as old under the old id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelId(pub [u8; KERNEL_ID_LEN]);

/// What the engine needs from FLIP: point-to-point and broadcast sends of whole messages
/// (FLIP fragments and reassembles them). Sending may lose the message; the engine retries.
pub trait FlipLink {
    fn send(&mut self, to: FlipAddress, bytes: &[u8]);
    fn broadcast(&mut self, bytes: &[u8]);
}

/// Whether a server on this node listens on a put-port (the switchboard knows:
/// [`crate::rpc::switchboard::Switchboard::attached`]). Asked for LOCATE and new requests.
pub trait LocalPorts {
    fn serves(&self, port: Port) -> bool;
}

impl<F: Fn(Port) -> bool> LocalPorts for F {
    fn serves(&self, port: Port) -> bool {
        self(port)
    }
}
