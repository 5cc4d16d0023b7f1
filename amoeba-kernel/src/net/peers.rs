//! The other nodes on this node's LANs, as their link-check answers name them: node name and
//! root directory capability (`libamoeba::link_check`). How a kernel finds another node's
//! servers without a capability handed to it (the run server finds its pool so, and
//! `selftest=lan` uses it).
#![cfg_attr(
    not(any(
        feature = "server-run",
        all(feature = "selftest", feature = "server-dir")
    )),
    allow(
        dead_code,
        reason = "only the run server and `selftest=lan` (which needs a directory) ask"
    )
)]

use super::interfaces;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use libamoeba::capability::Capability;
use libamoeba::link_check;
use spin::Mutex;

/// Nodes remembered at most (a LAN bigger than this is still served; only the table stops
/// growing).
const MAX_PEERS: usize = 64;
/// Longest node name kept.
const MAX_NAME: usize = 64;

static PEERS: Mutex<BTreeMap<String, Capability>> = Mutex::new(BTreeMap::new());

/// A pong from node `name`, naming its root directory (answers without one are not peers
/// whose servers we can reach).
pub fn heard(name: &[u8], directory: Option<Capability>) {
    let (Some(directory), Ok(name)) = (directory, core::str::from_utf8(name)) else {
        return;
    };
    if name.is_empty() || name.len() > MAX_NAME {
        return;
    }
    let mut peers = PEERS.lock();
    if peers.len() < MAX_PEERS || peers.contains_key(name) {
        peers.insert(String::from(name), directory);
    }
}

/// Broadcasts a link check on every card; the answers arrive through [`heard`].
pub fn ask() {
    let ping = link_check::ping(b"peers");
    for interface in interfaces::all() {
        let mut frame = Vec::with_capacity(64);
        frame.extend_from_slice(&[0xFF; 6]);
        frame.extend_from_slice(&interface.mac);
        frame.extend_from_slice(&link_check::ETHERTYPE.to_be_bytes());
        frame.extend_from_slice(&ping);
        interface.send(&frame);
    }
}

/// The nodes heard so far, by name, with their root directories.
pub fn known() -> Vec<(String, Capability)> {
    PEERS
        .lock()
        .iter()
        .map(|(name, directory)| (name.clone(), *directory))
        .collect()
}
