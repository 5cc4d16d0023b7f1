//! Kernel-core benchmark: guest cycles of a null system call, a thread switch inside a process,
//! a switch between two processes, and process creation from an embedded image, all read from
//! the guest's TSC under QEMU `-icount shift=0,sleep=off` (guest time follows executed
//! instructions, so the figures repeat run after run). The same boot without `-icount` gives
//! TCG wall-clock cycles for comparison.
//!
//! Run: `cargo bench -p amoeba-tests --bench kernel`.

use amoeba_build::qemu::Boot;
use amoeba_tests::images::{boot_spec, built_test_profile, command};
use amoeba_tests::node::Node;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

fn main() {
    println!(
        "# cargo bench -p amoeba-tests --bench kernel   (profile tests/profiles/bench-kernel.toml)"
    );
    let image = built_test_profile("bench-kernel");
    for (label, icount) in [
        ("-icount shift=0,sleep=off (guest cycles, repeatable)", true),
        ("TCG without -icount (noisy)", false),
    ] {
        let mut spec = boot_spec(&image, Boot::Kernel);
        spec.icount = icount;
        let mut node = Node::start(&command(&spec), LIMIT).unwrap_or_else(|e| panic!("{e}"));
        let _ = node.wait_for_exit().unwrap_or_else(|e| panic!("{e}"));
        let log = node.log();
        println!("\n## {label}");
        for line in log.lines() {
            if let Some(figure) = line.strip_prefix("bench: ") {
                println!("{figure}");
            } else if let Some(at) = line
                .find("process bench (pid")
                .filter(|_| line.contains("created from"))
            {
                println!("{}", &line[at..]);
            }
        }
    }
    // The anchor's source: docs/amoeba-protocol.md#performance-anchors.
    println!(
        "\nAnchor: L4-family kernels switch address spaces in a few hundred cycles (L4Re one-way IPC 390-934)."
    );
}
