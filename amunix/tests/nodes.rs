//! `amoeba nodes` against real nodes: two nodes of `tests/profiles/test-net.toml` with NE2000
//! cards on a virtual LAN, found by the command as a plain host process.

use amoeba_build::qemu::{LAN_GROUP, Nic};
use amoeba_tests::images::{built_test_profile, start_lan_node};
use amoeba_tests::lan::port_for;
use amoeba_tests::node::Node;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn the_lan_group_is_the_one_qemu_uses() {
    assert_eq!(amunix::lan::LAN_GROUP, LAN_GROUP);
}

#[test]
fn amoeba_nodes_lists_every_node_on_the_lan() {
    let port = port_for(11);
    let image = built_test_profile("test-net");
    let _nodes: Vec<Node> = (1..=2)
        .map(|index| {
            let words = [format!("node=lan-{index}")];
            start_lan_node(&image, Nic::Ne2000, port, index, &words, LIMIT)
        })
        .collect();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_amoeba"))
        .args(["nodes", "--json", "--wait-ms", "3000", "--lan-port"])
        .arg(port.to_string())
        .output()
        .unwrap_or_else(|e| panic!("running amoeba: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let nodes: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let names: Vec<&str> = nodes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert_eq!(names, ["lan-1", "lan-2"], "{stdout}");
    assert_eq!(nodes[0]["mac"], "52:54:00:a0:00:01", "{stdout}");
}
