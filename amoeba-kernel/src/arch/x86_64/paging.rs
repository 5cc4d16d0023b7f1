//! The kernel's own page tables, replacing the coarse ones of `boot.s`.
//!
//! Physical memory stays identity mapped (2 MiB pages, no-execute). The 2 MiB blocks that hold
//! the kernel image are mapped with 4 KiB pages so that each part gets what it needs and no more:
//! text read-only and executable, read-only data read-only, data and .bss writable; the first
//! page (null) and every kernel stack's guard page are not mapped at all.
//! Device space between 3 and 4 GiB (the PCI hole, the local APIC) is mapped uncached.
//! Every address space shares this map through its first PML4 entry (supervisor only); user
//! mappings live in PML4 entries 1 to 255, from [`USER_SPACE_START`] up.
//! Entry format: Intel SDM vol. 3A, 4.5 (4-level paging), tables 4-15 to 4-20; the tables and
//! entries are the `x86_64` crate's types. The walk is this module's own rather than the
//! crate's `Mapper`: [`map`] overwrites an entry that is present, which `Mapper::map_to`
//! refuses, and with the identity map a table's physical address is its address.

use super::{cpu, stacks};
use crate::mm::frames;
use core::sync::atomic::{AtomicU64, Ordering};
use libamoeba::memory::PAGE_SIZE;
use x86_64::instructions::tlb;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::{PageTable, PhysFrame};
use x86_64::{PhysAddr, VirtAddr};

/// The flags of a page-table entry, as [`map`] takes them.
pub use x86_64::structures::paging::PageTableFlags as PageFlags;

pub const WRITABLE: PageFlags = PageFlags::WRITABLE;
pub const USER: PageFlags = PageFlags::USER_ACCESSIBLE;
pub const NO_EXECUTE: PageFlags = PageFlags::NO_EXECUTE;
const PRESENT: PageFlags = PageFlags::PRESENT;
const HUGE: PageFlags = PageFlags::HUGE_PAGE;
/// Device memory: neither cached nor written back later.
const UNCACHED: PageFlags = PageFlags::NO_CACHE.union(PageFlags::WRITE_THROUGH);
const ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;
/// The first address of user space: PML4 entry 1 (entry 0 is the kernel's).
pub const USER_SPACE_START: u64 = 1 << 39;
/// One past the last user address: the end of the lower canonical half.
pub const USER_SPACE_END: u64 = 1 << 47;
/// Where device memory (PCI BARs, the local APIC) is mapped, uncached; drivers check their
/// memory BARs against it.
pub const DEVICE_SPACE: core::ops::Range<u64> = 3 * GIB..4 * GIB;
const LARGE_PAGE: u64 = 2 << 20;
const GIB: u64 = 1 << 30;

unsafe extern "C" {
    static __kernel_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __kernel_end: u8;
}

/// Addresses of the kernel image's parts, from the linker script.
struct ImageLayout {
    start: u64,
    text_end: u64,
    rodata: core::ops::Range<u64>,
    end: u64,
}

fn image_layout() -> ImageLayout {
    let address = |symbol: *const u8| symbol.addr() as u64;
    ImageLayout {
        start: address(&raw const __kernel_start),
        text_end: address(&raw const __text_end),
        rodata: address(&raw const __rodata_start)..address(&raw const __rodata_end),
        end: address(&raw const __kernel_end),
    }
}

/// The kernel image's physical extent, to keep the frame allocator off it.
pub fn kernel_image() -> core::ops::Range<u64> {
    let layout = image_layout();
    layout.start..layout.end
}

#[derive(Debug)]
pub struct OutOfFrames;

fn new_table() -> Result<(PhysAddr, &'static mut PageTable), OutOfFrames> {
    let frame = frames::allocate_zeroed().ok_or(OutOfFrames)?;
    // SAFETY: the frame is fresh from the allocator (nobody else refers to it), zeroed, 4 KiB
    // aligned and identity mapped, which is exactly a valid, empty page table.
    let table = unsafe { &mut *(frame as *mut PageTable) };
    Ok((PhysAddr::new(frame), table))
}

/// The flags of one 4 KiB page of the blocks that hold the kernel image; `None`: not mapped.
fn small_page_flags(address: u64, layout: &ImageLayout) -> Option<PageFlags> {
    if address == 0 || stacks::guard_page_at(address as usize).is_some() {
        None
    } else if (layout.start..layout.text_end).contains(&address) {
        Some(PRESENT)
    } else if layout.rodata.contains(&address) {
        Some(PRESENT | NO_EXECUTE)
    } else {
        Some(PRESENT | WRITABLE | NO_EXECUTE)
    }
}

/// The flags of a 2 MiB block of the identity map outside the kernel image.
fn large_page_flags(block: u64) -> PageFlags {
    let flags = PRESENT | WRITABLE | HUGE | NO_EXECUTE;
    if DEVICE_SPACE.contains(&block) {
        flags | UNCACHED
    } else {
        flags
    }
}

/// Builds the tables for physical memory up to `memory_end` (at least 4 GiB, for device
/// memory) and switches to them.
pub fn init(memory_end: u64) -> Result<(), OutOfFrames> {
    let layout = image_layout();
    let mapped_end = memory_end.max(4 * GIB).next_multiple_of(GIB);
    let small_pages_end = layout.end.next_multiple_of(LARGE_PAGE);
    let (root, pml4) = new_table()?;
    let (pdpt_frame, pdpt) = new_table()?;
    pml4[0].set_addr(pdpt_frame, PRESENT | WRITABLE);
    for gib in 0..mapped_end / GIB {
        let (pd_frame, pd) = new_table()?;
        pdpt[gib as usize].set_addr(pd_frame, PRESENT | WRITABLE);
        for (index, entry) in pd.iter_mut().enumerate() {
            let block = gib * GIB + index as u64 * LARGE_PAGE;
            if block < small_pages_end {
                entry.set_addr(small_page_table(block, &layout)?, PRESENT | WRITABLE);
            } else {
                entry.set_addr(PhysAddr::new(block), large_page_flags(block));
            }
        }
    }
    // SAFETY: the new tables map all physical memory and device space below 4 GiB at the same
    // addresses as the boot tables, and the kernel's text, data and stacks in particular (only
    // the guard pages and page 0, which nothing uses, are left out).
    unsafe { Cr3::write(root_frame(root.as_u64()), Cr3Flags::empty()) };
    KERNEL_ROOT.store(root.as_u64(), Ordering::Relaxed);
    Ok(())
}

/// The kernel's own top-level table (the kernel process's address space).
static KERNEL_ROOT: AtomicU64 = AtomicU64::new(0);

pub fn kernel_root() -> u64 {
    KERNEL_ROOT.load(Ordering::Relaxed)
}

fn table_at(frame: u64) -> &'static mut PageTable {
    // SAFETY: page-table frames are identity mapped and owned by the paging code; callers hold
    // no other reference into the same table while this one lives (single CPU, interrupts off).
    unsafe { &mut *((frame & ADDRESS_MASK) as *mut PageTable) }
}

fn index(address: u64, level: u32) -> usize {
    ((address >> (12 + 9 * level)) & 0x1FF) as usize
}

/// Maps the 4 KiB page at `address` to `frame` with `flags` in the tables rooted at `root`,
/// creating intermediate tables (user-accessible when `flags` has [`USER`]).
pub fn map(root: u64, address: u64, frame: u64, flags: PageFlags) -> Result<(), OutOfFrames> {
    let mut table = table_at(root);
    for level in (1..=3).rev() {
        let entry = &mut table[index(address, level)];
        if !entry.flags().contains(PRESENT) {
            let (next, _) = new_table()?;
            entry.set_addr(next, PRESENT | WRITABLE | (flags & USER));
        }
        debug_assert!(!entry.flags().contains(HUGE), "mapping inside a large page");
        let next = entry.addr().as_u64();
        table = table_at(next);
    }
    table[index(address, 0)].set_addr(PhysAddr::new(frame & ADDRESS_MASK), flags | PRESENT);
    Ok(())
}

/// Removes the mapping of the page at `address`; returns the frame it mapped.
pub fn unmap(root: u64, address: u64) -> Option<u64> {
    let mut table = table_at(root);
    for level in (1..=3).rev() {
        let entry = &table[index(address, level)];
        if !entry.flags().contains(PRESENT) || entry.flags().contains(HUGE) {
            return None;
        }
        let next = entry.addr().as_u64();
        table = table_at(next);
    }
    let entry = &mut table[index(address, 0)];
    let mapped = entry
        .flags()
        .contains(PRESENT)
        .then(|| entry.addr().as_u64());
    entry.set_unused();
    tlb::flush(VirtAddr::new(address));
    mapped
}

/// The physical address `address` is mapped to in the kernel's tables (4 KiB pages), if it is
/// mapped: how a driver hands a device a buffer on a kernel stack, which is not identity mapped.
#[cfg_attr(
    not(any(feature = "driver-virtio-net", feature = "driver-virtio-blk")),
    allow(
        dead_code,
        reason = "only the virtio drivers share memory with a device"
    )
)]
pub fn kernel_physical(address: u64) -> Option<u64> {
    let mut table = table_at(kernel_root());
    for level in (1..=3).rev() {
        let entry = &table[index(address, level)];
        if !entry.flags().contains(PRESENT) || entry.flags().contains(HUGE) {
            return None;
        }
        table = table_at(entry.addr().as_u64());
    }
    let entry = &table[index(address, 0)];
    let frame = entry
        .flags()
        .contains(PRESENT)
        .then(|| entry.addr().as_u64())?;
    Some(frame + (address & 0xFFF))
}

/// A new address space: the kernel's mappings and an empty user half.
pub fn new_user_root() -> Result<u64, OutOfFrames> {
    let (root, table) = new_table()?;
    table[0] = table_at(kernel_root())[0].clone();
    Ok(root.as_u64())
}

/// PML4 entries of the user half: 1 to 255 (entry 0 is the kernel's, shared).
const USER_ROOT_ENTRIES: core::ops::Range<usize> = 1..256;

/// Frees the page tables of a user address space (not the pages they mapped: the caller unmaps
/// and frees those first), then the root itself. The address space must not be in use.
pub fn free_user_root(root: u64) {
    let pml4 = table_at(root);
    for index in USER_ROOT_ENTRIES {
        let entry = &mut pml4[index];
        if entry.flags().contains(PRESENT) {
            free_table_tree(entry.addr().as_u64(), 2);
            entry.set_unused();
        }
    }
    // SAFETY: the root came from `new_user_root` and nothing uses it any more.
    unsafe { frames::free(root) };
}

fn free_table_tree(frame: u64, level: u32) {
    if level > 0 {
        for entry in table_at(frame).iter() {
            if entry.flags().contains(PRESENT) {
                free_table_tree(entry.addr().as_u64(), level - 1);
            }
        }
    }
    // SAFETY: a table frame of a user address space being torn down; referenced only by the
    // entry the caller clears.
    unsafe { frames::free(frame) };
}

/// Switches to the address space rooted at `root` unless it is already current.
pub fn switch_to(root: u64) {
    if cpu::cr3() != root {
        // SAFETY: every root maps the kernel identically (entry 0 is shared), so the running
        // code and its stack stay mapped.
        unsafe { Cr3::write(root_frame(root), Cr3Flags::empty()) };
    }
}

/// CR3's view of the table at `root`, a frame address by construction: truncating (one mask)
/// rather than checking keeps this off the cost of every address-space switch.
fn root_frame(root: u64) -> PhysFrame {
    PhysFrame::containing_address(PhysAddr::new_truncate(root))
}

fn small_page_table(block: u64, layout: &ImageLayout) -> Result<PhysAddr, OutOfFrames> {
    let (frame, table) = new_table()?;
    for (index, entry) in table.iter_mut().enumerate() {
        let address = block + index as u64 * PAGE_SIZE;
        if let Some(flags) = small_page_flags(address, layout) {
            entry.set_addr(PhysAddr::new(address), flags);
        }
    }
    Ok(frame)
}
