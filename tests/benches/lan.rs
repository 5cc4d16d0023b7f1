//! Remote RPC benchmark: echo calls over FLIP between two nodes over each card (the client
//! node times them itself, `selftest=lanbench`), from the host peer to a node, and between two
//! host peers on the same virtual LAN (the transport's own ceiling, the baseline of the
//! ratios). Null calls (round trip) and 30000 bytes each way (throughput).
//!
//! Node figures come twice: in wall time under TCG (noisy: compare ratios within one run) and
//! under `-icount` as the cycles each call costs the client node (its elapsed guest cycles
//! less those it spent idle waiting for the network), which repeat from run to run. The host
//! peer's figures are wall time of this process; its calls to a node wait for a guest under
//! TCG, so they say how fast the node answers, not how fast the host peer is.
//!
//! Every series is the same on every path: 20 warm-up calls, then 500 null calls and 40 calls
//! of 30000 bytes each way (the kernel's `selftest=lanbench` numbers). Round trip is the mean
//! time of a null call (the host's series also give the median); throughput is 60000 bytes over
//! the mean time of a bulk call.
//!
//! Run: `cargo bench -p amoeba-tests --bench lan`.

use amoeba_build::qemu::Nic;
use amoeba_tests::images::{BuiltProfile, built_test_profile, launch_lan_node};
use amoeba_tests::lan::{LanSeat, port_for};
use amunix::medium::LanMedium;
use amunix::peer::HostPeer;
use libamoeba::capability::{Capability, Port};
use libamoeba::client;
use libamoeba::oneway::put_port;
use libamoeba::random::Entropy;
use libamoeba::servers::echo::EchoServer;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::channel;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Hard limit of every QEMU (it is killed then, and when its [`Node`] drops).
const LIMIT: Duration = Duration::from_secs(300);
/// As the kernel's `selftest=lanbench` (amoeba-kernel/src/selftest/lan.rs).
const WARM_UP_CALLS: u32 = 20;
const NULL_CALLS: u32 = 500;
const BULK_CALLS: u32 = 40;
const BULK_BYTES: usize = 30_000;
/// A host series stops at this many failed calls (each may take seconds to fail).
const MAX_FAILURES: u32 = 3;
/// How long the host peer looks for a booted node by its link check.
const FIND_WAIT: Duration = Duration::from_secs(30);

/// Real systems' figures for scale; their sources are in docs/amoeba-protocol.md#performance-anchors.
const ANCHORS: &str = "\
anchors (real hardware, for comparison; not measured here):
  VX-Kernel, 100 Mb/s Ethernet:  null RPC 130 us,  bulk 11.2 MB/s
  Amoeba,     10 Mb/s Ethernet:  null RPC 1.4 ms,  bulk 0.677 MB/s";

/// One timed series of echo calls.
#[derive(Clone, Copy, Debug)]
struct Series {
    calls: u32,
    good: u32,
    mean_ns: f64,
    /// Only the host peer times each call.
    median_ns: Option<f64>,
    /// Only a node counts its busy cycles (meaningful under `-icount`).
    busy_cycles: Option<u64>,
}

impl Series {
    /// Bytes both ways over the mean call time, for a bulk series.
    fn megabytes_per_second(&self) -> f64 {
        if self.mean_ns > 0.0 {
            2.0 * BULK_BYTES as f64 / self.mean_ns * 1e3
        } else {
            0.0
        }
    }
}

/// What one path gave: its null and bulk series, or why not.
#[derive(Clone, Debug)]
struct Figures {
    null: Option<Series>,
    bulk: Option<Series>,
    /// What went wrong, if anything.
    trouble: Option<String>,
}

impl Figures {
    fn failed(why: impl Into<String>) -> Self {
        Self {
            null: None,
            bulk: None,
            trouble: Some(why.into()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The host peer's side.

/// A host peer serving echo on its own thread until dropped.
struct HostEchoServer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for HostEchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn seat(port: u16) -> LanSeat {
    LanSeat::join(port, amunix::entropy::random_mac())
        .unwrap_or_else(|e| panic!("joining the LAN at port {port}: {e}"))
}

/// An echo server in a host peer of its own on the LAN at `port`; its capability.
fn serve_echo(port: u16) -> (HostEchoServer, Capability) {
    let stop = Arc::new(AtomicBool::new(false));
    let (send, receive) = channel();
    let thread = std::thread::spawn({
        let stop = Arc::clone(&stop);
        move || {
            let peer = HostPeer::new(LanMedium::new(seat(port)));
            let get_port = Port(amunix::entropy::HostEntropy.nonzero48());
            let (server, owner) =
                EchoServer::new(put_port(get_port), &mut amunix::entropy::HostEntropy);
            peer.attach(get_port, server);
            let _ = send.send(owner);
            peer.serve_until(&stop);
        }
    });
    let server = HostEchoServer {
        stop,
        thread: Some(thread),
    };
    let owner = receive
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("the host echo server did not start: {e}"));
    (server, owner)
}

/// Runs `call` `calls` times (stopping at [`MAX_FAILURES`] failures), timing each.
fn timed(calls: u32, mut call: impl FnMut() -> bool) -> Series {
    let mut times = Vec::with_capacity(calls as usize);
    let (mut good, mut failed) = (0, 0);
    let started = Instant::now();
    while times.len() < calls as usize && failed < MAX_FAILURES {
        let start = Instant::now();
        if call() {
            good += 1;
        } else {
            failed += 1;
        }
        times.push(start.elapsed().as_nanos() as f64);
    }
    let made = times.len().max(1);
    times.sort_by(f64::total_cmp);
    Series {
        calls,
        good,
        mean_ns: started.elapsed().as_nanos() as f64 / made as f64,
        median_ns: times.get(times.len() / 2).copied(),
        busy_cycles: None,
    }
}

/// The null and bulk series from `peer` to the echo server `echo`.
fn host_series(peer: &HostPeer, echo: &Capability) -> Figures {
    let large: Vec<u8> = (0..BULK_BYTES).map(|i| (i % 251) as u8).collect();
    let mut back = vec![0u8; BULK_BYTES];
    for call in 0..WARM_UP_CALLS {
        if let Err(error) = client::echo(peer, echo, &[], &mut back) {
            return Figures::failed(format!("warm-up call {call} failed: {error}"));
        }
    }
    let null = timed(NULL_CALLS, || {
        client::echo(peer, echo, &[], &mut back) == Ok(0)
    });
    let bulk = timed(BULK_CALLS, || {
        client::echo(peer, echo, &large, &mut back) == Ok(BULK_BYTES) && back == large
    });
    let trouble = [null, bulk]
        .iter()
        .any(|s| s.good < s.calls)
        .then(|| "some calls failed".to_string());
    Figures {
        null: Some(null),
        bulk: Some(bulk),
        trouble,
    }
}

/// Two host peers on one LAN, one serving echo on its own thread.
fn host_to_host() -> Figures {
    let port = port_for(0);
    let (_server, echo) = serve_echo(port);
    let peer = HostPeer::new(LanMedium::new(seat(port)));
    host_series(&peer, &echo)
}

/// The host peer calling the echo server of a test-lan node with `card`.
fn host_to_node(image: &BuiltProfile, card: Nic) -> Figures {
    let port = port_for(0);
    let name = format!("bench-{card:?}").to_lowercase();
    let words = [format!("node={name}")];
    let mut node = launch_lan_node(image, card, port, 1, &words, false, LIMIT);
    if let Err(failure) = node.wait_for("amoeba: node") {
        return Figures::failed(failure.to_string());
    }
    let medium = LanMedium::new(seat(port));
    let found =
        amunix::nodes::find_named(medium.seat(), &name, FIND_WAIT, Duration::from_millis(250));
    let directory = match found {
        Ok(Ok(found)) => match found.directory {
            Some(directory) => directory,
            None => return Figures::failed(format!("{name} named no directory")),
        },
        Ok(Err(seen)) => {
            return Figures::failed(format!("{name} did not answer (seen: {seen:?})"));
        }
        Err(error) => return Figures::failed(format!("looking for {name}: {error}")),
    };
    let peer = HostPeer::new(medium);
    let figures = match client::dir_lookup(&peer, &directory, "echo") {
        Ok(echo) => host_series(&peer, &echo),
        Err(error) => Figures::failed(format!("looking up echo on {name}: {error}")),
    };
    drop(node);
    figures
}

// ---------------------------------------------------------------------------------------------
// Node to node.

/// A `lanbench: LABEL: G of N calls, T ns each, C busy cycles each, R MB/s` line.
fn parse_lanbench(line: &str) -> Option<(String, Series)> {
    let rest = line.strip_prefix("lanbench: ")?;
    let (label, numbers) = rest.split_once(": ")?;
    let mut parts = numbers.split(", ");
    let (good, calls) = parts.next()?.strip_suffix(" calls")?.split_once(" of ")?;
    let nanos = parts.next()?.strip_suffix(" ns each")?;
    let cycles = parts.next()?.strip_suffix(" busy cycles each")?;
    let series = Series {
        calls: calls.parse().ok()?,
        good: good.parse().ok()?,
        mean_ns: nanos.parse().ok()?,
        median_ns: None,
        busy_cycles: cycles.parse().ok(),
    };
    Some((label.to_string(), series))
}

/// Two nodes with `card`, the client timing `selftest=lanbench`: its lines, and its figures.
fn node_to_node(image: &BuiltProfile, card: Nic, icount: bool) -> (Vec<String>, Figures) {
    let port = port_for(0);
    let words = |index: u8, extra: &[&str]| {
        let mut words: Vec<String> = extra.iter().map(|w| w.to_string()).collect();
        words.push(format!("node=bench{index}"));
        words
    };
    let mut server = launch_lan_node(image, card, port, 1, &words(1, &[]), icount, LIMIT);
    if let Err(failure) = server.wait_for("amoeba: node") {
        return (Vec::new(), Figures::failed(format!("server: {failure}")));
    }
    // The selftest runs before the ready line: wait for its last line, not for that.
    let mut client = launch_lan_node(
        image,
        card,
        port,
        2,
        &words(2, &["selftest=lanbench"]),
        icount,
        LIMIT,
    );
    let outcome = client.wait_for("selftest: lanbench: ");
    let lines: Vec<String> = client
        .log()
        .lines()
        .filter(|line| line.starts_with("lanbench:") || line.contains("selftest: lanbench"))
        .map(str::to_string)
        .collect();
    let mut figures = Figures::failed("no lanbench figures");
    for (label, series) in lines.iter().filter_map(|line| parse_lanbench(line)) {
        if label == "null" {
            figures.null = Some(series);
        } else if label.starts_with("bulk") {
            figures.bulk = Some(series);
        }
    }
    let failed_calls = [figures.null, figures.bulk]
        .iter()
        .flatten()
        .any(|s| s.good < s.calls);
    figures.trouble = match outcome {
        Ok(line) if line.contains("done") && failed_calls => Some("some calls failed".into()),
        Ok(line) if line.contains("done") => None,
        Ok(line) => Some(line),
        Err(failure) => Some(first_line(&failure.to_string())),
    };
    (lines, figures)
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

// ---------------------------------------------------------------------------------------------
// Output.

fn micros(nanos: f64) -> String {
    if nanos >= 10_000_000.0 {
        format!("{:.1} ms", nanos / 1e6)
    } else {
        format!("{:.1} us", nanos / 1e3)
    }
}

fn describe(figures: &Figures) -> String {
    let mut text = String::new();
    for (label, series) in [
        ("null", figures.null),
        ("bulk 30000 B each way", figures.bulk),
    ] {
        let Some(s) = series else { continue };
        let _ = write!(
            text,
            "{label}: {} of {} calls, mean {}",
            s.good,
            s.calls,
            micros(s.mean_ns)
        );
        if let Some(median) = s.median_ns {
            let _ = write!(text, ", median {}", micros(median));
        }
        if label != "null" {
            let _ = write!(text, ", {:.2} MB/s", s.megabytes_per_second());
        }
        text.push('\n');
    }
    if let Some(trouble) = &figures.trouble {
        let _ = writeln!(text, "trouble: {trouble}");
    }
    text
}

/// One row of the summary.
struct Row {
    path: String,
    clock: &'static str,
    figures: Figures,
}

fn ratio(value: f64, baseline: Option<f64>) -> String {
    match baseline {
        Some(base) if base > 0.0 && value > 0.0 => format!("{:.2}x", value / base),
        _ => "-".to_string(),
    }
}

fn table(rows: &[Row]) -> String {
    let baseline = rows.first().map(|row| &row.figures);
    let base_null = baseline.and_then(|f| f.null).map(|s| s.mean_ns);
    let base_bulk = baseline
        .and_then(|f| f.bulk)
        .map(|s| s.megabytes_per_second());
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{:<30} {:<13} {:>11} {:>8} {:>11} {:>10} {:>8} {:>12} {:>12}",
        "path",
        "clock",
        "null RT",
        "x host",
        "(median)",
        "bulk MB/s",
        "x host",
        "cycles/null",
        "cycles/bulk"
    );
    for row in rows {
        let f = &row.figures;
        let dash = || "-".to_string();
        let icount = row.clock.starts_with("-icount");
        // Under -icount only the cycles mean anything; guest time is not wall time.
        let (null_rt, null_x, median) = match f.null {
            Some(s) if !icount => (
                micros(s.mean_ns),
                ratio(s.mean_ns, base_null),
                s.median_ns.map_or_else(dash, micros),
            ),
            _ => (dash(), dash(), dash()),
        };
        let (bulk, bulk_x) = match f.bulk {
            Some(s) if !icount => {
                let rate = s.megabytes_per_second();
                (format!("{rate:.2}"), ratio(rate, base_bulk))
            }
            _ => (dash(), dash()),
        };
        let cycles = |s: Option<Series>| {
            s.filter(|_| icount)
                .and_then(|s| s.busy_cycles)
                .map_or_else(dash, |c| c.to_string())
        };
        let _ = writeln!(
            text,
            "{:<30} {:<13} {:>11} {:>8} {:>11} {:>10} {:>8} {:>12} {:>12}",
            row.path,
            row.clock,
            null_rt,
            null_x,
            median,
            bulk,
            bulk_x,
            cycles(f.null),
            cycles(f.bulk)
        );
        if let Some(trouble) = &f.trouble {
            let _ = writeln!(text, "{:<30} trouble: {trouble}", "");
        }
    }
    text
}

fn main() {
    println!("# cargo bench -p amoeba-tests --bench lan   (profile tests/profiles/test-lan.toml)");
    println!(
        "# echo calls: {WARM_UP_CALLS} warm-up, {NULL_CALLS} null (round trip), {BULK_CALLS} of \
         {BULK_BYTES} B each way (throughput: {} B / mean call)",
        2 * BULK_BYTES
    );
    let image = built_test_profile("test-lan");
    let mut rows = Vec::new();

    println!("## host peer -> host peer on one LAN (the baseline), wall time");
    let figures = host_to_host();
    print!("{}", describe(&figures));
    rows.push(Row {
        path: "host peer -> host peer".into(),
        clock: "wall",
        figures,
    });

    for card in [Nic::Virtio, Nic::Ne2000] {
        println!("## host peer -> node over {card:?}, wall time (node under TCG)");
        let figures = host_to_node(&image, card);
        print!("{}", describe(&figures));
        rows.push(Row {
            path: format!("host peer -> node ({card:?})"),
            clock: "wall, TCG",
            figures,
        });
    }

    for icount in [false, true] {
        let clock = if icount {
            "-icount shift=0,sleep=on: busy cycles are the figure"
        } else {
            "wall time under TCG"
        };
        for card in [Nic::Virtio, Nic::Ne2000] {
            println!("## node -> node over {card:?}, {clock}");
            let (lines, figures) = node_to_node(&image, card, icount);
            for line in &lines {
                println!("{line}");
            }
            if let Some(trouble) = &figures.trouble {
                println!("trouble: {trouble}");
            }
            rows.push(Row {
                path: format!("node -> node ({card:?})"),
                clock: if icount { "-icount" } else { "wall, TCG" },
                figures,
            });
        }
    }

    println!();
    println!("## Summary");
    println!(
        "# null RT: mean round trip of a null call; bulk: {} B over the mean bulk call; x host: \
         ratio to host peer -> host peer in this run; cycles: the client node's busy cycles per \
         call under -icount",
        2 * BULK_BYTES
    );
    print!("{}", table(&rows));
    println!("{ANCHORS}");
}
