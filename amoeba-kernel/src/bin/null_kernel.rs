//! The do-nothing kernel: the same Multiboot headers as amoeba-kernel, and an entry point that
//! stops QEMU at its first instruction. The boot benchmark measures the real kernel's time to
//! its ready line against this image's time to exit, which is QEMU's own start-up and load cost.
#![no_std]
#![no_main]

core::arch::global_asm!(
    include_str!("../arch/x86_64/multiboot_header.s"),
    options(att_syntax)
);
core::arch::global_asm!(
    ".section .text.boot, \"ax\"",
    ".code32",
    ".global _start32",
    "_start32:",
    "    movb $0x10, %al", // libamoeba::boot::ExitCode::Success
    "    outb %al, $0xf4", // isa-debug-exit
    "1:  hlt",
    "    jmp 1b",
    ".code64",
    options(att_syntax)
);

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
