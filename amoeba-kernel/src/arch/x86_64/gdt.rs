//! The kernel's global descriptor table and task-state segment.
//!
//! Layouts: Intel SDM vol. 3A, 3.4.5 (segment descriptors), 7.2.3 (the 16-byte TSS descriptor of
//! long mode) and 7.7 (the 64-bit TSS, whose interrupt stack table gives every IDT vector a known
//! good stack), built with the `x86_64` crate's descriptor types; the I/O permission bitmap
//! behind the TSS: Intel SDM vol. 1, 19.5.2. Kernel selectors match the boot GDT of `boot.s`, so
//! reloading changes no segment. The user selectors follow the order SYSRET requires (Intel SDM
//! vol. 2B, SYSRET: user SS is STAR[63:48] + 8 and user CS is STAR[63:48] + 16).

use super::stacks::{IST_COUNT, ist_top};
use core::cell::UnsafeCell;
use core::mem::{MaybeUninit, offset_of, size_of};
use spin::Once;
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::{PrivilegeLevel, VirtAddr};

pub const KERNEL_CODE_SELECTOR: SegmentSelector = SegmentSelector::new(1, PrivilegeLevel::Ring0);
pub const KERNEL_DATA_SELECTOR: SegmentSelector = SegmentSelector::new(2, PrivilegeLevel::Ring0);
/// Ring-3 selectors (requested privilege level 3 in the low bits).
pub const USER_DATA_SELECTOR: SegmentSelector = SegmentSelector::new(3, PrivilegeLevel::Ring3);
pub const USER_CODE_SELECTOR: SegmentSelector = SegmentSelector::new(4, PrivilegeLevel::Ring3);
const TSS_SELECTOR: SegmentSelector = SegmentSelector::new(5, PrivilegeLevel::Ring0);

/// Bytes of an I/O permission bitmap covering all 65536 ports.
pub const IO_BITMAP_BYTES: usize = 8192;

/// The TSS with its I/O permission bitmap right behind it, where the TSS's iomap base points.
#[repr(C)]
struct TssWithIoMap {
    tss: TaskStateSegment,
    /// One bit per I/O port, set = denied, then the all-ones byte the CPU requires after the
    /// bitmap.
    io_map: [u8; IO_BITMAP_BYTES + 1],
}
const _: () = assert!(offset_of!(TssWithIoMap, io_map) == size_of::<TaskStateSegment>());

/// Written once by `init` and then only its RSP0 and bitmap by `set_kernel_stack` and
/// `set_io_bitmap`, with interrupts off on this single CPU; the CPU reads it on every entry from
/// ring 3.
struct TssCell(UnsafeCell<TssWithIoMap>);
// SAFETY: one CPU, and every access happens with interrupts disabled (see above).
unsafe impl Sync for TssCell {}

/// All zero so the TSS lives in .bss rather than 8 KiB of image; `init_tss` fills it.
static TSS: TssCell = TssCell(UnsafeCell::new(
    // SAFETY: the TSS fields are integers and addresses (u64), the bitmap bytes: all zero is a
    // valid value of each.
    unsafe { MaybeUninit::zeroed().assume_init() },
));
static GDT: Once<GlobalDescriptorTable> = Once::new();

fn init_tss() -> &'static TssWithIoMap {
    let cell = TSS.0.get();
    // SAFETY: called once from `init`, before the TSS is loaded and before any interrupt, so
    // nothing else refers to it.
    let tss = unsafe { &mut *cell };
    for slot in 1..=IST_COUNT as u8 {
        tss.tss.interrupt_stack_table[usize::from(slot) - 1] = VirtAddr::new(ist_top(slot));
    }
    // Ring 3 may use exactly the ports the running process was granted (see below).
    tss.tss.iomap_base = size_of::<TaskStateSegment>() as u16;
    tss.io_map.fill(0xFF);
    tss
}

/// Loads the I/O ports ring 3 may use: `granted` (a bit clear = allowed) or none at all.
pub fn set_io_bitmap(granted: Option<&[u8; IO_BITMAP_BYTES]>) {
    // SAFETY: single CPU with interrupts off (see `TssCell`), so nothing else refers to the TSS
    // while this runs.
    let tss = unsafe { &mut *TSS.0.get() };
    // The terminating byte after the bitmap stays as `init_tss` set it.
    let bitmap = &mut tss.io_map[..IO_BITMAP_BYTES];
    match granted {
        Some(ports) => bitmap.copy_from_slice(ports),
        None => bitmap.fill(0xFF),
    }
}

/// The stack the CPU switches to when an interrupt or exception arrives in ring 3: the
/// running thread's kernel stack. Called on every switch to a thread.
pub fn set_kernel_stack(top: u64) {
    let tss = TSS.0.get();
    // SAFETY: single CPU with interrupts off (see `TssCell`); an unaligned store into the packed
    // TSS, of the u64 a `VirtAddr` is (transparent): kernel stack tops are canonical by
    // construction, and this path, taken on every switch, checks nothing again.
    unsafe {
        let rsp0 = core::ptr::addr_of_mut!((*tss).tss.privilege_stack_table[0]);
        rsp0.cast::<u64>().write_unaligned(top);
    }
}

/// Loads the kernel GDT and TSS. Called once, early, before the IDT.
pub fn init() {
    let tss = init_tss();
    let Ok(tss_descriptor) = Descriptor::tss_segment_with_iomap(&tss.tss, &tss.io_map) else {
        panic!("the I/O bitmap must lie right behind the TSS and end in 0xFF");
    };
    let gdt = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let selectors = [
            gdt.append(Descriptor::kernel_code_segment()),
            gdt.append(Descriptor::kernel_data_segment()),
            gdt.append(Descriptor::user_data_segment()),
            gdt.append(Descriptor::user_code_segment()),
            gdt.append(tss_descriptor),
        ];
        let expected = [
            KERNEL_CODE_SELECTOR,
            KERNEL_DATA_SELECTOR,
            USER_DATA_SELECTOR,
            USER_CODE_SELECTOR,
            TSS_SELECTOR,
        ];
        // A plain assert: the message says enough, and no Debug code lands in the image.
        assert!(selectors == expected, "GDT entries out of selector order");
        gdt
    });
    gdt.load();
    // SAFETY: the GDT just loaded holds the TSS descriptor at this selector, well formed and not
    // yet busy, as LTR requires; its code and data descriptors equal the boot GDT's at the same
    // selectors, so the segment registers stay valid.
    unsafe { load_tss(TSS_SELECTOR) };
}
