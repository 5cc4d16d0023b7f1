//! The run server's pool: the pool processors it knows (name, process-server capability, last
//! load) and the processes it was given to balance, with the choices of [`super::policy`] made
//! on them.
//!
//! A process capability names its process server by its port (processes are objects of the
//! server that runs them), so the pool knows where each balanced process runs without asking.

use alloc::string::String;
use alloc::vec::Vec;

use super::policy::{Host, choose, rebalance};
use crate::capability::Capability;
use crate::random::Entropy;
use crate::servers::proc::Load;

/// Pool processors kept at most (more on a LAN are left out).
pub const MAX_HOSTS: usize = 64;
/// Processes kept for balancing at most.
pub const MAX_BALANCED: usize = 256;

/// One pool processor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolHost {
    pub name: String,
    /// Its process server, with the right to exec there.
    pub proc: Capability,
    pub state: Host,
}

/// A move the pool wants made: `process` from host `from` to host `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    pub process: Capability,
    pub from: usize,
    pub to: usize,
}

/// The pool and the processes it balances.
#[derive(Clone, Debug, Default)]
pub struct Pool {
    hosts: Vec<PoolHost>,
    balanced: Vec<Capability>,
}

impl Pool {
    /// An empty pool (const: the kernel keeps one in a static).
    pub const fn new() -> Self {
        Self {
            hosts: Vec::new(),
            balanced: Vec::new(),
        }
    }

    pub fn hosts(&self) -> &[PoolHost] {
        &self.hosts
    }

    /// Host `name` offers exec by `proc`: added if new (polled at once), its capability
    /// renewed if it changed (the node rebooted).
    pub fn offer(&mut self, name: &str, proc: Capability) {
        if let Some(host) = self.hosts.iter_mut().find(|h| h.name == name) {
            if host.proc != proc {
                host.proc = proc;
                host.state = Host::default();
            }
            return;
        }
        if self.hosts.len() < MAX_HOSTS {
            self.hosts.push(PoolHost {
                name: String::from(name),
                proc,
                state: Host::default(),
            });
        }
    }

    /// Hosts whose poll is due at `now`: index and process server.
    pub fn due(&self, now: u64) -> Vec<(usize, Capability)> {
        let due = self.hosts.iter().enumerate();
        due.filter(|(_, h)| h.state.next_poll <= now)
            .map(|(i, h)| (i, h.proc))
            .collect()
    }

    /// Host `index` answered `answer` (or nothing) at `now`.
    pub fn polled(&mut self, index: usize, proc: &Capability, answer: Option<Load>, now: u64) {
        // The host may have been renewed while its poll was under way: that answer is stale.
        if let Some(host) = self.hosts.get_mut(index).filter(|h| h.proc == *proc) {
            host.state.polled(answer, now);
        }
    }

    /// The host for a process of `needed` bytes, noted as having been given one at `now`.
    pub fn choose(
        &mut self,
        needed: u64,
        entropy: &mut impl Entropy,
        now: u64,
    ) -> Option<&PoolHost> {
        let states: Vec<Host> = self.hosts.iter().map(|h| h.state).collect();
        let chosen = choose(&states, needed, entropy)?;
        let host = self.hosts.get_mut(chosen)?;
        host.state.started_process(now);
        Some(host)
    }

    /// The host whose process server is `proc`.
    pub fn host_of(&self, proc: &Capability) -> Option<&PoolHost> {
        self.hosts.iter().find(|h| h.proc.port == proc.port)
    }

    /// The pool's load: free memory, load and speed summed over the hosts that answered.
    pub fn total_load(&self) -> Load {
        let loads = self.hosts.iter().filter_map(|h| h.state.load);
        loads.fold(Load::default(), |sum, load| Load {
            free_memory: sum.free_memory.saturating_add(load.free_memory),
            load_average: sum.load_average.saturating_add(load.load_average),
            speed_mhz: sum.speed_mhz.saturating_add(load.speed_mhz),
        })
    }

    /// Takes `process` to balance (once); false if the pool holds as many as it can.
    pub fn adopt(&mut self, process: Capability) -> bool {
        if self.balanced.contains(&process) {
            return true;
        }
        if self.balanced.len() >= MAX_BALANCED {
            return false;
        }
        self.balanced.push(process);
        true
    }

    /// Balanced processes running on host `index`.
    pub fn balanced_on(&self, index: usize) -> usize {
        self.processes_on(index).len()
    }

    /// The balanced processes running on host `index`.
    pub fn processes_on(&self, index: usize) -> Vec<Capability> {
        let Some(host) = self.hosts.get(index) else {
            return Vec::new();
        };
        let on = |p: &&Capability| p.port == host.proc.port;
        self.balanced.iter().filter(on).copied().collect()
    }

    /// The next move, if loads differ by more than one process plus `threshold` (×256), both
    /// hosts' loads are up to date, and the busiest runs a process this pool balances.
    pub fn next_move(&self, threshold: u16) -> Option<Move> {
        let states: Vec<Host> = self.hosts.iter().map(|h| h.state).collect();
        let planned = rebalance(&states, threshold)?;
        let (from, to) = (self.hosts.get(planned.from)?, self.hosts.get(planned.to)?);
        if from.state.stale || to.state.stale {
            return None;
        }
        let process = *self.balanced.iter().find(|p| p.port == from.proc.port)?;
        Some(Move {
            process,
            from: planned.from,
            to: planned.to,
        })
    }

    /// `done` was made at `now`: the process is `moved` now, and both hosts' loads change.
    pub fn moved(&mut self, done: &Move, moved: Capability, now: u64) {
        if let Some(kept) = self.balanced.iter_mut().find(|p| **p == done.process) {
            *kept = moved;
        }
        self.tried(done, now);
    }

    /// `attempt` was tried at `now` and failed, the process still where it was: no next move
    /// until both hosts have answered again, so a refused move is not retried at once.
    pub fn tried(&mut self, attempt: &Move, now: u64) {
        for index in [attempt.from, attempt.to] {
            if let Some(host) = self.hosts.get_mut(index) {
                host.state.started_process(now);
            }
        }
    }

    /// Stops balancing `process` (it ended, or its capability no longer works).
    pub fn forget(&mut self, process: &Capability) {
        self.balanced.retain(|p| p != process);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Port;
    use crate::random::SeededGenerator;

    fn proc(n: u8) -> Capability {
        Capability {
            port: Port([n; 6]),
            rights: 0x10,
            ..Capability::NULL
        }
    }

    fn process(host: u8, object: u32) -> Capability {
        Capability {
            object,
            rights: 0xff,
            ..proc(host)
        }
    }

    fn load(ready: u16) -> Option<Load> {
        Some(Load {
            free_memory: 64 << 20,
            load_average: ready * 256,
            speed_mhz: 2000,
        })
    }

    fn pool_of(loads: &[u16]) -> Pool {
        let mut pool = Pool::default();
        for (i, &ready) in loads.iter().enumerate() {
            let n = u8::try_from(i + 1).unwrap();
            pool.offer(&alloc::format!("pool-{n}"), proc(n));
            pool.polled(i, &proc(n), load(ready), 0);
        }
        pool
    }

    #[test]
    fn hosts_are_offered_once_and_renewed_when_their_capability_changes() {
        let mut pool = pool_of(&[0]);
        pool.offer("pool-1", proc(1));
        assert_eq!(pool.hosts().len(), 1);
        assert!(pool.hosts()[0].state.load.is_some());
        pool.offer("pool-1", proc(9));
        assert_eq!(
            pool.hosts()[0].state.load,
            None,
            "a rebooted host is polled anew"
        );
        assert_eq!(pool.due(0), [(0, proc(9))]);
        // An answer for the old capability does not count for the new one.
        pool.polled(0, &proc(1), load(0), 1);
        assert_eq!(pool.hosts()[0].state.load, None);
    }

    #[test]
    fn a_new_process_goes_to_the_least_loaded_host() {
        let mut pool = pool_of(&[2, 0, 1]);
        let mut entropy = SeededGenerator::new(3);
        let chosen = pool.choose(1 << 20, &mut entropy, 10).unwrap();
        assert_eq!(chosen.name, "pool-2");
        assert!(pool.hosts()[1].state.stale);
        assert_eq!(pool.total_load().load_average, 3 * 256);
    }

    #[test]
    fn six_processes_on_one_host_spread_two_two_two() {
        let mut pool = pool_of(&[6, 0, 0]);
        for object in 0..6 {
            assert!(pool.adopt(process(1, object)));
        }
        let mut ready = [6u16, 0, 0];
        let mut moves = 0;
        while let Some(next) = pool.next_move(64) {
            moves += 1;
            assert!(moves <= 4, "a process bounces");
            let moved = process(u8::try_from(next.to + 1).unwrap(), 100 + moves);
            pool.moved(&next, moved, 0);
            ready[next.from] -= 1;
            ready[next.to] += 1;
            assert_eq!(pool.next_move(64), None, "no move before fresh loads");
            for (i, &r) in ready.iter().enumerate() {
                pool.polled(i, &proc(u8::try_from(i + 1).unwrap()), load(r), 0);
            }
        }
        assert_eq!(ready, [2, 2, 2]);
        assert_eq!(
            (0..3).map(|i| pool.balanced_on(i)).collect::<Vec<_>>(),
            [2, 2, 2]
        );
    }

    #[test]
    fn only_balanced_processes_move() {
        let pool = pool_of(&[6, 0]);
        assert_eq!(pool.next_move(64), None, "nothing was given to balance");
        let mut pool = pool_of(&[6, 0]);
        assert!(pool.adopt(process(2, 1)));
        assert_eq!(pool.next_move(64), None, "the busy host runs none of them");
        pool.forget(&process(2, 1));
        assert!(pool.adopt(process(1, 1)));
        assert_eq!(
            pool.next_move(64),
            Some(Move {
                process: process(1, 1),
                from: 0,
                to: 1
            })
        );
    }
}
