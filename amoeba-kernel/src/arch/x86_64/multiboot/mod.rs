//! What the boot loader told us, whichever Multiboot version it speaks.
//!
//! The entry code passes the loader's magic (EAX) and information address (EBX) unchanged; the
//! magic says which of the two layouts the address points to. Everything the kernel keeps is
//! copied out here, so the loader's memory can be reused afterwards.

mod text;
mod v1;
mod v2;

use core::ops::Range;
use libamoeba::memory::RegionSet;
pub use text::BootText;

/// EAX at entry from a Multiboot 1 loader (Multiboot 0.6.96, 3.2).
pub const MULTIBOOT1_MAGIC: u32 = 0x2BAD_B002;
/// EAX at entry from a Multiboot 2 loader (Multiboot2 2.0, 3.3).
pub const MULTIBOOT2_MAGIC: u32 = 0x36D7_6289;

/// Usable RAM ranges kept from the memory map.
pub const MAX_MEMORY_RANGES: usize = 32;
/// Loader-owned ranges (information structure, modules) the frame allocator must avoid.
pub const MAX_RESERVED: usize = 16;

pub struct BootInfo {
    pub protocol: &'static str,
    pub loader: BootText<64>,
    pub cmdline: BootText<1024>,
    pub usable: RegionSet<MAX_MEMORY_RANGES>,
    pub reserved: RegionSet<MAX_RESERVED>,
}

#[derive(Debug)]
pub enum BootInfoError {
    UnknownMagic(u32),
    Multiboot2(multiboot2::LoadError),
    NoMemoryMap,
}

impl core::fmt::Display for BootInfoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::UnknownMagic(magic) => write!(
                f,
                "boot loader magic {magic:#010x} is neither Multiboot 1 nor 2: boot this kernel \
                 with QEMU -kernel or GRUB's multiboot2 command"
            ),
            Self::Multiboot2(error) => write!(f, "unreadable Multiboot 2 information: {error:?}"),
            Self::NoMemoryMap => write!(f, "the boot loader passed no memory map"),
        }
    }
}

impl BootInfo {
    fn empty(protocol: &'static str) -> Self {
        BootInfo {
            protocol,
            loader: BootText::new(),
            cmdline: BootText::new(),
            usable: RegionSet::new(),
            reserved: RegionSet::new(),
        }
    }

    fn reserve(&mut self, range: Range<u64>) {
        self.reserved.add_covering(range);
    }
}

/// Reads the boot information at `address` according to `magic`.
///
/// # Safety
/// `magic` and `address` must be the values the boot loader left in EAX and EBX, and the loader's
/// structures must still be intact (nothing has been allocated over them yet).
pub unsafe fn parse(magic: u32, address: usize) -> Result<BootInfo, BootInfoError> {
    match magic {
        // SAFETY: forwarded from the caller; the magic says which layout `address` holds.
        MULTIBOOT1_MAGIC => unsafe { v1::parse(address) },
        // SAFETY: as above.
        MULTIBOOT2_MAGIC => unsafe { v2::parse(address) },
        other => Err(BootInfoError::UnknownMagic(other)),
    }
}
