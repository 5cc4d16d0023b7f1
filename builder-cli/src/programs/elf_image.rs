//! From a program's ELF file to a process image (`libamoeba::process::image`).
//!
//! One segment per `PT_LOAD`, page-aligned (its first page starts with zeros up to `p_vaddr`,
//! the last page of its file bytes ends with zeros), typed by the segment's flags:
//!
//! | PT_LOAD flags | segment type |
//! |---|---|
//! | executable (R X) | `TEXT \| RO` |
//! | read-only (R) | `DATA \| RO` |
//! | writable (R W) | `DATA \| RW` |
//!
//! Memory beyond the file bytes' last page (bss) becomes a second, zero-filled segment of the
//! same type, so the image carries no zeros for it; a `PT_LOAD` with no file bytes is one
//! zero-filled segment.
//!
//! plus the main stack (zero-filled `SYSTEM | DATA | RW`, `MAIN_STACK_BYTES` ending at
//! `MAIN_STACK_TOP`) and one thread: pc = the ELF entry, sp = `MAIN_STACK_TOP`. The image's own
//! checks (`encode_image`) then refuse overlaps, addresses outside user space and an entry
//! outside the text.

use libamoeba::capability::Capability;
use libamoeba::memory::PAGE_SIZE;
use libamoeba::process::descriptor::MAX_SEGMENTS;
use libamoeba::process::image::{ImageError, MAX_IMAGE_BYTES, encode_image};
use libamoeba::process::layout::{
    MAIN_STACK_BASE, MAIN_STACK_BYTES, MAIN_STACK_TOP, USER_TEXT_BASE,
};
use libamoeba::process::{
    ArchMagic, ProcessDescriptor, SegmentDescriptor, SegmentType, ThreadDescriptor,
};
use object::Endianness;
use object::elf::{
    EM_X86_64, ET_EXEC, FileHeader64, PF_W, PF_X, PT_DYNAMIC, PT_INTERP, PT_LOAD, PT_TLS,
};
use object::read::elf::{FileHeader, ProgramHeader};
use thiserror::Error;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ElfImageError {
    #[error("not a 64-bit ELF file: {0}")]
    NotElf64(String),
    #[error("the ELF is big-endian; x86-64 programs are little-endian")]
    BigEndian,
    #[error("ELF machine is {0}, not x86-64 (62)")]
    NotX86_64(u16),
    #[error("ELF type is {0}, not a static executable (ET_EXEC = 2); link with -static -no-pie")]
    NotExecutable(u16),
    #[error(
        "the ELF has a {kind} program header: programs must be static executables, \
         processes have no dynamic loader"
    )]
    Dynamic { kind: &'static str },
    #[error("the ELF uses thread-local storage (PT_TLS), which processes do not have")]
    ThreadLocal,
    #[error("the program's image would inflate to {bytes} bytes; a node loads at most {max}")]
    TooLarge { bytes: usize, max: usize },
    #[error("the ELF has no PT_LOAD segment")]
    NoLoadSegment,
    #[error(
        "PT_LOAD {index} at {vaddr:#x} is writable and executable; link text and data into \
         separate pages (amoeba-user/user.ld)"
    )]
    WritableText { index: usize, vaddr: u64 },
    #[error(
        "PT_LOAD {index} is linked at {vaddr:#x}, below Amoeba's user text at {USER_TEXT_BASE:#x} \
         (an ELF linked for Linux?): build it as an Amoeba program (a profile's [[programs]] \
         path = \"DIR\", which links with amoeba-user/user.ld)"
    )]
    WrongAddress { index: usize, vaddr: u64 },
    #[error("PT_LOAD {index}: {filesz:#x} file bytes but only {memsz:#x} bytes of memory")]
    FileLargerThanMemory {
        index: usize,
        filesz: u64,
        memsz: u64,
    },
    #[error("PT_LOAD {index}: its file bytes lie outside the file")]
    OutsideFile { index: usize },
    #[error("PT_LOAD {index} at {vaddr:#x} ({memsz:#x} bytes) runs past the address space")]
    AddressOverflow {
        index: usize,
        vaddr: u64,
        memsz: u64,
    },
    #[error(
        "the program needs {count} segments with its stack; a process has at most {MAX_SEGMENTS}"
    )]
    TooManySegments { count: usize },
    #[error("{0}")]
    Image(ImageError),
}

impl From<ImageError> for ElfImageError {
    fn from(error: ImageError) -> Self {
        Self::Image(error)
    }
}

/// A program as a process: its descriptor and each segment's contents (all of its bytes, or
/// none for a zero-filled segment), ready for `encode_image`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramProcess {
    pub descriptor: ProcessDescriptor,
    pub contents: Vec<Vec<u8>>,
}

impl ProgramProcess {
    /// The process image file (gzip; reproducible: no timestamps).
    pub fn encode(&self) -> Result<Vec<u8>, ElfImageError> {
        let contents: Vec<&[u8]> = self.contents.iter().map(Vec::as_slice).collect();
        Ok(encode_image(&self.descriptor, &contents)?)
    }
}

/// The process image file of the program `elf` (see the module documentation).
pub fn image_from_elf(elf: &[u8]) -> Result<Vec<u8>, ElfImageError> {
    let process = process_from_elf(elf)?;
    // The kernel inflates at most MAX_IMAGE_BYTES: refuse here what it would refuse at boot.
    let inflated =
        process.descriptor.encoded_len() + process.contents.iter().map(Vec::len).sum::<usize>();
    if inflated > MAX_IMAGE_BYTES {
        return Err(ElfImageError::TooLarge {
            bytes: inflated,
            max: MAX_IMAGE_BYTES,
        });
    }
    process.encode()
}

const fn page_down(address: u64) -> u64 {
    address & !(PAGE_SIZE - 1)
}

/// The descriptor and segment contents of the program `elf`.
pub fn process_from_elf(elf: &[u8]) -> Result<ProgramProcess, ElfImageError> {
    let bad = |e: object::read::Error| ElfImageError::NotElf64(e.to_string());
    let header = FileHeader64::<Endianness>::parse(elf).map_err(bad)?;
    let endian = header.endian().map_err(bad)?;
    if endian != Endianness::Little {
        return Err(ElfImageError::BigEndian);
    }
    let machine = header.e_machine(endian);
    if machine != EM_X86_64 {
        return Err(ElfImageError::NotX86_64(machine.0));
    }
    let kind = header.e_type(endian);
    if kind != ET_EXEC {
        return Err(ElfImageError::NotExecutable(kind.0));
    }
    let mut process = ProgramProcess {
        descriptor: ProcessDescriptor {
            arch: ArchMagic::X86_64,
            self_cap: Capability::NULL,
            owner_cap: Capability::NULL,
            segments: Vec::new(),
            threads: Vec::new(),
        },
        contents: Vec::new(),
    };
    let mut add = |address, length, kind, contents: Vec<u8>| {
        process.descriptor.segments.push(SegmentDescriptor {
            cap: Capability::NULL,
            offset: 0, // encode_image places the contents
            address,
            length,
            kind,
        });
        process.contents.push(contents);
    };
    let mut loads = 0;
    for (index, ph) in header
        .program_headers(endian, elf)
        .map_err(bad)?
        .iter()
        .enumerate()
    {
        match ph.p_type(endian) {
            PT_INTERP => return Err(ElfImageError::Dynamic { kind: "PT_INTERP" }),
            PT_DYNAMIC => return Err(ElfImageError::Dynamic { kind: "PT_DYNAMIC" }),
            PT_TLS => return Err(ElfImageError::ThreadLocal),
            PT_LOAD => {}
            _ => continue,
        }
        loads += 1;
        // Each PT_LOAD gives up to two segments and the stack one more: stop before copying
        // bytes for a file that could never fit (a hostile ELF could repeat PT_LOADs).
        if 2 * loads + 1 > MAX_SEGMENTS {
            return Err(ElfImageError::TooManySegments {
                count: 2 * loads + 1,
            });
        }
        let (vaddr, filesz, memsz) = (ph.p_vaddr(endian), ph.p_filesz(endian), ph.p_memsz(endian));
        if memsz == 0 {
            continue;
        }
        if vaddr < USER_TEXT_BASE {
            return Err(ElfImageError::WrongAddress { index, vaddr });
        }
        if filesz > memsz {
            return Err(ElfImageError::FileLargerThanMemory {
                index,
                filesz,
                memsz,
            });
        }
        let flags = ph.p_flags(endian).0;
        let (writable, executable) = (flags & PF_W.0 != 0, flags & PF_X.0 != 0);
        if writable && executable {
            return Err(ElfImageError::WritableText { index, vaddr });
        }
        let bytes = ph
            .data(endian, elf)
            .map_err(|()| ElfImageError::OutsideFile { index })?;
        let overflow = ElfImageError::AddressOverflow {
            index,
            vaddr,
            memsz,
        };
        let page_up = |address: u64| address.checked_next_multiple_of(PAGE_SIZE);
        let start = page_down(vaddr);
        let lead = vaddr - start;
        let mem_end = vaddr
            .checked_add(memsz)
            .and_then(page_up)
            .ok_or(overflow.clone())?;
        let file_end = page_up(vaddr + filesz).ok_or(overflow)?;
        let kind = if executable {
            SegmentType::TEXT | SegmentType::RO
        } else if writable {
            SegmentType::DATA | SegmentType::RW
        } else {
            SegmentType::DATA | SegmentType::RO
        };
        // The file part: zeros before p_vaddr, the bytes, zeros to the end of their last page.
        if filesz > 0 {
            let mut contents = vec![0; (file_end - start) as usize];
            contents[lead as usize..][..bytes.len()].copy_from_slice(bytes);
            add(start, file_end - start, kind, contents);
        }
        // The rest (bss) as a zero-filled segment of its own: no zeros in the image.
        let zero_start = if filesz > 0 { file_end } else { start };
        if mem_end > zero_start {
            add(zero_start, mem_end - zero_start, kind, Vec::new());
        }
    }
    if loads == 0 {
        return Err(ElfImageError::NoLoadSegment);
    }
    add(
        MAIN_STACK_BASE,
        MAIN_STACK_BYTES,
        SegmentType::SYSTEM | SegmentType::DATA | SegmentType::RW,
        Vec::new(),
    );
    let count = process.descriptor.segments.len();
    if count > MAX_SEGMENTS {
        return Err(ElfImageError::TooManySegments { count });
    }
    process.descriptor.threads.push(ThreadDescriptor {
        state: 0,
        idle: false,
        pc: header.e_entry(endian),
        sp: MAIN_STACK_TOP,
        registers: None,
        kernel: None,
    });
    Ok(process)
}
