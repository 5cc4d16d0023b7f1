//! Kernel stacks for threads, each with unmapped guard pages below it.
//!
//! Stacks live in a region of the kernel's half that no physical memory is identity mapped to
//! (256 GiB up), in fixed slots: the top [`STACK_PAGES`] pages of a slot are mapped, the rest of
//! the slot stays unmapped, so an overflow faults instead of running into the next stack. The
//! region's page tables hang under the kernel's shared PML4 entry, so every address space sees
//! every kernel stack.

use crate::arch::paging::{self, NO_EXECUTE, OutOfFrames, WRITABLE};
use crate::mm::frames;
use alloc::vec::Vec;
use libamoeba::memory::PAGE_SIZE;
use spin::Mutex;

/// Start of the stack region; physical memory above this is not supported (see `mm::init`).
pub const REGION_START: u64 = 256 << 30;
const SLOT_BYTES: u64 = 64 << 10;
/// Mapped pages per stack (32 KiB); the other half of the slot is the guard.
pub const STACK_PAGES: u64 = 8;
const MAX_SLOTS: u64 = 1 << 14;

struct Slots {
    next_unused: u64,
    free: Vec<u64>,
}

static SLOTS: Mutex<Slots> = Mutex::new(Slots {
    next_unused: 0,
    free: Vec::new(),
});

/// A mapped kernel stack; dropping it unmaps the pages and frees them.
pub struct KernelStack {
    slot: u64,
}

fn slot_top(slot: u64) -> u64 {
    REGION_START + (slot + 1) * SLOT_BYTES
}

impl KernelStack {
    pub fn new() -> Result<Self, OutOfFrames> {
        let slot = {
            let mut slots = SLOTS.lock();
            match slots.free.pop() {
                Some(slot) => slot,
                None if slots.next_unused < MAX_SLOTS => {
                    slots.next_unused += 1;
                    slots.next_unused - 1
                }
                None => return Err(OutOfFrames),
            }
        };
        let stack = KernelStack { slot };
        for page in 0..STACK_PAGES {
            let frame = frames::allocate_zeroed().ok_or(OutOfFrames)?;
            let address = slot_top(slot) - (page + 1) * PAGE_SIZE;
            if let Err(error) =
                paging::map(paging::kernel_root(), address, frame, WRITABLE | NO_EXECUTE)
            {
                // SAFETY: the frame was allocated just above and never mapped.
                unsafe { frames::free(frame) };
                return Err(error);
            }
        }
        Ok(stack)
    }

    /// The initial stack pointer (16-byte aligned).
    pub fn top(&self) -> u64 {
        slot_top(self.slot)
    }

    /// Readies this fresh stack so that the first switch to it calls `start`; returns the stack
    /// pointer to switch to.
    pub fn prepare_first_switch(&self, start: extern "C" fn() -> !) -> u64 {
        self.prepare_first_switch_below(0, start)
    }

    /// As [`prepare_first_switch`](Self::prepare_first_switch), leaving the top `reserved`
    /// bytes (a multiple of 16, less than a page) for the thread's own use.
    pub fn prepare_first_switch_below(&self, reserved: u64, start: extern "C" fn() -> !) -> u64 {
        let top = self.top() - reserved.min(PAGE_SIZE - 16);
        // SAFETY: the stack is mapped, writable and owned by this value, and no thread runs on
        // it yet (it is fresh); `top` stays 16-byte aligned inside its top page.
        unsafe { crate::arch::context::prepare_stack(top, start) }
    }
}

/// Whether `address` lies in the guard area of a thread's kernel stack: a fault there is that
/// stack overflowing.
pub fn is_guard(address: u64) -> bool {
    let Some(offset) = address.checked_sub(REGION_START) else {
        return false;
    };
    offset < MAX_SLOTS * SLOT_BYTES && offset % SLOT_BYTES < SLOT_BYTES - STACK_PAGES * PAGE_SIZE
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        for page in 0..STACK_PAGES {
            let address = slot_top(self.slot) - (page + 1) * PAGE_SIZE;
            if let Some(frame) = paging::unmap(paging::kernel_root(), address) {
                // SAFETY: the frame was this stack's page, now unmapped; no thread runs on it
                // (stacks are dropped only after their thread's last switch away).
                unsafe { frames::free(frame) };
            }
        }
        SLOTS.lock().free.push(self.slot);
    }
}
