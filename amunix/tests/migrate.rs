//! Tier 3: `amoeba migrate` between real pool nodes, one with virtio-net and one with NE2000.
//! A process moves mid-run and goes on where it was: a counter keeps counting (every line
//! once, in order, and the exit status at the end, through `amoeba exec` in the foreground,
//! which stays its owner), the `threads` program passes every check though it moves while its
//! threads wait on every kind of sync object, an echo server keeps its port and its count
//! while the host calls it, and a client in a loop of calls gets each reply exactly once.

mod common;

use amoeba_build::qemu::Nic;
use amoeba_tests::Node;
use amoeba_tests::lan::port_for;
use amunix::entropy::random_mac;
use amunix::lan::LanSeat;
use amunix::medium::LanMedium;
use amunix::peer::HostPeer;
use common::{
    Foreground, assert_counted_once, counts, migrate, peer_and_root, pool_node, process_names,
    report,
};
use libamoeba::capability::{Capability, Port};
use libamoeba::client;
use libamoeba::oneway::put_port;
use libamoeba::random::Entropy;
use libamoeba::servers::echo::EchoServer;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Longest a moved program may take to finish.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// Two pool nodes on LAN `port`: `NAME-v` with virtio-net, `NAME-n` with NE2000.
fn two_nodes(port: u16, name: &str) -> ((String, Node), (String, Node)) {
    let virtio = format!("{name}-v");
    let ne2000 = format!("{name}-n");
    let a = pool_node(&virtio, port, 1, Nic::Virtio);
    let b = pool_node(&ne2000, port, 2, Nic::Ne2000);
    ((virtio, a), (ne2000, b))
}

fn logs(a: &Node, b: &Node) -> String {
    format!(
        "--- first node ---\n{}\n--- second node ---\n{}",
        a.log(),
        b.log()
    )
}

#[test]
fn a_counter_moves_to_an_ne2000_node_and_back_and_keeps_counting() {
    let port = port_for(51);
    let ((a, node_a), (b, node_b)) = two_nodes(port, "count");
    let all = || logs(&node_a, &node_b);
    let mut counter = Foreground::start(port, &a, "counter", &["m", "3000"], &node_a);
    let seen = |at: u64| move |line: &str| report(line, "m").filter(|&n| n >= at);
    let before = counter.wait_for(Duration::from_secs(60), seen(50));
    assert!(
        before.is_some(),
        "the counter did not start counting\n{}",
        all()
    );

    let there = migrate(port, &counter.process, &b).unwrap_or_else(|e| panic!("{e}\n{}", all()));
    assert!(there.bytes > 0 && there.freeze_ms <= there.total_ms);
    let (peer, root_b) = peer_and_root(port, &b, &node_b);
    assert_eq!(process_names(&peer, &root_b), ["counter"], "{}", all());
    let last = counter.lines().len() as u64;
    let moved_on = counter.wait_for(Duration::from_secs(60), seen(last + 50));
    assert!(moved_on.is_some(), "no count after the move\n{}", all());

    let back = migrate(port, &there.process, &a).unwrap_or_else(|e| panic!("{e}\n{}", all()));
    let status = counter.wait(RUN_LIMIT);
    assert_eq!(status, Some(0), "{}", all());
    let numbers = counts(&counter, "m");
    let expected: Vec<u64> = (1..=3000).collect();
    assert!(
        numbers == expected,
        "counts out of order or missing: {numbers:?}\n{}",
        all()
    );
    let (peer, root_a) = peer_and_root(port, &a, &node_a);
    assert!(process_names(&peer, &root_a).is_empty());
    assert!(process_names(&peer, &root_b).is_empty());
    eprintln!(
        "moved {} bytes twice: stood still {:.1} and {:.1} ms",
        there.bytes, there.freeze_ms, back.freeze_ms
    );
}

#[test]
fn the_threads_program_moved_at_several_moments_passes_every_check() {
    let port = port_for(52);
    let ((a, node_a), (b, node_b)) = two_nodes(port, "thr");
    let all = || logs(&node_a, &node_b);
    let mut threads = Foreground::start(port, &a, "threads", &["4"], &node_a);
    let mut process = threads.process;
    let mut moves = 0;
    let mut here = b.as_str();
    let started = Instant::now();
    // Move it back and forth while it runs: each move lands at another moment of the checks.
    while started.elapsed() < RUN_LIMIT {
        std::thread::sleep(Duration::from_millis(100));
        match migrate(port, &process, here) {
            Ok(moved) => {
                process = moved.process;
                moves += 1;
                here = if here == a { &b } else { &a };
            }
            // It ended (or was ending) while being moved.
            Err(_)
                if threads
                    .lines()
                    .iter()
                    .any(|l| l.starts_with("threads: all")) =>
            {
                break;
            }
            Err(error) if moves > 0 => {
                eprintln!("a move failed, the program ran on: {error}");
                break;
            }
            Err(error) => panic!("the first move failed: {error}\n{}", all()),
        }
    }
    let status = threads.wait(RUN_LIMIT);
    let lines = threads.lines();
    let failed: Vec<&String> = lines.iter().filter(|l| l.contains("FAILED")).collect();
    assert!(
        failed.is_empty(),
        "{failed:?} after {moves} moves\n{}",
        all()
    );
    assert!(
        lines.iter().any(|l| l == "threads: all checks passed"),
        "{lines:?}\n{}",
        all()
    );
    assert_eq!(status, Some(0));
    assert!(moves >= 2, "only {moves} moves happened while it ran");
}

/// A host peer on LAN `port` with a seat of its own.
fn lan_peer(port: u16) -> HostPeer {
    let seat = LanSeat::join(port, random_mac()).unwrap_or_else(|e| panic!("joining: {e}"));
    HostPeer::new(LanMedium::new(seat))
}

/// The echo count an echo server reports in STD_INFO.
fn echoes(peer: &HostPeer, server: &Capability) -> Option<u64> {
    let mut buffer = [0u8; 64];
    let info = client::std_info(peer, server, &mut buffer).ok()?;
    info.strip_prefix("echo server, ")?
        .strip_suffix(" echoes")?
        .parse()
        .ok()
}

#[test]
fn an_echo_server_moved_while_the_host_calls_answers_every_call_once() {
    const CALLS: u64 = 500;
    let port = port_for(53);
    let ((a, node_a), (b, node_b)) = two_nodes(port, "echo");
    let all = || logs(&node_a, &node_b);
    let server = Foreground::start(port, &a, "echo-server", &[], &node_a);
    let echo: Capability = server
        .wait_for(Duration::from_secs(30), |line| {
            line.rsplit("serving as ").next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no capability from the echo server\n{}", all()));
    let done = Arc::new(AtomicU64::new(0));
    let answered = Arc::new(AtomicU64::new(0));
    let caller = {
        let (done, answered) = (Arc::clone(&done), Arc::clone(&answered));
        std::thread::spawn(move || {
            let peer = lan_peer(port);
            let mut back = [0u8; 8];
            let mut failures = Vec::new();
            for call in 0..CALLS {
                let data = call.to_le_bytes();
                match client::echo(&peer, &echo, &data, &mut back) {
                    Ok(8) if back == data => {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    other => failures.push((call, other)),
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            failures
        })
    };
    let mut process = server.process;
    for (at, to) in [(150, &b), (350, &a)] {
        while done.load(Ordering::Relaxed) < at {
            std::thread::sleep(Duration::from_millis(20));
        }
        process = migrate(port, &process, to)
            .unwrap_or_else(|e| panic!("{e}\n{}", all()))
            .process;
    }
    let failures = caller
        .join()
        .unwrap_or_else(|_| panic!("the caller panicked"));
    assert_eq!(
        answered.load(Ordering::Relaxed),
        CALLS,
        "calls that failed: {failures:?}\n{}",
        all()
    );
    let peer = lan_peer(port);
    assert_eq!(echoes(&peer, &echo), Some(CALLS), "{}", all());
    let _ = client::std_destroy(&peer, &process);
}

#[test]
fn a_client_moved_in_the_middle_of_its_calls_gets_each_reply_once() {
    const CALLS: u64 = 400;
    let port = port_for(54);
    let ((a, node_a), (b, node_b)) = two_nodes(port, "call");
    let all = || logs(&node_a, &node_b);
    let get = Port(amunix::entropy::HostEntropy.nonzero48());
    let (server, echo) = EchoServer::new(put_port(get), &mut amunix::entropy::HostEntropy);
    let stop = Arc::new(AtomicBool::new(false));
    let serving = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || lan_peer(port).serve(get, server, &stop))
    };
    let echo_text = echo.to_string();
    let count = CALLS.to_string();
    let mut caller = Foreground::start(port, &a, "caller", &[&echo_text, &count], &node_a);
    let progress = |at: u64| {
        move |line: &str| {
            let rest = line.strip_prefix("caller: ")?;
            let (_, of) = rest.split_once(" of ")?;
            of.split(' ')
                .next()?
                .parse::<u64>()
                .ok()
                .filter(|&n| n >= at)
        }
    };
    let mut process = caller.process;
    for (at, to) in [(100, &b), (200, &a)] {
        let reached = caller.wait_for(Duration::from_secs(60), progress(at));
        assert!(reached.is_some(), "{:?}\n{}", caller.lines(), all());
        process = migrate(port, &process, to)
            .unwrap_or_else(|e| panic!("{e}\n{}", all()))
            .process;
    }
    let status = caller.wait(RUN_LIMIT);
    let lines = caller.lines();
    let last = format!("caller: {CALLS} of {CALLS} answered");
    assert_eq!(lines.last(), Some(&last), "{lines:?}\n{}", all());
    assert_eq!(status, Some(0));
    let peer = lan_peer(port);
    assert_eq!(
        echoes(&peer, &echo),
        Some(CALLS),
        "the server ran each call once"
    );
    stop.store(true, Ordering::Relaxed);
    let _ = serving.join();
    let _ = process;
}

#[test]
fn a_move_the_target_refuses_or_cannot_take_leaves_the_process_running_where_it_was() {
    let port = port_for(55);
    let source = pool_node("keep-v", port, 1, Nic::Virtio);
    let closed_image = amoeba_tests::images::built_test_profile("test-no-exec");
    let words = ["node=closed-n".to_string()];
    let closed = amoeba_tests::images::start_lan_node(
        &closed_image,
        Nic::Ne2000,
        port,
        2,
        &words,
        common::LIMIT,
    );
    let all = || logs(&source, &closed);
    // Counting for ever: however fast it counts, it is still there for every move below.
    let mut counter = Foreground::start(port, "keep-v", "counter", &["k"], &source);
    let seen = |at: u64| move |line: &str| report(line, "k").filter(|&n| n >= at);
    assert!(
        counter
            .wait_for(Duration::from_secs(60), seen(20))
            .is_some(),
        "{}",
        all()
    );
    // A node that withholds the exec right refuses before anything stops.
    let refused = migrate(port, &counter.process, "closed-n");
    let error = refused
        .err()
        .unwrap_or_else(|| panic!("moved to a closed node\n{}", all()));
    assert!(error.contains("STD_DENIED"), "{error}");
    let (peer, root) = peer_and_root(port, "keep-v", &source);
    assert_eq!(process_names(&peer, &root), ["counter"]);
    // A node that is gone cannot be found: nothing stops.
    drop(closed);
    let gone = migrate(port, &counter.process, "closed-n");
    assert!(gone.is_err_and(|e| e.contains("no node named closed-n")));
    // A target that refuses the descriptor after the stun (here the process's own node, which
    // cannot read a running process as a segment): the exec fails, and the checkpoint's
    // answer gives the process back to its node, where it runs on.
    let refused_late = migrate(port, &counter.process, "keep-v");
    assert!(
        refused_late
            .as_ref()
            .is_err_and(|e| e.contains("it runs on where it was")),
        "{refused_late:?}\n{}",
        source.log()
    );
    let last = counter.lines().len() as u64;
    assert!(
        counter
            .wait_for(Duration::from_secs(60), seen(last + 20))
            .is_some(),
        "the counter stopped after a failed move\n{}",
        source.log()
    );
    counter.interrupt();
    assert_eq!(counter.wait(RUN_LIMIT), Some(130), "{}", source.log());
    assert_counted_once(&counter, "k", &source.log());
}
