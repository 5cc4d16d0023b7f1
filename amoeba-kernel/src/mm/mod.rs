//! Memory management: physical frames, the kernel heap, the kernel's page tables, kernel thread
//! stacks and user address spaces.

pub mod address_space;
pub mod frames;
pub mod heap;
pub mod kstack;

use crate::arch::{multiboot::BootInfo, paging, power};
use libamoeba::boot::ExitCode;
use libamoeba::memory::RegionSet;

/// Memory below 1 MiB holds BIOS data, the real-mode IVT and device windows: never allocated.
const LOW_MEMORY_END: u64 = 1 << 20;

pub struct MemoryReport {
    pub usable_bytes: u64,
    pub free_bytes: u64,
    pub heap_bytes: u64,
}

/// Sets up frames, the heap and the page tables from the boot memory map. A node without
/// enough memory for these cannot run: it stops with [`ExitCode::BadBoot`].
pub fn init(boot: &BootInfo) -> MemoryReport {
    let usable_bytes = boot.usable.total_bytes();
    let mut free = RegionSet::<{ frames::MAX_REGIONS }>::new();
    for range in boot.usable.ranges() {
        free.add(range.clone());
    }
    free.remove(0..LOW_MEMORY_END);
    free.remove(paging::kernel_image());
    // The identity map ends where the kernel stack region begins.
    free.remove(kstack::REGION_START..kstack::REGION_START << 8);
    for range in boot.reserved.ranges() {
        free.remove(range.clone());
    }
    if free.dropped_bytes > 0 {
        log::warn!(
            "memory: {} KiB in too many fragments left unused",
            free.dropped_bytes >> 10
        );
    }
    let memory_end = free.ranges().last().map_or(0, |r| r.end);
    frames::init(free);
    let heap_bytes = heap::init().unwrap_or_else(|_| {
        log::error!("memory: not enough contiguous memory for the kernel heap");
        power::exit(ExitCode::BadBoot)
    });
    if paging::init(memory_end).is_err() {
        log::error!("memory: not enough memory for the kernel page tables");
        power::exit(ExitCode::BadBoot);
    }
    MemoryReport {
        usable_bytes,
        free_bytes: frames::stats().free_bytes,
        heap_bytes,
    }
}
