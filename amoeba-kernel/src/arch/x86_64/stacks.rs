//! The kernel's stacks, each with an unmapped guard page below it.
//!
//! Stacks grow down, so an overflow runs into the page below the stack; the kernel's page tables
//! leave that page unmapped (see [`super::paging`]) and the overflow becomes a page fault, taken
//! on an interrupt stack of its own, instead of silently corrupting whatever lies below.

use core::mem::size_of;

const PAGE: usize = 4096;
const BOOT_STACK_PAGES: usize = 16;
const IST_STACK_PAGES: usize = 4;

/// Interrupt stack table slots in use: the TSS has seven (Intel SDM vol. 3A, 7.7).
pub const IST_COUNT: usize = 3;

/// Which IST slot (1-based, as in an IDT gate) serves which vector. Only the exceptions that can
/// strike when the current stack is unusable get one: a double fault (the page fault of a stack
/// overflow becomes one, as the CPU cannot push onto the guard page), NMI and machine check.
/// Every other vector runs on the interrupted thread's kernel stack (see `idt`).
pub mod ist {
    pub const DOUBLE_FAULT: u8 = 1;
    pub const NMI: u8 = 2;
    pub const MACHINE_CHECK: u8 = 3;
}

#[repr(C, align(4096))]
struct Page([u8; PAGE]);

#[repr(C, align(4096))]
struct GuardedStack<const PAGES: usize> {
    guard: Page,
    stack: [Page; PAGES],
}

#[repr(C, align(4096))]
struct KernelStacks {
    boot: GuardedStack<BOOT_STACK_PAGES>,
    ist: [GuardedStack<IST_STACK_PAGES>; IST_COUNT],
}

const _: () = assert!(size_of::<GuardedStack<1>>() == 2 * PAGE);
const _: () = assert!(
    size_of::<KernelStacks>() == (1 + BOOT_STACK_PAGES + IST_COUNT * (1 + IST_STACK_PAGES)) * PAGE
);

/// Zero-initialised, so it lives in .bss; only its addresses are ever taken in Rust.
#[unsafe(link_section = ".bss.kernel_stacks")]
static mut KERNEL_STACKS: KernelStacks = KernelStacks {
    boot: GuardedStack {
        guard: Page([0; PAGE]),
        stack: [const { Page([0; PAGE]) }; BOOT_STACK_PAGES],
    },
    ist: [const {
        GuardedStack {
            guard: Page([0; PAGE]),
            stack: [const { Page([0; PAGE]) }; IST_STACK_PAGES],
        }
    }; IST_COUNT],
};

const BOOT_STACK_TOP_OFFSET: usize = size_of::<GuardedStack<BOOT_STACK_PAGES>>();

// The 32-bit entry code needs the boot stack's top as a plain symbol.
core::arch::global_asm!(
    ".global boot_stack_top",
    ".set boot_stack_top, {stacks} + {offset}",
    stacks = sym KERNEL_STACKS,
    offset = const BOOT_STACK_TOP_OFFSET,
);

fn base() -> usize {
    (&raw const KERNEL_STACKS).addr()
}

/// Top (initial stack pointer) of IST slot `slot` (1-based).
pub fn ist_top(slot: u8) -> u64 {
    let index = usize::from(slot) - 1;
    let ist_base = base() + BOOT_STACK_TOP_OFFSET;
    (ist_base + (index + 1) * size_of::<GuardedStack<IST_STACK_PAGES>>()) as u64
}

/// A kernel stack's guard page, by name, for the fault report and the page tables.
#[derive(Clone, Copy)]
pub struct GuardPage {
    pub stack: &'static str,
    pub address: usize,
}

/// The guard page of every kernel stack.
pub fn guard_pages() -> impl Iterator<Item = GuardPage> {
    const IST_NAMES: [&str; IST_COUNT] = ["double-fault", "nmi", "machine-check"];
    let ist_base = base() + BOOT_STACK_TOP_OFFSET;
    let ist_stride = size_of::<GuardedStack<IST_STACK_PAGES>>();
    core::iter::once(GuardPage {
        stack: "boot",
        address: base(),
    })
    .chain(
        IST_NAMES
            .into_iter()
            .enumerate()
            .map(move |(index, stack)| GuardPage {
                stack,
                address: ist_base + index * ist_stride,
            }),
    )
}

/// The guard page containing `address`, if any: tells a stack overflow from other faults.
pub fn guard_page_at(address: usize) -> Option<GuardPage> {
    guard_pages().find(|guard| (guard.address..guard.address + PAGE).contains(&address))
}
