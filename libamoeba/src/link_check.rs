//! The link check: a tiny Ethernet-level echo of ours, so a person or a test can see a node's
//! network card send and receive before any protocol runs on it.
//!
//! Frames of EtherType [`ETHERTYPE`] (0x88B5, IEEE 802 "local experimental"): a payload
//! `ping TEXT` sent to a node (or broadcast) is answered to its sender with `pong TEXT from
//! NODE`. Short frames arrive padded with zeros to Ethernet's minimum; the padding is not part
//! of TEXT or NODE.

use alloc::vec::Vec;

pub const ETHERTYPE: u16 = 0x88B5;
const PING: &[u8] = b"ping ";
const PONG: &[u8] = b"pong ";
const FROM: &[u8] = b" from ";

/// A ping's payload carrying `text`.
pub fn ping(text: &[u8]) -> Vec<u8> {
    [PING, text].concat()
}

/// The TEXT of a ping payload, without padding; `None` if it is not a ping.
pub fn ping_text(payload: &[u8]) -> Option<&[u8]> {
    payload.strip_prefix(PING).map(without_padding)
}

/// The answer to a ping with `text`, from node `node`.
pub fn pong(text: &[u8], node: &[u8]) -> Vec<u8> {
    [PONG, text, FROM, node].concat()
}

/// `(text, node)` of a pong payload, without padding; `None` if it is not a pong.
pub fn pong_parts(payload: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = without_padding(payload.strip_prefix(PONG)?);
    let at = rest.windows(FROM.len()).rposition(|w| w == FROM)?;
    Some((&rest[..at], &rest[at + FROM.len()..]))
}

fn without_padding(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_and_pong_round_trip_without_padding() {
        let mut padded = ping(b"7");
        padded.resize(46, 0);
        assert_eq!(ping_text(&padded), Some(&b"7"[..]));
        let mut answer = pong(b"7", b"pool-1");
        answer.resize(46, 0);
        assert_eq!(pong_parts(&answer), Some((&b"7"[..], &b"pool-1"[..])));
        // A text that itself contains " from " still splits at the last one.
        let tricky = pong(b"a from b", b"n1");
        assert_eq!(pong_parts(&tricky), Some((&b"a from b"[..], &b"n1"[..])));
    }

    #[test]
    fn other_payloads_are_not_pings_or_pongs() {
        assert_eq!(ping_text(b"pong x"), None);
        assert_eq!(pong_parts(b"ping x"), None);
        assert_eq!(pong_parts(b"pong without a node"), None);
        assert_eq!(ping_text(b""), None);
    }
}
