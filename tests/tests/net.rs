//! Tier 3: network cards on a virtual LAN. Nodes boot with an NE2000 (QEMU `ne2k_pci`) on a
//! QEMU socket-multicast LAN; this test process joins the same LAN as a plain user process and
//! checks that every node's card receives, interrupts and sends (the kernel's link check,
//! EtherType 0x88B5: `ping` is answered with `pong ... from NODE`).

use amoeba_build::qemu::{Lan, Nic, QemuSpec, command};
use amoeba_tests::images::built_test_profile;
use amoeba_tests::lan::{LanSeat, port_for};
use amoeba_tests::node::Node;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);
const LINK_CHECK: u16 = 0x88B5;
const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];

/// Starts `count` nodes of the test-net profile on the LAN at `port`, waits for their ready lines.
fn start_nodes(port: u16, count: u8) -> Vec<Node> {
    let image = built_test_profile("test-net");
    (1..=count)
        .map(|index| {
            let mut spec = QemuSpec::for_image(&image);
            spec.nic = Some(Nic::Ne2000);
            spec.lan = Some(Lan::for_node(port, index));
            spec.append.push(format!("node=n{index}"));
            let mut node = Node::start(&command(&spec), LIMIT).unwrap_or_else(|e| panic!("{e}"));
            node.wait_for("amoeba: node")
                .unwrap_or_else(|e| panic!("{e}"));
            node
        })
        .collect()
}

#[test]
fn every_node_on_the_lan_answers_the_link_check() {
    let port = port_for(1);
    let seat = LanSeat::join(port, HOST_MAC).unwrap_or_else(|e| panic!("joining the LAN: {e}"));
    let nodes = start_nodes(port, 2);
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
        if ["n1", "n2"]
            .iter()
            .all(|n| answers.iter().any(|a| a.ends_with(&format!("from {n}"))))
        {
            break;
        }
    }
    for (index, node) in nodes.iter().enumerate() {
        let name = format!("n{}", index + 1);
        assert!(
            answers
                .iter()
                .any(|a| a.starts_with("pong ") && a.ends_with(&format!("from {name}"))),
            "no answer from {name}; answers {answers:?}\n{}",
            node.log()
        );
        assert!(
            node.log().contains("net: ne2000 52:54:00:a0:00:0"),
            "{}",
            node.log()
        );
    }
}
