//! A user process's address space: its own page tables and the segments mapped in them.
//!
//! Segments are mapped in full when created (no demand paging, no swapping), so "is this range
//! inside a segment with these rights" is all a system call needs to check a user pointer.
//! Text can be shared: processes running the same program map the same frames read-only.

use crate::arch::paging::{
    self, NO_EXECUTE, OutOfFrames, PageFlags, USER, USER_SPACE_END, USER_SPACE_START, WRITABLE,
};
use crate::mm::frames;
use alloc::sync::Arc;
use alloc::vec::Vec;
use libamoeba::memory::PAGE_SIZE;

/// Data segments requested at run time (`malloc`'s) go up from here.
const DATA_AREA_START: u64 = 0x0000_0100_0000_0000;
/// Thread stacks go down from here, each with an unmapped guard page below.
const STACK_AREA_TOP: u64 = 0x0000_7F00_0000_0000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read and execute: program text.
    Text,
    ReadOnly,
    ReadWrite,
}

impl Access {
    fn page_flags(self) -> PageFlags {
        match self {
            Access::Text => USER,
            Access::ReadOnly => USER | NO_EXECUTE,
            Access::ReadWrite => USER | WRITABLE | NO_EXECUTE,
        }
    }
}

/// Frames of a program's text, shared by every process running it; freed with the last one.
pub struct SharedFrames(Vec<u64>);

impl SharedFrames {
    /// Frames holding `contents`, zero-padded to `pages` pages.
    pub fn with_contents(pages: u64, contents: &[u8]) -> Result<Arc<Self>, MapError> {
        let frames = allocate_frames(pages)?;
        fill_frames(&frames, 0, contents);
        Ok(Arc::new(Self(frames)))
    }
}

/// Copies `contents` into consecutive frames (zeroed before) from byte `offset` of the first,
/// as far as they reach.
fn fill_frames(frames: &[u64], offset: usize, contents: &[u8]) {
    let page = PAGE_SIZE as usize;
    let mut done = 0;
    while done < contents.len() {
        let at = offset + done;
        let Some(&frame) = frames.get(at / page) else {
            return;
        };
        let within = at % page;
        let length = (page - within).min(contents.len() - done);
        // SAFETY: the frames were just allocated for a segment not yet mapped anywhere else; they
        // are identity mapped and the copy stays inside frame `at / page`.
        unsafe {
            core::ptr::copy_nonoverlapping(
                contents[done..].as_ptr(),
                (frame as usize + within) as *mut u8,
                length,
            );
        }
        done += length;
    }
}

impl Drop for SharedFrames {
    fn drop(&mut self) {
        for &frame in &self.0 {
            // SAFETY: the last process mapping these frames is gone (this is the last Arc).
            unsafe { frames::free(frame) };
        }
    }
}

/// Zeroed frames that belong to no address space yet: a segment the process server holds
/// until a process takes it (PS_SEG_CREATE, PS_EXEC), freed if none does.
#[cfg_attr(
    not(feature = "server-proc"),
    allow(
        dead_code,
        reason = "only the process server (exec, migration) uses it"
    )
)]
pub struct HeldFrames {
    frames: Vec<u64>,
    length: u64,
}

#[cfg_attr(
    not(feature = "server-proc"),
    allow(
        dead_code,
        reason = "only the process server (exec, migration) uses it"
    )
)]
impl HeldFrames {
    /// `length` bytes of zeroed frames, or none.
    pub fn new(length: u64) -> Result<Self, MapError> {
        let frames = allocate_frames(length.div_ceil(PAGE_SIZE))?;
        Ok(Self { frames, length })
    }

    pub fn len(&self) -> u64 {
        self.length
    }

    /// Writes `data` at `offset`; false (and nothing written) if it would pass the end.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> bool {
        let fits = offset
            .checked_add(data.len() as u64)
            .is_some_and(|end| end <= self.length);
        if fits {
            // Within `length`, so within the frames; offset < length fits usize.
            fill_frames(&self.frames, offset as usize, data);
        }
        fits
    }

    /// Reads from `offset` into `buffer` as far as the segment goes; the bytes read.
    pub fn read(&self, offset: u64, buffer: &mut [u8]) -> usize {
        read_frames(&self.frames, self.length, offset, buffer)
    }

    fn take(mut self) -> Vec<u64> {
        core::mem::take(&mut self.frames)
    }
}

/// Reads from byte `offset` of `frames` (holding `length` bytes) into `buffer`, as far as
/// they go, through the identity map: whatever address space is current. The bytes read.
#[cfg_attr(
    not(feature = "server-proc"),
    allow(
        dead_code,
        reason = "only the process server (exec, migration) uses it"
    )
)]
fn read_frames(frames: &[u64], length: u64, offset: u64, buffer: &mut [u8]) -> usize {
    let available = length.saturating_sub(offset);
    let wanted = (buffer.len() as u64).min(available) as usize;
    let page = PAGE_SIZE as usize;
    let mut done = 0;
    while done < wanted {
        let at = offset as usize + done;
        let Some(&frame) = frames.get(at / page) else {
            break;
        };
        let within = at % page;
        let length = (page - within).min(wanted - done);
        // SAFETY: physical memory is identity mapped in the kernel's half of every address
        // space; the copy stays inside frame `at / page` and inside `buffer`, and the frames
        // are not being written (their process is stopped, or they are held).
        unsafe {
            core::ptr::copy_nonoverlapping(
                (frame as usize + within) as *const u8,
                buffer[done..].as_mut_ptr(),
                length,
            );
        }
        done += length;
    }
    done
}

impl Drop for HeldFrames {
    fn drop(&mut self) {
        for &frame in &self.frames {
            // SAFETY: held frames are mapped nowhere; taking them for a process empties the list.
            unsafe { frames::free(frame) };
        }
    }
}

enum Frames {
    Owned(Vec<u64>),
    Shared(Arc<SharedFrames>),
}

impl Frames {
    fn as_slice(&self) -> &[u64] {
        match self {
            Frames::Owned(frames) => frames,
            Frames::Shared(shared) => &shared.0,
        }
    }
}

struct Segment {
    start: u64,
    access: Access,
    frames: Frames,
}

impl Segment {
    fn end(&self) -> u64 {
        self.start + self.frames.as_slice().len() as u64 * PAGE_SIZE
    }
}

pub struct AddressSpace {
    root: u64,
    segments: Vec<Segment>,
    next_data: u64,
    next_stack_top: u64,
}

#[derive(Debug)]
pub enum MapError {
    OutOfMemory,
    /// Outside user space, not page aligned, or overlapping a segment.
    BadPlacement,
}

impl From<OutOfFrames> for MapError {
    fn from(_: OutOfFrames) -> Self {
        MapError::OutOfMemory
    }
}

/// `count` zeroed frames, or none at all.
fn allocate_frames(count: u64) -> Result<Vec<u64>, MapError> {
    let mut taken = Vec::new();
    for _ in 0..count {
        match frames::allocate_zeroed() {
            Some(frame) => taken.push(frame),
            None => {
                for frame in taken {
                    // SAFETY: allocated just above and never used.
                    unsafe { frames::free(frame) };
                }
                return Err(MapError::OutOfMemory);
            }
        }
    }
    Ok(taken)
}

impl AddressSpace {
    pub fn new() -> Result<Self, MapError> {
        Ok(Self {
            root: paging::new_user_root()?,
            segments: Vec::new(),
            next_data: DATA_AREA_START,
            next_stack_top: STACK_AREA_TOP,
        })
    }

    pub fn root(&self) -> u64 {
        self.root
    }

    /// Maps a segment of fresh frames at `start` holding `contents`, zero-filled after it.
    pub fn map_new(
        &mut self,
        start: u64,
        pages: u64,
        access: Access,
        contents: &[u8],
    ) -> Result<(), MapError> {
        self.map_new_at(start, pages, access, 0, contents)
    }

    /// Maps a segment of fresh zeroed frames at `start` with `contents` placed `offset` bytes in.
    pub fn map_new_at(
        &mut self,
        start: u64,
        pages: u64,
        access: Access,
        offset: usize,
        contents: &[u8],
    ) -> Result<(), MapError> {
        let frames = allocate_frames(pages)?;
        fill_frames(&frames, offset, contents);
        self.map_frames(start, access, Frames::Owned(frames))
    }

    /// Maps held frames at `start` as a segment of this space, which owns them from now on.
    #[cfg_attr(
        not(feature = "server-proc"),
        allow(
            dead_code,
            reason = "only the process server (exec, migration) uses it"
        )
    )]
    pub fn map_held(
        &mut self,
        start: u64,
        access: Access,
        held: HeldFrames,
    ) -> Result<(), MapError> {
        self.map_frames(start, access, Frames::Owned(held.take()))
    }

    /// Maps shared text frames at `start`.
    pub fn map_shared(&mut self, start: u64, shared: Arc<SharedFrames>) -> Result<(), MapError> {
        self.map_frames(start, Access::Text, Frames::Shared(shared))
    }

    fn map_frames(&mut self, start: u64, access: Access, frames: Frames) -> Result<(), MapError> {
        let end = start + frames.as_slice().len() as u64 * PAGE_SIZE;
        let fits =
            start.is_multiple_of(PAGE_SIZE) && start >= USER_SPACE_START && end <= USER_SPACE_END;
        if !fits
            || self
                .segments
                .iter()
                .any(|s| start < s.end() && s.start < end)
        {
            return Err(MapError::BadPlacement);
        }
        let segment = Segment {
            start,
            access,
            frames,
        };
        for (page, &frame) in segment.frames.as_slice().iter().enumerate() {
            let address = start + page as u64 * PAGE_SIZE;
            if let Err(error) = paging::map(self.root, address, frame, access.page_flags()) {
                // Undo the part that was mapped: a segment is in the list only when whole.
                self.release(segment);
                return Err(error.into());
            }
        }
        self.segments.push(segment);
        Ok(())
    }

    /// Moves the places new data segments and thread stacks go past the segments mapped so
    /// far: for a space built from another node's descriptor, whose data and stacks lie
    /// where that node put them.
    #[cfg_attr(
        not(feature = "server-proc"),
        allow(
            dead_code,
            reason = "only the process server (exec, migration) uses it"
        )
    )]
    pub fn grow_past_mapped(&mut self) {
        let middle = DATA_AREA_START + (STACK_AREA_TOP - DATA_AREA_START) / 2;
        for segment in &self.segments {
            if segment.start >= DATA_AREA_START && segment.start < middle {
                self.next_data = self.next_data.max(segment.end() + PAGE_SIZE);
            } else if segment.start >= middle && segment.end() <= STACK_AREA_TOP {
                self.next_stack_top = self.next_stack_top.min(segment.start - PAGE_SIZE);
            }
        }
    }

    /// A new read-write data segment of at least `bytes`; returns its address.
    pub fn allocate_data(&mut self, bytes: u64) -> Result<u64, MapError> {
        let pages = bytes.div_ceil(PAGE_SIZE).max(1);
        let start = self.next_data;
        self.map_new(start, pages, Access::ReadWrite, &[])?;
        // One unmapped page between data segments: an overrun faults instead of corrupting.
        self.next_data = start + (pages + 1) * PAGE_SIZE;
        Ok(start)
    }

    /// A new thread stack of `pages` with an unmapped guard page below; returns its top.
    pub fn allocate_stack(&mut self, pages: u64) -> Result<u64, MapError> {
        let top = self.next_stack_top;
        let start = top - pages * PAGE_SIZE;
        self.map_new(start, pages, Access::ReadWrite, &[])?;
        self.next_stack_top = start - PAGE_SIZE;
        Ok(top)
    }

    /// Unmaps and frees the data segment starting at `start`.
    pub fn free_segment(&mut self, start: u64) -> Result<(), MapError> {
        let index = self
            .segments
            .iter()
            .position(|s| s.start == start && s.access == Access::ReadWrite);
        let segment = self.segments.remove(index.ok_or(MapError::BadPlacement)?);
        self.release(segment);
        Ok(())
    }

    fn release(&self, segment: Segment) {
        for page in 0..segment.frames.as_slice().len() as u64 {
            paging::unmap(self.root, segment.start + page * PAGE_SIZE);
        }
        if let Frames::Owned(owned) = segment.frames {
            for frame in owned {
                // SAFETY: the frame belonged to this segment alone and is now unmapped.
                unsafe { frames::free(frame) };
            }
        }
    }

    /// Reads from `offset` of the segment starting at `start` into `buffer`, as far as the
    /// segment goes, whatever address space is current (for a stopped process's memory).
    #[cfg_attr(
        not(feature = "server-proc"),
        allow(
            dead_code,
            reason = "only the process server (exec, migration) uses it"
        )
    )]
    pub fn read_segment(&self, start: u64, offset: u64, buffer: &mut [u8]) -> Option<usize> {
        let segment = self.segments.iter().find(|s| s.start == start)?;
        let frames = segment.frames.as_slice();
        let length = frames.len() as u64 * PAGE_SIZE;
        Some(read_frames(frames, length, offset, buffer))
    }

    /// Every segment: start address, length in bytes and access.
    pub fn segments(&self) -> impl Iterator<Item = (u64, u64, Access)> + '_ {
        self.segments
            .iter()
            .map(|s| (s.start, s.end() - s.start, s.access))
    }

    /// Whether `[address, address + length)` lies inside one segment that allows `write`.
    pub fn contains(&self, address: u64, length: u64, write: bool) -> bool {
        let Some(end) = address.checked_add(length) else {
            return false;
        };
        self.segments.iter().any(|s| {
            s.start <= address && end <= s.end() && (!write || s.access == Access::ReadWrite)
        })
    }
}

impl AddressSpace {
    /// The user memory `[address, address + length)` for reading, if it lies in one segment.
    /// The address space must be the current one (system calls run in their caller's).
    pub fn user_bytes(&self, address: u64, length: u64) -> Option<&[u8]> {
        if !self.contains(address, length, false) || crate::arch::cpu::cr3() & !0xFFF != self.root {
            return None;
        }
        // SAFETY: the range lies inside a segment of this address space, which is current and
        // maps segments in full; only this process's threads could unmap it, and none of them
        // runs while the kernel holds this borrow (one CPU, kernel not preemptible).
        Some(unsafe { core::slice::from_raw_parts(address as *const u8, length as usize) })
    }
}

impl AddressSpace {
    /// The user memory `[address, address + length)` for writing, if it lies in one writable
    /// segment. The address space must be the current one.
    pub fn user_bytes_mut(&mut self, address: u64, length: u64) -> Option<&mut [u8]> {
        if !self.contains(address, length, true) || crate::arch::cpu::cr3() & !0xFFF != self.root {
            return None;
        }
        // SAFETY: as in `user_bytes`; the segment is writable and mapped so, and `&mut self`
        // keeps any other borrow of this address space's memory out while this one lives.
        Some(unsafe { core::slice::from_raw_parts_mut(address as *mut u8, length as usize) })
    }
}

impl Drop for AddressSpace {
    /// Must run while another address space is current.
    fn drop(&mut self) {
        for segment in core::mem::take(&mut self.segments) {
            self.release(segment);
        }
        paging::free_user_root(self.root);
    }
}
