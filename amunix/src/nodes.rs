//! Who is on the LAN: a broadcast link check (`libamoeba::link_check`), answered by every node's
//! card with its name and, when the node runs a directory server, a read-only capability of
//! its root directory.

use crate::lan::LanSeat;
use libamoeba::capability::Capability;
use libamoeba::ethernet::MacText;
use libamoeba::link_check;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{Duration, Instant};

/// A node that answered, by its card's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub mac: [u8; 6],
    /// Its root directory (read-only), if its answer named one.
    pub directory: Option<Capability>,
}

impl Node {
    /// The node a pong `payload` from `mac` describes; `None` if it is not a pong.
    pub fn from_pong(mac: [u8; 6], payload: &[u8]) -> Option<Self> {
        let (_, name) = link_check::pong_parts(payload)?;
        Some(Self {
            name: String::from_utf8_lossy(name).into_owned(),
            mac,
            directory: link_check::pong_directory(payload),
        })
    }
}

/// Broadcasts link checks every `interval` for `wait` and collects the distinct nodes that
/// answered (by card address: two nodes may share a name), sorted by name.
pub fn find(seat: &LanSeat, wait: Duration, interval: Duration) -> std::io::Result<Vec<Node>> {
    find_until(seat, wait, interval, |_| false)
}

/// [`find`], stopping as soon as a node that answers satisfies `enough`.
pub fn find_until(
    seat: &LanSeat,
    wait: Duration,
    interval: Duration,
    mut enough: impl FnMut(&Node) -> bool,
) -> std::io::Result<Vec<Node>> {
    let deadline = Instant::now() + wait;
    let mut found = BTreeMap::new();
    let mut round = 0u32;
    let mut done = false;
    while !done && Instant::now() < deadline {
        let text = format!("nodes {round}");
        seat.send(
            [0xFF; 6],
            link_check::ETHERTYPE,
            &link_check::ping(text.as_bytes()),
        )?;
        let listen = interval.min(deadline.saturating_duration_since(Instant::now()));
        done = seat.receive_while(link_check::ETHERTYPE, listen, |source, payload| {
            let Some(node) = Node::from_pong(source, payload) else {
                return true;
            };
            let stop = enough(&node);
            found.insert(source, node);
            !stop
        });
        round += 1;
    }
    Ok(sorted(found.into_values().collect()))
}

/// The node called `name`, looking for up to `wait`; or every node seen if none is.
pub fn find_named(
    seat: &LanSeat,
    name: &str,
    wait: Duration,
    interval: Duration,
) -> std::io::Result<Result<Node, Vec<Node>>> {
    let seen = find_until(seat, wait, interval, |node| node.name == name)?;
    Ok(match seen.iter().find(|node| node.name == name) {
        Some(node) => Ok(node.clone()),
        None => Err(seen),
    })
}

/// `[{"name": ..., "mac": ..., "directory": CAP or null}, ...]`.
pub fn to_json(nodes: &[Node]) -> serde_json::Value {
    let rows = nodes.iter().map(|n| {
        serde_json::json!({
            "name": n.name,
            "mac": MacText(&n.mac).to_string(),
            "directory": n.directory.map(|cap| cap.to_string()),
        })
    });
    serde_json::Value::Array(rows.collect())
}

/// One line a node: name, card address, root directory (`-` if none).
pub fn to_text(nodes: &[Node]) -> String {
    let mut text = String::new();
    for n in nodes {
        let directory = n.directory.map_or("-".to_string(), |cap| cap.to_string());
        let _ = writeln!(text, "{:<24} {}  {directory}", n.name, MacText(&n.mac));
    }
    text
}

fn sorted(mut nodes: Vec<Node>) -> Vec<Node> {
    nodes.sort_by(|a, b| (&a.name, a.mac).cmp(&(&b.name, b.mac)));
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pong_gives_the_name_and_any_directory() {
        let directory: Capability = "0102030405f6:000000:01:0a0b0c0d0e0f".parse().unwrap();
        let mac = [0x52, 0x54, 0, 0xa0, 0, 2];
        let pong = link_check::pong_with_directory(b"nodes 0", b"pool-2", &directory);
        let node = Node::from_pong(mac, &pong).unwrap();
        assert_eq!(node.name, "pool-2");
        assert_eq!(node.directory, Some(directory));
        let bare = Node::from_pong(mac, &link_check::pong(b"nodes 0", b"pool-2")).unwrap();
        assert_eq!(bare.directory, None);
        assert_eq!(Node::from_pong(mac, b"ping x"), None);
    }

    #[test]
    fn json_and_text_show_the_directory() {
        let directory: Capability = "0102030405f6:000000:01:0a0b0c0d0e0f".parse().unwrap();
        let nodes = [
            Node {
                name: "pool-1".into(),
                mac: [0x52, 0x54, 0, 0xa0, 0, 1],
                directory: Some(directory),
            },
            Node {
                name: "bare".into(),
                mac: [0x52, 0x54, 0, 0xa0, 0, 2],
                directory: None,
            },
        ];
        let json = to_json(&nodes);
        assert_eq!(json[0]["name"], "pool-1");
        assert_eq!(json[0]["mac"], "52:54:00:a0:00:01");
        assert_eq!(json[0]["directory"], "0102030405f6:000000:01:0a0b0c0d0e0f");
        assert!(json[1]["directory"].is_null());
        let text = to_text(&nodes);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("pool-1 "), "{text}");
        assert!(lines[0].ends_with("52:54:00:a0:00:01  0102030405f6:000000:01:0a0b0c0d0e0f"));
        assert!(lines[1].ends_with("52:54:00:a0:00:02  -"), "{text}");
    }

    #[test]
    fn nodes_sort_by_name_then_card() {
        let node = |name: &str, last| Node {
            name: name.into(),
            mac: [2, 0, 0, 0, 0, last],
            directory: None,
        };
        let names: Vec<_> = sorted(vec![node("b", 1), node("a", 2), node("a", 1)])
            .into_iter()
            .map(|n| (n.name, n.mac[5]))
            .collect();
        assert_eq!(
            names,
            [("a".into(), 1), ("a".into(), 2), ("b".to_string(), 1)]
        );
    }
}
