//! The run server in the kernel: `libamoeba::servers::run` served on its own thread, and a
//! poller thread that keeps the pool. The poller finds the pool processors on the LAN by the
//! link check (every node whose directory publishes `proc` with the right to exec), asks each
//! for its load (PS_GETLOAD) on 5.3's schedule, and, with feature `run-rebalance`, moves a
//! process handed to the pool from the busiest host to the idlest by the migration sequence
//! every mover shares (`libamoeba::client::migration`), this server being the process's owner
//! for the move.

use super::{BUFFER_BYTES, Publications, new_ports, run};
use crate::arch::tsc;
use crate::entropy::KernelEntropy;
use crate::ipc::{self, KernelRpc};
use crate::net::peers;
use crate::sched;
use alloc::collections::BTreeMap;
use alloc::string::String;
use libamoeba::capability::Capability;
use libamoeba::client;
use libamoeba::priority::Level;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::servers::proc::EXEC;
use libamoeba::servers::run::{Pool, PoolAccess, RunServer};
use spin::Mutex;

/// How often the poller looks at its pool (milliseconds): each host's own schedule says
/// whether it is asked this time.
const TICK_MS: u64 = 250;
/// How often the LAN is asked who is on it (milliseconds).
const DISCOVERY_MS: u64 = 5_000;
/// How long a poll waits for a host to be found (milliseconds): a host that is gone must not
/// hold up the others for 5.3's full locate timeout.
const POLL_LOCATE_MS: u64 = 1_000;

static POOL: Mutex<Pool> = Mutex::new(Pool::new());

/// The pool behind the kernel's lock, on the kernel's clock.
struct KernelPool;

impl PoolAccess for KernelPool {
    fn with<R>(&self, f: impl FnOnce(&mut Pool) -> R) -> R {
        f(&mut POOL.lock())
    }

    fn now_ms(&self) -> u64 {
        now_ms()
    }
}

fn now_ms() -> u64 {
    tsc::nanos_since_reset().unwrap_or(0) / 1_000_000
}

#[inline(never)] // one symbol per server: image checks find selected servers by name
pub fn start(published: &mut Publications) {
    let ports = new_ports();
    let (server, owner) = RunServer::new(ports.put, KernelEntropy, KernelPool);
    published.add("run", server.public_capability(), owner);
    if sched::spawn_kernel_task(Level::Norm, keep_pool).is_err() {
        log::error!("server run: no memory for the thread that keeps the pool");
    }
    run("run", ports, owner, server, BUFFER_BYTES);
}

/// The poller: discovery, polls and (with rebalance) moves, for ever.
fn keep_pool() {
    ipc::set_locate_timeout(POLL_LOCATE_MS);
    let mut directories = BTreeMap::new();
    let mut next_discovery = 0;
    loop {
        let now = now_ms();
        if now >= next_discovery {
            peers::ask();
            next_discovery = now + DISCOVERY_MS;
        }
        discover(&mut directories);
        poll_due();
        #[cfg(feature = "run-rebalance")]
        rebalance::move_one();
        sched::sleep(TICK_MS * 1_000_000);
    }
}

/// Offers the pool every node heard on the LAN whose process server lets others exec,
/// looking each node's directory up once (again when it changes: the node rebooted).
fn discover(directories: &mut BTreeMap<String, Capability>) {
    for (name, directory) in peers::known() {
        if directories.get(&name) == Some(&directory) {
            continue;
        }
        match client::dir_lookup(&KernelRpc, &directory, "proc") {
            Ok(proc) if proc.rights & EXEC != 0 => {
                log::info!("run: pool processor {name}");
                POOL.lock().offer(&name, proc);
            }
            // No process server, or one that keeps exec to itself: not a pool processor.
            Ok(_) | Err(ErrorCode::STD_NOTFOUND) => {}
            // Not reached this time: asked again next round.
            Err(_) => continue,
        }
        directories.insert(name, directory);
    }
}

/// Asks every host whose poll is due for its load, and after the processes balanced there:
/// those that ended are forgotten.
fn poll_due() {
    let due = POOL.lock().due(now_ms());
    for (index, proc) in due {
        let answer = client::ps_getload(&KernelRpc, &proc).ok();
        POOL.lock().polled(index, &proc, answer, now_ms());
        if answer.is_none() {
            continue;
        }
        let processes = POOL.lock().processes_on(index);
        for process in processes {
            if let Err(ErrorCode::STD_CAPBAD | ErrorCode::STD_NOTFOUND) =
                client::ps_getowner(&KernelRpc, &process)
            {
                POOL.lock().forget(&process);
            }
        }
    }
}

#[cfg(feature = "run-rebalance")]
mod rebalance {
    use super::{POOL, now_ms};
    use crate::entropy::KernelEntropy;
    use crate::ipc::KernelRpc;
    use libamoeba::client::migration::{self, MigrationError};

    /// Load difference (×256) beyond one process's worth before a process moves: a quarter of
    /// a process, so that two hosts one process apart never trade it back and forth.
    const THRESHOLD: u16 = 64;

    /// Makes the move the pool wants, if any.
    pub fn move_one() {
        let Some(wanted) = POOL.lock().next_move(THRESHOLD) else {
            return;
        };
        let (from, to) = {
            let pool = POOL.lock();
            let name = |i: usize| pool.hosts().get(i).map(|h| (h.name.clone(), h.proc));
            match (name(wanted.from), name(wanted.to)) {
                (Some(from), Some(to)) => (from, to),
                _ => return,
            }
        };
        let owner = migration::temporary_owner(&mut KernelEntropy);
        match migration::migrate(&KernelRpc, &wanted.process, &to.1, owner, |_| {}) {
            Ok(moved) => {
                log::info!(
                    "run: moved process {} from {} to {} ({} bytes)",
                    wanted.process.object,
                    from.0,
                    to.0,
                    moved.bytes
                );
                POOL.lock().moved(&wanted, moved.process, now_ms());
            }
            Err(error) => {
                log::warn!("run: moving a process from {} to {}: {error}", from.0, to.0);
                let mut pool = POOL.lock();
                match error {
                    // The process is gone, or this server may not move it: stop trying.
                    MigrationError::Owner(_)
                    | MigrationError::NoRight
                    | MigrationError::Ended(_)
                    | MigrationError::Exec { resumed: false, .. } => pool.forget(&wanted.process),
                    _ => pool.tried(&wanted, now_ms()),
                }
            }
        }
    }
}
