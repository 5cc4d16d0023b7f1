//! Remote RPC benchmark: echo calls over FLIP between two nodes over each card (the client
//! node times them itself, `selftest=lanbench`), from the host peer to a node, and between two
//! host peers on the same virtual LAN (the transport's own ceiling, the baseline of the
//! ratios). Null calls (round trip) and 30000 bytes each way (throughput).
//!
//! Node figures come twice: in wall time under TCG (noisy: compare ratios within one run) and
//! under `-icount` as the cycles each call costs the client node (its elapsed guest cycles
//! less those it spent idle waiting for the network), which repeat from run to run.
//!
//! Run: `cargo bench -p amoeba-tests --bench lan`.

use amoeba_build::qemu::Nic;
use amoeba_tests::images::{built_test_profile, launch_lan_node};
use amoeba_tests::lan::port_for;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(300);

/// The client node's `lanbench:` lines for one pair of nodes with `card`.
fn node_to_node(card: Nic, icount: bool) -> Vec<String> {
    let image = built_test_profile("test-lan");
    let port = port_for(0);
    let start = |index: u8, words: &[&str]| {
        let mut words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        words.push(format!("node=bench{index}"));
        let mut node = launch_lan_node(&image, card, port, index, &words, icount, LIMIT);
        node.wait_for("amoeba: node")
            .unwrap_or_else(|e| panic!("{e}"));
        node
    };
    let _server = start(1, &[]);
    let mut client = start(2, &["selftest=lanbench"]);
    let _ = client.wait_for("selftest: lanbench: done");
    client
        .log()
        .lines()
        .filter(|line| line.starts_with("lanbench:") || line.contains("selftest: lanbench"))
        .map(str::to_string)
        .collect()
}

fn main() {
    println!("# cargo bench -p amoeba-tests --bench lan   (profile tests/profiles/test-lan.toml)");
    for icount in [false, true] {
        let clock = if icount {
            "-icount shift=0,sleep=on: busy cycles are the figure"
        } else {
            "wall time under TCG"
        };
        for card in [Nic::Virtio, Nic::Ne2000] {
            println!("## node -> node over {card:?}, {clock}");
            for line in node_to_node(card, icount) {
                println!("{line}");
            }
        }
    }
}
