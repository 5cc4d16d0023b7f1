//! `kstat`: the node's kernel statistics from the sys server (KSTAT).
#![no_std]
#![no_main]

use amoeba_user::println;
use amoeba_user::required_capability;
use amoeba_user::rpc::UserRpc;
use libamoeba::client;
use libamoeba::process::Environment;
use libamoeba::process::environment::ROOT;

amoeba_user::amoeba_main!(main);

fn main(env: &Environment) -> i32 {
    let needs = "the profile needs servers dir and sys";
    let Some(root) = required_capability(env, ROOT, "kstat", needs) else {
        return 1;
    };
    let kstat =
        client::dir_lookup(&UserRpc, &root, "sys").and_then(|sys| client::kstat(&UserRpc, &sys));
    let k = match kstat {
        Ok(k) => k,
        Err(error) => {
            println!("kstat: cannot read the kernel's statistics: {error}");
            return 1;
        }
    };
    println!("kstat: uptime {} ms", k.uptime_ns / 1_000_000);
    println!(
        "kstat: memory {} KiB free of {} KiB, heap {} KiB",
        k.memory_free >> 10,
        k.memory_total >> 10,
        k.heap_bytes >> 10
    );
    println!("kstat: {} threads, {} processes", k.threads, k.processes);
    println!(
        "kstat: {} interrupts, {} context switches",
        k.interrupts, k.context_switches
    );
    println!(
        "kstat: rpc {} trans, {} getreq, {} putrep, {} failed",
        k.rpc.trans, k.rpc.getreq, k.rpc.putrep, k.rpc.failures
    );
    0
}
