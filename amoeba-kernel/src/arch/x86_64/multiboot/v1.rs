//! Multiboot 1 boot information (Multiboot Specification 0.6.96, section 3.3), as QEMU's
//! `-kernel` provides it.

use super::{BootInfo, BootInfoError, BootText};
use core::mem::size_of;

/// The information structure up to `boot_loader_name`, the last field we read.
#[repr(C)]
struct Info {
    flags: u32,
    mem_lower: u32,
    mem_upper: u32,
    boot_device: u32,
    cmdline: u32,
    mods_count: u32,
    mods_addr: u32,
    syms: [u32; 4],
    mmap_length: u32,
    mmap_addr: u32,
    drives_length: u32,
    drives_addr: u32,
    config_table: u32,
    boot_loader_name: u32,
}
const _: () = assert!(size_of::<Info>() == 68);

/// One module: its memory, its string, a reserved word.
#[repr(C)]
struct Module {
    start: u32,
    end: u32,
    string: u32,
    reserved: u32,
}
const _: () = assert!(size_of::<Module>() == 16);

/// A memory map entry; `size` counts the bytes after itself, so entries may grow.
#[repr(C, packed)]
struct MemoryEntry {
    size: u32,
    base: u64,
    length: u64,
    kind: u32,
}
const _: () = assert!(size_of::<MemoryEntry>() == 24);

const FLAG_CMDLINE: u32 = 1 << 2;
const FLAG_MODULES: u32 = 1 << 3;
const FLAG_MEMORY_MAP: u32 = 1 << 6;
const FLAG_LOADER_NAME: u32 = 1 << 9;
const MEMORY_AVAILABLE: u32 = 1;

/// # Safety
/// `address` must point to a Multiboot 1 information structure whose pointers are valid.
pub unsafe fn parse(address: usize) -> Result<BootInfo, BootInfoError> {
    // SAFETY: the caller guarantees a Multiboot 1 structure at `address`; it may be unaligned.
    let info = unsafe { (address as *const Info).read_unaligned() };
    let mut boot = BootInfo::empty("Multiboot 1");
    boot.reserve(address as u64..(address + size_of::<Info>()) as u64);
    if info.flags & FLAG_CMDLINE != 0 {
        let mut full = BootText::<1024>::new();
        // SAFETY: with flag bit 2 the loader provides a NUL-terminated command line there.
        unsafe { full.copy_c_string(info.cmdline as usize) };
        boot.cmdline.push_str(without_kernel_path(full.as_str()));
        boot.cmdline.truncated = full.truncated;
    }
    if info.flags & FLAG_LOADER_NAME != 0 {
        // SAFETY: with flag bit 9 the loader provides a NUL-terminated name there.
        unsafe { boot.loader.copy_c_string(info.boot_loader_name as usize) };
    }
    if info.flags & FLAG_MODULES != 0 {
        for index in 0..info.mods_count as usize {
            let entry = info.mods_addr as usize + index * size_of::<Module>();
            // SAFETY: with flag bit 3 the loader provides `mods_count` module entries there.
            let module = unsafe { (entry as *const Module).read_unaligned() };
            boot.reserve(u64::from(module.start)..u64::from(module.end));
        }
    }
    if info.flags & FLAG_MEMORY_MAP == 0 {
        return Err(BootInfoError::NoMemoryMap);
    }
    let map = info.mmap_addr as usize..(info.mmap_addr + info.mmap_length) as usize;
    let mut entry = map.start;
    while entry + size_of::<MemoryEntry>() <= map.end {
        // SAFETY: with flag bit 6 the loader provides `mmap_length` bytes of entries there; the
        // loop stays within them.
        let region = unsafe { (entry as *const MemoryEntry).read_unaligned() };
        if region.kind == MEMORY_AVAILABLE {
            boot.usable
                .add(region.base..region.base.saturating_add(region.length));
        }
        entry += region.size as usize + size_of::<u32>();
    }
    Ok(boot)
}

/// Multiboot 1 loaders (QEMU, GRUB's `multiboot`) put the kernel's file name first; settings
/// are `key=value` words, so a first word without `=` is that name.
fn without_kernel_path(cmdline: &str) -> &str {
    let trimmed = cmdline.trim_start();
    match trimmed.split_once(char::is_whitespace) {
        Some((first, rest)) if !first.contains('=') => rest,
        None if !trimmed.contains('=') => "",
        _ => trimmed,
    }
}
