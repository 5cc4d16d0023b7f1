//! Tier 3: network cards on a virtual LAN. Nodes boot with an NE2000 (QEMU `ne2k_pci`), a
//! virtio-net card (`virtio-net-pci`) or a mix on a QEMU socket-multicast LAN; this test process
//! joins the same LAN as a plain user process and checks that every node's card receives,
//! interrupts and sends (the kernel's link check, EtherType 0x88B5: `ping` is answered with
//! `pong ... from NODE`).

use amoeba_build::qemu::Nic;
use amoeba_tests::images::{built_test_profile, start_lan_node};
use amoeba_tests::lan::{LanSeat, port_for};
use amoeba_tests::node::Node;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);
const LINK_CHECK: u16 = 0x88B5;
const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];

/// Starts one node of the test-net profile per card in `cards` (node `n1` has the first) on
/// the LAN at `port`, waits for their ready lines.
fn start_nodes(port: u16, cards: &[Nic]) -> Vec<Node> {
    let image = built_test_profile("test-net");
    (1..)
        .zip(cards)
        .map(|(index, &card)| {
            let words = [format!("node=n{index}")];
            start_lan_node(&image, card, port, index, &words, LIMIT)
        })
        .collect()
}

/// Nodes with `cards` on one LAN (at `port_for(salt)`) all answer a host process's link check.
fn every_node_answers_the_link_check(salt: u16, cards: &[Nic]) {
    let port = port_for(salt);
    let seat = LanSeat::join(port, HOST_MAC).unwrap_or_else(|e| panic!("joining the LAN: {e}"));
    let nodes = start_nodes(port, cards);
    let names: Vec<String> = (1..=nodes.len()).map(|i| format!("n{i}")).collect();
    let mut answers = Vec::new();
    for round in 0..20 {
        seat.send([0xFF; 6], LINK_CHECK, format!("ping {round}").as_bytes())
            .unwrap_or_else(|e| panic!("sending: {e}"));
        answers.extend(
            seat.receive_for(LINK_CHECK, Duration::from_millis(500))
                .into_iter()
                // Short frames come padded with zeros to Ethernet's minimum.
                .map(|payload| {
                    String::from_utf8_lossy(&payload)
                        .trim_end_matches('\0')
                        .to_string()
                }),
        );
        if names
            .iter()
            .all(|n| answers.iter().any(|a| a.ends_with(&format!("from {n}"))))
        {
            break;
        }
    }
    for ((node, name), &card) in nodes.iter().zip(&names).zip(cards) {
        assert!(
            answers
                .iter()
                .any(|a| a.starts_with("pong ") && a.ends_with(&format!("from {name}"))),
            "no answer from {name}; answers {answers:?}\n{}",
            node.log()
        );
        let card_line = format!("net: {} 52:54:00:a0:00:0", card.driver());
        assert!(node.log().contains(&card_line), "{}", node.log());
        if card == Nic::Ne2000 {
            // QEMU's model has the RTL8029's 32 KiB, and the driver must find and use them.
            let ring = "ne2000: 32 KiB of buffer memory, receive ring of 122 pages";
            assert!(node.log().contains(ring), "{}", node.log());
        }
    }
}

#[test]
fn every_node_on_the_lan_answers_the_link_check() {
    every_node_answers_the_link_check(1, &[Nic::Ne2000, Nic::Ne2000]);
}

#[test]
fn virtio_net_nodes_answer_the_link_check() {
    every_node_answers_the_link_check(2, &[Nic::Virtio, Nic::Virtio]);
}

#[test]
fn a_lan_of_ne2000_and_virtio_net_nodes_answers_the_link_check() {
    every_node_answers_the_link_check(3, &[Nic::Ne2000, Nic::Virtio]);
}
