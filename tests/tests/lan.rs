//! Tier 3: remote RPC over FLIP. Nodes of the test-lan profile boot on one virtual LAN with
//! `selftest=lan:N`: each finds the N others by the link check (their answers carry their
//! root directories) and calls every kernel server of each one over FLIP, as `selftest=rpc`
//! does locally, then a 30000-byte echo and 50 small ones. Over NE2000, over virtio-net,
//! three nodes with both cards on one LAN, and a node with a card on each of two LANs (the two
//! cards share an interrupt line, as PCI cards in QEMU do).

use amoeba_build::qemu::{Lan, Nic, QemuSpec};
use amoeba_tests::images::{built_test_profile, command, launch_lan_node};
use amoeba_tests::lan::port_for;
use amoeba_tests::node::Node;
use std::time::Duration;

/// Per node: boot, finding the others, and every check against each of them, under TCG with
/// the other nodes booting beside it.
const LIMIT: Duration = Duration::from_secs(150);
const PASSED: &str = "selftest: lan: all checks passed";

/// Boots one node per card on one LAN, each running `selftest=lan` against all the others.
fn start_nodes(port: u16, cards: &[Nic]) -> Vec<Node> {
    let image = built_test_profile("test-lan");
    let peers = cards.len() - 1;
    (1..)
        .zip(cards)
        .map(|(index, &card)| {
            let words = [format!("node=lan{index}"), format!("selftest=lan:{peers}")];
            launch_lan_node(&image, card, port, index, &words, false, LIMIT)
        })
        .collect()
}

fn every_node_calls_every_other(cards: &[Nic]) {
    let mut nodes = start_nodes(port_for(0), cards);
    for (index, node) in (1..).zip(&mut nodes) {
        if let Err(failure) = node.wait_for(PASSED) {
            panic!("node lan{index}: {failure}");
        }
    }
    for (index, node) in (1..).zip(&nodes) {
        let log = node.log();
        assert!(!log.contains("FAILED"), "node lan{index}:\n{log}");
        for peer in (1..=cards.len()).filter(|&p| p != index) {
            assert!(
                log.contains(&format!("selftest: lan: checking lan{peer}")),
                "lan{index} did not check lan{peer}:\n{log}"
            );
        }
    }
}

#[test]
fn two_ne2000_nodes_call_each_others_servers() {
    every_node_calls_every_other(&[Nic::Ne2000, Nic::Ne2000]);
}

#[test]
fn two_virtio_nodes_call_each_others_servers() {
    every_node_calls_every_other(&[Nic::Virtio, Nic::Virtio]);
}

#[test]
fn three_nodes_with_both_cards_call_each_others_servers() {
    every_node_calls_every_other(&[Nic::Ne2000, Nic::Virtio, Nic::Ne2000]);
}

#[test]
fn a_node_with_two_cards_reaches_a_node_on_each_of_its_lans() {
    let image = built_test_profile("test-lan");
    let (left, right) = (port_for(0), port_for(0));
    let mut spec = QemuSpec::for_image(&image);
    spec.nic = Some(Nic::Ne2000);
    spec.lan = Some(Lan::for_node(left, 1));
    spec.more_cards = vec![(Nic::Virtio, Lan::for_node(right, 2))];
    spec.append = vec!["node=both".into(), "selftest=lan:2".into()];
    let mut both = Node::start(&command(&spec), LIMIT).unwrap_or_else(|e| panic!("{e}"));
    let peer = |card, port, index, name: &str| {
        let words = [format!("node={name}")];
        launch_lan_node(&image, card, port, index, &words, false, LIMIT)
    };
    let _left = peer(Nic::Ne2000, left, 3, "left");
    let _right = peer(Nic::Virtio, right, 4, "right");
    if let Err(failure) = both.wait_for(PASSED) {
        panic!("node both: {failure}");
    }
    let log = both.log();
    assert!(!log.contains("FAILED"), "{log}");
    for peer in ["left", "right"] {
        let checked = format!("selftest: lan: checking {peer}");
        assert!(log.contains(&checked), "{peer} not checked:\n{log}");
    }
}
