//! The interrupt descriptor table: one interrupt gate per vector, each pointing at its entry stub.
//!
//! Layout: Intel SDM vol. 3A, 6.14.1 (64-bit IDT gate descriptors), built with the `x86_64`
//! crate's gate type. The table has all 256 gates in a plain array rather than the crate's
//! `InterruptDescriptorTable`, which has no way to fill the reserved vectors: here every vector,
//! reserved or not, reaches `trap_dispatch` and is reported. From ring 3 the CPU switches to the
//! thread's kernel stack (TSS.RSP0). In ring 0 an interrupt would land on the current stack and
//! overwrite the 128-byte red zone the precompiled `core` uses below RSP, so the kernel runs with
//! interrupts disabled and enables them only inside `sti; hlt` asm blocks, which the compiler
//! treats as using the stack (no red-zone data is live across them). Exceptions in ring 0 stop
//! the node anyway; those that may find the stack unusable get IST stacks.

use super::gdt::KERNEL_CODE_SELECTOR;
use super::stacks::ist;
use core::mem::size_of;
use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::tables::lidt;
use x86_64::structures::DescriptorTablePointer;
use x86_64::structures::idt::{Entry, HandlerFunc};

/// Distance between two entry stubs in `trap_entry.s`.
const STUB_SIZE: usize = 16;

/// Exception vectors (Intel SDM vol. 3A, table 6-1).
pub mod exception {
    pub const NMI: usize = 2;
    pub const DOUBLE_FAULT: usize = 8;
    pub const PAGE_FAULT: usize = 14;
    pub const MACHINE_CHECK: usize = 18;
    /// Vectors below this are exceptions; the rest are interrupts.
    pub const COUNT: usize = 32;
}

const VECTORS: usize = 256;

/// The entry type's handler signature goes unused: the stubs are assembly, not Rust functions
/// (`HandlerFunc` stands for any gate that returns with IRETQ).
type Gate = Entry<HandlerFunc>;

#[repr(C, align(16))]
struct Idt([Gate; VECTORS]);
const _: () = assert!(size_of::<Idt>() == VECTORS * 16);

unsafe extern "C" {
    /// The first of 256 entry stubs of `trap_entry.s`, `STUB_SIZE` bytes apart.
    static trap_stubs: u8;
}

static IDT: Once<Idt> = Once::new();

/// The IST slot (1-based, as the TSS numbers them) of `vector`'s stack, if it has its own.
fn ist_for(vector: usize) -> Option<u8> {
    match vector {
        exception::DOUBLE_FAULT => Some(ist::DOUBLE_FAULT),
        exception::NMI => Some(ist::NMI),
        exception::MACHINE_CHECK => Some(ist::MACHINE_CHECK),
        _ => None,
    }
}

/// A present, DPL-0 interrupt gate (interrupts off on entry) to the stub at `stub`.
fn gate(stub: u64, ist_slot: Option<u8>) -> Gate {
    let mut gate = Gate::missing();
    // SAFETY: `stub` is an entry stub of trap_entry.s, which saves every register it touches and
    // returns with IRETQ as a gate's target must; the kernel code selector is a 64-bit code
    // segment of the GDT, and an IST slot named in `stacks::ist` holds a stack of its own in the
    // TSS (the crate counts the slots from 0).
    unsafe {
        let options = gate.set_handler_addr(VirtAddr::new(stub));
        options.set_code_selector(KERNEL_CODE_SELECTOR);
        if let Some(slot) = ist_slot {
            options.set_stack_index(u16::from(slot) - 1);
        }
    }
    gate
}

/// Installs the IDT. The GDT (with the TSS that holds the IST stacks) must be loaded first.
pub fn init() {
    let stubs = (&raw const trap_stubs).addr();
    let idt = IDT.call_once(|| {
        Idt(core::array::from_fn(|vector| {
            gate((stubs + vector * STUB_SIZE) as u64, ist_for(vector))
        }))
    });
    let pointer = DescriptorTablePointer {
        limit: (size_of::<Idt>() - 1) as u16,
        base: VirtAddr::from_ptr(idt),
    };
    // SAFETY: the IDT is 'static and never changes once built; every gate is valid (see `gate`).
    unsafe { lidt(&pointer) };
}
