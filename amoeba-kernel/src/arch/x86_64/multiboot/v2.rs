//! Multiboot 2 boot information (Multiboot2 Specification 2.0, section 3.6), as GRUB's
//! `multiboot2` command provides it; the tags are read with the `multiboot2` crate.

use super::{BootInfo, BootInfoError};
use multiboot2::{BootInformation, BootInformationHeader, MemoryAreaType};

/// # Safety
/// `address` must point to a Multiboot 2 information structure.
pub unsafe fn parse(address: usize) -> Result<BootInfo, BootInfoError> {
    // SAFETY: the caller guarantees a Multiboot 2 structure at `address`; the crate checks its
    // alignment and sizes before reading tags.
    let info = unsafe { BootInformation::load(address as *const BootInformationHeader) }
        .map_err(BootInfoError::Multiboot2)?;
    let mut boot = BootInfo::empty("Multiboot 2");
    boot.reserve(info.start_address() as u64..info.end_address() as u64);
    if let Some(cmdline) = info.command_line_tag().and_then(|tag| tag.cmdline().ok()) {
        boot.cmdline.push_str(cmdline);
    }
    if let Some(name) = info.boot_loader_name_tag().and_then(|tag| tag.name().ok()) {
        boot.loader.push_str(name);
    }
    for module in info.module_tags() {
        boot.reserve(u64::from(module.start_address())..u64::from(module.end_address()));
    }
    let map = info.memory_map_tag().ok_or(BootInfoError::NoMemoryMap)?;
    for area in map.memory_areas() {
        if area.typ() == MemoryAreaType::Available {
            boot.usable.add(area.start_address()..area.end_address());
        }
    }
    Ok(boot)
}
