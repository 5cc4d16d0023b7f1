//! Tier 3: Amoeba RPC on a booted node. Processes call every kernel server and server processes
//! (`rpc-check`), forged and rights-lacking capabilities are refused, a server killed mid-call
//! fails its client, many client threads share one server; kernel threads run the same checks
//! (`selftest=rpc`); both the fast and the queued IPC path give the same answers.

use amoeba_build::image::BuiltImage;
use amoeba_tests::images::{self, built_test_profile};
use libamoeba::boot::ExitCode;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(90);

fn run_to_exit(image: &BuiltImage, words: &[&str]) -> String {
    images::run_to_exit(image, words, false, LIMIT)
}

/// The checks `rpc-check` and `selftest=rpc` share (libamoeba's `client::node_check`).
const NODE_CHECKS: [&str; 12] = [
    "dir list",
    "sys kstat",
    "sys printbuf",
    "tod gettime",
    "random getrandom",
    "tty write",
    "proc getload",
    "proc ps directory",
    "forged capability refused",
    "boot without the admin right",
    "append with a read-only directory",
    "getrandom without the read right",
];

fn assert_checks_passed(log: &str, prefix: &str, checks: &[&str]) {
    for check in checks {
        assert!(
            log.contains(&format!("{prefix}: {check}: ok")),
            "{prefix}: {check}:\n{log}"
        );
    }
    assert!(!log.contains(": FAILED"), "{log}");
}

fn assert_rpc_check_passed(log: &str) {
    assert_checks_passed(log, "rpc-check", &NODE_CHECKS);
    assert_checks_passed(
        log,
        "rpc-check",
        &[
            "echo-server round trip",
            "echo-server 30000 bytes",
            "reply truncated to the buffer",
            "many client threads, one server process",
            "port nobody serves",
            "server killed mid-call",
            "destroy through the published ps refused",
            "proc destroy",
            "proc stun",
        ],
    );
    assert!(log.contains("rpc-check: all checks passed"), "{log}");
}

#[test]
fn processes_call_every_server_and_server_processes() {
    let log = run_to_exit(&built_test_profile("test-rpc"), &[]);
    assert_rpc_check_passed(&log);
    // Every server's owner capability is printed at boot in the textual form.
    for server in ["dir", "sys", "tod", "random", "proc", "tty", "echo"] {
        assert!(
            log.contains(&format!("server {server}: ")),
            "{server}:\n{log}"
        );
    }
    // Output of processes reaches the console through the tty server.
    assert!(
        log.contains("node check: written through the tty server"),
        "{log}"
    );
    // ps lists processes with their capabilities; kstat reads the kernel's counters.
    for name in ["echo-server", "stall-server", "rpc-check"] {
        assert!(
            log.contains(&format!("process {name} pid")),
            "{name}:\n{log}"
        );
    }
    assert!(log.contains("kstat: rpc "), "{log}");
    // Destroyed and stunned processes end with the codes the process server gave them.
    assert!(
        log.contains("process stall-server (pid 2) ended with code -9"),
        "{log}"
    );
    assert!(
        log.contains("process echo-server (pid 1) ended with code 2"),
        "{log}"
    );
    // Killed servers leave nothing behind.
    let returned = log
        .lines()
        .find(|l| l.contains("memory: all processes ended"));
    let returned = returned.unwrap_or_else(|| panic!("no memory line:\n{log}"));
    let numbers: Vec<&str> = returned
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect();
    assert!(
        numbers.len() >= 2 && numbers[numbers.len() - 1] == numbers[numbers.len() - 2],
        "memory not all returned: {returned}"
    );
}

#[test]
fn kernel_threads_call_every_server_through_the_same_interface() {
    let log = run_to_exit(&built_test_profile("test-rpc"), &["selftest=rpc"]);
    assert_checks_passed(
        &log,
        "selftest",
        &[
            "rpc round trip",
            "rpc truncated reply",
            "rpc many clients",
            "rpc to a port nobody serves",
            "rpc server ends mid-call",
        ],
    );
    assert_checks_passed(&log, "selftest", &NODE_CHECKS);
    assert!(log.contains("selftest: rpc: all checks passed"), "{log}");
}

#[test]
fn the_queued_ipc_path_gives_the_same_answers() {
    let log = run_to_exit(&built_test_profile("test-rpc"), &["ipc=queued"]);
    assert_rpc_check_passed(&log);
}

fn run_until_stopped(image: &BuiltImage, words: &[&str]) -> (Option<i32>, String) {
    images::run_until_stopped(image, words, false, LIMIT)
}

#[test]
fn boot_by_the_sys_owner_capability_halts_or_reboots_the_node() {
    let image = built_test_profile("test-rpc");
    let (code, log) = run_until_stopped(&image, &["selftest=halt"]);
    assert!(log.contains("sys: BOOT Halt requested"), "{log}");
    assert!(
        !log.contains("amoeba: node"),
        "stopped before its ready line:\n{log}"
    );
    assert_eq!(code, Some(ExitCode::Success.qemu_status()), "{log}");
    // QEMU runs with -no-reboot: the machine's reset ends it with status 0.
    let (code, log) = run_until_stopped(&image, &["selftest=reboot"]);
    assert!(log.contains("sys: BOOT Reboot requested"), "{log}");
    assert!(
        !log.contains("amoeba: node"),
        "stopped before its ready line:\n{log}"
    );
    assert_eq!(code, Some(0), "{log}");
}
