//! The global allocator of a program: `alloc` (Box, Vec, String) over data segments.
//! [`crate::rt::HEAP`], a [`SegmentHeap`], is the program's
//! `#[global_allocator]`.
//!
//! Blocks below [`DIRECT_BYTES`] come from arenas: segments of at least [`ARENA_BYTES`] taken
//! with `SegmentAllocate` as needed and kept, each managed by a first-fit free list
//! (`linked_list_allocator`). A block of [`DIRECT_BYTES`] or more (page alignment at most)
//! gets a segment of its own, returned to the kernel with `SegmentFree` when freed. A kernel
//! mutex serializes the arenas: a spin lock could spin for ever in a thread of higher priority
//! than the holder's.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicU64, Ordering};

use linked_list_allocator::Heap;

use super::{raw, segment};
use libamoeba::memory::PAGE_SIZE;
use libamoeba::syscall::{Call, SyncKind};

/// Smallest arena taken from the kernel.
pub const ARENA_BYTES: usize = 256 * 1024;
/// Blocks this big or bigger get a segment of their own.
pub const DIRECT_BYTES: usize = 64 * 1024;
/// Most arenas: with 256 KiB each, at least 64 MiB of small blocks.
pub const MAX_ARENAS: usize = 256;

const PAGE: usize = PAGE_SIZE as usize;
/// No mutex created yet.
const NO_HANDLE: u64 = 0;

/// The allocator (see the module documentation).
pub struct SegmentHeap {
    /// The kernel mutex's handle plus one, or [`NO_HANDLE`]: all zero to begin with, so the
    /// allocator lives in the program's bss, not its data.
    lock: AtomicU64,
    arenas: UnsafeCell<Arenas>,
}

struct Arenas {
    heaps: [Heap; MAX_ARENAS],
    count: usize,
}

// SAFETY: `arenas` is only reached while holding the kernel mutex named by `lock`.
unsafe impl Sync for SegmentHeap {}

impl SegmentHeap {
    pub const fn new() -> Self {
        Self {
            lock: AtomicU64::new(NO_HANDLE),
            arenas: UnsafeCell::new(Arenas {
                heaps: [const { Heap::empty() }; MAX_ARENAS],
                count: 0,
            }),
        }
    }

    /// Creates the lock now rather than at the first allocation (the runtime calls this before
    /// `main`, while the process has one thread).
    pub fn init(&self) {
        let _ = self.handle();
    }

    /// The kernel mutex, made on first use; if two threads race to make it, one of the two
    /// objects is never used.
    fn handle(&self) -> Option<u64> {
        let stored = self.lock.load(Ordering::Acquire);
        if stored != NO_HANDLE {
            return Some(stored - 1);
        }
        // SAFETY: SyncCreate only makes a kernel object.
        let made = unsafe { raw::syscall2(Call::SyncCreate, SyncKind::Mutex as u64, 0) }.ok()?;
        let stored = made.checked_add(1)?;
        match self
            .lock
            .compare_exchange(NO_HANDLE, stored, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Some(made),
            Err(first) => Some(first - 1),
        }
    }

    /// Runs `f` on the arenas under the lock; `None` if the lock cannot be had.
    fn with_arenas<R>(&self, f: impl FnOnce(&mut Arenas) -> R) -> Option<R> {
        let handle = self.handle()?;
        // SAFETY: SyncWait only blocks the calling thread.
        unsafe { raw::syscall2(Call::SyncWait, handle, libamoeba::syscall::NO_TIMEOUT) }.ok()?;
        // SAFETY: this thread holds the mutex, so it is the only one using the arenas.
        let result = f(unsafe { &mut *self.arenas.get() });
        // SAFETY: SyncSignal only wakes a thread; this thread holds the mutex it unlocks.
        let _ = unsafe { raw::syscall1(Call::SyncSignal, handle) };
        Some(result)
    }

    fn is_direct(layout: Layout) -> bool {
        layout.size() >= DIRECT_BYTES && layout.align() <= PAGE
    }
}

impl Default for SegmentHeap {
    fn default() -> Self {
        Self::new()
    }
}

impl Arenas {
    fn allocate(&mut self, layout: Layout) -> *mut u8 {
        let count = self.count;
        for heap in &mut self.heaps[..count] {
            if let Ok(block) = heap.allocate_first_fit(layout) {
                return block.as_ptr();
            }
        }
        if count == MAX_ARENAS {
            return ptr::null_mut();
        }
        // Room for the block, its alignment and the free list's bookkeeping.
        let Some(bytes) = layout
            .size()
            .checked_add(layout.align())
            .and_then(|b| b.checked_add(PAGE))
            .map(|b| b.max(ARENA_BYTES).next_multiple_of(PAGE))
        else {
            return ptr::null_mut();
        };
        let Ok(start) = segment::allocate(bytes) else {
            return ptr::null_mut();
        };
        let heap = &mut self.heaps[count];
        // SAFETY: the segment is fresh, `bytes` long, mapped read-write for the process's life
        // (arenas are never freed) and used by nothing else.
        unsafe { heap.init(start.as_ptr(), bytes) };
        self.count += 1;
        heap.allocate_first_fit(layout)
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    /// # Safety
    /// `block` came from [`allocate`](Self::allocate) with `layout` and was not freed since.
    unsafe fn deallocate(&mut self, block: *mut u8, layout: Layout) {
        let Some(block) = NonNull::new(block) else {
            return;
        };
        let address = block.as_ptr() as usize;
        let count = self.count;
        if let Some(heap) = self.heaps[..count]
            .iter_mut()
            .find(|h| (h.bottom() as usize..h.top() as usize).contains(&address))
        {
            // SAFETY: the block lies in this arena, which handed it out with `layout`.
            unsafe { heap.deallocate(block, layout) };
        }
    }
}

// SAFETY: arenas hand out disjoint blocks of the requested layout from memory that stays
// mapped; direct blocks are whole fresh segments, page-aligned, freed only by `dealloc` with
// the same layout (so the same path).
unsafe impl GlobalAlloc for SegmentHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::is_direct(layout) {
            return segment::allocate(layout.size()).map_or(ptr::null_mut(), NonNull::as_ptr);
        }
        self.with_arenas(|arenas| arenas.allocate(layout))
            .unwrap_or(ptr::null_mut())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if Self::is_direct(layout) {
            // Fresh segments are zero-filled already.
            // SAFETY: same contract as `alloc`.
            return unsafe { self.alloc(layout) };
        }
        // SAFETY: same contract as `alloc`.
        let block = unsafe { self.alloc(layout) };
        if !block.is_null() {
            // SAFETY: `block` is valid for `layout.size()` bytes, just allocated.
            unsafe { ptr::write_bytes(block, 0, layout.size()) };
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        if Self::is_direct(layout) {
            if let Some(start) = NonNull::new(block) {
                // SAFETY: a direct block is a whole segment from `alloc`, and the caller gives
                // it up here.
                let _ = unsafe { segment::free(start) };
            }
            return;
        }
        // SAFETY: the caller guarantees `block` came from `alloc` with `layout`.
        self.with_arenas(|arenas| unsafe { arenas.deallocate(block, layout) });
    }
}
