//! `bench KIND`: guest cycles of the kernel's basic operations, read from the TSC. Run under
//! QEMU `-icount` the figures are repeatable (guest time follows executed instructions).
//!
//! - `null-syscall`: one system call that does nothing but return (ThreadSelf);
//! - `thread-switch`: two threads of this process handing the CPU to each other with yield;
//! - `process-switch`: yields in a loop; run two processes of it at the same priority and each
//!   yield switches address spaces.
//!
//! Each prints `bench: KIND N cycles` (per operation, averaged over its rounds).
#![no_std]
#![no_main]

extern crate alloc;

use amoeba_user::println;
use amoeba_user::sync::Semaphore;
use amoeba_user::{thread, time};
use libamoeba::priority::Level;
use libamoeba::process::Environment;

amoeba_user::amoeba_main!(main);

const ROUNDS: u64 = 2000;

fn main(env: &Environment) -> i32 {
    let kind = env.args().get(1).copied().unwrap_or("");
    let per_operation = match kind {
        "null-syscall" => null_syscall(),
        "thread-switch" => thread_switch(),
        "process-switch" => process_switch(),
        _ => {
            println!(
                "bench: unknown kind {kind:?}; use null-syscall, thread-switch or process-switch"
            );
            return 2;
        }
    };
    println!("bench: {kind} {per_operation} cycles");
    0
}

fn null_syscall() -> u64 {
    let start = time::cycles();
    for _ in 0..ROUNDS {
        core::hint::black_box(thread::current());
    }
    (time::cycles() - start) / ROUNDS
}

/// Both threads yield `ROUNDS` times; every yield hands the CPU to the other thread.
fn thread_switch() -> u64 {
    let Ok(done) = Semaphore::new(0) else {
        return 0;
    };
    let done = alloc::sync::Arc::new(done);
    let partner_done = alloc::sync::Arc::clone(&done);
    let spawned = thread::spawn(
        move || {
            for _ in 0..ROUNDS {
                thread::yield_now();
            }
            partner_done.up();
        },
        Level::Norm,
    );
    if spawned.is_err() {
        return 0;
    }
    thread::yield_now(); // let the partner start before timing
    let start = time::cycles();
    for _ in 0..ROUNDS {
        thread::yield_now();
    }
    let elapsed = time::cycles() - start;
    done.down();
    elapsed / (2 * ROUNDS)
}

/// With a twin process at the same priority, each of these yields switches to the twin.
fn process_switch() -> u64 {
    thread::yield_now(); // let the twin reach its loop before timing
    let start = time::cycles();
    for _ in 0..ROUNDS {
        thread::yield_now();
    }
    (time::cycles() - start) / (2 * ROUNDS)
}
