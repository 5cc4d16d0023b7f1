//! Checks that a kernel ELF can boot by both of our paths before anyone tries: a Multiboot 1
//! header QEMU's `-kernel` accepts for an ELF64 (address fields, matching the file layout), a
//! Multiboot 2 header GRUB accepts, and an entry point in executable code.

mod multiboot1;
mod multiboot2;

use object::Endianness;
use object::elf::{EM_X86_64, FileHeader64, PF_X, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use thiserror::Error;

pub use multiboot1::{Mb1Error, Mb1Header};
pub use multiboot2::{Mb2Error, Mb2Header};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ElfCheckError {
    #[error("not a 64-bit ELF file: {0}")]
    NotElf64(String),
    #[error("ELF machine is {0}, not x86-64 (62)")]
    NotX86_64(u16),
    #[error("the ELF has no PT_LOAD segment")]
    NoLoadSegment,
    #[error("ELF entry point {entry:#x} is not inside an executable PT_LOAD segment")]
    EntryNotExecutable { entry: u64 },
    #[error("Multiboot 1 header: {0}")]
    Multiboot1(#[from] Mb1Error),
    #[error("Multiboot 2 header: {0}")]
    Multiboot2(#[from] Mb2Error),
}

/// A loadable segment as the boot checks need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub offset: u64,
    pub paddr: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub executable: bool,
}

/// What the checks found in a good image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelHeaders {
    pub entry: u64,
    pub multiboot1: Mb1Header,
    pub multiboot2: Mb2Header,
}

/// Checks a kernel image: ELF64 for x86-64, entry in executable code, both Multiboot headers.
pub fn check_kernel(image: &[u8]) -> Result<KernelHeaders, ElfCheckError> {
    let (entry, segments) = read_elf(image)?;
    if segments.is_empty() {
        return Err(ElfCheckError::NoLoadSegment);
    }
    let in_code = |s: &Segment| s.executable && s.vaddr <= entry && entry < s.vaddr + s.filesz;
    if !segments.iter().any(in_code) {
        return Err(ElfCheckError::EntryNotExecutable { entry });
    }
    let multiboot1 = multiboot1::check(image, &segments)?;
    let multiboot2 = multiboot2::check(image)?;
    Ok(KernelHeaders {
        entry,
        multiboot1,
        multiboot2,
    })
}

fn read_elf(image: &[u8]) -> Result<(u64, Vec<Segment>), ElfCheckError> {
    let bad = |e: object::read::Error| ElfCheckError::NotElf64(e.to_string());
    let header = FileHeader64::<Endianness>::parse(image).map_err(bad)?;
    let endian = header.endian().map_err(bad)?;
    let machine = header.e_machine(endian);
    if machine != EM_X86_64 {
        return Err(ElfCheckError::NotX86_64(machine.0));
    }
    let segments = header
        .program_headers(endian, image)
        .map_err(bad)?
        .iter()
        .filter(|ph| ph.p_type(endian) == PT_LOAD)
        .map(|ph| Segment {
            offset: ph.p_offset(endian),
            paddr: ph.p_paddr(endian),
            vaddr: ph.p_vaddr(endian),
            filesz: ph.p_filesz(endian),
            memsz: ph.p_memsz(endian),
            executable: ph.p_flags(endian).0 & PF_X.0 != 0,
        })
        .collect();
    Ok((header.e_entry(endian), segments))
}

/// Reads the little-endian `u32` at `offset`, if the image is long enough.
fn read_u32(image: &[u8], offset: usize) -> Option<u32> {
    let bytes = image.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

#[cfg(test)]
mod tests;
