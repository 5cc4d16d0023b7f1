//! The server's memory of remote transactions: what makes a request run at most once.
//!
//! From `docs/amoeba-protocol.md#rpc-over-flip`: a server keeps each client's kernel id and a
//! table of the transaction ids it has seen from that kernel. The bounds and the way old ids
//! are forgotten are ours:
//! * Per client kernel, the [`RECENT_TIDS_PER_KERNEL`] most recent transactions with their
//!   state, plus a *floor*: when a finished transaction is evicted, the floor rises above its
//!   id, and an id below the floor that is not in the table counts as seen. A client numbers
//!   its transactions upwards, so this forgets details without ever letting an old duplicate
//!   run again (at worst a late first copy of a request is refused as if it had run, which
//!   RPC_FAILURE allows).
//! * A transaction whose request is executing or whose reply is unacknowledged ("live") is
//!   never evicted; at most [`MAX_LIVE_TRANSACTIONS`] are live on a node at once.
//! * At most [`MAX_CLIENT_KERNELS`] kernels are remembered. A kernel's record, with its floor,
//!   is dropped only when it has nothing live and has been silent for
//!   [`KERNEL_RECORD_MIN_AGE_MS`], far longer than a client retransmits a request: we assume
//!   no message lingers in the network that long. When no record can go, new work is refused
//!   (the engine drops the request; the client retransmits or fails).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::address::{FlipAddress, KernelId};
use crate::capability::Port;

/// Client kernels remembered at once.
pub const MAX_CLIENT_KERNELS: usize = 64;
/// Transactions remembered per client kernel (besides the floor).
pub const RECENT_TIDS_PER_KERNEL: usize = 32;
/// Requests executing or replies awaiting ACK on this node at once: bounds the memory held
/// for replies (each up to [`crate::rpc::transport::MAX_MESSAGE_BYTES`]).
pub const MAX_LIVE_TRANSACTIONS: usize = 64;
/// A silent kernel's record may be dropped after this long (ours: several times the longest
/// retransmission window, [`super::timers::retransmit_window`]).
pub const KERNEL_RECORD_MIN_AGE_MS: u64 = 60_000;

/// Where a remote transaction stands on this (server) node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TidState {
    /// Handed to a local server; no reply yet. `client` is where the reply goes, `port` what
    /// it is sent for.
    Executing { client: FlipAddress, port: Port },
    /// Answered: the encoded REPLY, retransmitted at `next_send` until the client ACKs it.
    Replied {
        client: FlipAddress,
        reply: Vec<u8>,
        retries: u32,
        next_send: u64,
    },
    /// Done: the reply was acknowledged or given up on. A duplicate gets FAIL.
    Finished,
    /// Refused with NAK because the port was not served here: it must never run here later.
    Refused,
}

impl TidState {
    /// Holds a local server's attention or a reply's memory.
    pub const fn is_live(&self) -> bool {
        matches!(self, Self::Executing { .. } | Self::Replied { .. })
    }
}

/// What the table knows of a transaction id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// In the table: see [`TidTable::get_mut`].
    Known,
    /// Below the kernel's floor: seen before, details forgotten. Must not run.
    Forgotten,
    /// Never seen.
    New,
}

/// The table was full; nothing was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableFull;

#[derive(Debug, Default)]
struct KernelRecord {
    recent: BTreeMap<u32, TidState>,
    /// Ids below this that are not in `recent` have been seen and forgotten.
    floor: u32,
    last_heard: u64,
}

impl KernelRecord {
    fn has_live(&self) -> bool {
        self.recent.values().any(TidState::is_live)
    }

    /// Makes room for one more id by forgetting the oldest finished one.
    fn make_room(&mut self) -> Result<(), TableFull> {
        if self.recent.len() < RECENT_TIDS_PER_KERNEL {
            return Ok(());
        }
        let oldest_done = self
            .recent
            .iter()
            .find(|(_, state)| !state.is_live())
            .map(|(tid, _)| *tid)
            .ok_or(TableFull)?;
        self.recent.remove(&oldest_done);
        self.floor = self.floor.max(oldest_done.saturating_add(1));
        Ok(())
    }
}

/// Transaction ids per client kernel, bounded.
#[derive(Debug, Default)]
pub struct TidTable {
    kernels: BTreeMap<KernelId, KernelRecord>,
}

impl TidTable {
    pub const fn new() -> Self {
        Self {
            kernels: BTreeMap::new(),
        }
    }

    /// What is known of `kernel`'s transaction `tid`; notes that `kernel` was heard from.
    pub fn lookup(&mut self, kernel: KernelId, tid: u32, now: u64) -> Lookup {
        let Some(record) = self.kernels.get_mut(&kernel) else {
            return Lookup::New;
        };
        record.last_heard = now;
        if record.recent.contains_key(&tid) {
            Lookup::Known
        } else if tid < record.floor {
            Lookup::Forgotten
        } else {
            Lookup::New
        }
    }

    pub fn get_mut(&mut self, kernel: KernelId, tid: u32) -> Option<&mut TidState> {
        self.kernels.get_mut(&kernel)?.recent.get_mut(&tid)
    }

    /// Records a transaction [`Self::lookup`] called new, making room as the module header
    /// says; refuses when it cannot.
    pub fn insert(
        &mut self,
        kernel: KernelId,
        tid: u32,
        state: TidState,
        now: u64,
    ) -> Result<(), TableFull> {
        if state.is_live() && self.live() >= MAX_LIVE_TRANSACTIONS {
            return Err(TableFull);
        }
        if !self.kernels.contains_key(&kernel) {
            self.make_room_for_a_kernel(now)?;
        }
        let record = self.kernels.entry(kernel).or_default();
        record.last_heard = now;
        record.make_room()?;
        record.recent.insert(tid, state);
        Ok(())
    }

    /// Transactions executing or awaiting an ACK.
    pub fn live(&self) -> usize {
        let records = self.kernels.values();
        records
            .map(|record| record.recent.values().filter(|s| s.is_live()).count())
            .sum()
    }

    /// Every remembered transaction.
    pub fn iter(&self) -> impl Iterator<Item = (KernelId, u32, &TidState)> {
        self.kernels.iter().flat_map(|(kernel, record)| {
            let kernel = *kernel;
            record
                .recent
                .iter()
                .map(move |(tid, state)| (kernel, *tid, state))
        })
    }

    /// Every remembered transaction, for the retransmission timer.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (KernelId, u32, &mut TidState)> {
        self.kernels.iter_mut().flat_map(|(kernel, record)| {
            let kernel = *kernel;
            record
                .recent
                .iter_mut()
                .map(move |(tid, state)| (kernel, *tid, state))
        })
    }

    /// Kernels remembered.
    pub fn kernels(&self) -> usize {
        self.kernels.len()
    }

    fn make_room_for_a_kernel(&mut self, now: u64) -> Result<(), TableFull> {
        if self.kernels.len() < MAX_CLIENT_KERNELS {
            return Ok(());
        }
        let droppable = self.kernels.iter().filter(|(_, record)| {
            !record.has_live() && now.saturating_sub(record.last_heard) >= KERNEL_RECORD_MIN_AGE_MS
        });
        let quietest = droppable
            .min_by_key(|(_, record)| record.last_heard)
            .map(|(kernel, _)| *kernel)
            .ok_or(TableFull)?;
        self.kernels.remove(&quietest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: FlipAddress = FlipAddress([1; 8]);

    fn kernel(n: u8) -> KernelId {
        KernelId([n; 8])
    }

    fn executing() -> TidState {
        TidState::Executing {
            client: CLIENT,
            port: Port([1; 6]),
        }
    }

    #[test]
    fn evicted_ids_are_remembered_as_seen_through_the_floor() {
        let mut table = TidTable::new();
        let k = kernel(1);
        for tid in 1..=RECENT_TIDS_PER_KERNEL as u32 {
            assert_eq!(table.lookup(k, tid, 0), Lookup::New);
            table.insert(k, tid, TidState::Finished, 0).unwrap();
        }
        let next = RECENT_TIDS_PER_KERNEL as u32 + 1;
        table.insert(k, next, executing(), 0).unwrap();
        assert_eq!(table.lookup(k, 1, 0), Lookup::Forgotten);
        assert_eq!(table.lookup(k, 2, 0), Lookup::Known);
        assert_eq!(table.lookup(k, next, 0), Lookup::Known);
        assert_eq!(table.lookup(k, next + 1, 0), Lookup::New);
    }

    #[test]
    fn live_transactions_are_never_evicted() {
        let mut table = TidTable::new();
        let k = kernel(1);
        for tid in 0..RECENT_TIDS_PER_KERNEL as u32 {
            table.insert(k, tid, executing(), 0).unwrap();
        }
        assert_eq!(table.insert(k, 100, executing(), 0), Err(TableFull));
        assert_eq!(table.insert(k, 100, TidState::Refused, 0), Err(TableFull));
        *table.get_mut(k, 5).unwrap() = TidState::Finished;
        table.insert(k, 100, TidState::Refused, 0).unwrap();
        assert_eq!(table.lookup(k, 5, 0), Lookup::Forgotten);
        assert_eq!(
            table.lookup(k, 4, 0),
            Lookup::Known,
            "live, below the floor"
        );
    }

    #[test]
    fn live_transactions_are_bounded_across_kernels() {
        let mut table = TidTable::new();
        for n in 0..MAX_LIVE_TRANSACTIONS {
            table.insert(kernel(n as u8), 1, executing(), 0).unwrap();
        }
        assert_eq!(table.live(), MAX_LIVE_TRANSACTIONS);
        assert_eq!(table.insert(kernel(200), 1, executing(), 0), Err(TableFull));
    }

    #[test]
    fn a_kernel_record_goes_only_when_idle_and_silent_long_enough() {
        let mut table = TidTable::new();
        for n in 0..MAX_CLIENT_KERNELS {
            table
                .insert(kernel(n as u8), 1, TidState::Finished, n as u64)
                .unwrap();
        }
        *table.get_mut(kernel(0), 1).unwrap() = executing();
        let newcomer = kernel(200);
        let too_soon = KERNEL_RECORD_MIN_AGE_MS;
        assert_eq!(
            table.insert(newcomer, 1, TidState::Finished, too_soon),
            Err(TableFull)
        );
        let late = KERNEL_RECORD_MIN_AGE_MS + 1;
        table.insert(newcomer, 1, TidState::Finished, late).unwrap();
        assert_eq!(table.kernels(), MAX_CLIENT_KERNELS);
        assert_eq!(table.lookup(kernel(0), 1, late), Lookup::Known, "live kept");
        assert_eq!(
            table.lookup(kernel(1), 1, late),
            Lookup::New,
            "quietest went"
        );
        assert_eq!(table.lookup(kernel(2), 1, late), Lookup::Known);
    }
}
