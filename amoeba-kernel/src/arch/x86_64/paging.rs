//! The kernel's own page tables, replacing the coarse ones of `boot.s`.
//!
//! Physical memory stays identity mapped (2 MiB pages, no-execute). The 2 MiB blocks that hold
//! the kernel image are mapped with 4 KiB pages so that each part gets what it needs and no more:
//! text read-only and executable, read-only data read-only, data and .bss writable; the first
//! page (null) and every kernel stack's guard page are not mapped at all.
//! Entry format: Intel SDM vol. 3A, 4.5 (4-level paging), tables 4-15 to 4-20.

use super::{cpu, stacks};
use crate::mm::frames;
use libamoeba::memory::PAGE_SIZE;

const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const HUGE: u64 = 1 << 7;
const NO_EXECUTE: u64 = 1 << 63;
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
            } else {
                block | PRESENT | WRITABLE | HUGE | NO_EXECUTE
            };
        }
    }
    // SAFETY: the new tables map all physical memory and device space below 4 GiB at the same
    // addresses as the boot tables, and the kernel's text, data and stacks in particular (only
    // the guard pages and page 0, which nothing uses, are left out).
    unsafe { cpu::write_cr3(root) };
    Ok(())
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
