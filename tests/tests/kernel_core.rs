//! Tier 3: the kernel core on a booted node: threads, timers and synchronization in kernel
//! threads (`selftest=sched`), user processes from embedded images, faults contained to their
//! process, priorities, idle without ticks, memory returned.

use amoeba_build::image::BuiltImage;
use amoeba_tests::images::{self, built, built_test_profile};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn run_to_exit(image: &BuiltImage, words: &[&str], icount: bool) -> String {
    images::run_to_exit(image, words, icount, LIMIT)
}

/// Runs a test profile of `tests/profiles/` to its end.
fn run_test_profile(name: &str, icount: bool) -> String {
    run_to_exit(&built_test_profile(name), &[], icount)
}

#[test]
fn kernel_threads_share_timers_and_every_sync_primitive() {
    // Under -icount guest time follows instructions, so timer lateness is the kernel's alone.
    let log = run_to_exit(
        &built_test_profile("test-kernel"),
        &["selftest=sched"],
        true,
    );
    for check in [
        "sleep",
        "periodic timer function",
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

#[test]
fn a_kernel_without_self_tests_warns_of_a_selftest_word_and_boots() {
    // The shipped minimal image has no self-tests; the word reaches it as if typed at GRUB's
    // prompt (QEMU's fw_cfg, past amoeba-build's own refusal).
    let log = run_to_exit(&built("minimal"), &["selftest=sched"], false);
    assert!(
        log.contains(
            "cmdline: `selftest=sched` ignored: this kernel has no self-tests (only profiles \
             with `selftest = true` under [kernel] compile them in)"
        ),
        "{log}"
    );
    assert!(log.contains("amoeba: node minimal ready"), "{log}");
    assert!(!log.contains("selftest: "), "no self-test ran:\n{log}");
}

fn position(log: &str, text: &str) -> usize {
    log.find(text)
        .unwrap_or_else(|| panic!("{text:?} missing from\n{log}"))
}

#[test]
fn user_processes_run_and_faults_are_contained() {
    let log = run_test_profile("test-processes", false);
    assert!(log.contains("hello from hello from a test"), "{log}");
    assert!(log.contains("threads: all checks passed"), "{log}");
    assert!(!log.contains("FAILED"), "{log}");
    for (kind, fault) in [
        ("null", "#PF page fault: read at 0x0"),
        ("write-text", "#PF page fault: write at"),
        ("exec-data", "#PF page fault: instruction fetch at"),
        ("privileged", "#GP general protection"),
        ("divide", "#DE divide error"),
    ] {
        let announced = position(&log, &format!("faults: about to {kind}"));
        let aborted = log[announced..]
            .find(fault)
            .unwrap_or_else(|| panic!("{kind}: no {fault:?} after\n{log}"));
        assert!(
            log[announced..announced + aborted].lines().count() < 20,
            "{kind} aborted promptly:\n{log}"
        );
    }
    let last_abort = log.rfind("aborted: thread").unwrap_or(0);
    assert!(
        log[last_abort..].contains("counter survivor:"),
        "the counter kept running after the faults:\n{log}"
    );
    assert!(log.contains("process counter (pid"), "{log}");
    // A driver as a protected process: its ports granted, the kernel's refused, its IRQ awaited.
    assert!(log.contains("rtc-driver: COM1 grant: Err(Denied)"), "{log}");
    // Hostile system-call arguments are refused with error codes; nothing reaches a kernel fault.
    assert!(
        log.contains("chaos: 3000 calls with hostile arguments:"),
        "{log}"
    );
    assert!(log.contains("the kernel is fine"), "{log}");
    assert!(
        !log.contains("CPU exception") && !log.contains("kernel panic"),
        "{log}"
    );
    assert!(
        log.contains("rtc-driver: CMOS ports refused: Denied"),
        "only drivers get ports:\n{log}"
    );
    assert!(
        log.contains("rtc-driver: 3 of 3 clock interrupts received"),
        "{log}"
    );
}

#[test]
fn high_priority_starves_lower_and_equal_priorities_share() {
    let log = run_test_profile("test-priorities", false);
    let lines: Vec<&str> = log.lines().filter(|l| l.starts_with("counter ")).collect();
    let first = |name: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(&format!("counter {name}:")))
    };
    let last = |name: &str| {
        lines
            .iter()
            .rposition(|l| l.starts_with(&format!("counter {name}:")))
    };
    let (high_last, low_first) = (last("high"), first("low"));
    let (a_first, a_last, b_first, b_last) = (
        first("norm-a"),
        last("norm-a"),
        first("norm-b"),
        last("norm-b"),
    );
    let all = [high_last, low_first, a_first, a_last, b_first, b_last];
    assert!(
        all.iter().all(Option::is_some),
        "every counter printed:\n{log}"
    );
    let [high_last, low_first, a_first, a_last, b_first, b_last] = all.map(|p| p.unwrap_or(0));
    assert!(
        high_last < a_first && high_last < b_first,
        "HIGH ran alone first:\n{log}"
    );
    assert!(
        a_first < b_last && b_first < a_last,
        "equal priorities interleave:\n{log}"
    );
    assert!(
        a_last < low_first && b_last < low_first,
        "LOW ran only when nothing else could:\n{log}"
    );
}

#[test]
fn memory_returns_and_an_idle_node_takes_no_ticks() {
    // Under -icount guest time follows instructions: a loaded host cannot make the one-shot
    // timer fire early or late and add interrupts (without it, 4 were seen on a busy machine).
    let log = run_test_profile("test-idle", true);
    assert_eq!(log.matches("memory: ok").count(), 8, "{log}");
    let line = log
        .lines()
        .find(|l| l.starts_with("idle-check:"))
        .unwrap_or_else(|| panic!("{log}"));
    let count: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX);
    // One timer interrupt ends the sleep; a periodic tick would have added hundreds.
    assert!(
        count <= 2,
        "an idle node took {count} interrupts in 3 s:\n{log}"
    );
    let report = log
        .lines()
        .find(|l| l.contains("memory: all processes ended"))
        .unwrap_or_else(|| panic!("{log}"));
    let figures = report.split("ended;").nth(1).unwrap_or("");
    let numbers: Vec<u64> = figures
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert!(
        numbers.len() >= 2 && numbers[0] == numbers[1],
        "free memory back where it started: {report}"
    );
}

#[test]
fn the_loader_refuses_damaged_images_and_starts_nothing_from_them() {
    let log = run_to_exit(
        &built_test_profile("test-priorities"),
        &["selftest=loader"],
        false,
    );
    for what in ["truncated", "corrupted", "empty"] {
        assert!(
            log.contains(&format!(
                "selftest: loader refused a {what} image: bad process image"
            )),
            "{what}:\n{log}"
        );
    }
    assert!(
        log.contains("selftest: loader: all damaged images refused"),
        "{log}"
    );
    assert!(
        !log.contains("process damaged"),
        "nothing ran from a damaged image:\n{log}"
    );
}

#[test]
fn running_processes_turn_into_descriptors_that_decode_back() {
    let log = run_to_exit(
        &built_test_profile("test-priorities"),
        &["selftest=describe"],
        true, // -icount: what has run by the time of the snapshot is the same every time
    );
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("selftest: describe:"))
        .collect();
    assert!(lines.len() >= 2, "processes described:\n{log}");
    assert!(
        lines.iter().all(|l| l.ends_with("decodes back equal")),
        "{log}"
    );
    assert!(
        lines.iter().any(|l| l.contains("(with registers)")),
        "a thread that ran has saved registers:\n{log}"
    );
}
