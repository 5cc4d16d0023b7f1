//! Tier 3: a file server killed (QEMU SIGKILL) at random moments while a writer creates and
//! commits files through SOAP, [`KILLS`] times in a row on the same disk (more with
//! `AMOEBA_CRASH_KILLS=N`, the opt-in soak). After each restart: BS_FSCK finds the volume
//! clean, every file whose `put` was acknowledged is there and intact, and no name shows
//! anything but an acknowledged file or the one in flight, whole.
//!
//! The moments come from a seed printed at the start (`AMOEBA_CRASH_SEED=S` repeats a run).

mod common;

use amoeba_build::qemu::Nic;
use amoeba_tests::Node;
use amoeba_tests::images::{LanNodeOptions, built_test_profile, disk_image, start_lan_node_with};
use amoeba_tests::lan::port_for;
use amunix::files::{self, Place};
use common::{LIMIT, console_capability, peer_and_root};
use libamoeba::client;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Kills in the test suite.
const KILLS: usize = 10;

fn boot(port: u16, disk: &Path) -> Node {
    let image = built_test_profile("test-disk");
    let words = ["node=crash-1".to_string()];
    let options = LanNodeOptions {
        icount: false,
        disk: Some(disk),
    };
    start_lan_node_with(&image, Nic::Virtio, port, 1, &words, options, LIMIT)
}

/// A small deterministic generator (xorshift64*): the test's moments and sizes.
struct Moments(u64);

impl Moments {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn contents(name: &str, len: usize) -> Vec<u8> {
    let seed = name
        .bytes()
        .fold(7u8, |a, b| a.wrapping_mul(31).wrapping_add(b));
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed))
        .collect()
}

/// What the writer got acknowledged, and the file it was writing when the node died.
#[derive(Default)]
struct Written {
    acknowledged: Vec<(String, Vec<u8>)>,
    in_flight: Option<(String, Vec<u8>)>,
}

/// Writes files named `round-N` under `c/` until `stop`, or until a call fails.
fn writer(
    port: u16,
    node: &Node,
    round: usize,
    sizes: Vec<usize>,
    written: Arc<Mutex<Written>>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let (peer, root) = peer_and_root(port, "crash-1", node);
    std::thread::spawn(move || {
        peer.set_locate_timeout_ms(500);
        let soap = client::dir_lookup(&peer, &root, "soap").unwrap_or_else(|e| panic!("{e}"));
        let bullet = client::dir_lookup(&peer, &root, "bullet").ok();
        let place = Place {
            root: soap,
            bullet,
            shown: "crash-1".into(),
        };
        for (n, size) in sizes.into_iter().enumerate() {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let name = format!("c/{round}-{n}");
            let data = contents(&name, size);
            written.lock().unwrap_or_else(|e| e.into_inner()).in_flight =
                Some((name.clone(), data.clone()));
            if files::put(&peer, &place, &name, &data, &mut |_| {}).is_err() {
                return;
            }
            let mut written = written.lock().unwrap_or_else(|e| e.into_inner());
            written.in_flight = None;
            written.acknowledged.push((name, data));
        }
    })
}

/// The checks after a restart: FSCK clean, every acknowledged file whole, nothing else.
/// Returns whether the file in flight at the kill is there (whole).
fn check(port: u16, node: &Node, written: &Written, round: usize) -> bool {
    let (peer, root) = peer_and_root(port, "crash-1", node);
    let mut report = vec![0u8; 4096];
    let fsck = client::bs_fsck(&peer, &console_capability(node, "bullet"), &mut report)
        .unwrap_or_else(|e| panic!("round {round}: BS_FSCK: {e}\n{}", node.log()));
    assert!(
        fsck.ends_with("problems 0"),
        "round {round}: FSCK says {fsck}\n{}",
        node.log()
    );
    let soap =
        client::dir_lookup(&peer, &root, "soap").unwrap_or_else(|e| panic!("{e}\n{}", node.log()));
    let place = Place {
        root: soap,
        bullet: None,
        shown: "crash-1".into(),
    };
    let read = |name: &str| {
        let mut out = Vec::new();
        files::get(&peer, &place, name, &mut out, &mut |_, _| {}).map(|_| out)
    };
    for (name, data) in &written.acknowledged {
        let back = read(name)
            .unwrap_or_else(|e| panic!("round {round}: {name} lost: {e:#}\n{}", node.log()));
        assert!(back == *data, "round {round}: {name} damaged");
    }
    let (_, rows) = files::ls(&peer, &place, "c").unwrap_or_else(|e| panic!("{e:#}"));
    let mut in_flight_there = false;
    for row in rows {
        let name = format!("c/{}", row.name);
        let known = written
            .acknowledged
            .iter()
            .chain(&written.in_flight)
            .find(|(n, _)| *n == name);
        let Some((_, data)) = known else {
            panic!("round {round}: {name} was never written");
        };
        let back = read(&name)
            .unwrap_or_else(|e| panic!("round {round}: {name} named but unreadable: {e:#}"));
        assert!(
            back == *data,
            "round {round}: {name} is visible but partial"
        );
        in_flight_there |= written.in_flight.as_ref().is_some_and(|(n, _)| *n == name);
    }
    in_flight_there
}

#[test]
fn committed_files_survive_kills_at_random_moments() {
    let kills = std::env::var("AMOEBA_CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(KILLS);
    let seed = std::env::var("AMOEBA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    eprintln!("crash test: {kills} kills, AMOEBA_CRASH_SEED={seed}");
    let mut moments = Moments(seed);
    let port = port_for(84);
    let disk = disk_image("crash-test", 32);
    let mut node = boot(port, &disk);
    {
        let (peer, root) = peer_and_root(port, "crash-1", &node);
        let soap = client::dir_lookup(&peer, &root, "soap")
            .unwrap_or_else(|e| panic!("{e}\n{}", node.log()));
        let place = Place {
            root: soap,
            bullet: None,
            shown: "crash-1".into(),
        };
        files::mkdir(&peer, &place, "c").unwrap_or_else(|e| panic!("{e:#}\n{}", node.log()));
    }
    let written = Arc::new(Mutex::new(Written::default()));
    for round in 0..kills {
        let sizes: Vec<usize> = (0..200).map(|_| moments.below(30_000) as usize).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let writing = writer(
            port,
            &node,
            round,
            sizes,
            Arc::clone(&written),
            Arc::clone(&stop),
        );
        std::thread::sleep(Duration::from_millis(200 + moments.below(1500)));
        node.kill();
        stop.store(true, Ordering::Relaxed);
        let _ = writing.join();
        node = boot(port, &disk);
        let mut written = written.lock().unwrap_or_else(|e| e.into_inner());
        // The one in flight is whole or gone: kept with the others if it is there.
        if check(port, &node, &written, round)
            && let Some(file) = written.in_flight.take()
        {
            written.acknowledged.push(file);
        }
        written.in_flight = None;
    }
    let total = written
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .acknowledged
        .len();
    eprintln!("crash test: {kills} kills, {total} acknowledged files all intact");
    assert!(total > 0, "the writer never got a file acknowledged");
}
