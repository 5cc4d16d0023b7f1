//! Data segments: zero-filled read-write memory from the kernel, page-granular.

use core::ptr::NonNull;

use super::{Result, raw};
use libamoeba::syscall::{Call, Error};

/// A fresh zero-filled segment of at least `bytes` bytes (page-aligned).
pub fn allocate(bytes: usize) -> Result<NonNull<u8>> {
    // SAFETY: SegmentAllocate maps new memory and touches none the program uses.
    let address = unsafe { raw::syscall1(Call::SegmentAllocate, bytes as u64) }?;
    NonNull::new(address as *mut u8).ok_or(Error::NoMemory)
}

/// Unmaps the segment that starts at `start`.
///
/// # Safety
/// `start` came from [`allocate`] and nothing will use the segment's memory again.
pub unsafe fn free(start: NonNull<u8>) -> Result<()> {
    // SAFETY: the caller guarantees no reference into the segment is used afterwards.
    unsafe { raw::syscall1(Call::SegmentFree, start.as_ptr() as u64) }.map(drop)
}
