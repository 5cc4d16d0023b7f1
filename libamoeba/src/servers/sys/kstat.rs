//! The kernel statistics a KSTAT reply carries.
//!
//! KSTAT is 2501 as in 5.3 (`docs/amoeba-protocol.md#kernel-servers`), whose reply is text;
//! this binary layout is ours. Little-endian, no padding; a record starts with its version and
//! length so a later version can append fields and an older client still reads the fields it
//! knows:
//!
//! | bytes  | field                                       |
//! |--------|---------------------------------------------|
//! | 0      | version, 1 (0 is never valid)               |
//! | 1      | reserved, 0                                 |
//! | 2..4   | u16 length of the record, these 4 included  |
//! | 4..12  | u64 uptime, nanoseconds                     |
//! | 12..20 | u64 memory total, bytes                     |
//! | 20..28 | u64 memory free, bytes                      |
//! | 28..36 | u64 kernel heap in use, bytes               |
//! | 36..40 | u32 threads                                 |
//! | 40..44 | u32 processes                               |
//! | 44..52 | u64 interrupts                              |
//! | 52..60 | u64 context switches                        |
//! | 60..68 | u64 RPC trans calls                         |
//! | 68..76 | u64 RPC getreq calls                        |
//! | 76..84 | u64 RPC putrep calls                        |
//! | 84..92 | u64 RPC calls that failed                   |
//!
//! Version 2 appends the network side (zero on a node without a network card):
//!
//! | bytes    | field                                                      |
//! |----------|------------------------------------------------------------|
//! | 92..100  | u64 FLIP frames received                                   |
//! | 100..108 | u64 FLIP frames sent                                       |
//! | 108..116 | u64 FLIP frames and RPC messages dropped as malformed      |
//! | 116..124 | u64 remote calls from here answered                       |
//! | 124..132 | u64 remote calls from here failed (RPC_FAILURE, NOTFOUND)  |
//! | 132..140 | u64 requests from other nodes executed here               |
//! | 140..148 | u64 requests and replies retransmitted                    |
//!
//! A decoder takes any version ≥ 1 whose length covers version 1's fields, reads those (and
//! version 2's when the record has them) and skips the rest of the record.

use core::fmt;

use crate::le;

/// The version this code writes.
pub const KSTAT_VERSION: u8 = 2;
/// Bytes of a version 1 record.
pub const KSTAT_V1_LEN: usize = 92;
/// Bytes of a version 2 record.
pub const KSTAT_V2_LEN: usize = 148;

const LENGTH_OFFSET: usize = 2;
const UPTIME_OFFSET: usize = 4;
const MEMORY_TOTAL_OFFSET: usize = 12;
const MEMORY_FREE_OFFSET: usize = 20;
const HEAP_OFFSET: usize = 28;
const THREADS_OFFSET: usize = 36;
const PROCESSES_OFFSET: usize = 40;
const INTERRUPTS_OFFSET: usize = 44;
const SWITCHES_OFFSET: usize = 52;
const RPC_TRANS_OFFSET: usize = 60;
const RPC_GETREQ_OFFSET: usize = 68;
const RPC_PUTREP_OFFSET: usize = 76;
const RPC_FAILURES_OFFSET: usize = 84;

const FLIP_FRAMES_IN_OFFSET: usize = 92;
const FLIP_FRAMES_OUT_OFFSET: usize = 100;
const FLIP_MALFORMED_OFFSET: usize = 108;
const REMOTE_COMPLETED_OFFSET: usize = 116;
const REMOTE_FAILED_OFFSET: usize = 124;
const REMOTE_EXECUTED_OFFSET: usize = 132;
const RETRANSMISSIONS_OFFSET: usize = 140;

const _: () = assert!(RPC_FAILURES_OFFSET + 8 == KSTAT_V1_LEN);
const _: () = assert!(RETRANSMISSIONS_OFFSET + 8 == KSTAT_V2_LEN);
const _: () = assert!(KSTAT_V2_LEN <= u16::MAX as usize);

/// Counts of RPC calls since boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RpcCounts {
    pub trans: u64,
    pub getreq: u64,
    pub putrep: u64,
    /// Calls of any of the three that returned an error.
    pub failures: u64,
}

/// FLIP and remote RPC counts since boot (version 2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlipCounts {
    pub frames_in: u64,
    pub frames_out: u64,
    /// Frames that did not decode, and reassembled messages that were not RPC messages.
    pub malformed: u64,
    /// Remote calls made from this node that got their reply.
    pub completed: u64,
    /// Remote calls made from this node that ended with RPC_FAILURE or RPC_NOTFOUND.
    pub failed: u64,
    /// Requests from other nodes delivered to servers here.
    pub executed: u64,
    pub retransmissions: u64,
}

/// What the kernel reports about itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Kstat {
    pub uptime_ns: u64,
    pub memory_total: u64,
    pub memory_free: u64,
    pub heap_bytes: u64,
    pub threads: u32,
    pub processes: u32,
    pub interrupts: u64,
    pub context_switches: u64,
    pub rpc: RpcCounts,
    pub flip: FlipCounts,
}

/// Why bytes are not a KSTAT record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KstatError {
    /// Version 0.
    BadVersion,
    /// The record's length field is shorter than version 1's fields.
    TooShort { length: usize },
    /// Fewer bytes than the record's length (or than its 4-byte start).
    Truncated { len: usize },
}

impl fmt::Display for KstatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadVersion => f.write_str("kstat record has version 0"),
            Self::TooShort { length } => {
                write!(
                    f,
                    "kstat record of {length} bytes, version 1 has {KSTAT_V1_LEN}"
                )
            }
            Self::Truncated { len } => write!(f, "kstat record cut after {len} bytes"),
        }
    }
}

impl Kstat {
    /// The version 2 record.
    pub fn encode(&self) -> [u8; KSTAT_V2_LEN] {
        let mut record = [0; KSTAT_V2_LEN];
        let flip = &self.flip;
        let words = [
            (UPTIME_OFFSET, self.uptime_ns),
            (MEMORY_TOTAL_OFFSET, self.memory_total),
            (MEMORY_FREE_OFFSET, self.memory_free),
            (HEAP_OFFSET, self.heap_bytes),
            (INTERRUPTS_OFFSET, self.interrupts),
            (SWITCHES_OFFSET, self.context_switches),
            (RPC_TRANS_OFFSET, self.rpc.trans),
            (RPC_GETREQ_OFFSET, self.rpc.getreq),
            (RPC_PUTREP_OFFSET, self.rpc.putrep),
            (RPC_FAILURES_OFFSET, self.rpc.failures),
            (FLIP_FRAMES_IN_OFFSET, flip.frames_in),
            (FLIP_FRAMES_OUT_OFFSET, flip.frames_out),
            (FLIP_MALFORMED_OFFSET, flip.malformed),
            (REMOTE_COMPLETED_OFFSET, flip.completed),
            (REMOTE_FAILED_OFFSET, flip.failed),
            (REMOTE_EXECUTED_OFFSET, flip.executed),
            (RETRANSMISSIONS_OFFSET, flip.retransmissions),
        ];
        for (offset, value) in words {
            le::put(&mut record, offset, &value.to_le_bytes());
        }
        le::put(&mut record, THREADS_OFFSET, &self.threads.to_le_bytes());
        le::put(&mut record, PROCESSES_OFFSET, &self.processes.to_le_bytes());
        le::put(&mut record, 0, &[KSTAT_VERSION, 0]);
        le::put(
            &mut record,
            LENGTH_OFFSET,
            &(KSTAT_V2_LEN as u16).to_le_bytes(),
        );
        record
    }

    /// Reads a record of version 1 or later.
    pub fn decode(bytes: &[u8]) -> Result<Self, KstatError> {
        let truncated = KstatError::Truncated { len: bytes.len() };
        let (version, length) = match (bytes.first(), le::u16_at(bytes, LENGTH_OFFSET)) {
            (Some(&version), Some(length)) => (version, usize::from(length)),
            _ => return Err(truncated),
        };
        if version == 0 {
            return Err(KstatError::BadVersion);
        }
        if length < KSTAT_V1_LEN {
            return Err(KstatError::TooShort { length });
        }
        let record = bytes.get(..length).ok_or(truncated)?;
        let mut kstat = Self::from_v1(record);
        if version >= 2 && length >= KSTAT_V2_LEN {
            kstat.flip = Self::flip_from_v2(record);
        }
        Ok(kstat)
    }

    /// The version 2 fields of `record`, which holds at least [`KSTAT_V2_LEN`] bytes.
    fn flip_from_v2(record: &[u8]) -> FlipCounts {
        let word = |offset| le::field_u64(record, offset);
        FlipCounts {
            frames_in: word(FLIP_FRAMES_IN_OFFSET),
            frames_out: word(FLIP_FRAMES_OUT_OFFSET),
            malformed: word(FLIP_MALFORMED_OFFSET),
            completed: word(REMOTE_COMPLETED_OFFSET),
            failed: word(REMOTE_FAILED_OFFSET),
            executed: word(REMOTE_EXECUTED_OFFSET),
            retransmissions: word(RETRANSMISSIONS_OFFSET),
        }
    }

    /// The version 1 fields of `record`, which holds at least [`KSTAT_V1_LEN`] bytes.
    fn from_v1(record: &[u8]) -> Self {
        let word = |offset| le::field_u64(record, offset);
        Self {
            uptime_ns: word(UPTIME_OFFSET),
            memory_total: word(MEMORY_TOTAL_OFFSET),
            memory_free: word(MEMORY_FREE_OFFSET),
            heap_bytes: word(HEAP_OFFSET),
            threads: le::field_u32(record, THREADS_OFFSET),
            processes: le::field_u32(record, PROCESSES_OFFSET),
            interrupts: word(INTERRUPTS_OFFSET),
            context_switches: word(SWITCHES_OFFSET),
            rpc: RpcCounts {
                trans: word(RPC_TRANS_OFFSET),
                getreq: word(RPC_GETREQ_OFFSET),
                putrep: word(RPC_PUTREP_OFFSET),
                failures: word(RPC_FAILURES_OFFSET),
            },
            flip: FlipCounts::default(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Every field different, so a swapped offset shows.
    pub(crate) fn sample() -> Kstat {
        Kstat {
            uptime_ns: 1_000_000_007,
            memory_total: 128 << 20,
            memory_free: 100 << 20,
            heap_bytes: 3 << 20,
            threads: 17,
            processes: 4,
            interrupts: 0x0102_0304_0506_0708,
            context_switches: 99,
            rpc: RpcCounts {
                trans: 11,
                getreq: 12,
                putrep: 13,
                failures: 14,
            },
            flip: FlipCounts {
                frames_in: 21,
                frames_out: 22,
                malformed: 23,
                completed: 24,
                failed: 25,
                executed: 26,
                retransmissions: 27,
            },
        }
    }

    #[test]
    fn records_round_trip_with_version_and_length_first() {
        let record = sample().encode();
        assert_eq!(record[..4], [2, 0, 148, 0]);
        assert_eq!(record[140..148], 27u64.to_le_bytes());
        assert_eq!(record[36..40], 17u32.to_le_bytes());
        assert_eq!(record[44..52], 0x0102_0304_0506_0708u64.to_le_bytes());
        assert_eq!(Kstat::decode(&record), Ok(sample()));
        assert_eq!(
            Kstat::decode(&Kstat::default().encode()),
            Ok(Kstat::default())
        );
    }

    #[test]
    fn a_version_1_record_decodes_without_network_counts() {
        let mut record = sample().encode()[..KSTAT_V1_LEN].to_vec();
        record[0] = 1;
        record[2..4].copy_from_slice(&(KSTAT_V1_LEN as u16).to_le_bytes());
        let expected = Kstat {
            flip: FlipCounts::default(),
            ..sample()
        };
        assert_eq!(Kstat::decode(&record), Ok(expected));
    }

    #[test]
    fn a_later_version_with_more_fields_still_decodes() {
        let mut record = sample().encode().to_vec();
        record.extend_from_slice(&[0xee; 8]);
        record[0] = 3;
        record[2..4].copy_from_slice(&((KSTAT_V2_LEN + 8) as u16).to_le_bytes());
        assert_eq!(Kstat::decode(&record), Ok(sample()));
        // Bytes after the record's length are not its business.
        record.push(0);
        assert_eq!(Kstat::decode(&record), Ok(sample()));
    }

    #[test]
    fn truncated_and_bad_records_are_refused() {
        let record = sample().encode();
        for len in 0..KSTAT_V1_LEN {
            assert_eq!(
                Kstat::decode(&record[..len]),
                Err(KstatError::Truncated { len })
            );
        }
        let mut bad = record;
        bad[0] = 0;
        assert_eq!(Kstat::decode(&bad), Err(KstatError::BadVersion));
        let mut short: Vec<u8> = record.to_vec();
        short[2] = 91;
        assert_eq!(
            Kstat::decode(&short),
            Err(KstatError::TooShort { length: 91 })
        );
        assert_eq!(
            KstatError::TooShort { length: 8 }.to_string(),
            "kstat record of 8 bytes, version 1 has 92"
        );
    }
}
