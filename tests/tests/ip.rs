//! Tier 3: a node with an IPv4 address (`ip=` on its command line) answers ARP and ping
//! through smoltcp, on either card. This test process crafts the frames itself on the virtual
//! LAN (RFC 826 ARP, RFC 791 IPv4, RFC 792 ICMP echo).
//!
//! With `ip=dhcp` the node asks QEMU's user network (slirp, which has a DHCP server) for its
//! address, whether the word comes from the command line or from a profile's `[network]`.

use amoeba_build::qemu::{Lan, Nic, QemuSpec};
use amoeba_tests::Node;
use amoeba_tests::images::{built_test_profile, command, start_lan_node};
use amoeba_tests::lan::{LanSeat, port_for};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);
const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x09];
const HOST_IP: [u8; 4] = [10, 0, 9, 1];
const NODE_IP: [u8; 4] = [10, 0, 9, 2];
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_IPV4: u16 = 0x0800;

fn arp_request() -> Vec<u8> {
    let mut arp = vec![0, 1, 0x08, 0x00, 6, 4, 0, 1];
    arp.extend_from_slice(&HOST_MAC);
    arp.extend_from_slice(&HOST_IP);
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&NODE_IP);
    arp
}

/// The internet checksum: ones' complement of the ones' complement sum of 16-bit words.
fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

fn echo_request(id: u16, sequence: u16, data: &[u8]) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0];
    icmp.extend_from_slice(&id.to_be_bytes());
    icmp.extend_from_slice(&sequence.to_be_bytes());
    icmp.extend_from_slice(data);
    let sum = checksum(&icmp).to_be_bytes();
    icmp[2..4].copy_from_slice(&sum);
    let total = (20 + icmp.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 1, 0, 0, 64, 1, 0, 0]);
    ip.extend_from_slice(&HOST_IP);
    ip.extend_from_slice(&NODE_IP);
    let sum = checksum(&ip).to_be_bytes();
    ip[10..12].copy_from_slice(&sum);
    ip.extend_from_slice(&icmp);
    ip
}

/// The node's card address, from its ARP reply.
fn arp_for_node(seat: &LanSeat) -> Option<[u8; 6]> {
    for _ in 0..20 {
        seat.send([0xFF; 6], ETHERTYPE_ARP, &arp_request()).ok()?;
        let replies = seat.receive_from(ETHERTYPE_ARP, Duration::from_millis(300));
        let reply = replies
            .into_iter()
            .find(|(_, arp)| arp.len() >= 28 && arp[6..8] == [0, 2] && arp[14..18] == NODE_IP);
        if let Some((_, arp)) = reply {
            return arp[8..14].try_into().ok();
        }
    }
    None
}

#[test]
fn a_node_with_an_address_answers_arp_and_ping_on_either_card() {
    let image = built_test_profile("test-net");
    for (salt, card) in [(21, Nic::Ne2000), (22, Nic::Virtio)] {
        let port = port_for(salt);
        let seat = LanSeat::join(port, HOST_MAC).unwrap_or_else(|e| panic!("joining: {e}"));
        let node = start_lan_node(&image, card, port, 1, &["ip=10.0.9.2/24".into()], LIMIT);
        let mac = arp_for_node(&seat);
        assert_eq!(
            mac,
            Some(Lan::for_node(port, 1).mac),
            "{card:?}:\n{}",
            node.log()
        );
        let node_mac = mac.unwrap_or_default();
        let mut answered = false;
        for sequence in 0..10 {
            seat.send(
                node_mac,
                ETHERTYPE_IPV4,
                &echo_request(0x4242, sequence, b"amoeba"),
            )
            .unwrap_or_else(|e| panic!("sending: {e}"));
            let replies = seat.receive_from(ETHERTYPE_IPV4, Duration::from_millis(300));
            answered = replies.iter().any(|(_, ip)| {
                ip.len() >= 34
                    && ip[9] == 1
                    && ip[12..16] == NODE_IP
                    && ip[20] == 0
                    && ip[24..26] == 0x4242u16.to_be_bytes()
                    && ip[28..34] == *b"amoeba"
            });
            if answered {
                break;
            }
        }
        assert!(answered, "{card:?}: no echo reply\n{}", node.log());
    }
}

/// What QEMU's user network leases to its first guest, and its router.
const DHCP_LINE: &str = "got 10.0.2.15/24 from DHCP (router 10.0.2.2)";

/// Boots `profile` with `card` on QEMU's user network and extra command-line `words`.
fn start_user_net_node(profile: &str, card: Nic, words: &[&str]) -> Node {
    let image = built_test_profile(profile);
    let mut spec = QemuSpec::for_image(&image);
    spec.nic = Some(card);
    spec.append.extend(words.iter().map(|w| w.to_string()));
    Node::start(&command(&spec), LIMIT).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn ip_dhcp_on_the_command_line_gets_the_user_networks_address_on_either_card() {
    for card in [Nic::Ne2000, Nic::Virtio] {
        let mut node = start_user_net_node("test-net", card, &["ip=dhcp"]);
        let line = node
            .wait_for(DHCP_LINE)
            .unwrap_or_else(|e| panic!("{card:?}: {e}"));
        assert!(
            line.contains(&format!("net: {} got", card.driver())),
            "{card:?}: {line}"
        );
        assert!(
            !node.log().contains("FLIP in UDP"),
            "no UDP port without flip-udp=:\n{}",
            node.log()
        );
    }
}

#[test]
fn the_profiles_network_keys_give_dhcp_and_the_flip_udp_port() {
    let mut node = start_user_net_node("test-ip", Nic::Virtio, &[]);
    node.wait_for(DHCP_LINE).unwrap_or_else(|e| panic!("{e}"));
    // The banner and the card's lines come in an order that depends on when the link thread
    // starts; all are printed before the lease is.
    let log = node.log();
    for line in [
        "node=test-ip log=info ip=dhcp flip-udp=4146",
        "net: virtio-net carries FLIP in UDP on port 4146",
    ] {
        assert!(log.contains(line), "{line:?} missing:\n{log}");
    }
}

#[test]
fn without_an_ip_word_the_card_asks_no_dhcp_server() {
    let mut node = start_user_net_node("test-net", Nic::Virtio, &["flip-udp=4146"]);
    node.wait_for("amoeba: node test-net ready")
        .unwrap_or_else(|e| panic!("{e}"));
    // A DHCP exchange with slirp takes milliseconds; give it ample time to (not) happen.
    std::thread::sleep(Duration::from_secs(2));
    let log = node.log();
    assert!(
        log.contains("`flip-udp=4146` needs an address (`ip=`)"),
        "the lone flip-udp= is reported:\n{log}"
    );
    assert!(!log.contains("DHCP"), "no DHCP without ip=dhcp:\n{log}");
}
