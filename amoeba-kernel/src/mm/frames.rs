//! The physical frame allocator: 4 KiB frames from the boot memory map.
//!
//! Frames come first from a bump pointer over the free regions (cheap, and it can hand out
//! contiguous runs for the heap), then from a list of frames given back, linked through the
//! frames themselves: physical memory is identity mapped, so a free frame can hold the address of
//! the next one and the bookkeeping costs no memory.

use core::ops::Range;
use libamoeba::memory::{PAGE_SIZE, RegionSet};
use spin::Mutex;

/// Most free regions tracked; a PC memory map has a handful.
pub const MAX_REGIONS: usize = 32;

pub struct FrameAllocator {
    regions: RegionSet<MAX_REGIONS>,
    /// Index of the region the bump pointer is in, and the pointer itself.
    bump_region: usize,
    bump_next: u64,
    /// Head of the list of returned frames (0 = empty).
    free_list: u64,
    total_frames: u64,
    allocated_frames: u64,
}

static FRAMES: Mutex<Option<FrameAllocator>> = Mutex::new(None);

/// Counts for the boot log and, later, the sys server.
#[derive(Clone, Copy, Debug)]
pub struct FrameStats {
    pub total_bytes: u64,
    pub free_bytes: u64,
}

/// Hands the free regions to the allocator. Call once, before any allocation.
pub fn init(regions: RegionSet<MAX_REGIONS>) {
    let total_frames = regions.total_bytes() / PAGE_SIZE;
    let bump_next = regions.ranges().first().map_or(0, |r| r.start);
    *FRAMES.lock() = Some(FrameAllocator {
        regions,
        bump_region: 0,
        bump_next,
        free_list: 0,
        total_frames,
        allocated_frames: 0,
    });
}

/// One zeroed frame, or `None` when memory is exhausted.
pub fn allocate_zeroed() -> Option<u64> {
    let frame = FRAMES.lock().as_mut()?.allocate()?;
    // SAFETY: the frame was free until now (no one else refers to it) and is identity mapped.
    unsafe { core::ptr::write_bytes(frame as *mut u8, 0, PAGE_SIZE as usize) };
    Some(frame)
}

/// `count` physically contiguous frames, not zeroed; only the bump region can provide them.
pub fn allocate_contiguous(count: u64) -> Option<Range<u64>> {
    FRAMES.lock().as_mut()?.allocate_contiguous(count)
}

/// Gives a frame back.
///
/// # Safety
/// `frame` must come from this allocator, be unused from now on, and not be freed twice.
pub unsafe fn free(frame: u64) {
    if let Some(frames) = FRAMES.lock().as_mut() {
        // SAFETY: forwarded from the caller.
        unsafe { frames.free(frame) };
    }
}

pub fn stats() -> FrameStats {
    FRAMES.lock().as_ref().map_or(
        FrameStats {
            total_bytes: 0,
            free_bytes: 0,
        },
        |f| FrameStats {
            total_bytes: f.total_frames * PAGE_SIZE,
            free_bytes: (f.total_frames - f.allocated_frames) * PAGE_SIZE,
        },
    )
}

impl FrameAllocator {
    fn allocate(&mut self) -> Option<u64> {
        if self.free_list == 0 {
            return Some(self.allocate_contiguous(1)?.start);
        }
        let frame = self.free_list;
        // SAFETY: frames on the free list are identity mapped, unused, and hold the address of
        // the next free frame in their first word (written by `free`).
        self.free_list = unsafe { core::ptr::read(frame as *const u64) };
        self.allocated_frames += 1;
        Some(frame)
    }

    fn allocate_contiguous(&mut self, count: u64) -> Option<Range<u64>> {
        let bytes = count * PAGE_SIZE;
        while let Some(region) = self.regions.ranges().get(self.bump_region) {
            if self.bump_next + bytes <= region.end {
                let run = self.bump_next..self.bump_next + bytes;
                self.bump_next = run.end;
                self.allocated_frames += count;
                return Some(run);
            }
            self.bump_region += 1;
            self.bump_next = self
                .regions
                .ranges()
                .get(self.bump_region)
                .map_or(0, |r| r.start);
        }
        None
    }

    /// # Safety
    /// As for the free function [`free`].
    unsafe fn free(&mut self, frame: u64) {
        // SAFETY: the caller gives up the frame, which is identity mapped; its first word now
        // links the free list.
        unsafe { core::ptr::write(frame as *mut u64, self.free_list) };
        self.free_list = frame;
        self.allocated_frames -= 1;
    }
}
