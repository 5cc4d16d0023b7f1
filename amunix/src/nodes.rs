//! Who is on the LAN: a broadcast link check (`libamoeba::link_check`), answered by every node's
//! card with its name.

use crate::lan::LanSeat;
use libamoeba::link_check;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A node that answered, by its card's address.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Node {
    pub name: String,
    pub mac: [u8; 6],
}

/// Broadcasts link checks every `interval` for `wait` and collects the distinct nodes that
/// answered (by card address: two nodes may share a name), sorted by name.
pub fn find(seat: &LanSeat, wait: Duration, interval: Duration) -> std::io::Result<Vec<Node>> {
    let deadline = Instant::now() + wait;
    let mut found = BTreeMap::new();
    let mut round = 0u32;
    while Instant::now() < deadline {
        let text = format!("nodes {round}");
        seat.send(
            [0xFF; 6],
            link_check::ETHERTYPE,
            &link_check::ping(text.as_bytes()),
        )?;
        for (source, payload) in seat.receive_from(link_check::ETHERTYPE, interval) {
            if let Some((_, name)) = link_check::pong_parts(&payload) {
                let name = String::from_utf8_lossy(name).into_owned();
                found.insert(source, Node { name, mac: source });
            }
        }
        round += 1;
    }
    let mut nodes: Vec<Node> = found.into_values().collect();
    nodes.sort();
    Ok(nodes)
}
