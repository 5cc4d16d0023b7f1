//! Tier 3: remote RPC over a lossy LAN. Two virtual LANs joined by a host-side relay
//! (`amunix::relay`) that drops, duplicates and reorders a share of the frames it passes on,
//! with a fixed seed. RPC must still complete every call exactly once, or report RPC_FAILURE:
//! never lose a call silently, run it twice where that shows, or hand one caller another
//! caller's answer.
//!
//! * Node to node: a test-lan node on each LAN runs `selftest=lan:1` against the other through
//!   the relay. The selftest checks every answer (the tty write, the directory, 50 distinct
//!   small echoes, a 30000-byte one), so a lost or doubled execution shows as a FAILED line.
//! * Host peer to node: this process joins LAN A with a host peer and makes 200 echo calls,
//!   each with its own data, to a node on LAN B; each must come back with exactly its own data.
//!
//! Each test prints the relay's counts, so a reader sees that frames really were dropped,
//! duplicated and reordered, and asserts they were.

use amoeba_build::qemu::Nic;
use amoeba_tests::images::{built_test_profile, launch_lan_node};
use amoeba_tests::lan::{LanSeat, port_for};
use amoeba_tests::node::Node;
use amunix::medium::LanMedium;
use amunix::peer::HostPeer;
use amunix::relay::{Mistreatment, Relay, RelayCounts, RelayHandle};
use libamoeba::client;
use libamoeba::rpc::codes::ErrorCode;
use std::time::{Duration, Instant};

/// Per node: boot, finding the other through the relay, and every check against it, under TCG
/// with the other node booting beside it. A pair takes a few seconds (at 3 % loss too).
const LIMIT: Duration = Duration::from_secs(80);
/// The selftest's lines: `checking NAME`, then `all checks passed` or `some checks FAILED`.
const SELFTEST: &str = "selftest: lan: ";
const PASSED: &str = "selftest: lan: all checks passed";

/// Node to node. The selftest's 30000-byte echo is 21 frames each way: at 10 % loss only one
/// try in nine brings all of them, but the tries of a message share its FLIP message id, so
/// the receiver joins what each try brought and the call completes in two or three tries.
const NODE_TO_NODE: Mistreatment = Mistreatment {
    drop_percent: 10.0,
    duplicate_percent: 10.0,
    reorder_percent: 10.0,
    seed: 20_240_611,
};

/// Host peer to node: small messages (one frame) and a few of four frames.
const HOST_TO_NODE: Mistreatment = Mistreatment {
    drop_percent: 10.0,
    duplicate_percent: 10.0,
    reorder_percent: 10.0,
    seed: 7_000_007,
};

const HOST_CALLS: usize = 200;
/// Every this many calls, one of [`HOST_LARGE_BYTES`] (four fragments) instead of a small one.
const HOST_LARGE_EVERY: usize = 10;
const HOST_LARGE_BYTES: usize = 5000;

/// A relay between the LANs at `port_a` and `port_b`, running until dropped or stopped.
fn start_relay(port_a: u16, port_b: u16, mistreatment: Mistreatment) -> RelayHandle {
    Relay::new(port_a, port_b, mistreatment)
        .and_then(Relay::spawn)
        .unwrap_or_else(|e| panic!("starting the relay: {e}"))
}

/// Stops the relay, prints its counts and checks that it did mistreat frames both ways.
fn stop_and_report(relay: RelayHandle, mistreatment: Mistreatment) -> RelayCounts {
    let counts = relay
        .stop()
        .unwrap_or_else(|e| panic!("the relay failed: {e}"));
    println!("relay ({mistreatment}):");
    println!("  A -> B: {}", counts.a_to_b);
    println!("  B -> A: {}", counts.b_to_a);
    for (direction, counts) in [("A -> B", counts.a_to_b), ("B -> A", counts.b_to_a)] {
        assert!(
            counts.forwarded > 0,
            "{direction}: nothing passed: {counts}"
        );
        assert_eq!(counts.send_errors, 0, "{direction}: {counts}");
    }
    let both = |kind: fn(&amunix::relay::DirectionCounts) -> u64| {
        kind(&counts.a_to_b) + kind(&counts.b_to_a)
    };
    assert!(both(|c| c.dropped) > 0, "no frame dropped: {counts:?}");
    assert!(
        both(|c| c.duplicated) > 0,
        "no frame duplicated: {counts:?}"
    );
    assert!(both(|c| c.reordered) > 0, "no frame reordered: {counts:?}");
    counts
}

/// Fails the test with the node's whole log, and what the relay had done by then.
fn node_failed(name: &str, why: &dyn std::fmt::Display, relay: &RelayHandle) -> ! {
    let counts = relay.counts();
    panic!(
        "node {name}: {why}\nrelay so far: A -> B: {}; B -> A: {}",
        counts.a_to_b, counts.b_to_a
    )
}

#[test]
fn nodes_on_two_lans_behind_a_lossy_relay_pass_every_remote_check() {
    let image = built_test_profile("test-lan");
    let (port_a, port_b) = (port_for(0), port_for(0));
    let relay = start_relay(port_a, port_b, NODE_TO_NODE);
    let started = Instant::now();
    // Node 1 on LAN A, node 2 on LAN B (different card addresses, as the relay's echo ledger
    // wants), one card of each kind.
    let mut nodes: Vec<(String, Node)> = [(1, Nic::Ne2000, port_a), (2, Nic::Virtio, port_b)]
        .into_iter()
        .map(|(index, card, port)| {
            let name = format!("lossy{index}");
            let words = [format!("node={name}"), "selftest=lan:1".to_string()];
            let node = launch_lan_node(&image, card, port, index, &words, false, LIMIT);
            (name, node)
        })
        .collect();
    for (name, node) in &mut nodes {
        let verdict = loop {
            match node.wait_for(SELFTEST) {
                Ok(line) if line.contains("checking") => continue,
                Ok(line) => break line,
                Err(failure) => node_failed(name, &failure, &relay),
            }
        };
        if !verdict.contains(PASSED) {
            node_failed(name, &format!("{verdict}\n{}", node.log()), &relay);
        }
    }
    println!("both nodes passed after {:.1?}", started.elapsed());
    for (index, (name, node)) in nodes.iter().enumerate() {
        let log = node.log();
        if log.contains("FAILED") {
            node_failed(name, &format!("a check failed:\n{log}"), &relay);
        }
        let peer = nodes[1 - index].0.as_str();
        assert!(
            log.contains(&format!("selftest: lan: checking {peer}")),
            "{name} did not check {peer}:\n{log}"
        );
    }
    drop(nodes);
    stop_and_report(relay, NODE_TO_NODE);
}

/// The data of host call `call`: its number throughout, so an answer meant for another call
/// (or the same call's bytes cut short or run together) never matches.
fn call_data(call: usize) -> Vec<u8> {
    let length = if call % HOST_LARGE_EVERY == HOST_LARGE_EVERY - 1 {
        HOST_LARGE_BYTES
    } else {
        16 + call % 48
    };
    let tag = format!("call {call:03};");
    tag.bytes().cycle().take(length).collect()
}

#[test]
fn host_peer_echo_calls_through_a_lossy_relay_come_back_exactly_once() {
    let image = built_test_profile("test-lan");
    let (port_a, port_b) = (port_for(0), port_for(0));
    let relay = start_relay(port_a, port_b, HOST_TO_NODE);
    let mut node = launch_lan_node(
        &image,
        Nic::Virtio,
        port_b,
        2,
        &["node=lossy-echo".to_string()],
        false,
        LIMIT,
    );
    if let Err(failure) = node.wait_for("amoeba: node") {
        node_failed("lossy-echo", &failure, &relay);
    }
    let seat = LanSeat::join(port_a, amunix::entropy::random_mac())
        .unwrap_or_else(|e| panic!("joining LAN A: {e}"));
    let medium = LanMedium::new(seat);
    let found = amunix::nodes::find_named(
        medium.seat(),
        "lossy-echo",
        Duration::from_secs(20),
        Duration::from_millis(250),
    )
    .unwrap_or_else(|e| panic!("looking for the node: {e}"));
    let directory = match found {
        Ok(found) => found
            .directory
            .unwrap_or_else(|| panic!("lossy-echo named no directory")),
        Err(seen) => node_failed(
            "lossy-echo",
            &format!("did not answer through the relay (seen: {seen:?})"),
            &relay,
        ),
    };
    let peer = HostPeer::new(medium);
    let echo = client::dir_lookup(&peer, &directory, "echo")
        .unwrap_or_else(|e| node_failed("lossy-echo", &format!("looking up echo: {e}"), &relay));
    let sys = client::dir_lookup(&peer, &directory, "sys")
        .unwrap_or_else(|e| node_failed("lossy-echo", &format!("looking up sys: {e}"), &relay));
    // Requests the node ran for other nodes, this KSTAT call among them.
    let executed = || match client::kstat(&peer, &sys) {
        Ok(kstat) => kstat.flip.executed,
        Err(e) => node_failed("lossy-echo", &format!("KSTAT: {e}"), &relay),
    };
    let executed_before = executed();

    let started = Instant::now();
    let mut back = vec![0u8; 2 * HOST_LARGE_BYTES];
    let (mut right, mut failed, mut wrong, mut other) = (0, Vec::new(), Vec::new(), Vec::new());
    for call in 0..HOST_CALLS {
        let data = call_data(call);
        back.fill(0);
        match client::echo(&peer, &echo, &data, &mut back) {
            Ok(length) if back[..length] == data[..] => right += 1,
            Ok(length) => wrong.push(format!(
                "call {call}: {length} bytes back, starting {:?}",
                String::from_utf8_lossy(&back[..length.min(24)])
            )),
            Err(ErrorCode::RPC_FAILURE) => failed.push((call, data.len())),
            Err(error) => other.push(format!("call {call}: {error}")),
        }
    }
    let took = started.elapsed();
    // Less the KSTAT call that reads the count.
    let echoes_run = executed() - executed_before - 1;
    println!(
        "{HOST_CALLS} echo calls host -> node through the relay in {took:.1?}: {right} right, \
         {} RPC_FAILURE {failed:?} (call, bytes), {} wrong answers, {} other errors; \
         the node ran {echoes_run} echo requests",
        failed.len(),
        wrong.len(),
        other.len()
    );
    drop(node);
    let counts = stop_and_report(relay, HOST_TO_NODE);
    assert!(
        wrong.is_empty(),
        "answers that were not the call's own: {wrong:#?}"
    );
    assert!(
        other.is_empty(),
        "errors other than RPC_FAILURE: {other:#?}"
    );
    // Exactly once: every call that came back ran once, a failed one at most once.
    let most = right + failed.len() as u64;
    assert!(
        (right..=most).contains(&echoes_run),
        "{right} calls came back right and {} failed, but the node ran {echoes_run} echoes",
        failed.len()
    );
    // RPC_FAILURE is an allowed outcome, but at this loss it should be rare: each fragment of
    // a message gets through in one of the tries (the tries share a FLIP message id).
    assert!(
        failed.len() <= HOST_CALLS / 100,
        "{} of {HOST_CALLS} calls failed (RPC_FAILURE) at 10 % loss",
        failed.len()
    );
    let requests = counts.a_to_b.received;
    assert!(
        requests >= HOST_CALLS as u64,
        "fewer frames host -> node than calls: {requests}"
    );
}
