//! The kernel's own page tables, replacing the coarse ones of `boot.s`.
//!
//! Physical memory stays identity mapped (2 MiB pages, no-execute). The 2 MiB blocks that hold
//! the kernel image are mapped with 4 KiB pages so that each part gets what it needs and no more:
//! text read-only and executable, read-only data read-only, data and .bss writable; the first
//! page (null) and every kernel stack's guard page are not mapped at all.
//! Device space between 3 and 4 GiB (the PCI hole, the local APIC) is mapped uncached.
//! Every address space shares this map through its first PML4 entry (supervisor only); user
//! mappings live in PML4 entries 1 to 255, from [`USER_SPACE_START`] up.
//! Entry format: Intel SDM vol. 3A, 4.5 (4-level paging), tables 4-15 to 4-20.

use super::{cpu, stacks};
use crate::mm::frames;
use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};
use libamoeba::memory::PAGE_SIZE;

pub const PRESENT: u64 = 1 << 0;
pub const WRITABLE: u64 = 1 << 1;
pub const USER: u64 = 1 << 2;
const WRITE_THROUGH: u64 = 1 << 3;
const CACHE_DISABLE: u64 = 1 << 4;
const HUGE: u64 = 1 << 7;
pub const NO_EXECUTE: u64 = 1 << 63;
const ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;
/// The first address of user space: PML4 entry 1 (entry 0 is the kernel's).
pub const USER_SPACE_START: u64 = 1 << 39;
/// One past the last user address: the end of the lower canonical half.
pub const USER_SPACE_END: u64 = 1 << 47;
/// Where device memory (PCI BARs, the local APIC) is mapped, uncached; drivers check their
/// memory BARs against it.
pub const DEVICE_SPACE: core::ops::Range<u64> = 3 * GIB..4 * GIB;
const ENTRIES: usize = 512;
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

type Table = [u64; ENTRIES];

fn new_table() -> Result<(u64, &'static mut Table), OutOfFrames> {
    let frame = frames::allocate_zeroed().ok_or(OutOfFrames)?;
    // SAFETY: the frame is fresh from the allocator (nobody else refers to it), zeroed, 4 KiB
    // aligned and identity mapped, which is exactly a valid, empty page table.
    Ok((frame, unsafe { &mut *(frame as *mut Table) }))
}

/// The flags of one 4 KiB page of the blocks that hold the kernel image.
fn small_page_flags(address: u64, layout: &ImageLayout) -> u64 {
    if address == 0 || stacks::guard_page_at(address as usize).is_some() {
        0
    } else if (layout.start..layout.text_end).contains(&address) {
        PRESENT
    } else if layout.rodata.contains(&address) {
        PRESENT | NO_EXECUTE
    } else {
        PRESENT | WRITABLE | NO_EXECUTE
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
    pml4[0] = pdpt_frame | PRESENT | WRITABLE;
    for gib in 0..mapped_end / GIB {
        let (pd_frame, pd) = new_table()?;
        pdpt[gib as usize] = pd_frame | PRESENT | WRITABLE;
        for (index, entry) in pd.iter_mut().enumerate() {
            let block = gib * GIB + index as u64 * LARGE_PAGE;
            *entry = if block < small_pages_end {
                small_page_table(block, &layout)? | PRESENT | WRITABLE
            } else if DEVICE_SPACE.contains(&block) {
                block | PRESENT | WRITABLE | HUGE | NO_EXECUTE | CACHE_DISABLE | WRITE_THROUGH
            } else {
                block | PRESENT | WRITABLE | HUGE | NO_EXECUTE
            };
        }
    }
    // SAFETY: the new tables map all physical memory and device space below 4 GiB at the same
    // addresses as the boot tables, and the kernel's text, data and stacks in particular (only
    // the guard pages and page 0, which nothing uses, are left out).
    unsafe { cpu::write_cr3(root) };
    KERNEL_ROOT.store(root, Ordering::Relaxed);
    Ok(())
}

/// The kernel's own top-level table (the kernel process's address space).
static KERNEL_ROOT: AtomicU64 = AtomicU64::new(0);

pub fn kernel_root() -> u64 {
    KERNEL_ROOT.load(Ordering::Relaxed)
}

fn table_at(frame: u64) -> &'static mut Table {
    // SAFETY: page-table frames are identity mapped and owned by the paging code; callers hold
    // no other reference into the same table while this one lives (single CPU, interrupts off).
    unsafe { &mut *((frame & ADDRESS_MASK) as *mut Table) }
}

fn index(address: u64, level: u32) -> usize {
    ((address >> (12 + 9 * level)) & 0x1FF) as usize
}

/// Maps the 4 KiB page at `address` to `frame` with `flags` in the tables rooted at `root`,
/// creating intermediate tables (user-accessible when `flags` has [`USER`]).
pub fn map(root: u64, address: u64, frame: u64, flags: u64) -> Result<(), OutOfFrames> {
    let mut table = table_at(root);
    for level in (1..=3).rev() {
        let entry = &mut table[index(address, level)];
        if *entry & PRESENT == 0 {
            let (next, _) = new_table()?;
            *entry = next | PRESENT | WRITABLE | (flags & USER);
        }
        debug_assert!(*entry & HUGE == 0, "mapping inside a large page");
        table = table_at(*entry);
    }
    table[index(address, 0)] = (frame & ADDRESS_MASK) | flags | PRESENT;
    Ok(())
}

/// Removes the mapping of the page at `address`; returns the frame it mapped.
pub fn unmap(root: u64, address: u64) -> Option<u64> {
    let mut table = table_at(root);
    for level in (1..=3).rev() {
        let entry = table[index(address, level)];
        if entry & PRESENT == 0 || entry & HUGE != 0 {
            return None;
        }
        table = table_at(entry);
    }
    let entry = core::mem::take(&mut table[index(address, 0)]);
    // SAFETY: INVLPG only drops a TLB entry; the page is no longer mapped.
    unsafe { asm!("invlpg [{}]", in(reg) address, options(nostack, preserves_flags)) };
    (entry & PRESENT != 0).then_some(entry & ADDRESS_MASK)
}

/// A new address space: the kernel's mappings and an empty user half.
pub fn new_user_root() -> Result<u64, OutOfFrames> {
    let (root, table) = new_table()?;
    table[0] = table_at(kernel_root())[0];
    Ok(root)
}

/// Frees the page tables of a user address space (not the pages they mapped: the caller unmaps
/// and frees those first), then the root itself. The address space must not be in use.
pub fn free_user_root(root: u64) {
    let pml4 = table_at(root);
    for entry in &mut pml4[1..256] {
        if *entry & PRESENT != 0 {
            free_table_tree(*entry & ADDRESS_MASK, 2);
            *entry = 0;
        }
    }
    // SAFETY: the root came from `new_user_root` and nothing uses it any more.
    unsafe { frames::free(root) };
}

fn free_table_tree(frame: u64, level: u32) {
    if level > 0 {
        for entry in table_at(frame).iter() {
            if entry & PRESENT != 0 {
                free_table_tree(entry & ADDRESS_MASK, level - 1);
            }
        }
    }
    // SAFETY: a table frame of a user address space being torn down; referenced only by the
    // entry the caller clears.
    unsafe { frames::free(frame) };
}

/// Switches to the address space rooted at `root` unless it is already current.
pub fn switch_to(root: u64) {
    if cpu::cr3() & ADDRESS_MASK != root {
        // SAFETY: every root maps the kernel identically (entry 0 is shared), so the running
        // code and its stack stay mapped.
        unsafe { cpu::write_cr3(root) };
    }
}

fn small_page_table(block: u64, layout: &ImageLayout) -> Result<u64, OutOfFrames> {
    let (frame, table) = new_table()?;
    for (index, entry) in table.iter_mut().enumerate() {
        let address = block + index as u64 * PAGE_SIZE;
        let flags = small_page_flags(address, layout);
        *entry = if flags == 0 { 0 } else { address | flags };
    }
    Ok(frame)
}
