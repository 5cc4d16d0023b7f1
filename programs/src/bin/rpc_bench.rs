//! `rpc-bench`: guest cycles of RPC round trips from this process, read from the TSC (run under
//! QEMU `-icount` the figures repeat). Prints, each averaged over its rounds:
//!
//! - `rpc-bench: null-syscall N cycles`: the baseline, a system call that does nothing;
//! - `rpc-bench: null-kernel N cycles`: an ECHO with no data to the kernel's echo server;
//! - `rpc-bench: null-user N cycles`: the same to the `echo-server` process (same server code);
//! - `rpc-bench: bulk-kernel|bulk-user N cycles B bytes`: 30000 bytes each way.
//!
//! Then it ends `echo-server` through the process server, so a `ready=exit` node stops.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use amoeba_user::println;
use amoeba_user::required_capability;
use amoeba_user::rpc::UserRpc;
use amoeba_user::{thread, time};
use core::time::Duration;
use libamoeba::capability::Capability;
use libamoeba::client;
use libamoeba::process::Environment;
use libamoeba::process::environment::{PS, ROOT};

amoeba_user::amoeba_main!(main);

const NULL_ROUNDS: u64 = 2000;
const BULK_ROUNDS: u64 = 100;
const BULK_BYTES: usize = 30_000;

fn main(env: &Environment) -> i32 {
    let needs = "the profile needs servers dir, echo and proc";
    let Some(root) = required_capability(env, ROOT, "rpc-bench", needs) else {
        return 1;
    };
    let (Some(kernel), Some(user)) = (lookup(&root, "echo"), lookup(&root, "echo-user")) else {
        println!("rpc-bench: echo (kernel) or echo-user (process) not in the directory");
        return 1;
    };
    let null_syscall = per_round(NULL_ROUNDS, || {
        core::hint::black_box(thread::current());
    });
    println!("rpc-bench: null-syscall {null_syscall} cycles");
    let mut failed = 0u64;
    for (name, cap) in [("kernel", kernel), ("user", user)] {
        let null = per_round(NULL_ROUNDS, || {
            failed += u64::from(client::echo(&UserRpc, &cap, &[], &mut []).is_err());
        });
        println!("rpc-bench: null-{name} {null} cycles");
        let data = vec![0x5au8; BULK_BYTES];
        let mut back = vec![0u8; BULK_BYTES];
        let bulk = per_round(BULK_ROUNDS, || {
            failed += u64::from(client::echo(&UserRpc, &cap, &data, &mut back).is_err());
        });
        println!("rpc-bench: bulk-{name} {bulk} cycles {BULK_BYTES} bytes");
    }
    // A failed call would be averaged into the figures: say so (the benchmark refuses them).
    println!("rpc-bench: {failed} calls failed");
    stop_echo_server(env);
    0
}

fn per_round(rounds: u64, mut round: impl FnMut()) -> u64 {
    round(); // warm up: caches, first-use allocations
    let start = time::cycles();
    for _ in 0..rounds {
        round();
    }
    (time::cycles() - start) / rounds
}

/// The capability published as `name`, waiting a little for a server process to publish it.
fn lookup(root: &Capability, name: &str) -> Option<Capability> {
    for _ in 0..200 {
        if let Ok(cap) = client::dir_lookup(&UserRpc, root, name) {
            return Some(cap);
        }
        thread::sleep(Duration::from_millis(5));
    }
    None
}

/// Ends `echo-server` through the ps owner capability (PS: rpc-bench is an admin program).
fn stop_echo_server(env: &Environment) {
    let needs = "mark rpc-bench admin = true to let it end echo-server";
    let Some(ps) = required_capability(env, PS, "rpc-bench", needs) else {
        return;
    };
    let processes = client::dir_list(&UserRpc, &ps).unwrap_or_default();
    for (_, cap) in processes {
        let mut buffer = [0u8; 128];
        if client::std_info(&UserRpc, &cap, &mut buffer)
            .is_ok_and(|info| info.contains("echo-server"))
        {
            let _ = client::std_destroy(&UserRpc, &cap);
        }
    }
}
