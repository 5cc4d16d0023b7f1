//! `rpc-check`: a process calls every server of its node by RPC through the libamoeba stubs and
//! reports each check as `rpc-check: WHAT: ok (...)` or `FAILED`; the end-to-end tests read
//! these lines. It expects the kernel servers dir, sys, tod, random, proc, tty and echo, and the
//! `echo-server` and `stall-server` programs; it kills `stall-server` mid-call (STD_DESTROY) and
//! at the end stuns `echo-server` (PS_STUN, code 2) through the process server, so that a
//! `ready=exit` node can stop.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use amoeba_user::println;
use amoeba_user::required_capability;
use amoeba_user::rpc::{UserRpc, set_locate_timeout};
use amoeba_user::sync::Semaphore;
use amoeba_user::thread;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use libamoeba::capability::{Capability, Port};
use libamoeba::client;
use libamoeba::client::node_check::{self, Shown};
use libamoeba::priority::Level;
use libamoeba::process::Environment;
use libamoeba::process::environment::{PS, ROOT};
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::header::Header;
use libamoeba::rpc::transport::Rpc;

amoeba_user::amoeba_main!(main);

const RPC: UserRpc = UserRpc;
const CLIENT_THREADS: u64 = 8;
const CALLS_PER_THREAD: u64 = 50;
const BULK_BYTES: usize = 30_000;
/// The code `echo-server` ends with when stunned at the end.
const ECHO_SERVER_STUN_CODE: i32 = 2;

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
    let Some(root) = required_capability(env, ROOT, "rpc-check", "the profile needs server dir")
    else {
        return 1;
    };
    // Every server but the stall server, which never answers.
    let report =
        &mut |what: &str, ok: bool, detail: core::fmt::Arguments<'_>| check(what, ok, detail);
    let Some(servers) = node_check::directory(&RPC, &root, &["stall"], report) else {
        println!("rpc-check: a kernel server is missing from the directory");
        return 1;
    };
    node_check::commands(&RPC, &servers, report);
    node_check::refusals(&RPC, &root, &servers, report);
    let echo = wait_for(&root, "echo-user");
    echo_server(echo);
    many_clients(echo);
    unknown_port();
    // Ending processes takes the ps owner capability of an admin program (PS).
    let needs = "the profile must mark rpc-check admin = true";
    let Some(ps_owner) = required_capability(env, PS, "rpc-check", needs) else {
        return 1;
    };
    published_ps_cannot_kill(servers.ps);
    killed_mid_call(&root, ps_owner);
    end_process_named(ps_owner, "echo-server", Ending::Stun(ECHO_SERVER_STUN_CODE));
    let failed = FAILED.load(Ordering::Relaxed);
    if failed == 0 {
        println!("rpc-check: all checks passed");
        0
    } else {
        println!("rpc-check: {failed} checks FAILED");
        1
    }
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

fn echo_server(echo: Capability) {
    let mut reply = [0u8; 16];
    let answer = client::echo(&RPC, &echo, b"ping", &mut reply);
    check(
        "echo-server round trip",
        answer == Ok(4) && &reply[..4] == b"ping",
        format_args!("{}", Shown(&answer)),
    );
    let bulk: Vec<u8> = (0..BULK_BYTES).map(|i| (i * 7 + i / 256) as u8).collect();
    let mut back = vec![0u8; BULK_BYTES];
    let answer = client::echo(&RPC, &echo, &bulk, &mut back);
    check(
        "echo-server 30000 bytes",
        answer == Ok(BULK_BYTES) && back == bulk,
        format_args!("{}", Shown(&answer)),
    );
    let request = Header::request(&echo, libamoeba::servers::echo::ECHO);
    let mut header = Header::default();
    let mut small = [0u8; 100];
    let received = RPC.trans(&request, &bulk, &mut header, &mut small);
    check(
        "reply truncated to the buffer",
        received.is_ok_and(|r| r.len == 100 && r.sent == BULK_BYTES) && small[..] == bulk[..100],
        format_args!("{}", Shown(&received)),
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
        format_args!("{} with a 30 ms locate timeout", Shown(&answer)),
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
    let killed = end_process_named(ps, "stall-server", Ending::Destroy);
    let waited = caller.is_ok() && done.down_timeout(Duration::from_secs(2)).is_ok();
    let code = STALLED_ANSWER.load(Ordering::Relaxed);
    check(
        "server killed mid-call",
        killed && waited && code == 1,
        format_args!("caller woke: {waited}, its error: -{code} (RPC_FAILURE is -1)"),
    );
}

/// The ps directory everyone finds in ROOT lists processes with READ only: destroying one of
/// them must be refused.
fn published_ps_cannot_kill(ps: Capability) {
    let processes = client::dir_list(&RPC, &ps).unwrap_or_default();
    let first = processes.first().map(|(_, cap)| *cap).unwrap_or_default();
    let answer = client::std_destroy(&RPC, &first);
    check(
        "destroy through the published ps refused",
        answer == Err(ErrorCode::STD_DENIED),
        format_args!("{} processes listed; {}", processes.len(), Shown(&answer)),
    );
}

/// How a process is ended through the process server.
#[derive(Clone, Copy)]
enum Ending {
    Destroy,
    /// PS_STUN with this code (a process without an owner ends with it).
    Stun(i32),
}

/// Finds the process called `name` in the ps directory and ends it through its capability.
fn end_process_named(ps: Capability, name: &str, how: Ending) -> bool {
    let what = match how {
        Ending::Destroy => "proc destroy",
        Ending::Stun(_) => "proc stun",
    };
    let processes = client::dir_list(&RPC, &ps).unwrap_or_default();
    for (pid, cap) in processes {
        let mut buffer = [0u8; 128];
        let Ok(info) = client::std_info(&RPC, &cap, &mut buffer) else {
            continue;
        };
        if info.contains(name) {
            let result = match how {
                Ending::Destroy => client::std_destroy(&RPC, &cap),
                Ending::Stun(code) => client::ps_stun(&RPC, &cap, code),
            };
            check(
                what,
                result.is_ok(),
                format_args!("{name} (pid {pid}): {}", Shown(&result)),
            );
            return result.is_ok();
        }
    }
    check(what, false, format_args!("no process {name} in ps"));
    false
}
