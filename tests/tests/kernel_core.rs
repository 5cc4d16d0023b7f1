//! Tier 3: the kernel core on a booted node: threads, timers and synchronization in kernel
//! threads (`selftest=sched`), user processes from embedded images, faults contained to their
//! process, priorities, idle without ticks, memory returned.

use amoeba_build::qemu::Boot;
use amoeba_tests::images::{boot_spec, built, command};
use amoeba_tests::node::Node;
use libamoeba::boot::ExitCode;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// Boots `profile` by `-kernel` with extra words, waits for a clean stop, returns the log.
fn run_to_exit(profile: &str, words: &[&str], icount: bool) -> String {
    let image = built(profile);
    let mut spec = boot_spec(&image, Boot::Kernel);
    spec.append.extend(words.iter().map(|w| w.to_string()));
    spec.icount = icount;
    let mut node = Node::start(&command(&spec), LIMIT).unwrap_or_else(|e| panic!("{e}"));
    let status = node.wait_for_exit().unwrap_or_else(|e| panic!("{e}"));
    let log = node.log();
    assert_eq!(
        status.code(),
        Some(ExitCode::Success.qemu_status()),
        "clean stop expected:\n{log}"
    );
    log
}

#[test]
fn kernel_threads_share_timers_and_every_sync_primitive() {
    // Under -icount guest time follows instructions, so timer lateness is the kernel's alone.
    let log = run_to_exit("minimal", &["selftest=sched"], true);
    for check in [
        "sleep",
        "mutex",
        "barrier",
        "semaphore timeout",
        "await/wakeup",
        "signals",
    ] {
        assert!(
            log.contains(&format!("selftest: {check}: ok")),
            "{check}:\n{log}"
        );
    }
    assert!(!log.contains("FAILED"), "{log}");
    assert!(
        log.contains("selftest: kernel threads: all checks passed"),
        "{log}"
    );
}
