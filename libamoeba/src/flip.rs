//! FLIP, the Fast Local Internet Protocol Amoeba nodes speak on the LAN: addresses, headers,
//! fragmentation and reassembly, and the locate logic that finds where an address lives.
//!
//! From `docs/amoeba-protocol.md#flip-on-ethernet` (which also gives 5.3's 4-second reassembly
//! timer). Each file holds one concept:
//!
//! * [`address`]: 8-byte FLIP addresses and the private → public one-way step.
//! * [`header`]: the flow-control and FLIP headers, the Ethernet frame they start.
//! * [`fragment`]: cutting messages into frames, putting them back together.
//! * [`route`]: the route cache and the LOCATE / HEREIS / NOTHERE state machine.
//! * [`station`]: the three put together: one endpoint sending and receiving whole messages.
//!
//! Nothing here does I/O or reads a clock: the kernel and the host peer pass frames and the
//! time in, and carry out the actions that come back. Malformed input is refused with a typed
//! error or dropped and counted, never a panic. Choices the sources leave open are ours and
//! are listed in each file's "Our choices"; interoperability with Amoeba 5.3 is not claimed.

pub mod address;
pub mod fragment;
pub mod header;
pub mod route;
pub mod station;

#[cfg(test)]
mod robustness_tests;

/// Milliseconds on the caller's monotonic clock: the only notion of time in this module.
pub type Millis = u64;
