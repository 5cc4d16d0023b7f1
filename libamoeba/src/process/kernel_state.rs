//! What a thread descriptor's KSTATE part carries on our nodes: the kernel's side of a stopped
//! thread, so that it resumes on another node as it was. 5.3's KSTATE is five 32-bit words of
//! its own kernel (timeout, signal vector...); ours is the state our kernel keeps.
//!
//! A thread is described only at a point where it waits for nothing in the kernel: a stun
//! lets each thread finish or back out of its system call first (a wait backed out of is
//! made again on arrival, with what was left of its timeout). So no wait lists travel, only
//! what threads own and what is pending.
//!
//! ```text
//! 0..4    u32 local id: the thread's number in its process (what ThreadSelf returns)
//! 4..8    u32 parts: FPU 0x1 (an FXSAVE area follows), PROCESS 0x2 (the process part follows)
//! 8..16   u64 pending signals
//! [512]   FXSAVE area (Intel SDM vol. 1, 10.5.1), when FPU
//! process part, when PROCESS (carried by the first thread only):
//!   u32 preemptive threads (0 or 1) | u32 turn holder's local id (0: none)
//!   u32 next local id               | u32 N sync objects (at most MAX_SYNC_OBJECTS)
//!   N x 16 bytes: u32 kind (0 free slot, 1 mutex, 2 semaphore, 3 barrier) | u32 reserved 0
//!                 u64 value: mutex owner's local id (0: unlocked), semaphore count,
//!                 barrier parties
//! ```
//! All little-endian. The handle of a sync object is its index among the N.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::le;

/// Bytes of an FXSAVE area.
pub const FXSAVE_LEN: usize = 512;
/// Most sync objects a process carries (the kernel's own limit per process).
pub const MAX_SYNC_OBJECTS: usize = 1024;

const FIXED_LEN: usize = 16;
const PROCESS_FIXED_LEN: usize = 16;
const OBJECT_LEN: usize = 16;
const PART_FPU: u32 = 0x1;
const PART_PROCESS: u32 = 0x2;

/// A synchronization object as it stands with nobody waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncState {
    /// Locked by the thread with this local id, or unlocked (`None`).
    Mutex {
        owner: Option<u32>,
    },
    Semaphore {
        count: u64,
    },
    Barrier {
        parties: u64,
    },
}

/// What travels of a process's kernel state (with its first thread).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessKernelState {
    pub preemptive_threads: bool,
    pub turn_holder: Option<u32>,
    pub next_local_id: u32,
    /// By handle; `None` is a free slot.
    pub sync: Vec<Option<SyncState>>,
}

/// A thread's kernel state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelState {
    pub local_id: u32,
    pub pending_signals: u64,
    pub fpu: Option<Box<[u8; FXSAVE_LEN]>>,
    pub process: Option<ProcessKernelState>,
}

/// Why bytes are not a kernel state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelStateError {
    Truncated,
    /// Bytes left over after the parts the flags name.
    TrailingBytes,
    UnknownParts(u32),
    TooManyObjects(u32),
    BadObject {
        handle: usize,
    },
}

impl core::fmt::Display for KernelStateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Truncated => f.write_str("kernel state truncated"),
            Self::TrailingBytes => f.write_str("kernel state has bytes beyond its parts"),
            Self::UnknownParts(parts) => write!(f, "kernel state parts {parts:#x} unknown"),
            Self::TooManyObjects(count) => write!(
                f,
                "kernel state names {count} sync objects (at most {MAX_SYNC_OBJECTS})"
            ),
            Self::BadObject { handle } => write!(f, "sync object {handle} is malformed"),
        }
    }
}

impl KernelState {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        let parts = if self.fpu.is_some() { PART_FPU } else { 0 }
            | if self.process.is_some() {
                PART_PROCESS
            } else {
                0
            };
        out.extend_from_slice(&self.local_id.to_le_bytes());
        out.extend_from_slice(&parts.to_le_bytes());
        out.extend_from_slice(&self.pending_signals.to_le_bytes());
        if let Some(fpu) = &self.fpu {
            out.extend_from_slice(&fpu[..]);
        }
        if let Some(process) = &self.process {
            let words = [
                u32::from(process.preemptive_threads),
                process.turn_holder.unwrap_or(0),
                process.next_local_id,
                u32::try_from(process.sync.len()).unwrap_or(u32::MAX),
            ];
            for word in words {
                out.extend_from_slice(&word.to_le_bytes());
            }
            for object in &process.sync {
                let (kind, value) = match object {
                    None => (0u32, 0u64),
                    Some(SyncState::Mutex { owner }) => (1, u64::from(owner.unwrap_or(0))),
                    Some(SyncState::Semaphore { count }) => (2, *count),
                    Some(SyncState::Barrier { parties }) => (3, *parties),
                };
                out.extend_from_slice(&kind.to_le_bytes());
                out.extend_from_slice(&0u32.to_le_bytes());
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        out
    }

    pub fn encoded_len(&self) -> usize {
        FIXED_LEN
            + self.fpu.as_ref().map_or(0, |_| FXSAVE_LEN)
            + self
                .process
                .as_ref()
                .map_or(0, |p| PROCESS_FIXED_LEN + p.sync.len() * OBJECT_LEN)
    }

    /// The kernel state `bytes` holds, all of them.
    pub fn decode(bytes: &[u8]) -> Result<Self, KernelStateError> {
        let fixed: [u8; FIXED_LEN] = field(bytes, 0)?;
        let parts = le::field_u32(&fixed, 4);
        if parts & !(PART_FPU | PART_PROCESS) != 0 {
            return Err(KernelStateError::UnknownParts(parts));
        }
        let mut at = FIXED_LEN;
        let fpu = if parts & PART_FPU != 0 {
            let area: [u8; FXSAVE_LEN] = field(bytes, at)?;
            at += FXSAVE_LEN;
            Some(Box::new(area))
        } else {
            None
        };
        let process = if parts & PART_PROCESS != 0 {
            let (process, used) = decode_process(bytes, at)?;
            at += used;
            Some(process)
        } else {
            None
        };
        if at != bytes.len() {
            return Err(KernelStateError::TrailingBytes);
        }
        Ok(Self {
            local_id: le::field_u32(&fixed, 0),
            pending_signals: le::field_u64(&fixed, 8),
            fpu,
            process,
        })
    }
}

fn field<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N], KernelStateError> {
    bytes
        .get(at..at.saturating_add(N))
        .and_then(|slice| slice.try_into().ok())
        .ok_or(KernelStateError::Truncated)
}

fn decode_process(
    bytes: &[u8],
    at: usize,
) -> Result<(ProcessKernelState, usize), KernelStateError> {
    let fixed: [u8; PROCESS_FIXED_LEN] = field(bytes, at)?;
    let count = le::field_u32(&fixed, 12);
    let objects = usize::try_from(count)
        .ok()
        .filter(|&n| n <= MAX_SYNC_OBJECTS)
        .ok_or(KernelStateError::TooManyObjects(count))?;
    let mut sync = Vec::with_capacity(objects);
    for handle in 0..objects {
        let record: [u8; OBJECT_LEN] = field(bytes, at + PROCESS_FIXED_LEN + handle * OBJECT_LEN)?;
        let value = le::field_u64(&record, 8);
        let bad = KernelStateError::BadObject { handle };
        if le::field_u32(&record, 4) != 0 {
            return Err(bad);
        }
        sync.push(match le::field_u32(&record, 0) {
            0 if value == 0 => None,
            1 => {
                let owner = u32::try_from(value).map_err(|_| bad)?;
                Some(SyncState::Mutex {
                    owner: (owner != 0).then_some(owner),
                })
            }
            2 => Some(SyncState::Semaphore { count: value }),
            3 if value > 0 => Some(SyncState::Barrier { parties: value }),
            _ => return Err(bad),
        });
    }
    let preemptive = le::field_u32(&fixed, 0);
    if preemptive > 1 {
        return Err(KernelStateError::BadObject { handle: usize::MAX });
    }
    let turn_holder = le::field_u32(&fixed, 4);
    let process = ProcessKernelState {
        preemptive_threads: preemptive == 1,
        turn_holder: (turn_holder != 0).then_some(turn_holder),
        next_local_id: le::field_u32(&fixed, 8),
        sync,
    };
    Ok((process, PROCESS_FIXED_LEN + objects * OBJECT_LEN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn full() -> KernelState {
        let mut fpu = Box::new([0u8; FXSAVE_LEN]);
        fpu[24] = 0x80;
        KernelState {
            local_id: 3,
            pending_signals: 0b1010,
            fpu: Some(fpu),
            process: Some(ProcessKernelState {
                preemptive_threads: true,
                turn_holder: Some(2),
                next_local_id: 5,
                sync: vec![
                    Some(SyncState::Mutex { owner: Some(3) }),
                    None,
                    Some(SyncState::Semaphore { count: 7 }),
                    Some(SyncState::Barrier { parties: 4 }),
                    Some(SyncState::Mutex { owner: None }),
                ],
            }),
        }
    }

    #[test]
    fn every_part_travels() {
        for state in [full(), KernelState::default()] {
            let bytes = state.encode();
            assert_eq!(bytes.len(), state.encoded_len());
            assert_eq!(KernelState::decode(&bytes), Ok(state));
        }
    }

    #[test]
    fn malformed_states_are_refused() {
        let bytes = full().encode();
        for cut in [0, 10, 100, bytes.len() - 1] {
            assert_eq!(
                KernelState::decode(&bytes[..cut]),
                Err(KernelStateError::Truncated),
                "{cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            KernelState::decode(&longer),
            Err(KernelStateError::TrailingBytes)
        );
        let mut parts = bytes.clone();
        parts[4] = 0x4;
        assert_eq!(
            KernelState::decode(&parts),
            Err(KernelStateError::UnknownParts(4))
        );
        let object = FIXED_LEN + FXSAVE_LEN + PROCESS_FIXED_LEN;
        let mut kind = bytes.clone();
        kind[object] = 9;
        assert_eq!(
            KernelState::decode(&kind),
            Err(KernelStateError::BadObject { handle: 0 })
        );
        let mut count = bytes;
        count[object - 4..object].copy_from_slice(&5000u32.to_le_bytes());
        assert_eq!(
            KernelState::decode(&count),
            Err(KernelStateError::TooManyObjects(5000))
        );
    }
}
