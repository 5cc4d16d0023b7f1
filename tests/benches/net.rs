//! Network benchmark: round trips of the link check (`libamoeba::link_check`) from this host
//! process to a node over each card, against the same round trip to another host process on
//! the same virtual LAN (the transport's own ceiling: QEMU socket multicast on loopback). Wall
//! time under TCG, so noisy: medians of many rounds, and the ratio to the host-to-host figure
//! measured in the same run. (Remote RPC figures come when FLIP runs on the cards.)
//!
//! Run: `cargo bench -p amoeba-tests --bench net`.

use amoeba_build::qemu::Nic;
use amoeba_tests::images::{built_test_profile, start_lan_node};
use amoeba_tests::lan::{LanSeat, port_for};
use libamoeba::link_check;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(120);
const ROUNDS: usize = 200;
const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x21];
const ECHO_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x22];

/// Median round trip of `ROUNDS` pings to `target` (answers from elsewhere are ignored).
fn median_round_trip(seat: &LanSeat, target: [u8; 6]) -> Option<Duration> {
    let mut times = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let text = format!("bench {round}");
        let start = Instant::now();
        seat.send(
            target,
            link_check::ETHERTYPE,
            &link_check::ping(text.as_bytes()),
        )
        .ok()?;
        let answered = seat.receive_while(
            link_check::ETHERTYPE,
            Duration::from_millis(200),
            |from, payload| {
                let ours =
                    link_check::pong_parts(payload).is_some_and(|(t, _)| t == text.as_bytes());
                !(from == target && ours)
            },
        );
        if answered {
            times.push(start.elapsed());
        }
    }
    times.sort();
    times.get(times.len() / 2).copied()
}

/// A host process's answer to pings, as a node's card gives it, until the bench ends.
fn start_host_echo(port: u16) {
    let seat = LanSeat::join(port, ECHO_MAC).unwrap_or_else(|e| panic!("joining: {e}"));
    std::thread::spawn(move || {
        loop {
            seat.receive_while(
                link_check::ETHERTYPE,
                Duration::from_secs(1),
                |from, payload| {
                    if let Some(text) = link_check::ping_text(payload) {
                        let _ = seat.send(
                            from,
                            link_check::ETHERTYPE,
                            &link_check::pong(text, b"host"),
                        );
                    }
                    true
                },
            );
        }
    });
}

fn main() {
    println!("# cargo bench -p amoeba-tests --bench net   (profile tests/profiles/test-net.toml)");
    println!(
        "# link-check round trip from a host process, median of {ROUNDS}, wall time under TCG"
    );
    let image = built_test_profile("test-net");
    let port = port_for(0);
    let seat = LanSeat::join(port, HOST_MAC).unwrap_or_else(|e| panic!("joining: {e}"));
    start_host_echo(port);
    let baseline = median_round_trip(&seat, ECHO_MAC);
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    match baseline {
        Some(b) => println!("host -> host peer      {:8.1} us  (baseline)", micros(b)),
        None => println!("host -> host peer      no answer"),
    }
    for (index, card) in [(1, Nic::Ne2000), (2, Nic::Virtio)] {
        let node = start_lan_node(
            &image,
            card,
            port,
            index,
            &[format!("node=bench{index}")],
            LIMIT,
        );
        let target = amoeba_build::qemu::Lan::for_node(port, index).mac;
        let figure = median_round_trip(&seat, target);
        match (figure, baseline) {
            (Some(f), Some(b)) => println!(
                "host -> node {:<10} {:8.1} us  ({:.1} x host -> host)",
                format!("({card:?})"),
                micros(f),
                f.as_secs_f64() / b.as_secs_f64()
            ),
            _ => println!("host -> node ({card:?}): no answer"),
        }
        drop(node);
    }
}
