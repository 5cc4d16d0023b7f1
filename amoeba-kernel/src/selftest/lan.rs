//! `selftest=lan[:N]`: this node finds N other nodes on its LAN (their link-check answers name
//! their root directories, `net::peers`) and runs on each one's kernel servers, over FLIP, the
//! same checks `selftest=rpc` runs on its own (`libamoeba::client::node_check`), then large
//! and many echo calls. The calls go through `KernelRpc` exactly as local ones do: a port with
//! no server here goes to the network. The node then stays up, serving the other nodes' checks.
//!
//! `selftest=lanbench` times echo calls to the first node found instead (`benches/lan.rs`).

use super::check;
use crate::arch::{cpu, tsc};
use crate::ipc::KernelRpc;
use crate::kprintln;
use crate::net::peers;
use crate::sched;
use alloc::vec;
use libamoeba::capability::Capability;
use libamoeba::client::node_check::Shown;
use libamoeba::client::{self, node_check};

/// How long the other nodes may take to answer (they boot at the same time, under TCG).
const FIND_LIMIT_NANOS: u64 = 60_000_000_000;
const ASK_INTERVAL_NANOS: u64 = 250_000_000;
/// Echo calls per peer, and the size of the large one.
const ECHO_CALLS: usize = 50;
const LARGE_ECHO_BYTES: usize = 30_000;

pub fn run(peers_wanted: u8) -> bool {
    let Some(found) = find_peers(usize::from(peers_wanted)) else {
        return check(
            "lan peers",
            false,
            format_args!("fewer than {peers_wanted} answered within 60 s"),
        );
    };
    let mut ok = true;
    for (name, root) in found {
        kprintln!("selftest: lan: checking {name}");
        ok &= check_peer(&name, &root);
    }
    ok
}

fn find_peers(wanted: usize) -> Option<vec::Vec<(alloc::string::String, Capability)>> {
    let mut waited = 0;
    while waited < FIND_LIMIT_NANOS {
        peers::ask();
        sched::sleep(ASK_INTERVAL_NANOS);
        waited += ASK_INTERVAL_NANOS;
        let known = peers::known();
        if known.len() >= wanted {
            return Some(known);
        }
    }
    None
}

fn check_peer(name: &str, root: &Capability) -> bool {
    let mut ok = true;
    let report = &mut |what: &str, passed: bool, detail: core::fmt::Arguments<'_>| {
        ok &= check(what, passed, format_args!("{name}: {detail}"));
    };
    match node_check::directory(&KernelRpc, root, &[], report) {
        Some(servers) => {
            node_check::commands(&KernelRpc, &servers, report);
            node_check::refusals(&KernelRpc, root, &servers, report);
        }
        None => report(
            "kernel servers in the directory",
            false,
            format_args!("sys, tod, random, proc, tty or ps missing"),
        ),
    }
    match client::dir_lookup(&KernelRpc, root, "echo") {
        Ok(echo) => echo_calls(&echo, report),
        Err(error) => report(
            "echo server",
            false,
            format_args!("not in the directory: {error}"),
        ),
    }
    ok
}

fn echo_calls(echo: &Capability, report: &mut impl node_check::Report) {
    let large: vec::Vec<u8> = (0..LARGE_ECHO_BYTES).map(|i| (i % 251) as u8).collect();
    let mut back = vec![0u8; LARGE_ECHO_BYTES];
    let answer = client::echo(&KernelRpc, echo, &large, &mut back);
    report.check(
        "remote echo, 30000 bytes",
        answer == Ok(LARGE_ECHO_BYTES) && back == large,
        format_args!("{}", Shown(&answer)),
    );
    let mut good = 0;
    for call in 0..ECHO_CALLS {
        let data = [call as u8; 16];
        let mut back = [0u8; 16];
        if client::echo(&KernelRpc, echo, &data, &mut back) == Ok(16) && back == data {
            good += 1;
        }
    }
    report.check(
        "remote echo, many calls",
        good == ECHO_CALLS,
        format_args!("{good} of {ECHO_CALLS} right"),
    );
}

/// Calls per timed series.
const BENCH_NULL_CALLS: u32 = 500;
const BENCH_BULK_CALLS: u32 = 40;
const BENCH_WARM_UP_CALLS: u32 = 20;

/// `selftest=lanbench`: null and 30000-byte echo calls to the first peer found, each series
/// reported as `lanbench: LABEL: N calls, T ns each, C busy cycles each, R MB/s`, where busy
/// cycles leave out the time this node waited in its idle thread.
pub fn bench() {
    let Some(found) = find_peers(1) else {
        kprintln!("selftest: lanbench: no peer answered within 60 s");
        return;
    };
    let (name, root) = &found[0];
    let echo = match client::dir_lookup(&KernelRpc, root, "echo") {
        Ok(echo) => echo,
        Err(error) => {
            kprintln!("selftest: lanbench: {name} has no echo server: {error}");
            return;
        }
    };
    let large = vec![0x5a_u8; LARGE_ECHO_BYTES];
    let mut back = vec![0u8; LARGE_ECHO_BYTES];
    let mut call = |data: &[u8]| client::echo(&KernelRpc, &echo, data, &mut back).is_ok();
    let warm = (0..BENCH_WARM_UP_CALLS).all(|_| call(&[]));
    if !warm {
        kprintln!("selftest: lanbench: echo calls to {name} fail");
        return;
    }
    timed("null", BENCH_NULL_CALLS, 0, || call(&[]));
    timed(
        "bulk 30000 B each way",
        BENCH_BULK_CALLS,
        2 * LARGE_ECHO_BYTES,
        || call(&large),
    );
    kprintln!("selftest: lanbench: done with {name}");
}

/// Runs `call` `calls` times and reports the series; `bytes` moved per call.
fn timed(label: &str, calls: u32, bytes: usize, mut call: impl FnMut() -> bool) {
    let (nanos, ticks, idle) = (now(), cpu::rdtsc(), sched::idle_ticks());
    let good = (0..calls).filter(|_| call()).count();
    let nanos = now().saturating_sub(nanos);
    let busy = cpu::rdtsc()
        .wrapping_sub(ticks)
        .saturating_sub(sched::idle_ticks().wrapping_sub(idle));
    let per_call = nanos / u64::from(calls);
    let megabytes_per_second = (bytes as u64 * u64::from(calls) * 1000)
        .checked_div(nanos)
        .unwrap_or(0);
    kprintln!(
        "lanbench: {label}: {good} of {calls} calls, {per_call} ns each, {} busy cycles each, \
         {megabytes_per_second} MB/s",
        busy / u64::from(calls)
    );
}

fn now() -> u64 {
    tsc::nanos_since_reset().unwrap_or(0)
}
