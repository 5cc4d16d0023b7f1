//! The lossy relay between two virtual LANs, with a host seat on each: numbered link-check
//! frames sent from one LAN arrive on the other as the relay's mistreatment says, and the
//! relay never passes its own frames back. No QEMU: every test is done in well under a second.

use amunix::lan::{LanSeat, port_for};
use amunix::relay::{DirectionCounts, Mistreatment, Relay, RelayHandle};
use libamoeba::link_check;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const X: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x0A, 0x01];
const Y: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x0B, 0x01];
const FRAMES: u32 = 200;
/// Receiving stops once nothing came for this long after the last frame was sent.
const QUIET: Duration = Duration::from_millis(100);
/// No exchange takes longer than this, whatever happens.
const LIMIT: Duration = Duration::from_secs(5);

/// Seat X on LAN A, seat Y on LAN B, and a relay between the LANs.
struct Lans {
    x: LanSeat,
    y: LanSeat,
    relay: RelayHandle,
}

fn lans(mistreatment: Mistreatment) -> Lans {
    let (port_a, port_b) = (port_for(0), port_for(0));
    let x = LanSeat::join(port_a, X).unwrap_or_else(|e| panic!("joining LAN A: {e}"));
    let y = LanSeat::join(port_b, Y).unwrap_or_else(|e| panic!("joining LAN B: {e}"));
    let relay = Relay::new(port_a, port_b, mistreatment)
        .and_then(Relay::spawn)
        .unwrap_or_else(|e| panic!("starting the relay: {e}"));
    Lans { x, y, relay }
}

fn mistreatment(drop: f64, duplicate: f64, reorder: f64) -> Mistreatment {
    Mistreatment {
        drop_percent: drop,
        duplicate_percent: duplicate,
        reorder_percent: reorder,
        seed: 2024,
    }
}

/// Sends frames numbered 0 to [`FRAMES`] from `from` to `to` (paced, so no socket buffer
/// overflows) while `to` listens; the numbers that arrived, in their order.
fn exchange(from: &LanSeat, to: &LanSeat) -> Vec<u32> {
    let sent = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let receiver = scope.spawn(|| {
            let deadline = Instant::now() + LIMIT;
            let mut numbers = Vec::new();
            loop {
                let sending = !sent.load(Ordering::SeqCst);
                let mut heard = false;
                to.receive_while(link_check::ETHERTYPE, QUIET, |source, payload| {
                    assert_eq!(source, from.mac, "the sender's address, unchanged");
                    let text = link_check::ping_text(payload)
                        .and_then(|text| std::str::from_utf8(text).ok())
                        .unwrap_or_else(|| panic!("not a ping: {payload:?}"));
                    numbers.push(
                        text.parse::<u32>()
                            .unwrap_or_else(|e| panic!("{text}: {e}")),
                    );
                    heard = true;
                    true
                });
                if (!heard && !sending) || Instant::now() >= deadline {
                    return numbers;
                }
            }
        });
        for number in 0..FRAMES {
            from.send(
                to.mac,
                link_check::ETHERTYPE,
                &link_check::ping(number.to_string().as_bytes()),
            )
            .unwrap_or_else(|e| panic!("sending frame {number}: {e}"));
            std::thread::sleep(Duration::from_micros(100));
        }
        sent.store(true, Ordering::SeqCst);
        receiver
            .join()
            .unwrap_or_else(|_| panic!("the receiving thread panicked"))
    })
}

/// How often each number arrived.
fn tally(numbers: &[u32]) -> BTreeMap<u32, usize> {
    let mut tally = BTreeMap::new();
    for &number in numbers {
        *tally.entry(number).or_default() += 1;
    }
    tally
}

fn all_once() -> BTreeMap<u32, usize> {
    (0..FRAMES).map(|number| (number, 1)).collect()
}

fn in_order() -> Vec<u32> {
    (0..FRAMES).collect()
}

/// The counts of a direction that passed [`FRAMES`] frames and whose opposite direction
/// passed `echoes` frames (heard back as echoes).
fn check_counts(counts: &DirectionCounts, echoes: u64) {
    let frames = u64::from(FRAMES);
    assert_eq!(counts.received, frames, "{counts:?}");
    assert_eq!(counts.forwarded + counts.dropped, frames, "{counts:?}");
    assert_eq!(counts.echoes, echoes, "{counts:?}");
    assert_eq!(counts.send_errors, 0, "{counts:?}");
}

#[test]
fn a_faithful_relay_passes_every_frame_both_ways_once_and_in_order() {
    let lans = lans(Mistreatment::NONE);
    assert_eq!(exchange(&lans.x, &lans.y), in_order(), "A to B");
    assert_eq!(exchange(&lans.y, &lans.x), in_order(), "B to A");
    let counts = lans.relay.stop().unwrap_or_else(|e| panic!("{e}"));
    let frames = u64::from(FRAMES);
    check_counts(&counts.a_to_b, frames);
    check_counts(&counts.b_to_a, frames);
    for direction in [counts.a_to_b, counts.b_to_a] {
        assert_eq!(direction.forwarded, frames, "{counts:?}");
        assert_eq!(direction.duplicated + direction.reordered, 0, "{counts:?}");
    }
}

#[test]
fn a_relay_dropping_30_percent_passes_about_70_percent() {
    let lans = lans(mistreatment(30.0, 0.0, 0.0));
    let arrived = exchange(&lans.x, &lans.y);
    let counts = lans.relay.stop().unwrap_or_else(|e| panic!("{e}"));
    check_counts(&counts.a_to_b, 0);
    // 140 expected, standard deviation 6.5: this seed's count is fixed, the range says what
    // any seed gives.
    assert!(
        (120..=160).contains(&arrived.len()),
        "{} arrived",
        arrived.len()
    );
    assert_eq!(arrived.len() as u64, counts.a_to_b.forwarded, "{counts:?}");
    assert!(
        arrived.is_sorted_by(|a, b| a < b),
        "once each, in order: {arrived:?}"
    );
}

#[test]
fn a_relay_duplicating_everything_passes_every_frame_twice_both_ways() {
    let lans = lans(mistreatment(0.0, 100.0, 0.0));
    let twice: BTreeMap<u32, usize> = (0..FRAMES).map(|number| (number, 2)).collect();
    assert_eq!(tally(&exchange(&lans.x, &lans.y)), twice, "A to B");
    assert_eq!(tally(&exchange(&lans.y, &lans.x)), twice, "B to A");
    let counts = lans.relay.stop().unwrap_or_else(|e| panic!("{e}"));
    let frames = u64::from(FRAMES);
    check_counts(&counts.a_to_b, 2 * frames);
    check_counts(&counts.b_to_a, 2 * frames);
    assert_eq!(counts.a_to_b.duplicated, frames, "{counts:?}");
}

#[test]
fn a_reordering_relay_changes_the_order_but_loses_nothing() {
    let lans = lans(mistreatment(0.0, 0.0, 30.0));
    for (from, to) in [(&lans.x, &lans.y), (&lans.y, &lans.x)] {
        let arrived = exchange(from, to);
        assert_eq!(tally(&arrived), all_once());
        assert_ne!(arrived, in_order());
    }
    let counts = lans.relay.stop().unwrap_or_else(|e| panic!("{e}"));
    let frames = u64::from(FRAMES);
    check_counts(&counts.a_to_b, frames);
    check_counts(&counts.b_to_a, frames);
    assert!(counts.a_to_b.reordered > 0, "{counts:?}");
}

#[test]
fn amoeba_relay_refuses_a_share_over_100_percent() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_amoeba"))
        .args([
            "relay",
            "--from-port",
            "1",
            "--to-port",
            "2",
            "--drop",
            "150",
        ])
        .output()
        .unwrap_or_else(|e| panic!("running amoeba: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("must be a percentage from 0 to 100"),
        "{stderr}"
    );
}

#[test]
fn amoeba_relay_passes_frames_and_reports_its_counts() {
    let (port_a, port_b) = (port_for(0), port_for(0));
    let x = LanSeat::join(port_a, X).unwrap_or_else(|e| panic!("joining LAN A: {e}"));
    let y = LanSeat::join(port_b, Y).unwrap_or_else(|e| panic!("joining LAN B: {e}"));
    let relay = std::process::Command::new(env!("CARGO_BIN_EXE_amoeba"))
        .args([
            "relay",
            "--json",
            "--duration-ms",
            "1500",
            "--report-ms",
            "0",
        ])
        .args([
            "--from-port",
            &port_a.to_string(),
            "--to-port",
            &port_b.to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running amoeba: {e}"));
    // Ping Y from X until the relay, once started, has passed one on.
    let deadline = Instant::now() + Duration::from_millis(1000);
    let mut passed = false;
    while !passed && Instant::now() < deadline {
        x.send(Y, link_check::ETHERTYPE, &link_check::ping(b"through"))
            .unwrap_or_else(|e| panic!("sending: {e}"));
        passed = !y
            .receive_for(link_check::ETHERTYPE, Duration::from_millis(20))
            .is_empty();
    }
    let output = relay
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for amoeba: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(passed, "no frame passed the relay: {stderr}");
    let counts: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(counts[0]["from_port"], port_a, "{stdout}");
    assert_eq!(counts[0]["to_port"], port_b, "{stdout}");
    assert!(counts[0]["forwarded"].as_u64() >= Some(1), "{stdout}");
    assert_eq!(counts[0]["forwarded"], counts[1]["echoes"], "{stdout}");
    assert_eq!(counts[1]["received"], 0, "{stdout}");
}
