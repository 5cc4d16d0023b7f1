//! `threads`: exercises every synchronization primitive of the user API in threads of one
//! process and prints one line per check:
//!
//! - mutex: [`WORKERS`] threads add 1 to a shared counter [`INCREMENTS`] times each, under a
//!   [`Mutex`] (yielding inside the critical section now and then to invite races);
//! - semaphores: a producer and a consumer pass 1..=[`ITEMS`] through a 4-slot buffer guarded
//!   by "free" and "full" semaphores; the consumer must see them all, in order;
//! - barrier: [`WORKERS`] threads and the main thread meet twice; nobody passes before all came;
//! - await/wakeup: a thread awaits a key until the main thread wakes it;
//! - signals: the main thread signals a thread, which signals back;
//! - timeouts: a held mutex, an empty semaphore, a barrier short of parties, an unwoken key and
//!   an unsent signal all time out.
//!
//! `threads [ROUNDS]` runs all of it ROUNDS times (default once). Every check runs twice a
//! round: with the process's threads preempting one another by time slices,
//! then in the default mode where a thread keeps the CPU (among its process's threads) until it
//! blocks, yields or ends. Each line reads `threads: MODE CHECK: DETAILS: ok` (or `FAILED`);
//! the last is `threads: all checks passed`, or `threads: N checks FAILED` (exit code 1).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use amoeba_user::println;
use amoeba_user::sync::{Barrier, Mutex, Semaphore};
use amoeba_user::{Result, event, set_preemptive, signal, thread};
use libamoeba::priority::Level;
use libamoeba::process::Environment;
use libamoeba::syscall::Error;

amoeba_user::amoeba_main!(main);

const WORKERS: u64 = 4;
const INCREMENTS: u64 = 1000;
const ITEMS: u64 = 100;
/// How long any wait for another thread may take before the check counts as failed.
const PATIENCE: Duration = Duration::from_secs(20);
/// How long a wait that must time out waits.
const SHORT: Duration = Duration::from_millis(20);

struct Report {
    /// The scheduling mode the checks run in.
    mode: &'static str,
    failed: u32,
}

impl Report {
    fn check(&mut self, what: &str, ok: bool, detail: core::fmt::Arguments<'_>) {
        let verdict = if ok { "ok" } else { "FAILED" };
        println!("threads: {} {what}: {detail}: {verdict}", self.mode);
        if !ok {
            self.failed += 1;
        }
    }

    /// A check whose setup failed with a system-call error.
    fn setup(&mut self, what: &str, result: Result<()>) {
        if let Err(error) = result {
            self.check(what, false, format_args!("setup failed with {error:?}"));
        }
    }
}

fn main(env: &Environment) -> i32 {
    let mut report = Report {
        mode: "",
        failed: 0,
    };
    let rounds = env
        .args()
        .get(1)
        .and_then(|r| r.parse::<u32>().ok())
        .unwrap_or(1);
    for _ in 0..rounds {
        // Time slices between the threads first, then the default: each thread runs until it
        // blocks, yields or ends.
        for (mode, preemptive) in [("preemptive", true), ("cooperative", false)] {
            set_preemptive(preemptive);
            report.mode = mode;
            run_checks(&mut report);
        }
    }
    if report.failed == 0 {
        println!("threads: all checks passed");
        0
    } else {
        println!("threads: {} checks FAILED", report.failed);
        1
    }
}

fn run_checks(r: &mut Report) {
    let result = mutex_counter(r);
    r.setup("mutex", result);
    let result = producer_consumer(r);
    r.setup("semaphores", result);
    let result = barrier_rounds(r);
    r.setup("barrier", result);
    let result = await_wakeup(r);
    r.setup("await/wakeup", result);
    let result = signals(r);
    r.setup("signals", result);
    let result = timeouts(r);
    r.setup("timeouts", result);
    let result = objects_given_back(r);
    r.setup("destroy", result);
}

/// More objects than a process may hold at once (1024), each given back before the next: only
/// works if dropping and destroying really return them to the kernel.
fn objects_given_back(report: &mut Report) -> Result<()> {
    const ROUNDS: u64 = 1500;
    for _ in 0..ROUNDS {
        drop(Mutex::new(0u8)?);
        Semaphore::new(1)?.destroy()?;
        Barrier::new(2)?.destroy()?;
    }
    // Reaching here means no create failed: 3 x ROUNDS objects came and went under the cap.
    report.check(
        "destroy",
        true,
        format_args!("{ROUNDS} rounds of mutex, semaphore and barrier created and given back"),
    );
    Ok(())
}

/// Waits for `count` threads to say they are done; how many did in time.
fn join(done: Semaphore, count: u64) -> u64 {
    (0..count)
        .take_while(|_| done.down_timeout(PATIENCE).is_ok())
        .count() as u64
}

fn mutex_counter(report: &mut Report) -> Result<()> {
    let counter = Arc::new(Mutex::new(0u64)?);
    let done = Semaphore::new(0)?;
    for _ in 0..WORKERS {
        let counter = Arc::clone(&counter);
        thread::spawn(
            move || {
                for i in 0..INCREMENTS {
                    let mut value = counter.lock();
                    let seen = *value;
                    if i % 100 == 0 {
                        thread::yield_now();
                    }
                    *value = core::hint::black_box(seen) + 1;
                }
                done.up();
            },
            Level::Norm,
        )?;
    }
    let finished = join(done, WORKERS);
    let total = *counter.lock();
    let expected = WORKERS * INCREMENTS;
    report.check(
        "mutex",
        finished == WORKERS && total == expected,
        format_args!(
            "{finished} threads x {INCREMENTS} increments = {total} (expected {expected})"
        ),
    );
    Ok(())
}

fn producer_consumer(report: &mut Report) -> Result<()> {
    let buffer = Arc::new(Mutex::new(VecDeque::new())?);
    let free = Semaphore::new(4)?;
    let full = Semaphore::new(0)?;
    let done = Semaphore::new(0)?;
    let received = Arc::new(Mutex::new((0u64, 0u64, true))?); // count, sum, in order
    {
        let buffer = Arc::clone(&buffer);
        thread::spawn(
            move || {
                for item in 1..=ITEMS {
                    free.down();
                    buffer.lock().push_back(item);
                    full.up();
                }
                done.up();
            },
            Level::Norm,
        )?;
    }
    {
        let received = Arc::clone(&received);
        thread::spawn(
            move || {
                for expected in 1..=ITEMS {
                    full.down();
                    let item = buffer.lock().pop_front().unwrap_or(0);
                    free.up();
                    let mut r = received.lock();
                    r.0 += 1;
                    r.1 += item;
                    r.2 &= item == expected;
                }
                done.up();
            },
            Level::Norm,
        )?;
    }
    let finished = join(done, 2);
    let (count, sum, in_order) = *received.lock();
    let expected = ITEMS * (ITEMS + 1) / 2;
    report.check(
        "semaphores",
        finished == 2 && count == ITEMS && sum == expected && in_order,
        format_args!(
            "producer/consumer passed {count} items, sum {sum} (expected {expected}), {}",
            if in_order { "in order" } else { "OUT OF ORDER" }
        ),
    );
    Ok(())
}

fn barrier_rounds(report: &mut Report) -> Result<()> {
    const ROUNDS: u64 = 2;
    let barrier = Barrier::new(WORKERS + 1)?;
    let done = Semaphore::new(0)?;
    let arrived = Arc::new(AtomicU64::new(0));
    let early = Arc::new(AtomicU64::new(0));
    for _ in 0..WORKERS {
        let (arrived, early) = (Arc::clone(&arrived), Arc::clone(&early));
        thread::spawn(
            move || {
                for round in 1..=ROUNDS {
                    arrived.fetch_add(1, Ordering::SeqCst);
                    barrier.wait();
                    // Everyone of this round has arrived once we pass.
                    if arrived.load(Ordering::SeqCst) < round * WORKERS {
                        early.fetch_add(1, Ordering::SeqCst);
                    }
                    // Round two starts only after the main thread has looked.
                    barrier.wait();
                }
                done.up();
            },
            Level::Norm,
        )?;
    }
    let mut seen = [0; ROUNDS as usize];
    for slot in &mut seen {
        barrier.wait();
        *slot = arrived.load(Ordering::SeqCst);
        barrier.wait();
    }
    let finished = join(done, WORKERS);
    let early = early.load(Ordering::SeqCst);
    report.check(
        "barrier",
        finished == WORKERS && seen == [WORKERS, 2 * WORKERS] && early == 0,
        format_args!(
            "{ROUNDS} rounds of {} threads, arrivals seen {seen:?}, {early} passed early",
            WORKERS + 1
        ),
    );
    Ok(())
}

fn await_wakeup(report: &mut Report) -> Result<()> {
    const KEY: u64 = 0xA3A1_7000;
    let done = Semaphore::new(0)?;
    let outcome = Arc::new(AtomicU64::new(u64::MAX));
    {
        let outcome = Arc::clone(&outcome);
        thread::spawn(
            move || {
                let code = match event::await_key(KEY, Some(PATIENCE)) {
                    Ok(()) => 0,
                    Err(error) => error as u64,
                };
                outcome.store(code, Ordering::SeqCst);
                done.up();
            },
            Level::Norm,
        )?;
    }
    // A wakeup only reaches threads already waiting: try until one was woken.
    let mut woken = 0;
    for _ in 0..1000 {
        woken = event::wakeup(KEY);
        if woken > 0 {
            break;
        }
        thread::sleep(Duration::from_millis(2));
    }
    let finished = join(done, 1);
    let outcome = outcome.load(Ordering::SeqCst);
    report.check(
        "await/wakeup",
        finished == 1 && woken == 1 && outcome == 0,
        format_args!("wakeup woke {woken} thread, whose await returned {outcome} (0 = woken)"),
    );
    Ok(())
}

fn signals(report: &mut Report) -> Result<()> {
    const TO_WORKER: u64 = 0b0100;
    const TO_MAIN: u64 = 0b0001;
    let main_thread = thread::current();
    let done = Semaphore::new(0)?;
    let taken = Arc::new(AtomicU64::new(0));
    let worker = {
        let taken = Arc::clone(&taken);
        thread::spawn(
            move || {
                let bits = signal::wait(0b0110, Some(PATIENCE)).unwrap_or(0);
                taken.store(bits, Ordering::SeqCst);
                let _ = signal::send(main_thread, TO_MAIN);
                done.up();
            },
            Level::Norm,
        )?
    };
    signal::send(worker, TO_WORKER)?;
    let back = signal::wait(TO_MAIN, Some(PATIENCE));
    let finished = join(done, 1);
    let taken = taken.load(Ordering::SeqCst);
    report.check(
        "signals",
        finished == 1 && taken == TO_WORKER && back == Ok(TO_MAIN),
        format_args!(
            "thread {worker} took {taken:#06b} (sent {TO_WORKER:#06b}), main got {back:?} back"
        ),
    );
    Ok(())
}

fn timeouts(report: &mut Report) -> Result<()> {
    let mutex = Arc::new(Mutex::new(())?);
    let locked = Semaphore::new(0)?;
    let release = Semaphore::new(0)?;
    let done = Semaphore::new(0)?;
    {
        let mutex = Arc::clone(&mutex);
        thread::spawn(
            move || {
                let guard = mutex.lock();
                locked.up();
                let _ = release.down_timeout(PATIENCE);
                drop(guard);
                done.up();
            },
            Level::Norm,
        )?;
    }
    let held = locked.down_timeout(PATIENCE).map(drop);
    let contended = mutex.lock_timeout(SHORT).map(drop);
    release.up();
    let finished = join(done, 1);
    let free_again = mutex.lock_timeout(PATIENCE).map(drop);
    report.check(
        "mutex timeout",
        held.is_ok() && contended == Err(Error::TimedOut) && finished == 1 && free_again.is_ok(),
        format_args!("a held mutex gave {contended:?}, once released {free_again:?}"),
    );

    let empty = Semaphore::new(0)?.down_timeout(SHORT);
    report.check(
        "semaphore timeout",
        empty == Err(Error::TimedOut),
        format_args!("an empty semaphore gave {empty:?}"),
    );
    let lonely = Barrier::new(2)?.wait_timeout(SHORT);
    report.check(
        "barrier timeout",
        lonely == Err(Error::TimedOut),
        format_args!("a barrier for 2 with 1 thread gave {lonely:?}"),
    );
    let unwoken = event::await_key(0xA3A1_7001, Some(SHORT));
    let nobody = event::wakeup(0xA3A1_7002);
    report.check(
        "await timeout",
        unwoken == Err(Error::TimedOut) && nobody == 0,
        format_args!("an unwoken key gave {unwoken:?}; waking a key nobody awaits woke {nobody}"),
    );
    let unsent = signal::wait(0b1000, Some(SHORT));
    report.check(
        "signal timeout",
        unsent == Err(Error::TimedOut),
        format_args!("an unsent signal gave {unsent:?}"),
    );
    Ok(())
}
