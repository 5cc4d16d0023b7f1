//! The run server's choices, without the RPC around them: which pool processor gets a new
//! process (5.3's score), when each host is polled for its load, and (ours: 5.3 never moved
//! processes to balance load) which process moves from the busiest host to the idlest.
//!
//! From `docs/amoeba-protocol.md#kernel-servers` (the run server, 5.3's `src/admin/run`): a
//! host's score is
//! `PREF(arch) * KIPS / (load + 1) * min(MEMTRUNC, free - needed + CACHEMEM * cached) *
//! (1 + cached / CACHETIME)`, and the host is chosen at random among those within EQUIVPERC
//! percent of the best, with EQUIVPERC 5, MEMTRUNC 2048 KiB, CACHETIME 500, CACHEMEM 10 and
//! PREF 100 for the host's own architecture. Hosts are polled every 5 s; a host that failed is
//! tried again after 10 s, then every 60 s; a host that was just given a process is polled
//! again 0.5 s later. Our nodes keep no program cache, so `cached` is 0 here.

use alloc::vec::Vec;

use crate::random::Entropy;
use crate::servers::proc::Load;

/// Hosts within this percentage of the best score are equally good.
pub const EQUIVPERC: u64 = 5;
/// Free memory counts up to this much (bytes): beyond it, more memory does not make a host
/// better.
pub const MEMTRUNC: u64 = 2048 * 1024;
/// The weight of a host of the architecture asked for.
pub const PREF: u64 = 100;

/// Milliseconds between polls of a host that answers.
pub const POLL_MS: u64 = 5_000;
/// Milliseconds before a host that failed once is asked again.
pub const FIRST_RETRY_MS: u64 = 10_000;
/// Milliseconds between later tries of a host that keeps failing.
pub const RETRY_MS: u64 = 60_000;
/// Milliseconds after starting a process on a host before its load is asked again.
pub const AFTER_START_MS: u64 = 500;

/// What the run server knows of one pool processor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Host {
    /// Its last answer to PS_GETLOAD, if the last poll got one.
    pub load: Option<Load>,
    /// Polls in a row that failed.
    pub failures: u32,
    /// When to poll it next (milliseconds, the caller's clock).
    pub next_poll: u64,
    /// A process was started or moved there since its last answer: its load is out of date.
    pub stale: bool,
}

impl Host {
    /// Notes a poll's outcome at `now`.
    pub fn polled(&mut self, answer: Option<Load>, now: u64) {
        self.load = answer;
        self.stale = false;
        self.failures = if answer.is_some() {
            0
        } else {
            self.failures.saturating_add(1)
        };
        let wait = match self.failures {
            0 => POLL_MS,
            1 => FIRST_RETRY_MS,
            _ => RETRY_MS,
        };
        self.next_poll = now.saturating_add(wait);
    }

    /// Notes that a process was started there at `now`: its load changes soon.
    pub fn started_process(&mut self, now: u64) {
        self.stale = true;
        self.next_poll = self.next_poll.min(now.saturating_add(AFTER_START_MS));
    }

    /// The host's score for a process needing `needed` bytes; 0 for a host that did not
    /// answer or has too little memory.
    pub fn score(&self, needed: u64) -> u64 {
        let Some(load) = self.load else {
            return 0;
        };
        let room = load.free_memory.saturating_sub(needed).min(MEMTRUNC);
        // Load is ×256 on the wire: (load + 1) becomes (load×256 + 256) / 256.
        let speed = u64::from(load.speed_mhz.max(1)) * 256 / (u64::from(load.load_average) + 256);
        PREF.saturating_mul(speed).saturating_mul(room / 1024)
    }
}

/// The index of the host for a process needing `needed` bytes: at random among those within
/// [`EQUIVPERC`] % of the best score; `None` if no host can take it.
pub fn choose(hosts: &[Host], needed: u64, entropy: &mut impl Entropy) -> Option<usize> {
    let scores: Vec<u64> = hosts.iter().map(|h| h.score(needed)).collect();
    let best = scores.iter().copied().max().filter(|&best| best > 0)?;
    let floor = best - best * EQUIVPERC / 100;
    let good: Vec<usize> = (0..hosts.len()).filter(|&i| scores[i] >= floor).collect();
    let mut pick = [0u8; 8];
    entropy.fill(&mut pick);
    let at = usize::try_from(u64::from_le_bytes(pick) % good.len() as u64).unwrap_or(0);
    good.get(at).copied()
}

/// A move that balances load: from host `from` to host `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rebalance {
    pub from: usize,
    pub to: usize,
}

/// The move from the busiest host to the idlest, if their loads (×256, as PS_GETLOAD gives
/// them) differ by more than `threshold` plus one process's worth (256): after the move the
/// two may swap places by at most `threshold`, so a process does not bounce between them.
pub fn rebalance(hosts: &[Host], threshold: u16) -> Option<Rebalance> {
    let loads = hosts
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.load.map(|l| (i, u32::from(l.load_average))));
    let (from, busiest) = loads.clone().max_by_key(|&(_, load)| load)?;
    let (to, idlest) = loads.min_by_key(|&(_, load)| load)?;
    (busiest > idlest + 256 + u32::from(threshold)).then_some(Rebalance { from, to })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededGenerator;

    fn host(free_mib: u64, load_average: u16, speed_mhz: u16) -> Host {
        Host {
            load: Some(Load {
                free_memory: free_mib << 20,
                load_average,
                speed_mhz,
            }),
            ..Host::default()
        }
    }

    #[test]
    fn an_idle_fast_host_with_room_scores_best() {
        let idle = host(100, 0, 2000);
        let busy = host(100, 512, 2000);
        let slow = host(100, 0, 500);
        let full = host(1, 0, 2000);
        assert!(idle.score(1 << 20) > busy.score(1 << 20));
        assert!(idle.score(1 << 20) > slow.score(1 << 20));
        assert_eq!(full.score(2 << 20), 0, "no room");
        assert_eq!(Host::default().score(0), 0, "never answered");
        // Memory beyond MEMTRUNC makes no host better.
        assert_eq!(host(100, 0, 2000).score(0), host(50, 0, 2000).score(0));
    }

    #[test]
    fn equally_good_hosts_share_the_work_and_worse_ones_get_none() {
        let hosts = [host(100, 0, 2000), host(100, 0, 2000), host(100, 768, 2000)];
        let mut entropy = SeededGenerator::new(9);
        let mut picked = [0usize; 3];
        for _ in 0..200 {
            picked[choose(&hosts, 1 << 20, &mut entropy).unwrap()] += 1;
        }
        assert!(picked[0] > 50 && picked[1] > 50, "{picked:?}");
        assert_eq!(picked[2], 0);
        assert_eq!(choose(&[Host::default()], 0, &mut entropy), None);
    }

    #[test]
    fn polls_follow_the_hosts_answers() {
        let mut h = Host::default();
        h.polled(None, 1000);
        assert_eq!((h.failures, h.next_poll), (1, 1000 + FIRST_RETRY_MS));
        h.polled(None, 20_000);
        assert_eq!(h.next_poll, 20_000 + RETRY_MS);
        h.polled(host(10, 0, 1).load, 90_000);
        assert_eq!((h.failures, h.next_poll), (0, 90_000 + POLL_MS));
        h.started_process(91_000);
        assert_eq!(h.next_poll, 91_000 + AFTER_START_MS);
        assert!(h.stale);
        h.polled(None, 91_500);
        assert!(!h.stale);
    }

    #[test]
    fn only_a_clear_difference_moves_a_process() {
        let hosts = [
            host(100, 3 * 256, 2000),
            host(100, 256, 2000),
            host(100, 0, 2000),
        ];
        assert_eq!(rebalance(&hosts, 64), Some(Rebalance { from: 0, to: 2 }));
        // One process apart: moving it would only swap the two.
        let close = [host(100, 256, 2000), host(100, 0, 2000)];
        assert_eq!(rebalance(&close, 64), None);
        assert_eq!(rebalance(&[Host::default()], 0), None);
    }
}
