//! The numbers that bound how long a remote transaction may take, in milliseconds.
//!
//! From `docs/amoeba-protocol.md#timers`: 5.3 uses 10 retries, ENQUIRE
//! after 1 s and ALIVE 20 s. How they combine is ours:
//! * A message that must arrive (REQUEST, REPLY) is retransmitted after [`FIRST_RETRANSMIT_MS`],
//!   the wait doubling up to [`ENQUIRE_INTERVAL_MS`], at most [`MAX_RETRIES`] times.
//! * Once the server has said ALIVE, the client sends ENQUIRE every [`ENQUIRE_INTERVAL_MS`]
//!   and gives up when the server has been silent for [`ALIVE_TIMEOUT_MS`].
//! * A LOCATE is broadcast again every [`LOCATE_REBROADCAST_MS`] until the caller's locate
//!   timeout ([`crate::rpc::transport::DEFAULT_LOCATE_TIMEOUT_MS`] by default).

/// Retransmissions of a REQUEST or REPLY before the sender gives up (5.3).
pub const MAX_RETRIES: u32 = 10;

/// The first retransmission comes this long after the original (ours: a LAN round trip is far
/// shorter, a busy server's queue is not).
pub const FIRST_RETRANSMIT_MS: u64 = 100;

/// A client enquires this often about a request its server is working on (5.3's ENQUIRE 1 s);
/// also the cap of the retransmission backoff.
pub const ENQUIRE_INTERVAL_MS: u64 = 1000;

/// A client whose server has answered nothing for this long fails the transaction with
/// RPC_FAILURE (5.3's ALIVE 20 s).
pub const ALIVE_TIMEOUT_MS: u64 = 20_000;

/// A port locate is broadcast again this often until it is answered (ours).
pub const LOCATE_REBROADCAST_MS: u64 = 500;

/// The wait before retransmission number `retries + 1`: doubling from [`FIRST_RETRANSMIT_MS`],
/// capped at [`ENQUIRE_INTERVAL_MS`].
pub fn retransmit_delay(retries: u32) -> u64 {
    // Past 16 doublings the cap has long been reached; stopping there keeps the shift from
    // pushing bits out of the u64.
    (FIRST_RETRANSMIT_MS << retries.min(16)).min(ENQUIRE_INTERVAL_MS)
}

/// Longest time a REQUEST or REPLY is retransmitted before its sender gives up: the sum of
/// all waits.
pub fn retransmit_window() -> u64 {
    (0..=MAX_RETRIES).map(retransmit_delay).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_stays_at_the_enquire_interval() {
        let delays: Vec<u64> = (0..6).map(retransmit_delay).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(retransmit_delay(62), 1000);
        assert_eq!(retransmit_delay(u32::MAX), 1000);
        assert_eq!(retransmit_window(), 100 + 200 + 400 + 800 + 7 * 1000);
    }
}
