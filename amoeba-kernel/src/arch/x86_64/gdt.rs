//! The kernel's global descriptor table and task-state segment.
//!
//! Layouts: Intel SDM vol. 3A, 3.4.5 (segment descriptors), 7.2.3 (the 16-byte TSS descriptor of
//! long mode) and 7.7 (the 64-bit TSS, whose interrupt stack table gives every IDT vector a known
//! good stack). Selectors match the boot GDT of `boot.s`, so reloading changes no segment.

use super::stacks::{IST_COUNT, ist_top};
use core::arch::asm;
use core::mem::size_of;
use spin::Once;

pub const KERNEL_CODE_SELECTOR: u16 = 0x08;
const TSS_SELECTOR: u16 = 0x18;

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
}
const _: () = assert!(size_of::<TaskStateSegment>() == 104);

#[repr(C, align(8))]
struct Gdt([u64; 5]);

#[repr(C, packed(2))]
struct DescriptorTablePointer {
    limit: u16,
    base: u64,
}

static TSS: Once<TaskStateSegment> = Once::new();
static GDT: Once<Gdt> = Once::new();

fn new_tss() -> TaskStateSegment {
    let mut interrupt_stacks = [0; 7];
    for (slot, top) in interrupt_stacks.iter_mut().enumerate().take(IST_COUNT) {
        *top = ist_top(slot as u8 + 1);
    }
    TaskStateSegment {
        reserved0: 0,
        privilege_stacks: [0; 3],
        reserved1: 0,
        interrupt_stacks,
        reserved2: 0,
        reserved3: 0,
        // No I/O permission bitmap: the base points past the segment's limit.
        io_map_base: size_of::<TaskStateSegment>() as u16,
    }
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
    let tss = TSS.call_once(new_tss);
    let [tss_low, tss_high] = tss_descriptor(tss);
    let gdt = GDT.call_once(|| {
        Gdt([
            0,
            0x00AF_9A00_0000_FFFF,
            0x00CF_9200_0000_FFFF,
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
