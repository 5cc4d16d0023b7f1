//! Exec and migration benchmark, with the baselines of the same run:
//!
//! - `amoeba exec` of `hello` from the host: wall time from the command's start to the first
//!   output line and to its exit (median of several), and the guest cycles the node took to
//!   create the process from its descriptor, against the cycles a node takes to create the
//!   same program from its embedded image at boot (the `demo` profile starts `hello`).
//! - `amoeba migrate` of `ballast 1` (1 MiB of touched heap) between two nodes over each card:
//!   bytes moved, the time the process stood still and the total time, against a one-way
//!   1 MiB bulk RPC between the same two nodes (`fetch`: BS_READ of a 1 MiB segment held by
//!   the other node, in the 8 KiB pieces a migration's reads use, and in 64 KiB pieces).
//!
//! Wall times are TCG's (noisy: compare the ratios of one run); the creation cycles are the
//! kernel's own log lines from nodes under `-icount`, where a cycle is an instruction and the
//! figure repeats from run to run. Run: `cargo bench -p amunix --bench migration`.

#[path = "../tests/common/mod.rs"]
mod common;

use amoeba_build::qemu::Nic;
use amoeba_tests::images::{built, start_lan_node};
use amoeba_tests::lan::port_for;
use common::{Foreground, amoeba, counted_pool_node, migrate, peer_and_root, pool_node};
use libamoeba::client;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

const RUNS: usize = 5;
const MIB: u64 = 1 << 20;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The cycles of every log line `prefix ... in N cycles` in `log`.
fn cycles_in(log: &str, marker: &str) -> Vec<f64> {
    log.lines()
        .filter(|line| line.contains(marker))
        .filter_map(|line| {
            line.rsplit(" in ")
                .next()?
                .strip_suffix(" cycles")?
                .parse()
                .ok()
        })
        .collect()
}

/// `amoeba exec NODE hello` from start to its first line and to its exit.
fn exec_once(port: u16, node: &str) -> (Duration, Duration) {
    let started = Instant::now();
    let mut child = amoeba(port)
        .args(["exec", node, "hello"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("amoeba exec: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut line = String::new();
    let _ = BufReader::new(stdout).read_line(&mut line);
    let first = started.elapsed();
    let status = child.wait().unwrap_or_else(|e| panic!("waiting: {e}"));
    assert!(status.success() && line.starts_with("hello from"), "{line}");
    (first, started.elapsed())
}

fn exec_figures(out: &mut String) {
    let port = port_for(61);
    let node = counted_pool_node("bench-exec", port, 1, Nic::Virtio);
    let runs: Vec<(Duration, Duration)> =
        (0..RUNS).map(|_| exec_once(port, "bench-exec")).collect();
    let first = median(runs.iter().map(|r| ms(r.0)).collect());
    let exit = median(runs.iter().map(|r| ms(r.1)).collect());
    let exec_cycles = median(cycles_in(&node.log(), "created from its descriptor"));
    let demo = built("demo");
    let mut spec = amoeba_build::qemu::QemuSpec::for_image(&demo);
    spec.icount = true;
    let mut boot =
        amoeba_tests::node::Node::start(&amoeba_tests::images::command(&spec), common::LIMIT)
            .unwrap_or_else(|e| panic!("{e}"));
    let _ = boot.wait_for("process hello");
    let boot_cycles = median(cycles_in(
        &boot
            .log()
            .lines()
            .filter(|l| l.contains("hello"))
            .collect::<Vec<_>>()
            .join("\n"),
        "created from its",
    ));
    out.push_str(&format!(
        "exec of hello from the host (median of {RUNS}, TCG wall time):\n  \
         to first output {first:.1} ms, to exit {exit:.1} ms\n  \
         creation on the node (-icount): {exec_cycles:.0} cycles from the descriptor, \
         {boot_cycles:.0} from the embedded image at boot (ratio {:.2})\n",
        exec_cycles / boot_cycles
    ));
}

/// One migration of a 1 MiB process between two nodes with `nic`, against 1 MiB of BS_READ
/// between the same two nodes.
fn migration_figures(nic: Nic, salt: u16, out: &mut String) {
    let port = port_for(salt);
    let (a, b) = ("bench-a", "bench-b");
    let node_a = pool_node(a, port, 1, nic);
    let node_b = pool_node(b, port, 2, nic);
    let ballast = Foreground::start(port, a, "ballast", &["1"], &node_a);
    let ok = |line: &str| line.ends_with(" ok").then_some(());
    assert!(
        ballast.wait_for(Duration::from_secs(60), ok).is_some(),
        "{}",
        node_a.log()
    );
    let mut moves = Vec::new();
    let mut process = ballast.process;
    for to in [b, a, b] {
        let moved = migrate(port, &process, to).unwrap_or_else(|e| panic!("{e}"));
        process = moved.process;
        moves.push(moved);
    }
    let corrupt = ballast.lines().iter().any(|l| l.contains("CORRUPT"));
    assert!(!corrupt, "the memory arrived damaged");
    let bytes = moves[0].bytes;
    let freeze = median(moves.iter().map(|m| m.freeze_ms).collect());
    let total = median(moves.iter().map(|m| m.total_ms).collect());
    // The baseline: 1 MiB held by node A, read by a process on node B.
    let (peer, root_a) = peer_and_root(port, a, &node_a);
    let proc = client::dir_lookup(&peer, &root_a, "proc").unwrap_or_else(|e| panic!("{e}"));
    let segment = client::ps_seg_create(&peer, &proc, MIB).unwrap_or_else(|e| panic!("{e}"));
    let mut fetch_ms = Vec::new();
    for chunk in [8192, 65535] {
        fetch_ms.push(common::fetch_ms(port, b, &segment, MIB, chunk, &node_b));
    }
    let _ = client::std_destroy(&peer, &segment);
    out.push_str(&format!(
        "migration of ballast 1 over {} (median of {} moves, TCG wall time):\n  \
         {bytes} bytes, stood still {freeze:.1} ms ({:.0} % of the total), total {total:.1} ms\n  \
         1 MiB bulk RPC node to node: {:.1} ms in 8 KiB reads, {:.1} ms in 64 KiB reads\n  \
         migration / bulk (8 KiB): {:.2} as measured, {:.2} per byte moved (goal: at most 1.5)\n",
        nic.device(),
        moves.len(),
        100.0 * freeze / total,
        fetch_ms[0],
        fetch_ms[1],
        total / fetch_ms[0],
        total / (fetch_ms[0] * bytes as f64 / MIB as f64),
    ));
    drop(node_b);
    let _ = (node_a, start_lan_node);
}

fn main() {
    let mut out = String::from("command: cargo bench -p amunix --bench migration\n");
    exec_figures(&mut out);
    migration_figures(Nic::Virtio, 62, &mut out);
    migration_figures(Nic::Ne2000, 63, &mut out);
    print!("{out}");
}
