//! The kernel heap: `alloc` (Box, Vec, String) over a contiguous run of frames.

use super::frames;
use core::sync::atomic::{AtomicU64, Ordering};
use libamoeba::memory::PAGE_SIZE;
use linked_list_allocator::LockedHeap;

/// Heap the kernel keeps for its own bookkeeping: what processes make it hold (messages,
/// threads) may not eat into it, so a hostile process gets STD_NOMEM or NoMemory, and the
/// kernel's own small allocations, which cannot fail gracefully, still succeed.
const RESERVE_BYTES: usize = 256 * 1024;

/// Whether `bytes` more can be given to something a process asked for, leaving the reserve.
pub fn can_lend(bytes: usize) -> bool {
    HEAP.lock().free() >= bytes.saturating_add(RESERVE_BYTES)
}

/// The heap's size, for the sys server's KSTAT.
static HEAP_BYTES: AtomicU64 = AtomicU64::new(0);

#[cfg(feature = "server-sys")]
pub fn size() -> u64 {
    HEAP_BYTES.load(Ordering::Relaxed)
}

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// Heap size: a fixed share of memory, within bounds that suit both a 32 MiB node and a big one.
fn heap_bytes(total_memory: u64) -> u64 {
    (total_memory / 16)
        .clamp(1 << 20, 64 << 20)
        .next_multiple_of(PAGE_SIZE)
}

#[derive(Debug)]
pub struct HeapTooSmall;

/// Carves the heap out of physical memory. Call once, after the frame allocator is ready.
pub fn init() -> Result<u64, HeapTooSmall> {
    let bytes = heap_bytes(frames::stats().total_bytes);
    let run = frames::allocate_contiguous(bytes / PAGE_SIZE).ok_or(HeapTooSmall)?;
    // SAFETY: the run was just taken from the frame allocator, so nothing else uses it, and it is
    // identity mapped for the kernel's lifetime; init is called once.
    unsafe { HEAP.lock().init(run.start as *mut u8, bytes as usize) };
    HEAP_BYTES.store(bytes, Ordering::Relaxed);
    Ok(bytes)
}
