//! The link check: a tiny Ethernet-level echo of ours, so a person or a test can see a node's
//! network card send and receive before any protocol runs on it.
//!
//! Frames of EtherType [`ETHERTYPE`] (0x88B5, IEEE 802 "local experimental"): a payload
//! `ping TEXT` sent to a node (or broadcast) is answered to its sender with `pong TEXT from
//! NODE`. Short frames arrive padded with zeros to Ethernet's minimum; the padding is not part
//! of TEXT or NODE.
//!
//! A node that runs a directory server adds a second line, `dir CAPABILITY` (the text form of
//! a read-only capability for its root directory): how the host peer and other nodes find a
//! node's servers, as Amoeba's boot server handed out the capabilities of its hosts. Anyone on
//! the LAN may read it, so the node gives out no more than the right to look names up.

use alloc::string::ToString;
use alloc::vec::Vec;

use crate::capability::Capability;

pub const ETHERTYPE: u16 = 0x88B5;
const PING: &[u8] = b"ping ";
const PONG: &[u8] = b"pong ";
const FROM: &[u8] = b" from ";
const DIRECTORY: &[u8] = b"\ndir ";

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

/// The answer to a ping with `text`, from node `node` whose root directory `directory` names.
pub fn pong_with_directory(text: &[u8], node: &[u8], directory: &Capability) -> Vec<u8> {
    let directory = directory.to_string();
    [PONG, text, FROM, node, DIRECTORY, directory.as_bytes()].concat()
}

/// `(text, node)` of a pong payload, without padding or directory line; `None` if it is not a
/// pong.
pub fn pong_parts(payload: &[u8]) -> Option<(&[u8], &[u8])> {
    let (first_line, _) = pong_lines(payload)?;
    let at = first_line.windows(FROM.len()).rposition(|w| w == FROM)?;
    Some((&first_line[..at], &first_line[at + FROM.len()..]))
}

/// The root directory a pong names, if it names one that parses.
pub fn pong_directory(payload: &[u8]) -> Option<Capability> {
    let (_, directory) = pong_lines(payload)?;
    core::str::from_utf8(directory?).ok()?.parse().ok()
}

/// A pong's first line, and what its `dir ` line says.
fn pong_lines(payload: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let rest = without_padding(payload.strip_prefix(PONG)?);
    match rest.windows(DIRECTORY.len()).position(|w| w == DIRECTORY) {
        Some(at) => Some((&rest[..at], Some(&rest[at + DIRECTORY.len()..]))),
        None => Some((rest, None)),
    }
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
    fn a_pong_may_name_the_node_directory() {
        let directory: Capability = "0102030405f6:000000:01:0a0b0c0d0e0f".parse().unwrap();
        let mut answer = pong_with_directory(b"3", b"pool-2", &directory);
        answer.resize(120, 0);
        assert_eq!(pong_parts(&answer), Some((&b"3"[..], &b"pool-2"[..])));
        assert_eq!(pong_directory(&answer), Some(directory));
        assert_eq!(pong_directory(&pong(b"3", b"pool-2")), None);
        assert_eq!(pong_directory(b"pong 3 from n\ndir not-a-capability"), None);
    }

    #[test]
    fn other_payloads_are_not_pings_or_pongs() {
        assert_eq!(ping_text(b"pong x"), None);
        assert_eq!(pong_parts(b"ping x"), None);
        assert_eq!(pong_parts(b"pong without a node"), None);
        assert_eq!(ping_text(b""), None);
    }
}
