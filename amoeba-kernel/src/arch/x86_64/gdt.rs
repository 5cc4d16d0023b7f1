//! The kernel's global descriptor table and task-state segment.
//!
//! Layouts: Intel SDM vol. 3A, 3.4.5 (segment descriptors), 7.2.3 (the 16-byte TSS descriptor of
//! long mode) and 7.7 (the 64-bit TSS, whose interrupt stack table gives every IDT vector a known
//! good stack). Kernel selectors match the boot GDT of `boot.s`, so reloading changes no segment.
//! The user selectors follow the order SYSRET requires (Intel SDM vol. 2B, SYSRET: user SS is
//! STAR[63:48] + 8 and user CS is STAR[63:48] + 16), with the kernel data selector as that base.

use super::stacks::{IST_COUNT, ist_top};
use core::arch::asm;
use core::cell::UnsafeCell;
use core::mem::size_of;
use spin::Once;

pub const KERNEL_CODE_SELECTOR: u16 = 0x08;
pub const KERNEL_DATA_SELECTOR: u16 = 0x10;
/// Ring-3 selectors (requested privilege level 3 in the low bits).
pub const USER_DATA_SELECTOR: u16 = 0x18 | 3;
pub const USER_CODE_SELECTOR: u16 = 0x20 | 3;
const TSS_SELECTOR: u16 = 0x28;

/// The 64-bit task-state segment (Intel SDM vol. 3A, figure 7-11).
#[repr(C, packed(4))]
pub struct TaskStateSegment {
    reserved0: u32,
    privilege_stacks: [u64; 3],
    reserved1: u64,
    interrupt_stacks: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    io_map_base: u16,
    /// One bit per I/O port, set = denied (Intel SDM vol. 1, 19.5.2).
    io_bitmap: [u8; IO_BITMAP_BYTES],
    /// The CPU requires an all-ones byte after the bitmap; a word keeps the size aligned.
    io_bitmap_end: u32,
}
const TSS_HEADER_BYTES: usize = 104;
const _: () = assert!(size_of::<TaskStateSegment>() == TSS_HEADER_BYTES + IO_BITMAP_BYTES + 4);

/// Bytes of an I/O permission bitmap covering all 65536 ports.
pub const IO_BITMAP_BYTES: usize = 8192;

#[repr(C, align(8))]
struct Gdt([u64; 7]);

const KERNEL_CODE: u64 = 0x00AF_9A00_0000_FFFF;
const KERNEL_DATA: u64 = 0x00CF_9200_0000_FFFF;
const USER_DATA: u64 = 0x00CF_F200_0000_FFFF;
const USER_CODE: u64 = 0x00AF_FA00_0000_FFFF;

#[repr(C, packed(2))]
struct DescriptorTablePointer {
    limit: u16,
    base: u64,
}

/// Written once by `init` and then only its RSP0 by `set_kernel_stack`, with interrupts off on
/// this single CPU; the CPU reads it on every entry from ring 3.
struct TssCell(UnsafeCell<TaskStateSegment>);
// SAFETY: one CPU, and every access happens with interrupts disabled (see above).
unsafe impl Sync for TssCell {}

static TSS: TssCell = TssCell(UnsafeCell::new(TaskStateSegment {
    reserved0: 0,
    privilege_stacks: [0; 3],
    reserved1: 0,
    interrupt_stacks: [0; 7],
    reserved2: 0,
    reserved3: 0,
    io_map_base: 0,
    // Zero here so the TSS lives in .bss rather than 8 KiB of image; `init_tss` fills it.
    io_bitmap: [0; IO_BITMAP_BYTES],
    io_bitmap_end: 0,
}));
static GDT: Once<Gdt> = Once::new();

fn init_tss() -> &'static TaskStateSegment {
    let tss = TSS.0.get();
    // SAFETY: called once from `init`, before the TSS is loaded and before any interrupt.
    unsafe {
        for slot in 1..=IST_COUNT as u8 {
            (*tss).interrupt_stacks[usize::from(slot) - 1] = ist_top(slot);
        }
        // Ring 3 may use exactly the ports the running process was granted (see below).
        (*tss).io_map_base = TSS_HEADER_BYTES as u16;
        (*tss).io_bitmap.fill(0xFF);
        (*tss).io_bitmap_end = u32::MAX;
        &*tss
    }
}

/// Loads the I/O ports ring 3 may use: `granted` (a bit clear = allowed) or none at all.
pub fn set_io_bitmap(granted: Option<&[u8; IO_BITMAP_BYTES]>) {
    // SAFETY: single CPU with interrupts off (see `TssCell`); the bitmap lies inside the TSS.
    let bitmap = unsafe { &mut (*TSS.0.get()).io_bitmap };
    match granted {
        Some(ports) => bitmap.copy_from_slice(ports),
        None => bitmap.fill(0xFF),
    }
}

/// The stack the CPU switches to when an interrupt or exception arrives in ring 3: the
/// running thread's kernel stack. Called on every switch to a thread.
pub fn set_kernel_stack(top: u64) {
    // SAFETY: single CPU with interrupts off (see `TssCell`); an aligned u64 store into the TSS.
    unsafe { core::ptr::addr_of_mut!((*TSS.0.get()).privilege_stacks[0]).write_unaligned(top) };
}

/// The two 8-byte halves of an available 64-bit TSS descriptor (type 0x9, present).
fn tss_descriptor(tss: &'static TaskStateSegment) -> [u64; 2] {
    let base = core::ptr::from_ref(tss).addr() as u64;
    let limit = (size_of::<TaskStateSegment>() - 1) as u64;
    let low = (limit & 0xFFFF)
        | ((base & 0xFF_FFFF) << 16)
        | (0x89 << 40)
        | (((limit >> 16) & 0xF) << 48)
        | (((base >> 24) & 0xFF) << 56);
    [low, base >> 32]
}

/// Loads the kernel GDT and TSS. Called once, early, before the IDT.
pub fn init() {
    let [tss_low, tss_high] = tss_descriptor(init_tss());
    let gdt = GDT.call_once(|| {
        Gdt([
            0,
            KERNEL_CODE,
            KERNEL_DATA,
            USER_DATA,
            USER_CODE,
            tss_low,
            tss_high,
        ])
    });
    let pointer = DescriptorTablePointer {
        limit: (size_of::<Gdt>() - 1) as u16,
        base: core::ptr::from_ref(gdt).addr() as u64,
    };
    // SAFETY: the GDT is 'static and its code and data descriptors equal the boot GDT's at the
    // same selectors, so the segment registers stay valid; the TSS descriptor is well formed and
    // not yet busy, as LTR requires.
    unsafe {
        asm!("lgdt [{}]", in(reg) &raw const pointer, options(readonly, nostack, preserves_flags));
        asm!("ltr {0:x}", in(reg) TSS_SELECTOR, options(nomem, nostack, preserves_flags));
    }
}
