//! The checks behind the `selftest=` command-line words, compiled only into kernels whose
//! profile asks for them (feature `selftest`). The end-to-end tests read the lines they print;
//! a failed check says what it expected.
//!
//! Here: `selftest=sched` (kernel threads exercise timers and every synchronization primitive
//! through the same scheduler API user threads reach by system calls), `loader` and `describe`;
//! the RPC checks are in `rpc.rs` and `lan.rs`.

#[cfg(all(feature = "net", feature = "server-dir"))]
mod lan;
mod rpc;

use crate::arch::tsc;
use crate::kprintln;
use crate::sched::{self, Wake};
use core::sync::atomic::{AtomicU64, Ordering};
use libamoeba::boot::SelfTest;
use libamoeba::priority::Level;
use libamoeba::syscall::{Error, SyncKind};

const WORKERS: u64 = 4;
const INCREMENTS: u64 = 200;
/// How late a timer may fire and still count as on time (TCG's timers are coarse).
const TIMER_SLACK_NANOS: u64 = 2_000_000;

static MUTEX: AtomicU64 = AtomicU64::new(0);
static DONE: AtomicU64 = AtomicU64::new(0);
static BARRIER: AtomicU64 = AtomicU64::new(0);
static COUNTER: AtomicU64 = AtomicU64::new(0);
static PASSED_BARRIER: AtomicU64 = AtomicU64::new(0);
static SIGNALS_SEEN: AtomicU64 = AtomicU64::new(0);

fn now() -> u64 {
    tsc::nanos_since_reset().unwrap_or(0)
}

fn check(what: &str, ok: bool, detail: core::fmt::Arguments<'_>) -> bool {
    kprintln!(
        "selftest: {what}: {} ({detail})",
        if ok { "ok" } else { "FAILED" }
    );
    ok
}

/// The check `test` asks for, if it runs before the boot programs start (all but `describe`).
pub fn before_boot_programs(test: Option<SelfTest>) {
    match test {
        Some(SelfTest::Sched) => run(),
        Some(SelfTest::Loader) => loader(),
        Some(SelfTest::Rpc) => rpc(),
        Some(SelfTest::Halt) => boot_by_rpc(false),
        Some(SelfTest::Reboot) => boot_by_rpc(true),
        Some(SelfTest::Lan { peers }) => lan(peers),
        Some(SelfTest::LanBench) => lan_bench(),
        Some(SelfTest::Describe) | None => {}
    }
}

/// `selftest=describe`, which needs the boot programs running.
pub fn after_boot_programs(test: Option<SelfTest>) {
    if test == Some(SelfTest::Describe) {
        describe_processes();
    }
}

/// `selftest=halt|reboot`: BOOT through the sys server with its owner capability; the node
/// should stop within the wait below.
fn boot_by_rpc(reboot: bool) {
    rpc::boot_by_rpc(reboot);
}

/// `selftest=rpc`.
fn rpc() {
    if rpc::run() {
        kprintln!("selftest: rpc: all checks passed");
    } else {
        kprintln!("selftest: rpc: some checks FAILED");
    }
}

/// `selftest=lan[:N]`.
fn lan(peers: u8) {
    #[cfg(all(feature = "net", feature = "server-dir"))]
    let passed = lan::run(peers);
    #[cfg(not(all(feature = "net", feature = "server-dir")))]
    let passed = check(
        "lan",
        false,
        format_args!("{peers} peers wanted, but this profile has no network card or directory"),
    );
    if passed {
        kprintln!("selftest: lan: all checks passed");
    } else {
        kprintln!("selftest: lan: some checks FAILED");
    }
}

/// `selftest=lanbench`.
fn lan_bench() {
    #[cfg(all(feature = "net", feature = "server-dir"))]
    lan::bench();
    #[cfg(not(all(feature = "net", feature = "server-dir")))]
    kprintln!("selftest: lanbench: this profile has no network card or directory");
}

fn run() {
    let results = [
        timers(),
        mutex_semaphore_barrier().unwrap_or(false),
        await_and_signals(),
    ];
    if results.iter().all(|&ok| ok) {
        kprintln!("selftest: kernel threads: all checks passed");
    } else {
        kprintln!("selftest: kernel threads: some checks FAILED");
    }
}

static PERIODIC_RUNS: AtomicU64 = AtomicU64::new(0);

/// Runs five times, then asks not to be called again.
fn periodic() -> bool {
    PERIODIC_RUNS.fetch_add(1, Ordering::Relaxed) + 1 < 5
}

fn timers() -> bool {
    sched::every(2_000_000, periodic);
    let mut ok = true;
    for millis in [1, 5, 20] {
        let wanted = millis * 1_000_000;
        let start = now();
        sched::sleep(wanted);
        let slept = now() - start;
        ok &= check(
            "sleep",
            slept >= wanted && slept < wanted + TIMER_SLACK_NANOS,
            format_args!("asked {millis} ms, woke after {} us", slept / 1000),
        );
    }
    let runs = PERIODIC_RUNS.load(Ordering::Relaxed);
    ok & check(
        "periodic timer function",
        runs == 5,
        format_args!("ran {runs} times in 26 ms"),
    )
}

/// Workers add to a counter with a yield inside the critical section, so without the mutex the
/// increments would be lost; then meet at a barrier and report through a semaphore.
fn worker(_: usize) {
    let mutex = MUTEX.load(Ordering::Relaxed);
    for _ in 0..INCREMENTS {
        let _ = sched::sync_wait(mutex, None);
        let value = COUNTER.load(Ordering::Relaxed);
        sched::yield_now();
        COUNTER.store(value + 1, Ordering::Relaxed);
        let _ = sched::sync_signal(mutex);
    }
    if sched::sync_wait(BARRIER.load(Ordering::Relaxed), None).is_ok() {
        PASSED_BARRIER.fetch_add(1, Ordering::Relaxed);
    }
    let _ = sched::sync_signal(DONE.load(Ordering::Relaxed));
}

fn mutex_semaphore_barrier() -> Result<bool, Error> {
    MUTEX.store(sched::sync_create(SyncKind::Mutex, 0)?, Ordering::Relaxed);
    DONE.store(
        sched::sync_create(SyncKind::Semaphore, 0)?,
        Ordering::Relaxed,
    );
    BARRIER.store(
        sched::sync_create(SyncKind::Barrier, WORKERS)?,
        Ordering::Relaxed,
    );
    for index in 0..WORKERS {
        sched::spawn_kernel_thread(Level::Norm, worker, index as usize)?;
    }
    for _ in 0..WORKERS {
        sched::sync_wait(DONE.load(Ordering::Relaxed), None)?;
    }
    let counted = COUNTER.load(Ordering::Relaxed);
    let mutex_ok = check(
        "mutex",
        counted == WORKERS * INCREMENTS,
        format_args!("counter {counted}"),
    );
    let passed = PASSED_BARRIER.load(Ordering::Relaxed);
    let barrier_ok = check(
        "barrier",
        passed == WORKERS,
        format_args!("{passed} threads passed"),
    );
    let timeout = sched::sync_wait(DONE.load(Ordering::Relaxed), Some(1_000_000));
    let timeout_ok = check(
        "semaphore timeout",
        timeout == Err(Error::TimedOut),
        format_args!("{timeout:?}"),
    );
    Ok(mutex_ok && barrier_ok && timeout_ok)
}

const AWAIT_KEY: u64 = 0x5e1f_7e57;

fn awaiter(_: usize) {
    if sched::await_key(AWAIT_KEY, Some(1_000_000_000)) == Wake::Signaled {
        let bits = sched::signal_wait(0b110, Some(1_000_000_000)).unwrap_or(0);
        SIGNALS_SEEN.store(bits, Ordering::Relaxed);
    }
}

fn await_and_signals() -> bool {
    let Ok(thread) = sched::spawn_kernel_thread(Level::Norm, awaiter, 0) else {
        return false;
    };
    let mut woken = 0;
    for _ in 0..100 {
        sched::yield_now();
        woken = sched::wakeup(AWAIT_KEY);
        if woken > 0 {
            break;
        }
    }
    let await_ok = check(
        "await/wakeup",
        woken == 1,
        format_args!("{woken} thread woken"),
    );
    let sent = sched::signal_send(thread, 0b100);
    sched::sleep(1_000_000);
    let seen = SIGNALS_SEEN.load(Ordering::Relaxed);
    let signal_ok = check(
        "signals",
        sent.is_ok() && seen == 0b100,
        format_args!("received {seen:#b}"),
    );
    await_ok && signal_ok
}

/// `selftest=loader`: damaged copies of the first boot program's image are refused, and no
/// process starts from them. (Wrong architectures and every other malformed layout are covered
/// by libamoeba's host tests of the same decoder.)
fn loader() {
    let programs = libamoeba::process::boot_table::decode(crate::build_info::BOOT_PROGRAMS);
    let Some(image) = programs
        .ok()
        .and_then(|p| p.first().map(|program| program.image))
    else {
        kprintln!("selftest: loader: FAILED, the profile has no boot program to damage");
        return;
    };
    let leak = |bytes: alloc::vec::Vec<u8>| -> &'static [u8] {
        alloc::boxed::Box::leak(bytes.into_boxed_slice())
    };
    let mut corrupted = image.to_vec();
    corrupted[image.len() / 2] ^= 0x55;
    let cases = [
        ("truncated", leak(image[..image.len() / 2].to_vec())),
        ("corrupted", leak(corrupted)),
        ("empty", &[][..]),
    ];
    let mut ok = true;
    for (what, bytes) in cases {
        let damaged = libamoeba::process::boot_table::BootProgram {
            name: "damaged",
            args: alloc::vec::Vec::new(),
            priority: Level::Norm,
            driver: false,
            admin: false,
            image: bytes,
        };
        match crate::loader::exec(&damaged, &crate::loader::BootCapabilities::default()) {
            Err(error) => kprintln!("selftest: loader refused a {what} image: {error}"),
            Ok(pid) => {
                ok = false;
                kprintln!("selftest: loader: FAILED, a {what} image started as process {pid}");
            }
        }
    }
    if ok {
        kprintln!("selftest: loader: all damaged images refused");
    }
}

/// `selftest=describe`: once the boot programs have run a little, every user process is turned
/// into a process descriptor, which must be valid and decode back to itself.
fn describe_processes() {
    sched::sleep(50_000_000);
    for (pid, name) in sched::user_processes() {
        let Some(descriptor) = sched::describe(pid) else {
            continue;
        };
        let bytes = descriptor.encode();
        let round_trip = libamoeba::process::ProcessDescriptor::decode(
            &bytes,
            libamoeba::process::ArchMagic::X86_64,
        );
        let same = matches!(round_trip, Ok((ref decoded, used)) if *decoded == descriptor && used == bytes.len());
        let valid = descriptor.validate().is_ok();
        let main = descriptor.threads.first();
        kprintln!(
            "selftest: describe: process {name} (pid {pid}): {} segments, {} threads, main thread at pc={:#x} sp={:#x} ({} registers), {} bytes: {}",
            descriptor.segments.len(),
            descriptor.threads.len(),
            main.map_or(0, |t| t.pc),
            main.map_or(0, |t| t.sp),
            if main.is_some_and(|t| t.registers.is_some()) {
                "with"
            } else {
                "without"
            },
            bytes.len(),
            if same && valid {
                "decodes back equal"
            } else {
                "FAILED"
            }
        );
    }
}
