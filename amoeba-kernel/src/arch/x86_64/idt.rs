//! The interrupt descriptor table: one interrupt gate per vector.
//!
//! Layout: Intel SDM vol. 3A, 6.14.1 (64-bit IDT gate descriptors). From ring 3 the CPU switches
//! to the thread's kernel stack (TSS.RSP0). In ring 0 an interrupt would land on the current
//! stack and overwrite the 128-byte red zone the precompiled `core` uses below RSP, so the kernel
//! runs with interrupts disabled and enables them only inside `sti; hlt` asm blocks, which the
//! compiler treats as using the stack (no red-zone data is live across them). Exceptions in ring
//! 0 stop the node anyway; those that may find the stack unusable get IST stacks.

use super::gdt::KERNEL_CODE_SELECTOR;
use super::stacks::ist;
use super::traps::{STUB_SIZE, exception};
use core::arch::asm;
use core::mem::size_of;
use spin::Once;

const VECTORS: usize = 256;

#[derive(Clone, Copy)]
#[repr(C)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attributes: u8,
    offset_middle: u16,
    offset_high: u32,
    reserved: u32,
}
const _: () = assert!(size_of::<Gate>() == 16);

/// Present, DPL 0, 64-bit interrupt gate (interrupts off on entry).
const INTERRUPT_GATE: u8 = 0x8E;

impl Gate {
    fn new(handler: usize, ist: u8) -> Self {
        Gate {
            offset_low: handler as u16,
            selector: KERNEL_CODE_SELECTOR,
            ist,
            type_attributes: INTERRUPT_GATE,
            offset_middle: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

#[repr(C, align(16))]
struct Idt([Gate; VECTORS]);

#[repr(C, packed(2))]
struct DescriptorTablePointer {
    limit: u16,
    base: u64,
}

unsafe extern "C" {
    /// The first of 256 entry stubs of `trap_entry.s`, `STUB_SIZE` bytes apart.
    static trap_stubs: u8;
}

static IDT: Once<Idt> = Once::new();

fn ist_for(vector: usize) -> u8 {
    match vector {
        exception::DOUBLE_FAULT => ist::DOUBLE_FAULT,
        exception::NMI => ist::NMI,
        exception::MACHINE_CHECK => ist::MACHINE_CHECK,
        _ => 0,
    }
}

/// Installs the IDT. The GDT (with the TSS that holds the IST stacks) must be loaded first.
pub fn init() {
    let stubs = (&raw const trap_stubs).addr();
    let idt = IDT.call_once(|| {
        Idt(core::array::from_fn(|vector| {
            Gate::new(stubs + vector * STUB_SIZE, ist_for(vector))
        }))
    });
    let pointer = DescriptorTablePointer {
        limit: (size_of::<Idt>() - 1) as u16,
        base: core::ptr::from_ref(idt).addr() as u64,
    };
    // SAFETY: the IDT is 'static and every gate points at an entry stub of trap_entry.s with the
    // kernel code selector and a valid IST slot of the loaded TSS.
    unsafe {
        asm!("lidt [{}]", in(reg) &raw const pointer, options(readonly, nostack, preserves_flags))
    };
}

/// Resets the CPU the hard way: with an empty IDT, an exception finds no handler, nor does the
/// double fault that follows, and the third fault resets the machine.
#[cfg(feature = "server-sys")]
pub fn triple_fault() -> ! {
    let empty = DescriptorTablePointer { limit: 0, base: 0 };
    // SAFETY: deliberately fatal; nothing runs after the interrupt.
    unsafe {
        asm!("lidt [{}]", "int3", in(reg) &raw const empty, options(readonly, nostack));
    }
    super::cpu::halt_forever()
}
