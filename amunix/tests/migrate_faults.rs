//! Tier 3: a node dies in the middle of a move. `amoeba migrate` stops at a step of the move
//! (its test hook), the test kills the source or the target there, and the move goes on:
//! the process then runs on exactly one node, counting on from where it was and never
//! counting a number twice, or it is lost and its owner says so: when the source dies before
//! the target read its memory, or the target dies after the process ran there.

mod common;

use amoeba_build::qemu::Nic;
use amoeba_tests::Node;
use amoeba_tests::lan::port_for;
use common::{Foreground, migrate_paused, peer_and_root, pool_node, process_names};
use std::time::Duration;

/// The number a `counter NAME` line reports.
fn report(line: &str, name: &str) -> Option<u64> {
    line.strip_prefix(&format!("counter {name}: "))?
        .parse()
        .ok()
}

/// The counter's reports so far: 1, 2, 3... once each if it never restarted or ran twice.
fn counts(counter: &Foreground, name: &str) -> Vec<u64> {
    counter
        .lines()
        .iter()
        .filter_map(|l| report(l, name))
        .collect()
}

/// Waits until the counter reports 20 more than it has so far (`logs`: the nodes' logs).
fn counts_on(counter: &Foreground, name: &str, logs: &str) {
    let last = counts(counter, name).last().copied().unwrap_or(0);
    let more = counter.wait_for(Duration::from_secs(60), |line| {
        report(line, name).filter(|&n| n >= last + 20)
    });
    assert!(more.is_some(), "the counter stopped at {last}\n{logs}");
}

fn all_logs(nodes: &[(&str, &Node)]) -> String {
    let logs = nodes.iter().map(|(name, node)| format!("--- {name} ---\n{}", node.log()));
    logs.collect::<Vec<_>>().join("\n")
}

#[test]
fn a_process_runs_on_exactly_one_node_whichever_node_dies_during_a_move() {
    let port = port_for(61);
    let mut source = pool_node("fault-s", port, 1, Nic::Virtio);
    let mut early = pool_node("fault-t1", port, 2, Nic::Ne2000);
    let later = pool_node("fault-t2", port, 3, Nic::Virtio);
    let mut last = pool_node("fault-t3", port, 4, Nic::Ne2000);
    macro_rules! logs {
        () => {
            all_logs(&[
                ("fault-s", &source),
                ("fault-t1", &early),
                ("fault-t2", &later),
                ("fault-t3", &last),
            ])
        };
    }
    let mut counter = Foreground::start(port, "fault-s", "counter", &["f"], &source);
    counts_on(&counter, "f", &logs!());

    // The target dies before it is asked to start the process: it runs on at the source.
    let moved = migrate_paused(port, &counter.process, "fault-t1", "checkpointed", || {
        early.kill()
    });
    let error = moved.err().unwrap_or_else(|| panic!("moved to a dead node\n{}", logs!()));
    assert!(error.contains("it runs on where it was"), "{error}");
    counts_on(&counter, "f", &logs!());
    let (peer, root) = peer_and_root(port, "fault-s", &source);
    assert_eq!(process_names(&peer, &root), ["counter"], "{}", logs!());

    // The source dies once the target runs the process: it runs on at the target.
    let moved = migrate_paused(port, &counter.process, "fault-t2", "started", || {
        source.kill()
    });
    let moved = moved.unwrap_or_else(|e| panic!("{e}\n{}", logs!()));
    counts_on(&counter, "f", &logs!());
    let (peer, root) = peer_and_root(port, "fault-t2", &later);
    assert_eq!(process_names(&peer, &root), ["counter"], "{}", logs!());
    let numbers = counts(&counter, "f");
    let expected: Vec<u64> = (1..=numbers.len() as u64).collect();
    assert!(
        numbers == expected,
        "counted twice or restarted: {numbers:?}\n{}",
        logs!()
    );

    // The target dies after it started the process: the process ran there and is gone with
    // it (the source's older copy never runs again), and its owner says it was lost.
    let gone = migrate_paused(port, &moved.process, "fault-t3", "started", || last.kill());
    assert!(gone.is_ok(), "{gone:?}\n{}", logs!());
    assert!(process_names(&peer, &root).is_empty(), "{}", logs!());
    assert_eq!(counter.wait(Duration::from_secs(90)), Some(125), "{}", logs!());
    let numbers = counts(&counter, "f");
    let expected: Vec<u64> = (1..=numbers.len() as u64).collect();
    assert!(numbers == expected, "counted twice: {numbers:?}\n{}", logs!());
}

#[test]
fn a_source_dying_before_its_memory_was_read_loses_the_process_and_the_owner_says_so() {
    let port = port_for(62);
    let mut source = pool_node("lost-s", port, 1, Nic::Ne2000);
    let target = pool_node("lost-t", port, 2, Nic::Virtio);
    macro_rules! logs {
        () => {
            all_logs(&[("lost-s", &source), ("lost-t", &target)])
        };
    }
    let mut counter = Foreground::start(port, "lost-s", "counter", &["l"], &source);
    counts_on(&counter, "l", &logs!());
    let moved = migrate_paused(port, &counter.process, "lost-t", "checkpointed", || {
        source.kill()
    });
    let error = moved.err().unwrap_or_else(|| panic!("moved from a dead node\n{}", logs!()));
    assert!(error.contains("the process is lost"), "{error}");
    let (peer, root) = peer_and_root(port, "lost-t", &target);
    assert!(process_names(&peer, &root).is_empty(), "{}", logs!());
    // `amoeba exec` hears nothing more from the process and says it was lost (status 125).
    assert_eq!(counter.wait(Duration::from_secs(90)), Some(125), "{}", logs!());
}
