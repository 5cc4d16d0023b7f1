//! Tier 3: a node dies in the middle of a move. `amoeba migrate` stops at a step of the move
//! (its test hook), the test kills the source or the target there, and the move goes on:
//! the process then runs on exactly one node, counting on from where it was and never
//! counting a number twice, or it is lost and its owner says so: when the source dies before
//! the target read its memory, or the target dies after the process ran there.

mod common;

use amoeba_build::qemu::Nic;
use amoeba_tests::Node;
use amoeba_tests::lan::port_for;
use common::{
    Foreground, Migration, assert_counted_once, counts, migrate_paused, peer_and_root, pool_node,
    process_names, report,
};
use libamoeba::capability::Capability;
use std::time::Duration;

/// Waits until the counter reports 20 more than it has so far (`logs`: the nodes' logs).
fn counts_on(counter: &Foreground, name: &str, logs: &str) {
    let last = counts(counter, name).last().copied().unwrap_or(0);
    let more = counter.wait_for(Duration::from_secs(60), |line| {
        report(line, name).filter(|&n| n >= last + 20)
    });
    assert!(more.is_some(), "the counter stopped at {last}\n{logs}");
}

/// The move failed, its message saying `says`.
fn assert_refused(moved: Result<Migration, String>, says: &str, logs: &str) {
    match moved {
        Ok(moved) => panic!("moved ({moved:?}) though a node died\n{logs}"),
        Err(error) => assert!(error.contains(says), "{error}"),
    }
}

fn all_logs(nodes: &[(&str, &Node)]) -> String {
    let logs = nodes
        .iter()
        .map(|(name, node)| format!("--- {name} ---\n{}", node.log()));
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
    assert_refused(moved, "it runs on where it was", &logs!());
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
    assert_counted_once(&counter, "f", &logs!());

    // The target dies after it started the process: the process ran there and is gone with
    // it (the source's older copy never runs again), and its owner says it was lost.
    let gone = migrate_paused(port, &moved.process, "fault-t3", "started", || last.kill());
    assert!(gone.is_ok(), "{gone:?}\n{}", logs!());
    assert!(process_names(&peer, &root).is_empty(), "{}", logs!());
    assert_eq!(
        counter.wait(Duration::from_secs(90)),
        Some(125),
        "{}",
        logs!()
    );
    assert_counted_once(&counter, "f", &logs!());
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
    assert_refused(moved, "the process is lost", &logs!());
    let (peer, root) = peer_and_root(port, "lost-t", &target);
    assert!(process_names(&peer, &root).is_empty(), "{}", logs!());
    // `amoeba exec` hears nothing more from the process and says it was lost (status 125).
    assert_eq!(
        counter.wait(Duration::from_secs(90)),
        Some(125),
        "{}",
        logs!()
    );
}

/// The capability a server program printed as `... serving as CAP`.
fn served_as(program: &Foreground, logs: &str) -> Capability {
    let found = program.wait_for(Duration::from_secs(60), |line| {
        line.rsplit_once("serving as ")?.1.parse().ok()
    });
    found.unwrap_or_else(|| panic!("no capability printed: {:?}\n{logs}", program.lines()))
}

#[test]
fn a_process_whose_thread_never_stops_is_not_moved_and_runs_on() {
    let port = port_for(64);
    let node = pool_node("stall-s", port, 1, Nic::Virtio);
    let target = pool_node("stall-t", port, 2, Nic::Ne2000);
    let logs = || all_logs(&[("stall-s", &node), ("stall-t", &target)]);
    let stall = Foreground::start(port, "stall-s", "stall-server", &[], &node);
    let server = served_as(&stall, &logs());
    // Its one call is never answered: the caller's thread waits in trans for ever.
    let caller = Foreground::start(
        port,
        "stall-s",
        "caller",
        &[&server.to_string(), "1"],
        &node,
    );
    std::thread::sleep(Duration::from_secs(1));
    let moved = common::migrate(port, &caller.process, "stall-t");
    assert_refused(moved, "no checkpoint came", &logs());
    assert!(
        node.log().contains("stun not complete"),
        "the stun was not given up\n{}",
        logs()
    );
    let (peer, root) = peer_and_root(port, "stall-t", &target);
    assert!(process_names(&peer, &root).is_empty(), "{}", logs());
    // Not left stopped: it waits in its call again, as before the stun.
    let (peer, _) = peer_and_root(port, "stall-s", &node);
    let mut buffer = [0u8; 128];
    let info = libamoeba::client::std_info(&peer, &caller.process, &mut buffer);
    assert!(
        info.is_ok_and(|info| info.ends_with("blocked")),
        "{info:?}\n{}",
        logs()
    );
}
