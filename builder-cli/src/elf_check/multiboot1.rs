//! The Multiboot 1 header with the address fields ("a.out kludge", flag bit 16).
//!
//! Layout: Multiboot Specification 0.6.96, section 3.1. QEMU's `-kernel` loads a 64-bit ELF
//! only through these fields, as one flat block: file bytes from the header's position back
//! to `load_addr`, up to `load_end_addr`, then zeroes up to `bss_end_addr`. So beyond the
//! fields agreeing with each other, every ELF segment must sit in that block at its physical
//! address, or QEMU boots a scrambled kernel.

use thiserror::Error;

use super::{Segment, read_u32};

pub const MAGIC: u32 = 0x1BAD_B002;
/// The header must lie completely within this many bytes from the start of the file.
pub const SEARCH_LIMIT: usize = 8192;
pub const ALIGN: usize = 4;
/// Flag bit 16: the address fields are valid.
pub const FLAG_ADDRESS_FIELDS: u32 = 1 << 16;
/// Requirement bits (0..15) a loader knows: page-align modules, memory info, video mode.
const KNOWN_REQUIREMENTS: u32 = 0b111;
/// magic, flags, checksum, header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr.
const LEN: usize = 8 * 4;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum Mb1Error {
    #[error("no magic {MAGIC:#010x} at a 4-byte aligned offset in the first {SEARCH_LIMIT} bytes")]
    NotFound,
    #[error("at offset {offset:#x}: magic + flags + checksum is {sum:#010x}, not 0")]
    BadChecksum { offset: usize, sum: u32 },
    #[error("at offset {offset:#x}: header runs past the first {SEARCH_LIMIT} bytes of the file")]
    BeyondLimit { offset: usize },
    #[error(
        "flags {flags:#010x} ask for requirement bits a loader may not know (only 0-2 are defined)"
    )]
    UnknownRequirement { flags: u32 },
    #[error(
        "flags {flags:#010x} lack bit 16 (address fields); QEMU -kernel refuses an ELF64 without them"
    )]
    NoAddressFields { flags: u32 },
    #[error("header_addr {header_addr:#x} is below load_addr {load_addr:#x}")]
    HeaderBeforeLoad { header_addr: u32, load_addr: u32 },
    #[error("load_addr {load_addr:#x} would start {before} bytes before the beginning of the file")]
    LoadBeforeFile { load_addr: u32, before: u64 },
    #[error(
        "load range {load_addr:#x}..{load_end_addr:#x} is empty or needs bytes past the end of the file"
    )]
    BadLoadEnd { load_addr: u32, load_end_addr: u32 },
    #[error("bss_end_addr {bss_end_addr:#x} is below the end of the loaded data {load_end:#x}")]
    BssBeforeLoadEnd { bss_end_addr: u32, load_end: u64 },
    #[error("entry_addr {entry:#x} is outside the loaded range {start:#x}..{end:#x}")]
    EntryOutside { entry: u32, start: u64, end: u64 },
    #[error(
        "the ELF segment at physical {paddr:#x} (file offset {offset:#x}) is not where the flat \
         load from load_addr puts it, or not inside the load and bss range; keep the loadable \
         segments contiguous in the file in memory order"
    )]
    SegmentMismatch { paddr: u64, offset: u64 },
}

/// A valid header, as found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mb1Header {
    pub offset: usize,
    pub flags: u32,
    pub header_addr: u32,
    pub load_addr: u32,
    pub load_end_addr: u32,
    pub bss_end_addr: u32,
    pub entry_addr: u32,
}

pub fn check(image: &[u8], segments: &[Segment]) -> Result<Mb1Header, Mb1Error> {
    let header = find(image)?;
    check_flags(header.flags)?;
    check_addresses(&header, image.len() as u64, segments)?;
    Ok(header)
}

/// The first candidate whose checksum is right; a wrong checksum is reported only when no
/// candidate is right, since the magic can occur by chance in code or data.
fn find(image: &[u8]) -> Result<Mb1Header, Mb1Error> {
    let mut first_error = None;
    for offset in (0..SEARCH_LIMIT.min(image.len())).step_by(ALIGN) {
        if read_u32(image, offset) != Some(MAGIC) {
            continue;
        }
        let field = |i: usize| read_u32(image, offset + 4 * i).unwrap_or(0);
        let sum = MAGIC.wrapping_add(field(1)).wrapping_add(field(2));
        if sum != 0 {
            first_error.get_or_insert(Mb1Error::BadChecksum { offset, sum });
            continue;
        }
        let flags = field(1);
        let len = if flags & FLAG_ADDRESS_FIELDS != 0 {
            LEN
        } else {
            12
        };
        if offset + len > SEARCH_LIMIT || offset + len > image.len() {
            return Err(Mb1Error::BeyondLimit { offset });
        }
        return Ok(Mb1Header {
            offset,
            flags,
            header_addr: field(3),
            load_addr: field(4),
            load_end_addr: field(5),
            bss_end_addr: field(6),
            entry_addr: field(7),
        });
    }
    Err(first_error.unwrap_or(Mb1Error::NotFound))
}

fn check_flags(flags: u32) -> Result<(), Mb1Error> {
    if flags & 0xFFFF & !KNOWN_REQUIREMENTS != 0 {
        return Err(Mb1Error::UnknownRequirement { flags });
    }
    if flags & FLAG_ADDRESS_FIELDS == 0 {
        return Err(Mb1Error::NoAddressFields { flags });
    }
    Ok(())
}

fn check_addresses(h: &Mb1Header, file_len: u64, segments: &[Segment]) -> Result<(), Mb1Error> {
    let (header_addr, load_addr) = (h.header_addr, h.load_addr);
    if header_addr < load_addr {
        return Err(Mb1Error::HeaderBeforeLoad {
            header_addr,
            load_addr,
        });
    }
    // The header's own position ties addresses to file offsets.
    let back = u64::from(header_addr - load_addr);
    let Some(load_offset) = (h.offset as u64).checked_sub(back) else {
        return Err(Mb1Error::LoadBeforeFile {
            load_addr,
            before: back - h.offset as u64,
        });
    };
    let load_len = match h.load_end_addr {
        0 => file_len - load_offset,
        end => u64::from(end).saturating_sub(u64::from(load_addr)),
    };
    let load_end = u64::from(load_addr) + load_len;
    if load_len == 0 || load_offset + load_len > file_len || u64::from(header_addr) >= load_end {
        return Err(Mb1Error::BadLoadEnd {
            load_addr,
            load_end_addr: h.load_end_addr,
        });
    }
    let bss_end = match h.bss_end_addr {
        0 => load_end,
        end if u64::from(end) < load_end => {
            return Err(Mb1Error::BssBeforeLoadEnd {
                bss_end_addr: end,
                load_end,
            });
        }
        end => u64::from(end),
    };
    let entry = h.entry_addr;
    if !(u64::from(load_addr)..load_end).contains(&u64::from(entry)) {
        return Err(Mb1Error::EntryOutside {
            entry,
            start: u64::from(load_addr),
            end: load_end,
        });
    }
    let flat = FlatLoad {
        load_addr: u64::from(load_addr),
        load_offset,
        load_end,
        bss_end,
    };
    segments.iter().try_for_each(|s| flat.covers(s))
}

/// Where QEMU's flat load puts things: file byte `load_offset + n` at `load_addr + n`.
struct FlatLoad {
    load_addr: u64,
    load_offset: u64,
    load_end: u64,
    bss_end: u64,
}

impl FlatLoad {
    fn covers(&self, s: &Segment) -> Result<(), Mb1Error> {
        let mismatch = Mb1Error::SegmentMismatch {
            paddr: s.paddr,
            offset: s.offset,
        };
        let Some(rel) = s.paddr.checked_sub(self.load_addr) else {
            return Err(mismatch);
        };
        let in_place = s.offset == self.load_offset + rel;
        let file_ok = s.filesz == 0 || (in_place && s.paddr + s.filesz <= self.load_end);
        let memory_ok = s.paddr + s.memsz <= self.bss_end;
        if file_ok && memory_ok {
            Ok(())
        } else {
            Err(mismatch)
        }
    }
}
