//! RPC benchmark: guest cycles per null RPC round trip from a process to the kernel's echo
//! server and to the same server code running as a process, and bulk round trips of 30000
//! bytes each way; each with the local fast path (`ipc=fast`, the default) and through the
//! ready queues (`ipc=queued`). Cycles are read from the guest's TSC under QEMU
//! `-icount shift=0,sleep=off`, so the figures repeat; the baseline measured in the same boot
//! is a null system call, and every figure is also given as a multiple of it.
//!
//! Run: `cargo bench -p amoeba-tests --bench rpc`.

use amoeba_build::qemu::Boot;
use amoeba_tests::images::{boot_spec, built_test_profile, command};
use amoeba_tests::node::Node;
use std::collections::BTreeMap;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(180);

/// `rpc-bench: KIND N cycles [B bytes]` lines, by kind; and the TSC frequency from the banner.
fn figures(log: &str) -> (BTreeMap<String, u64>, f64) {
    let mut figures = BTreeMap::new();
    for line in log.lines() {
        let Some(rest) = line.strip_prefix("rpc-bench: ") else {
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        if let [kind, cycles, "cycles", ..] = words[..]
            && let Ok(cycles) = cycles.parse()
        {
            figures.insert(kind.to_string(), cycles);
        }
    }
    let mhz = log
        .lines()
        .find_map(|l| l.split("TSC ").nth(1))
        .and_then(|rest| rest.split(" MHz").next())
        .and_then(|mhz| mhz.parse::<f64>().ok())
        .unwrap_or(0.0);
    (figures, mhz)
}

fn boot(path: &str) -> String {
    let log = boot_once(path);
    assert!(
        log.contains("rpc-bench: 0 calls failed"),
        "some RPC calls failed, the figures would be wrong:\n{log}"
    );
    log
}

fn boot_once(path: &str) -> String {
    let image = built_test_profile("bench-rpc");
    let mut spec = boot_spec(&image, Boot::Kernel);
    spec.icount = true;
    spec.append.push(format!("ipc={path}"));
    let mut node = Node::start(&command(&spec), LIMIT).unwrap_or_else(|e| panic!("{e}"));
    let _ = node.wait_for_exit().unwrap_or_else(|e| panic!("{e}"));
    node.log()
}

fn main() {
    println!("# cargo bench -p amoeba-tests --bench rpc   (profile tests/profiles/bench-rpc.toml)");
    println!(
        "# guest cycles under -icount shift=0,sleep=off, per round trip, averaged over 2000 (null) / 100 (bulk)"
    );
    let runs: Vec<(&str, BTreeMap<String, u64>, f64)> = ["fast", "queued"]
        .into_iter()
        .map(|path| {
            let (figures, mhz) = figures(&boot(path));
            (path, figures, mhz)
        })
        .collect();
    for (path, figures, mhz) in &runs {
        let baseline = figures.get("null-syscall").copied().unwrap_or(0).max(1);
        println!("\n## ipc={path} (null system call in the same boot: {baseline} cycles)");
        for kind in ["null-kernel", "null-user", "bulk-kernel", "bulk-user"] {
            let Some(&cycles) = figures.get(kind) else {
                println!("{kind:12} missing from the log");
                continue;
            };
            let ratio = cycles as f64 / baseline as f64;
            if kind.starts_with("bulk") {
                // 30000 bytes go each way per round trip.
                let seconds = cycles as f64 / (mhz * 1e6);
                let mb_per_s = 60_000.0 / seconds / 1e6;
                println!(
                    "{kind:12} {cycles:>9} cycles  ({ratio:7.1} x null syscall)  {mb_per_s:7.1} MB/s guest time at {mhz:.0} MHz"
                );
            } else {
                println!("{kind:12} {cycles:>9} cycles  ({ratio:7.1} x null syscall)");
            }
        }
    }
    if let [(_, fast, _), (_, queued, _)] = &runs[..] {
        println!("\n## fast path against the queued path (queued / fast)");
        for kind in ["null-kernel", "null-user", "bulk-kernel", "bulk-user"] {
            if let (Some(f), Some(q)) = (fast.get(kind), queued.get(kind)) {
                println!("{kind:12} {:.2}", *q as f64 / (*f).max(1) as f64);
            }
        }
    }
    // The anchor's source: docs/amoeba-protocol.md#performance-anchors.
    println!(
        "\nAnchor: two L4Re one-way IPCs between address spaces = 780-1868 cycles on current x86."
    );
}
