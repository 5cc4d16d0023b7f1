//! `rpc-check`: a process calls every server of its node by RPC through the libamoeba stubs and
//! reports each check as `rpc-check: WHAT: ok (...)` or `FAILED`; the end-to-end tests read
//! these lines. It expects the kernel servers dir, sys, tod, random, proc, tty and echo, and the
//! `echo-server` and `stall-server` programs; at the end it kills `echo-server` through the
//! process server, so that a `ready=exit` node can stop.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use libamoeba::capability::{Capability, Port};
use libamoeba::client;
use libamoeba::println;
use libamoeba::priority::Level;
use libamoeba::process::Environment;
use libamoeba::process::environment::ROOT;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::header::Header;
use libamoeba::rpc::transport::Rpc;
use libamoeba::servers::{dir, random, sys};
use libamoeba::user::rpc::{UserRpc, set_locate_timeout};
use libamoeba::user::sync::Semaphore;
use libamoeba::user::thread;

libamoeba::amoeba_main!(main);

const RPC: UserRpc = UserRpc;
const CLIENT_THREADS: u64 = 8;
const CALLS_PER_THREAD: u64 = 50;
const BULK_BYTES: usize = 30_000;

static FAILED: AtomicU64 = AtomicU64::new(0);

fn check(what: &str, ok: bool, detail: core::fmt::Arguments<'_>) {
    println!(
        "rpc-check: {what}: {} ({detail})",
        if ok { "ok" } else { "FAILED" }
    );
    if !ok {
        FAILED.fetch_add(1, Ordering::Relaxed);
    }
}

fn main(env: &Environment) -> i32 {
    let Some(root) = env.capability(ROOT).filter(|c| !c.is_null()) else {
        println!("rpc-check: no ROOT capability; the profile needs server dir");
        return 1;
    };
    let names = directory(&root);
    let find = |name: &str| names.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
    let (Some(sys), Some(tod), Some(rnd), Some(proc), Some(tty), Some(ps)) = (
        find("sys"),
        find("tod"),
        find("random"),
        find("proc"),
        find("tty"),
        find("ps"),
    ) else {
        println!("rpc-check: a kernel server is missing from the directory");
        return 1;
    };
    // Every server but the stall server, which never answers.
    for (name, cap) in names.iter().filter(|(name, _)| name != "stall") {
        let mut buffer = [0u8; 128];
        let info = client::std_info(&RPC, cap, &mut buffer);
        check("std_info", info.is_ok(), format_args!("{name}: {info:?}"));
    }
    kernel_servers(sys, tod, rnd, proc, tty);
    refusals(&root, sys, tod, rnd);
    let echo = wait_for(&root, "echo-user");
    echo_server(echo);
    many_clients(echo);
    unknown_port();
    killed_mid_call(&root, ps);
    end_process_named(ps, "echo-server");
    let failed = FAILED.load(Ordering::Relaxed);
    if failed == 0 {
        println!("rpc-check: all checks passed");
        0
    } else {
        println!("rpc-check: {failed} checks FAILED");
        1
    }
}

fn directory(root: &Capability) -> Vec<(String, Capability)> {
    let names = client::dir_list(&RPC, root);
    let listed: Vec<&str> = names
        .iter()
        .flatten()
        .map(|(name, _)| name.as_str())
        .collect();
    check("dir list", names.is_ok(), format_args!("{listed:?}"));
    names.unwrap_or_default()
}

/// Looks `name` up, waiting for its server process to publish it.
fn wait_for(root: &Capability, name: &str) -> Capability {
    for _ in 0..200 {
        if let Ok(cap) = client::dir_lookup(&RPC, root, name) {
            return cap;
        }
        thread::sleep(Duration::from_millis(5));
    }
    Capability::NULL
}

fn kernel_servers(
    sys: Capability,
    tod: Capability,
    rnd: Capability,
    proc: Capability,
    tty: Capability,
) {
    let kstat = client::kstat(&RPC, &sys);
    check(
        "sys kstat",
        kstat.is_ok_and(|k| k.processes >= 3 && k.rpc.trans > 0 && k.memory_free > 0),
        format_args!("{kstat:?}"),
    );
    let mut log = vec![0u8; 4096];
    let printed = client::printbuf(&RPC, &sys, &mut log);
    let text = printed.map(|n| String::from_utf8_lossy(&log[..n]).into_owned());
    check(
        "sys printbuf",
        text.as_ref().is_ok_and(|t| t.contains("amoeba: node")),
        format_args!(
            "{} bytes of kernel log",
            text.as_ref().map_or(0, String::len)
        ),
    );
    let time = client::gettime(&RPC, &tod);
    check(
        "tod gettime",
        time.is_ok_and(|t| t.secs > 1_600_000_000),
        format_args!("{time:?}"),
    );
    let mut bytes = [0u8; 1024];
    let got = client::getrandom(&RPC, &rnd, &mut bytes);
    let distinct = bytes
        .iter()
        .collect::<alloc::collections::BTreeSet<_>>()
        .len();
    check(
        "random getrandom",
        got.is_ok() && distinct > 100,
        format_args!("1024 bytes, {distinct} distinct values, {got:?}"),
    );
    let written = client::tty_write(&RPC, &tty, b"rpc-check: written through the tty server\n");
    check("tty write", written == Ok(42), format_args!("{written:?}"));
    let load = client::ps_getload(&RPC, &proc);
    check(
        "proc getload",
        load.is_ok_and(|l| l.free_memory > 0 && l.speed_mhz > 0),
        format_args!("{load:?}"),
    );
}

/// Forged capabilities get STD_CAPBAD, genuine ones lacking a right STD_DENIED.
fn refusals(root: &Capability, sys: Capability, tod: Capability, rnd: Capability) {
    for (name, cap) in [("sys", sys), ("tod", tod), ("dir", *root)] {
        let mut forged = cap;
        forged.check[0] ^= 1;
        let mut buffer = [0u8; 64];
        let answer = client::std_info(&RPC, &forged, &mut buffer).map(|_| ());
        check(
            "forged capability refused",
            answer == Err(ErrorCode::STD_CAPBAD),
            format_args!("{name}: {answer:?}"),
        );
    }
    let boot = client::boot(&RPC, &sys, sys::BootAction::Halt);
    check(
        "boot without the admin right",
        boot == Err(ErrorCode::STD_DENIED),
        format_args!("{boot:?}"),
    );
    let read_only = client::std_restrict(&RPC, root, dir::READ);
    let append = read_only.and_then(|dir| client::dir_append(&RPC, &dir, "intruder", &tod));
    check(
        "append with a read-only directory",
        append == Err(ErrorCode::STD_DENIED),
        format_args!("{append:?}"),
    );
    let no_rights = client::std_restrict(&RPC, &rnd, !random::READ);
    let mut bytes = [0u8; 8];
    let denied = no_rights.and_then(|cap| client::getrandom(&RPC, &cap, &mut bytes));
    check(
        "getrandom without the read right",
        denied == Err(ErrorCode::STD_DENIED),
        format_args!("{denied:?}"),
    );
}

fn echo_server(echo: Capability) {
    let mut reply = [0u8; 16];
    let answer = client::echo(&RPC, &echo, b"ping", &mut reply);
    check(
        "echo-server round trip",
        answer == Ok(4) && &reply[..4] == b"ping",
        format_args!("{answer:?}"),
    );
    let bulk: Vec<u8> = (0..BULK_BYTES).map(|i| (i * 7 + i / 256) as u8).collect();
    let mut back = vec![0u8; BULK_BYTES];
    let answer = client::echo(&RPC, &echo, &bulk, &mut back);
    check(
        "echo-server 30000 bytes",
        answer == Ok(BULK_BYTES) && back == bulk,
        format_args!("{answer:?}"),
    );
    let request = Header::request(&echo, libamoeba::servers::echo::ECHO);
    let mut header = Header::default();
    let mut small = [0u8; 100];
    let received = RPC.trans(&request, &bulk, &mut header, &mut small);
    check(
        "reply truncated to the buffer",
        received.is_ok_and(|r| r.len == 100 && r.sent == BULK_BYTES) && small[..] == bulk[..100],
        format_args!("{received:?}"),
    );
}

fn many_clients(echo: Capability) {
    let right = Arc::new(AtomicU64::new(0));
    let Ok(done) = Semaphore::new(0) else {
        check("many clients", false, format_args!("no semaphore"));
        return;
    };
    for t in 0..CLIENT_THREADS {
        let right = Arc::clone(&right);
        let spawned = thread::spawn(
            move || {
                let mut reply = [0u8; 8];
                for i in 0..CALLS_PER_THREAD {
                    let data = (t * 1000 + i).to_le_bytes();
                    if client::echo(&RPC, &echo, &data, &mut reply) == Ok(8) && reply == data {
                        right.fetch_add(1, Ordering::Relaxed);
                    }
                }
                done.up();
            },
            Level::Norm,
        );
        if spawned.is_err() {
            done.up();
        }
    }
    for _ in 0..CLIENT_THREADS {
        done.down();
    }
    let right = right.load(Ordering::Relaxed);
    check(
        "many client threads, one server process",
        right == CLIENT_THREADS * CALLS_PER_THREAD,
        format_args!("{CLIENT_THREADS} threads x {CALLS_PER_THREAD} calls: {right} right replies"),
    );
}

fn unknown_port() {
    let previous = set_locate_timeout(30);
    let nobody = Capability {
        port: Port([0x5a; 6]),
        ..Capability::NULL
    };
    let mut buffer = [0u8; 8];
    let answer = client::std_info(&RPC, &nobody, &mut buffer).map(|_| ());
    set_locate_timeout(previous);
    check(
        "port nobody serves",
        answer == Err(ErrorCode::RPC_NOTFOUND),
        format_args!("{answer:?} with a 30 ms locate timeout"),
    );
}

static STALLED_ANSWER: AtomicU64 = AtomicU64::new(0);

/// A thread calls the stall server, which never answers; the server is then killed through the
/// process server, and the call must fail with RPC_FAILURE.
fn killed_mid_call(root: &Capability, ps: Capability) {
    let stall = wait_for(root, "stall");
    let Ok(done) = Semaphore::new(0) else {
        return;
    };
    let caller = thread::spawn(
        move || {
            let mut buffer = [0u8; 8];
            let answer = client::std_info(&RPC, &stall, &mut buffer).map(|_| ());
            let code = answer.err().map_or(0, |e| e.get().unsigned_abs());
            STALLED_ANSWER.store(u64::from(code), Ordering::Relaxed);
            done.up();
        },
        Level::Norm,
    );
    thread::sleep(Duration::from_millis(20));
    let killed = end_process_named(ps, "stall-server");
    let waited = caller.is_ok() && done.down_timeout(Duration::from_secs(2)).is_ok();
    let code = STALLED_ANSWER.load(Ordering::Relaxed);
    check(
        "server killed mid-call",
        killed && waited && code == 1,
        format_args!("caller woke: {waited}, its error: -{code} (RPC_FAILURE is -1)"),
    );
}

/// Finds the process called `name` in the ps directory and destroys it through its capability.
fn end_process_named(ps: Capability, name: &str) -> bool {
    let processes = client::dir_list(&RPC, &ps).unwrap_or_default();
    for (pid, cap) in processes {
        let mut buffer = [0u8; 128];
        let Ok(info) = client::std_info(&RPC, &cap, &mut buffer) else {
            continue;
        };
        if info.contains(name) {
            let result = client::std_destroy(&RPC, &cap);
            check(
                "proc destroy",
                result.is_ok(),
                format_args!("{name} (pid {pid}): {result:?}"),
            );
            return result.is_ok();
        }
    }
    check(
        "proc destroy",
        false,
        format_args!("no process {name} in ps"),
    );
    false
}
