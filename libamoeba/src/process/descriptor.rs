//! The process descriptor: what a process is made of (segments) and where its threads stand.
//!
//! Layout from `docs/amoeba-protocol.md#process-descriptor`: Amoeba 5.3's, with addresses,
//! lengths and registers widened to 64 bits and a format version that says so. Format version
//! [`FORMAT_VERSION`] = 2 means this 64-bit widened layout; Amoeba 5.3's 32-bit layout has no
//! version field and is not accepted. All integers little-endian.
//!
//! ```text
//! process_d (48 bytes)                       5.3: 44 bytes, no version
//!   0..8    architecture magic, NUL-padded ("x86_64")
//!   8..24   self capability (16)
//!   24..40  owner capability (16)
//!   40..42  u16 number of segments
//!   42..44  u16 number of threads
//!   44..46  u16 format version = 2           new: says "64-bit widened"
//!   46..48  u16 reserved, 0
//! segment_d (48 bytes each)                  5.3: 32 bytes
//!   0..16   capability
//!   16..24  u64 offset                       5.3: u32
//!   24..32  u64 address                      5.3: u32
//!   32..40  u64 length                       5.3: u32
//!   40..44  u32 type (SegmentType bits)
//!   44..48  u32 reserved, 0                  new: keeps the u64 fields 8-byte aligned
//! thread_d (32 bytes + what the flags add)
//!   0..4    u32 state (run state, carried as is)
//!   4..8    u32 length: bytes of this thread descriptor, everything below included
//!   8..12   u32 flags: IDLE 1, KSTATE 2, USTATE 0x10000
//!   12..16  u32 reserved, 0                  new: keeps pc and sp 8-byte aligned
//!   16..24  u64 pc                           5.3: u32
//!   24..32  u64 sp                           5.3: u32
//!   32..176 X86_64Registers (144 bytes), only when USTATE is set
//!   ...     the kernel state (`kernel_state`), only when KSTATE is set: the rest of `length`
//! ```
//!
//! The segments follow the header, then the threads, each thread `length` bytes long.

use alloc::vec::Vec;
use core::fmt;

use super::kernel_state::KernelState;
use crate::capability::{CAPABILITY_LEN, Capability};
use crate::le;

/// The format version this module reads and writes: 2 = Amoeba 5.3's layout with 64-bit
/// offsets, addresses, lengths, pc, sp and registers (see the module header).
pub const FORMAT_VERSION: u16 = 2;

/// Most segments a descriptor may name: far more than text, data, heap and stacks need, few
/// enough that a hostile descriptor cannot make the kernel allocate or loop much.
pub const MAX_SEGMENTS: usize = 64;
/// Most threads a descriptor may carry.
pub const MAX_THREADS: usize = 64;

/// Byte offsets and sizes of every record (see the module header for the picture).
pub mod layout {
    /// Bytes of the architecture magic.
    pub const ARCH_LEN: usize = 8;

    /// The fixed process_d header.
    pub mod header {
        use super::ARCH_LEN;
        use crate::capability::CAPABILITY_LEN;

        pub const ARCH: usize = 0;
        pub const SELF_CAP: usize = ARCH + ARCH_LEN;
        pub const OWNER_CAP: usize = SELF_CAP + CAPABILITY_LEN;
        pub const SEGMENT_COUNT: usize = OWNER_CAP + CAPABILITY_LEN;
        pub const THREAD_COUNT: usize = SEGMENT_COUNT + 2;
        pub const VERSION: usize = THREAD_COUNT + 2;
        pub const RESERVED: usize = VERSION + 2;
        pub const LEN: usize = RESERVED + 2;
        // The numbers the module header and the reference give.
        const _: () = assert!(SEGMENT_COUNT == 40 && VERSION == 44 && LEN == 48);
    }

    /// One segment_d.
    pub mod segment {
        use crate::capability::CAPABILITY_LEN;

        pub const CAP: usize = 0;
        pub const OFFSET: usize = CAP + CAPABILITY_LEN;
        pub const ADDRESS: usize = OFFSET + 8;
        pub const LENGTH: usize = ADDRESS + 8;
        pub const TYPE: usize = LENGTH + 8;
        pub const RESERVED: usize = TYPE + 4;
        pub const LEN: usize = RESERVED + 4;
        const _: () = assert!(OFFSET == 16 && TYPE == 40 && LEN == 48);
        const _: () = assert!(
            OFFSET.is_multiple_of(8) && ADDRESS.is_multiple_of(8) && LENGTH.is_multiple_of(8)
        );
    }

    /// The fixed part of one thread_d; the register frame follows at [`thread::FIXED_LEN`].
    pub mod thread {
        pub const STATE: usize = 0;
        pub const LENGTH: usize = STATE + 4;
        pub const FLAGS: usize = LENGTH + 4;
        pub const RESERVED: usize = FLAGS + 4;
        pub const PC: usize = RESERVED + 4;
        pub const SP: usize = PC + 8;
        pub const FIXED_LEN: usize = SP + 8;
        const _: () = assert!(PC == 16 && FIXED_LEN == 32 && PC.is_multiple_of(8));
    }

    /// The x86-64 register frame: 18 u64 in the order of
    /// [`X86_64Registers::to_array`](super::X86_64Registers::to_array).
    pub mod registers {
        pub const COUNT: usize = 18;
        pub const LEN: usize = COUNT * 8;
        const _: () = assert!(LEN == 144);
    }
}

use layout::{header, registers, segment, thread};

/// Thread flag: the thread has not started or waits for work (5.3's IDLE).
pub const THREAD_IDLE: u32 = 0x1;
/// Thread flag: the thread's kernel state ([`KernelState`]) follows the registers.
pub const THREAD_KSTATE: u32 = 0x2;
/// Thread flag: the user register frame ([`X86_64Registers`]) follows.
pub const THREAD_USTATE: u32 = 0x1_0000;
/// Thread flags version 2 accepts.
pub const THREAD_FLAGS_SUPPORTED: u32 = THREAD_IDLE | THREAD_KSTATE | THREAD_USTATE;

/// An architecture magic: up to 8 ASCII bytes, NUL-padded.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArchMagic(pub [u8; layout::ARCH_LEN]);

impl ArchMagic {
    /// The magic of x86-64 nodes.
    pub const X86_64: ArchMagic = match ArchMagic::new("x86_64") {
        Some(magic) => magic,
        // Evaluated at compile time: a bad literal fails the build, never a running kernel.
        None => panic!("bad built-in architecture name"),
    };

    /// `name` padded with NULs; `None` unless it is 1 to 8 printable ASCII characters.
    pub const fn new(name: &str) -> Option<Self> {
        let name = name.as_bytes();
        if name.is_empty() || name.len() > layout::ARCH_LEN {
            return None;
        }
        let mut magic = [0; layout::ARCH_LEN];
        let mut index = 0;
        while index < name.len() {
            if !name[index].is_ascii_graphic() {
                return None;
            }
            magic[index] = name[index];
            index += 1;
        }
        Some(Self(magic))
    }

    /// The name before the padding, if it is text.
    pub fn name(&self) -> Option<&str> {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(self.0.len());
        core::str::from_utf8(self.0.get(..len)?).ok()
    }
}

impl fmt::Display for ArchMagic {
    /// The name, or the bytes in hex when they are not a printable name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) if Self::new(name) == Some(*self) => f.write_str(name),
            _ => self.0.iter().try_for_each(|b| write!(f, "{b:02x}")),
        }
    }
}

impl fmt::Debug for ArchMagic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ArchMagic({self})")
    }
}

/// Segment type bits (5.3's MAP_* values, `docs/amoeba-protocol.md#process-descriptor`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SegmentType(pub u32);

impl SegmentType {
    pub const GROWUP: SegmentType = SegmentType(0x1);
    pub const GROWDOWN: SegmentType = SegmentType(0x2);
    pub const TEXT: SegmentType = SegmentType(0x10);
    pub const DATA: SegmentType = SegmentType(0x20);
    /// Readable.
    pub const RO: SegmentType = SegmentType(0x100);
    /// Readable and writable (RO plus the write bit 0x200).
    pub const RW: SegmentType = SegmentType(0x300);
    pub const INPLACE: SegmentType = SegmentType(0x0100_0000);
    pub const AND_DESTROY: SegmentType = SegmentType(0x0200_0000);
    pub const SYMTAB: SegmentType = SegmentType(0x4000_0000);
    /// For system use: a thread's stack.
    pub const SYSTEM: SegmentType = SegmentType(0x8000_0000);

    /// The write bit inside [`RW`](Self::RW).
    const WRITE: u32 = Self::RW.0 & !Self::RO.0;
    /// Every bit this version knows.
    pub const KNOWN: u32 = Self::GROWUP.0
        | Self::GROWDOWN.0
        | Self::TEXT.0
        | Self::DATA.0
        | Self::RW.0
        | Self::INPLACE.0
        | Self::AND_DESTROY.0
        | Self::SYMTAB.0
        | Self::SYSTEM.0;

    pub const fn contains(self, other: SegmentType) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn is_text(self) -> bool {
        self.contains(Self::TEXT)
    }

    pub const fn is_writable(self) -> bool {
        self.0 & Self::WRITE != 0
    }

    /// Why these bits are not a usable segment type, if they are not.
    pub const fn problem(self) -> Option<&'static str> {
        let class = Self::TEXT.0 | Self::DATA.0 | Self::SYSTEM.0;
        if self.0 & !Self::KNOWN != 0 {
            Some("unknown type bits")
        } else if self.0 & class == 0 {
            Some("neither TEXT, DATA nor SYSTEM")
        } else if self.contains(Self::TEXT) && self.contains(Self::DATA) {
            Some("both TEXT and DATA")
        } else if self.0 & Self::RW.0 == Self::WRITE {
            Some("writable but not readable")
        } else if self.contains(Self::GROWUP) && self.contains(Self::GROWDOWN) {
            Some("grows both up and down")
        } else {
            None
        }
    }
}

impl core::ops::BitOr for SegmentType {
    type Output = SegmentType;

    fn bitor(self, other: SegmentType) -> SegmentType {
        SegmentType(self.0 | other.0)
    }
}

/// One segment of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegmentDescriptor {
    pub cap: Capability,
    /// Where the segment's bytes start in the carrying buffer (for image files: see
    /// [`crate::process::image`], where 0 means "no bytes, zero-filled").
    pub offset: u64,
    /// Virtual address of the first byte.
    pub address: u64,
    /// Bytes of address space.
    pub length: u64,
    pub kind: SegmentType,
}

impl SegmentDescriptor {
    /// One past the last address, if that does not overflow.
    pub const fn end(&self) -> Option<u64> {
        self.address.checked_add(self.length)
    }

    /// Whether `address` lies inside the segment.
    pub const fn contains(&self, address: u64) -> bool {
        match self.end() {
            Some(end) => self.address <= address && address < end,
            None => false,
        }
    }
}

/// The user-mode register frame of an x86-64 thread, in a fixed order: the 16 general
/// registers by their encoding number (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15), then
/// rip and rflags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct X86_64Registers {
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rbx: u64,
    pub rsp: u64,
    pub rbp: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
}

impl X86_64Registers {
    /// The registers in wire order.
    pub const fn to_array(&self) -> [u64; registers::COUNT] {
        [
            self.rax,
            self.rcx,
            self.rdx,
            self.rbx,
            self.rsp,
            self.rbp,
            self.rsi,
            self.rdi,
            self.r8,
            self.r9,
            self.r10,
            self.r11,
            self.r12,
            self.r13,
            self.r14,
            self.r15,
            self.rip,
            self.rflags,
        ]
    }

    pub const fn from_array(values: [u64; registers::COUNT]) -> Self {
        let [
            rax,
            rcx,
            rdx,
            rbx,
            rsp,
            rbp,
            rsi,
            rdi,
            r8,
            r9,
            r10,
            r11,
            r12,
            r13,
            r14,
            r15,
            rip,
            rflags,
        ] = values;
        Self {
            rax,
            rcx,
            rdx,
            rbx,
            rsp,
            rbp,
            rsi,
            rdi,
            r8,
            r9,
            r10,
            r11,
            r12,
            r13,
            r14,
            r15,
            rip,
            rflags,
        }
    }

    fn to_bytes(self) -> [u8; registers::LEN] {
        let mut bytes = [0; registers::LEN];
        for (index, value) in self.to_array().iter().enumerate() {
            le::put(&mut bytes, index * 8, &value.to_le_bytes());
        }
        bytes
    }

    fn from_bytes(bytes: &[u8; registers::LEN]) -> Self {
        Self::from_array(core::array::from_fn(|index| {
            le::field_u64(bytes, index * 8)
        }))
    }
}

/// One thread of a process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadDescriptor {
    /// The thread's run state, carried as is.
    pub state: u32,
    /// The IDLE flag.
    pub idle: bool,
    /// Where the thread resumes.
    pub pc: u64,
    pub sp: u64,
    /// The saved user registers (the USTATE flag). Their rip and rsp must equal `pc` and `sp`,
    /// so that no reader has to choose between two answers.
    pub registers: Option<X86_64Registers>,
    /// The kernel's side of a thread that resumes (the KSTATE flag).
    pub kernel: Option<KernelState>,
}

impl ThreadDescriptor {
    /// The flags word as written.
    pub const fn flags(&self) -> u32 {
        let idle = if self.idle { THREAD_IDLE } else { 0 };
        let user = if self.registers.is_some() {
            THREAD_USTATE
        } else {
            0
        };
        let kernel = if self.kernel.is_some() {
            THREAD_KSTATE
        } else {
            0
        };
        idle | user | kernel
    }

    /// Bytes of this thread descriptor as written (its length field).
    pub fn encoded_len(&self) -> usize {
        Self::len_for_flags(self.flags()) + self.kernel.as_ref().map_or(0, KernelState::encoded_len)
    }

    /// The bytes the fixed part and the registers take (the kernel state is what follows).
    const fn len_for_flags(flags: u32) -> usize {
        if flags & THREAD_USTATE != 0 {
            thread::FIXED_LEN + registers::LEN
        } else {
            thread::FIXED_LEN
        }
    }
}

/// A whole process descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessDescriptor {
    pub arch: ArchMagic,
    pub self_cap: Capability,
    pub owner_cap: Capability,
    pub segments: Vec<SegmentDescriptor>,
    pub threads: Vec<ThreadDescriptor>,
}

/// Which record of a descriptor an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Header,
    Segment(usize),
    Thread(usize),
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Header => f.write_str("header"),
            Self::Segment(index) => write!(f, "segment {index}"),
            Self::Thread(index) => write!(f, "thread {index}"),
        }
    }
}

/// Why bytes (or a value about to be encoded) are not a valid process descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DescriptorError {
    /// `part` needs the buffer to hold `needed` bytes; it has `available`.
    Truncated {
        part: Part,
        needed: usize,
        available: usize,
    },
    WrongArch {
        expected: ArchMagic,
        found: ArchMagic,
    },
    UnsupportedVersion {
        version: u16,
    },
    ReservedNotZero {
        part: Part,
    },
    TooManySegments {
        count: usize,
    },
    TooManyThreads {
        count: usize,
    },
    BadSegmentType {
        index: usize,
        bits: u32,
        problem: &'static str,
    },
    /// A thread's length field is smaller than its fixed part.
    ThreadTooShort {
        index: usize,
        length: u32,
    },
    /// A thread's length field is not what its flags imply.
    ThreadLengthMismatch {
        index: usize,
        length: u32,
        expected: usize,
    },
    UnsupportedThreadFlags {
        index: usize,
        flags: u32,
    },
    /// A thread's saved rip/rsp disagree with its pc/sp.
    RegisterMismatch {
        index: usize,
    },
    /// A capability's object number does not fit in 24 bits (only from values being encoded).
    BadCapability {
        part: Part,
    },
    /// A thread's kernel state does not follow its layout (`kernel_state`).
    BadKernelState {
        index: usize,
    },
}

impl fmt::Display for DescriptorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated {
                part,
                needed,
                available,
            } => write!(
                f,
                "process descriptor truncated: the {part} needs {needed} bytes, only \
                 {available} present"
            ),
            Self::WrongArch { expected, found } => write!(
                f,
                "process descriptor is for architecture {found}, this node runs {expected}"
            ),
            Self::UnsupportedVersion { version } => write!(
                f,
                "process descriptor format version {version} unsupported (expected \
                 {FORMAT_VERSION})"
            ),
            Self::ReservedNotZero { part } => {
                write!(f, "process descriptor {part}: reserved field is not zero")
            }
            Self::TooManySegments { count } => write!(
                f,
                "process descriptor names {count} segments (at most {MAX_SEGMENTS})"
            ),
            Self::TooManyThreads { count } => write!(
                f,
                "process descriptor names {count} threads (at most {MAX_THREADS})"
            ),
            Self::BadSegmentType {
                index,
                bits,
                problem,
            } => write!(f, "segment {index}: type {bits:#010x} is {problem}"),
            Self::ThreadTooShort { index, length } => write!(
                f,
                "thread {index}: length {length} is shorter than the fixed {} bytes",
                thread::FIXED_LEN
            ),
            Self::ThreadLengthMismatch {
                index,
                length,
                expected,
            } => write!(
                f,
                "thread {index}: length {length}, but its flags make it {expected} bytes"
            ),
            Self::UnsupportedThreadFlags { index, flags } => write!(
                f,
                "thread {index}: flags {flags:#x} unsupported (known: IDLE 0x1, KSTATE 0x2, USTATE 0x10000)"
            ),
            Self::RegisterMismatch { index } => write!(
                f,
                "thread {index}: saved rip/rsp differ from the descriptor's pc/sp"
            ),
            Self::BadKernelState { index } => {
                write!(f, "thread {index}: kernel state malformed")
            }
            Self::BadCapability { part } => write!(
                f,
                "process descriptor {part}: capability object number exceeds 24 bits"
            ),
        }
    }
}

impl ProcessDescriptor {
    /// Bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self) -> usize {
        header::LEN
            + self.segments.len() * segment::LEN
            + self
                .threads
                .iter()
                .map(ThreadDescriptor::encoded_len)
                .sum::<usize>()
    }

    /// Checks what [`decode`](Self::decode) would refuse in this value, so that
    /// `decode(encode(d))` gives `d` back whenever this passes.
    pub fn validate(&self) -> Result<(), DescriptorError> {
        check_counts(self.segments.len(), self.threads.len())?;
        for (part, cap) in [
            (Part::Header, &self.self_cap),
            (Part::Header, &self.owner_cap),
        ]
        .into_iter()
        .chain(
            self.segments
                .iter()
                .enumerate()
                .map(|(index, s)| (Part::Segment(index), &s.cap)),
        ) {
            if !cap.is_valid() {
                return Err(DescriptorError::BadCapability { part });
            }
        }
        for (index, segment) in self.segments.iter().enumerate() {
            check_segment_type(index, segment.kind)?;
        }
        for (index, thread) in self.threads.iter().enumerate() {
            check_registers(index, thread)?;
        }
        Ok(())
    }

    /// The descriptor in wire form. Counts beyond `u16` saturate; call
    /// [`validate`](Self::validate) first to be sure the result decodes.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.encoded_len());
        let count = |len: usize| u16::try_from(len).unwrap_or(u16::MAX).to_le_bytes();

        let mut record = [0; header::LEN];
        le::put(&mut record, header::ARCH, &self.arch.0);
        le::put(&mut record, header::SELF_CAP, &self.self_cap.to_bytes());
        le::put(&mut record, header::OWNER_CAP, &self.owner_cap.to_bytes());
        le::put(
            &mut record,
            header::SEGMENT_COUNT,
            &count(self.segments.len()),
        );
        le::put(
            &mut record,
            header::THREAD_COUNT,
            &count(self.threads.len()),
        );
        le::put(&mut record, header::VERSION, &FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&record);

        for s in &self.segments {
            let mut record = [0; segment::LEN];
            le::put(&mut record, segment::CAP, &s.cap.to_bytes());
            le::put(&mut record, segment::OFFSET, &s.offset.to_le_bytes());
            le::put(&mut record, segment::ADDRESS, &s.address.to_le_bytes());
            le::put(&mut record, segment::LENGTH, &s.length.to_le_bytes());
            le::put(&mut record, segment::TYPE, &s.kind.0.to_le_bytes());
            bytes.extend_from_slice(&record);
        }

        for t in &self.threads {
            let mut record = [0; thread::FIXED_LEN];
            // At most FIXED_LEN + registers + a kernel state of at most ~17 KiB: fits a u32.
            let length = t.encoded_len() as u32;
            le::put(&mut record, thread::STATE, &t.state.to_le_bytes());
            le::put(&mut record, thread::LENGTH, &length.to_le_bytes());
            le::put(&mut record, thread::FLAGS, &t.flags().to_le_bytes());
            le::put(&mut record, thread::PC, &t.pc.to_le_bytes());
            le::put(&mut record, thread::SP, &t.sp.to_le_bytes());
            bytes.extend_from_slice(&record);
            if let Some(registers) = t.registers {
                bytes.extend_from_slice(&registers.to_bytes());
            }
            if let Some(kernel) = &t.kernel {
                bytes.extend_from_slice(&kernel.encode());
            }
        }
        bytes
    }

    /// Decodes the descriptor at the start of `bytes`, refusing one for another architecture
    /// than `expected_arch`. Returns the descriptor and the bytes it occupied.
    pub fn decode(
        bytes: &[u8],
        expected_arch: ArchMagic,
    ) -> Result<(Self, usize), DescriptorError> {
        let record: [u8; header::LEN] = take(bytes, 0, Part::Header)?;
        let arch = ArchMagic(le::field(&record, header::ARCH));
        if arch != expected_arch {
            return Err(DescriptorError::WrongArch {
                expected: expected_arch,
                found: arch,
            });
        }
        let version = le::field_u16(&record, header::VERSION);
        if version != FORMAT_VERSION {
            return Err(DescriptorError::UnsupportedVersion { version });
        }
        if le::field_u16(&record, header::RESERVED) != 0 {
            return Err(DescriptorError::ReservedNotZero { part: Part::Header });
        }
        let segment_count = usize::from(le::field_u16(&record, header::SEGMENT_COUNT));
        let thread_count = usize::from(le::field_u16(&record, header::THREAD_COUNT));
        check_counts(segment_count, thread_count)?;
        let self_cap = Capability::from_array(&le::field(&record, header::SELF_CAP));
        let owner_cap = Capability::from_array(&le::field(&record, header::OWNER_CAP));

        let mut at = header::LEN;
        let mut segments = Vec::with_capacity(segment_count);
        for index in 0..segment_count {
            segments.push(decode_segment(bytes, at, index)?);
            at += segment::LEN;
        }
        let mut threads = Vec::with_capacity(thread_count);
        for index in 0..thread_count {
            let (thread, len) = decode_thread(bytes, at, index)?;
            threads.push(thread);
            at += len;
        }
        let descriptor = Self {
            arch,
            self_cap,
            owner_cap,
            segments,
            threads,
        };
        Ok((descriptor, at))
    }
}

/// The `N`-byte record of `part` at `at`.
fn take<const N: usize>(bytes: &[u8], at: usize, part: Part) -> Result<[u8; N], DescriptorError> {
    le::array(bytes, at).ok_or(DescriptorError::Truncated {
        part,
        needed: at.saturating_add(N),
        available: bytes.len(),
    })
}

fn check_counts(segments: usize, threads: usize) -> Result<(), DescriptorError> {
    if segments > MAX_SEGMENTS {
        return Err(DescriptorError::TooManySegments { count: segments });
    }
    if threads > MAX_THREADS {
        return Err(DescriptorError::TooManyThreads { count: threads });
    }
    Ok(())
}

fn check_segment_type(index: usize, kind: SegmentType) -> Result<(), DescriptorError> {
    match kind.problem() {
        Some(problem) => Err(DescriptorError::BadSegmentType {
            index,
            bits: kind.0,
            problem,
        }),
        None => Ok(()),
    }
}

fn check_registers(index: usize, thread: &ThreadDescriptor) -> Result<(), DescriptorError> {
    match thread.registers {
        Some(registers) if registers.rip != thread.pc || registers.rsp != thread.sp => {
            Err(DescriptorError::RegisterMismatch { index })
        }
        _ => Ok(()),
    }
}

fn decode_segment(
    bytes: &[u8],
    at: usize,
    index: usize,
) -> Result<SegmentDescriptor, DescriptorError> {
    let record: [u8; segment::LEN] = take(bytes, at, Part::Segment(index))?;
    if le::field_u32(&record, segment::RESERVED) != 0 {
        return Err(DescriptorError::ReservedNotZero {
            part: Part::Segment(index),
        });
    }
    let kind = SegmentType(le::field_u32(&record, segment::TYPE));
    check_segment_type(index, kind)?;
    Ok(SegmentDescriptor {
        cap: Capability::from_array(&le::field::<CAPABILITY_LEN>(&record, segment::CAP)),
        offset: le::field_u64(&record, segment::OFFSET),
        address: le::field_u64(&record, segment::ADDRESS),
        length: le::field_u64(&record, segment::LENGTH),
        kind,
    })
}

/// The thread at `at` and the bytes it occupies.
fn decode_thread(
    bytes: &[u8],
    at: usize,
    index: usize,
) -> Result<(ThreadDescriptor, usize), DescriptorError> {
    let part = Part::Thread(index);
    let record: [u8; thread::FIXED_LEN] = take(bytes, at, part)?;
    let length = le::field_u32(&record, thread::LENGTH);
    // u32 -> usize is lossless on the 64-bit targets this crate serves; saturate elsewhere.
    let len = usize::try_from(length).unwrap_or(usize::MAX);
    if len < thread::FIXED_LEN {
        return Err(DescriptorError::ThreadTooShort { index, length });
    }
    let end = at.saturating_add(len);
    if end > bytes.len() {
        return Err(DescriptorError::Truncated {
            part,
            needed: end,
            available: bytes.len(),
        });
    }
    let flags = le::field_u32(&record, thread::FLAGS);
    if flags & !THREAD_FLAGS_SUPPORTED != 0 {
        return Err(DescriptorError::UnsupportedThreadFlags { index, flags });
    }
    if le::field_u32(&record, thread::RESERVED) != 0 {
        return Err(DescriptorError::ReservedNotZero { part });
    }
    let expected = ThreadDescriptor::len_for_flags(flags);
    let with_kernel = flags & THREAD_KSTATE != 0;
    if len != expected && !(with_kernel && len > expected) {
        return Err(DescriptorError::ThreadLengthMismatch {
            index,
            length,
            expected,
        });
    }
    let registers = if flags & THREAD_USTATE != 0 {
        let frame: [u8; registers::LEN] = take(bytes, at + thread::FIXED_LEN, part)?;
        Some(X86_64Registers::from_bytes(&frame))
    } else {
        None
    };
    let kernel = if with_kernel {
        let state = &bytes[at + expected..end];
        Some(KernelState::decode(state).map_err(|_| DescriptorError::BadKernelState { index })?)
    } else {
        None
    };
    let descriptor = ThreadDescriptor {
        state: le::field_u32(&record, thread::STATE),
        idle: flags & THREAD_IDLE != 0,
        pc: le::field_u64(&record, thread::PC),
        sp: le::field_u64(&record, thread::SP),
        registers,
        kernel,
    };
    check_registers(index, &descriptor)?;
    Ok((descriptor, len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Port;
    use alloc::vec;

    fn cap(n: u8) -> Capability {
        Capability::new(
            Port([n; 6]),
            u32::from(n) << 16 | 0x0102,
            0xff,
            [n ^ 0x55; 6],
        )
        .unwrap()
    }

    fn registers(pc: u64, sp: u64) -> X86_64Registers {
        let mut values: [u64; registers::COUNT] =
            core::array::from_fn(|i| 0x0101_0101_0101_0101 * (i as u64 + 1));
        values[4] = sp;
        values[16] = pc;
        X86_64Registers::from_array(values)
    }

    #[test]
    fn a_resuming_thread_carries_its_kernel_state() {
        use crate::process::kernel_state::{ProcessKernelState, SyncState};
        let mut d = sample();
        d.threads[0].kernel = Some(KernelState {
            local_id: 1,
            pending_signals: 4,
            fpu: Some(alloc::boxed::Box::new([7; 512])),
            process: Some(ProcessKernelState {
                next_local_id: 3,
                sync: vec![Some(SyncState::Semaphore { count: 2 })],
                ..ProcessKernelState::default()
            }),
        });
        d.threads[1].kernel = Some(KernelState::default());
        let bytes = d.encode();
        assert_eq!(bytes.len(), d.encoded_len());
        let (back, used) = ProcessDescriptor::decode(&bytes, ArchMagic::X86_64).unwrap();
        assert_eq!((back, used), (d, bytes.len()));
    }

    fn sample() -> ProcessDescriptor {
        ProcessDescriptor {
            arch: ArchMagic::X86_64,
            self_cap: cap(1),
            owner_cap: cap(2),
            segments: vec![
                SegmentDescriptor {
                    cap: Capability::NULL,
                    offset: 0x200,
                    address: 0x40_0000,
                    length: 0x2000,
                    kind: SegmentType::TEXT | SegmentType::RO,
                },
                SegmentDescriptor {
                    cap: cap(3),
                    offset: 0,
                    address: 0x7fff_0000_0000,
                    length: 0x1_0000,
                    kind: SegmentType::SYSTEM | SegmentType::RW | SegmentType::GROWDOWN,
                },
            ],
            threads: vec![
                ThreadDescriptor {
                    state: 7,
                    idle: false,
                    pc: 0x40_0010,
                    sp: 0x7fff_0001_0000,
                    registers: Some(registers(0x40_0010, 0x7fff_0001_0000)),
                    kernel: None,
                },
                ThreadDescriptor {
                    state: 0,
                    idle: true,
                    pc: 0x40_0020,
                    sp: 0x7fff_0000_8000,
                    registers: None,
                    kernel: None,
                },
            ],
        }
    }

    fn decode(bytes: &[u8]) -> Result<(ProcessDescriptor, usize), DescriptorError> {
        ProcessDescriptor::decode(bytes, ArchMagic::X86_64)
    }

    /// Offset of thread `index` in `sample().encode()`.
    fn thread_at(index: usize) -> usize {
        let d = sample();
        header::LEN
            + d.segments.len() * segment::LEN
            + d.threads[..index]
                .iter()
                .map(ThreadDescriptor::encoded_len)
                .sum::<usize>()
    }

    #[test]
    fn round_trip() {
        let d = sample();
        d.validate().unwrap();
        let bytes = d.encode();
        assert_eq!(bytes.len(), d.encoded_len());
        assert_eq!(bytes.len(), 48 + 2 * 48 + (32 + 144) + 32);
        assert_eq!(decode(&bytes), Ok((d.clone(), bytes.len())));

        // Trailing bytes are the caller's (segment contents in an image): not consumed.
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0xee; 10]);
        assert_eq!(decode(&longer), Ok((d, bytes.len())));

        let empty = ProcessDescriptor {
            segments: vec![],
            threads: vec![],
            ..sample()
        };
        assert_eq!(decode(&empty.encode()), Ok((empty, header::LEN)));
    }

    #[test]
    fn wire_layout_is_the_documented_one() {
        let bytes = sample().encode();
        let h = &bytes[..48];
        assert_eq!(&h[0..8], b"x86_64\0\0");
        assert_eq!(&h[8..24], &cap(1).to_bytes());
        assert_eq!(&h[24..40], &cap(2).to_bytes());
        assert_eq!(&h[40..48], &[2, 0, 2, 0, 2, 0, 0, 0]); // 2 segments, 2 threads, v2, 0
        let s = &bytes[48..96];
        assert_eq!(&s[0..16], &[0; 16]);
        assert_eq!(&s[16..24], &0x200u64.to_le_bytes());
        assert_eq!(&s[24..32], &0x40_0000u64.to_le_bytes());
        assert_eq!(&s[32..40], &0x2000u64.to_le_bytes());
        assert_eq!(&s[40..48], &[0x10, 0x01, 0, 0, 0, 0, 0, 0]);
        let t = &bytes[144..];
        assert_eq!(
            &t[0..16],
            &[7, 0, 0, 0, 176, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]
        );
        assert_eq!(&t[16..24], &0x40_0010u64.to_le_bytes());
        assert_eq!(&t[24..32], &0x7fff_0001_0000u64.to_le_bytes());
        assert_eq!(&t[32..40], &0x0101_0101_0101_0101u64.to_le_bytes()); // rax
        assert_eq!(&t[32 + 16 * 8..32 + 17 * 8], &0x40_0010u64.to_le_bytes()); // rip
        assert_eq!(
            &t[32 + 17 * 8..176],
            &(18 * 0x0101_0101_0101_0101u64).to_le_bytes()
        );
        assert_eq!(
            &t[176..192],
            &[0, 0, 0, 0, 32, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn every_truncation_is_refused() {
        let bytes = sample().encode();
        for len in 0..bytes.len() {
            let result = decode(&bytes[..len]);
            assert!(
                matches!(result, Err(DescriptorError::Truncated { available, needed, .. })
                    if available == len && needed > len),
                "{len}: {result:?}"
            );
        }
    }

    #[test]
    fn header_errors() {
        let bytes = sample().encode();
        let arm = ArchMagic::new("aarch64").unwrap();
        assert_eq!(
            ProcessDescriptor::decode(&bytes, arm),
            Err(DescriptorError::WrongArch {
                expected: arm,
                found: ArchMagic::X86_64
            })
        );
        let with = |at: usize, value: &[u8]| {
            let mut bad = bytes.clone();
            bad[at..at + value.len()].copy_from_slice(value);
            decode(&bad)
        };
        assert_eq!(
            with(header::VERSION, &[1, 0]),
            Err(DescriptorError::UnsupportedVersion { version: 1 })
        );
        assert_eq!(
            with(header::RESERVED, &[0, 1]),
            Err(DescriptorError::ReservedNotZero { part: Part::Header })
        );
        assert_eq!(
            with(header::SEGMENT_COUNT, &[65, 0]),
            Err(DescriptorError::TooManySegments { count: 65 })
        );
        assert_eq!(
            with(header::THREAD_COUNT, &[0xff, 0xff]),
            Err(DescriptorError::TooManyThreads { count: 65535 })
        );
    }

    #[test]
    fn segment_errors() {
        let bytes = sample().encode();
        let second = header::LEN + segment::LEN;
        let with_type = |bits: u32| {
            let mut bad = bytes.clone();
            bad[second + segment::TYPE..second + segment::TYPE + 4]
                .copy_from_slice(&bits.to_le_bytes());
            decode(&bad)
        };
        for (bits, problem) in [
            (0x100, "neither TEXT, DATA nor SYSTEM"),
            (
                SegmentType::RO.0 | SegmentType::GROWUP.0,
                "neither TEXT, DATA nor SYSTEM",
            ),
            (0x0030_0100, "unknown type bits"),
            (0x0000_0030, "both TEXT and DATA"),
            (0x0000_0220, "writable but not readable"),
            (0x0000_0323, "grows both up and down"),
        ] {
            assert_eq!(
                with_type(bits),
                Err(DescriptorError::BadSegmentType {
                    index: 1,
                    bits,
                    problem
                })
            );
        }
        let mut bad = bytes.clone();
        bad[second + segment::RESERVED] = 1;
        assert_eq!(
            decode(&bad),
            Err(DescriptorError::ReservedNotZero {
                part: Part::Segment(1)
            })
        );
    }

    #[test]
    fn thread_errors() {
        let bytes = sample().encode();
        let first = thread_at(0);
        let second = thread_at(1);
        let with = |at: usize, value: u32| {
            let mut bad = bytes.clone();
            bad[at..at + 4].copy_from_slice(&value.to_le_bytes());
            decode(&bad)
        };
        for length in [0, 31] {
            assert_eq!(
                with(second + thread::LENGTH, length),
                Err(DescriptorError::ThreadTooShort { index: 1, length })
            );
        }
        // Running past the buffer: the last thread claims more than there is.
        assert_eq!(
            with(second + thread::LENGTH, 33),
            Err(DescriptorError::Truncated {
                part: Part::Thread(1),
                needed: bytes.len() + 1,
                available: bytes.len()
            })
        );
        assert!(matches!(
            with(second + thread::LENGTH, u32::MAX),
            Err(DescriptorError::Truncated { .. })
        ));
        // Longer or shorter than its flags say, while still inside the buffer.
        assert_eq!(
            with(first + thread::LENGTH, 32),
            Err(DescriptorError::ThreadLengthMismatch {
                index: 0,
                length: 32,
                expected: 176
            })
        );
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0; 8]);
        longer[second + thread::LENGTH] = 40;
        assert_eq!(
            decode(&longer),
            Err(DescriptorError::ThreadLengthMismatch {
                index: 1,
                length: 40,
                expected: 32
            })
        );
        for flags in [0x4, 0x8000_0001] {
            assert_eq!(
                with(second + thread::FLAGS, flags),
                Err(DescriptorError::UnsupportedThreadFlags { index: 1, flags })
            );
        }
        // KSTATE promises a kernel state the thread does not have.
        assert_eq!(
            with(second + thread::FLAGS, THREAD_KSTATE),
            Err(DescriptorError::BadKernelState { index: 1 })
        );
        assert_eq!(
            with(first + thread::RESERVED, 9),
            Err(DescriptorError::ReservedNotZero {
                part: Part::Thread(0)
            })
        );
        // USTATE set on a thread without room for the frame in its length.
        assert_eq!(
            with(second + thread::FLAGS, THREAD_USTATE),
            Err(DescriptorError::ThreadLengthMismatch {
                index: 1,
                length: 32,
                expected: 176
            })
        );
        // rip in the frame differs from pc.
        assert_eq!(
            with(first + thread::FIXED_LEN + 16 * 8, 0x1234),
            Err(DescriptorError::RegisterMismatch { index: 0 })
        );
    }

    #[test]
    fn validate_catches_what_decode_would_refuse() {
        let mut d = sample();
        d.threads[0].registers.as_mut().unwrap().rsp += 8;
        assert_eq!(
            d.validate(),
            Err(DescriptorError::RegisterMismatch { index: 0 })
        );
        assert_eq!(
            decode(&d.encode()),
            Err(DescriptorError::RegisterMismatch { index: 0 })
        );

        let mut d = sample();
        d.segments[1].cap.object = 1 << 24;
        assert_eq!(
            d.validate(),
            Err(DescriptorError::BadCapability {
                part: Part::Segment(1)
            })
        );

        let mut d = sample();
        d.segments = vec![d.segments[0]; MAX_SEGMENTS + 1];
        assert_eq!(
            d.validate(),
            Err(DescriptorError::TooManySegments { count: 65 })
        );
        assert_eq!(
            decode(&d.encode()),
            Err(DescriptorError::TooManySegments { count: 65 })
        );

        let mut d = sample();
        d.segments[0].kind = SegmentType::RO;
        assert!(matches!(
            d.validate(),
            Err(DescriptorError::BadSegmentType { index: 0, .. })
        ));
    }

    #[test]
    fn limits_are_inclusive() {
        let mut d = sample();
        d.segments = vec![d.segments[0]; MAX_SEGMENTS];
        d.threads = vec![d.threads[0].clone(); MAX_THREADS];
        let bytes = d.encode();
        assert_eq!(decode(&bytes), Ok((d, bytes.len())));
    }

    #[test]
    fn arch_magic() {
        assert_eq!(ArchMagic::X86_64.0, *b"x86_64\0\0");
        assert_eq!(ArchMagic::X86_64.name(), Some("x86_64"));
        assert_eq!(ArchMagic::X86_64.to_string(), "x86_64");
        assert_eq!(ArchMagic::new("riscv64x"), Some(ArchMagic(*b"riscv64x")));
        assert_eq!(ArchMagic::new("riscv64xx"), None);
        assert_eq!(ArchMagic::new(""), None);
        assert_eq!(ArchMagic::new("x86 64"), None);
        assert_eq!(ArchMagic(*b"x86\0\x0164\0").to_string(), "7838360001363400");
        assert!(
            DescriptorError::WrongArch {
                expected: ArchMagic::X86_64,
                found: ArchMagic::new("sparc").unwrap()
            }
            .to_string()
            .contains("architecture sparc, this node runs x86_64")
        );
    }
}
