//! What the process server needs from the kernel: the live processes, killing and stunning
//! them, and the node's load, with the header layout PS_GETLOAD answers the load in.
//!
//! From `docs/amoeba-protocol.md#kernel-servers`: GETLOAD answers free memory in h_offset, the
//! load average in h_size and the speed in h_extra. The units are ours, not 5.3's (bytes, the
//! load average shifted right by 6, kilo-instructions per second): free memory in KiB (bytes
//! would not fit an `i32` past 2 GiB; saturates at 2 TiB), load average ×256 (saturating at
//! 255.99), speed in MHz.

use alloc::string::String;
use alloc::vec::Vec;

use crate::capability::Capability;
use crate::process::ProcessDescriptor;
use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;

const KIB: u64 = 1024;

/// What a process is doing, as the process server reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessState {
    /// At least one thread runs or is ready to.
    Running,
    /// Every thread waits.
    Blocked,
    /// Stopped by PS_STUN, waiting for its owner.
    Stunned,
    /// Going away.
    Exiting,
}

impl ProcessState {
    /// The word STD_INFO shows.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Blocked => "blocked",
            Self::Stunned => "stunned",
            Self::Exiting => "exiting",
        }
    }
}

/// One live process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessSummary {
    pub pid: u64,
    pub name: String,
    pub threads: u32,
    pub state: ProcessState,
}

/// The node's load, as the run server weighs hosts by it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Load {
    pub free_memory: u64,
    /// Load average ×256.
    pub load_average: u16,
    /// Processor speed in MHz.
    pub speed_mhz: u16,
}

impl Load {
    /// Puts the load into a PS_GETLOAD reply's header.
    pub fn to_header(&self, header: &mut Header) {
        let kib = self.free_memory / KIB;
        header.offset = i32::try_from(kib).unwrap_or(i32::MAX);
        header.size = self.load_average;
        header.extra = self.speed_mhz;
    }

    /// The load a PS_GETLOAD reply's header carries; `None` for negative free memory.
    pub fn from_header(header: &Header) -> Option<Self> {
        let kib = u64::try_from(header.offset).ok()?;
        Some(Self {
            free_memory: kib * KIB,
            load_average: header.size,
            speed_mhz: header.extra,
        })
    }
}

/// A segment the process server holds before a process takes it: made by PS_SEG_CREATE, or
/// fetched for PS_EXEC from whoever served it. The kernel keeps its bytes (in page frames).
pub type SegmentId = u64;

/// What PS_EXEC asks the kernel to create: the checked descriptor, and for each of its
/// segments the held segment with its first bytes (`None`: zero-filled). The kernel takes the
/// segments named here: they are its process's memory now and no longer held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecRequest {
    pub descriptor: ProcessDescriptor,
    pub segments: Vec<Option<SegmentId>>,
}

/// The kernel's side of the process server.
pub trait ProcessControl {
    /// Every live process.
    fn processes(&self) -> Vec<ProcessSummary>;
    fn kill(&mut self, pid: u64) -> Result<(), ErrorCode>;
    /// Stops the process and has its owner told with `code` (PS_STUN; the server kills for a
    /// negative code itself).
    fn stun(&mut self, pid: u64, code: i32) -> Result<(), ErrorCode>;
    fn load(&self) -> Load;

    /// Creates a process as `request` says; its pid. Whatever fails, the held segments named
    /// in `request` are released and nothing runs.
    fn exec(&mut self, request: ExecRequest) -> Result<u64, ErrorCode>;
    /// The capability (all rights) the server gave the process `exec` made: what names the
    /// process in the checkpoints its owner receives.
    fn created(&mut self, pid: u64, process: Capability);
    /// The owner of process `pid` (null for none); `None` for no such process.
    fn owner(&self, pid: u64) -> Option<Capability>;
    fn set_owner(&mut self, pid: u64, owner: Capability) -> Result<(), ErrorCode>;
    /// Names process `pid` (PS_SETCOMMENT): `ps` and STD_INFO show it.
    fn rename(&mut self, pid: u64, name: &str) -> Result<(), ErrorCode>;

    /// Reads from `offset` of stunned process `pid`'s memory, its segments one after the
    /// other in descriptor order (what a checkpoint's segment offsets count in); STD_NOTNOW
    /// unless it is stunned.
    fn process_read(&self, pid: u64, offset: u64, buffer: &mut [u8]) -> Result<usize, ErrorCode>;

    /// A zero-filled segment of `bytes` bytes to hold.
    fn segment_create(&mut self, bytes: u64) -> Result<SegmentId, ErrorCode>;
    /// Writes `data` at `offset` of a held segment (STD_ARGBAD past its end).
    fn segment_write(&mut self, id: SegmentId, offset: u64, data: &[u8]) -> Result<(), ErrorCode>;
    /// Reads from `offset` of a held segment into `buffer`, as far as the segment goes.
    fn segment_read(
        &self,
        id: SegmentId,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, ErrorCode>;
    /// The length of a held segment.
    fn segment_size(&self, id: SegmentId) -> Option<u64>;
    fn segment_destroy(&mut self, id: SegmentId);

    /// Reads `buffer.len()` bytes (or up to its end) from `offset` of the segment or file
    /// another server serves under `source` (BS_READ); the bytes read.
    fn remote_read(
        &self,
        source: &Capability,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, ErrorCode>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_travels_in_the_header() {
        let load = Load {
            free_memory: 96 << 20,
            load_average: 3 * 256 / 2,
            speed_mhz: 2400,
        };
        let mut header = Header::default();
        load.to_header(&mut header);
        assert_eq!(
            (header.offset, header.size, header.extra),
            (96 << 10, 384, 2400)
        );
        assert_eq!(Load::from_header(&header), Some(load));
    }

    #[test]
    fn free_memory_is_kib_and_saturates() {
        let mut header = Header::default();
        let odd = Load {
            free_memory: 5000,
            ..Load::default()
        };
        odd.to_header(&mut header);
        assert_eq!(
            Load::from_header(&header).map(|load| load.free_memory),
            Some(4096)
        );
        let huge = Load {
            free_memory: u64::MAX,
            ..Load::default()
        };
        huge.to_header(&mut header);
        assert_eq!(header.offset, i32::MAX);
        header.offset = -1;
        assert_eq!(Load::from_header(&header), None);
        assert_eq!(ProcessState::Stunned.name(), "stunned");
    }
}
