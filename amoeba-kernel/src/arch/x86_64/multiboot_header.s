/*
 * Multiboot 1 and Multiboot 2 headers, shared by every kernel binary of this crate.
 *
 * Layouts: Multiboot Specification 0.6.96, section 3.1 (header with the address fields of
 * flag bit 16, which QEMU's -kernel needs to load an ELF64 as a flat image) and Multiboot2
 * Specification 2.0, section 3.1 (header with only the end tag: GRUB loads the ELF by its
 * program headers). Both must lie early in the file: MB1 within 8 KiB, MB2 within 32 KiB.
 */
.section .multiboot, "a"
.balign 8
mb2_header:
    .long 0xE85250D6                                    /* magic */
    .long 0                                             /* architecture: i386 protected mode */
    .long mb2_header_end - mb2_header                   /* header length */
    .long -(0xE85250D6 + 0 + (mb2_header_end - mb2_header))
    .balign 8
    .short 0                                            /* end tag: type 0 */
    .short 0                                            /* flags */
    .long 8                                             /* size */
mb2_header_end:

.balign 4
mb1_header:
    .long 0x1BADB002                                    /* magic */
    .long 0x00010003                                    /* page-aligned modules, memory info, address fields */
    .long -(0x1BADB002 + 0x00010003)                    /* checksum */
    .long mb1_header                                    /* header_addr */
    .long __kernel_start                                /* load_addr */
    .long __load_end                                    /* load_end_addr */
    .long __bss_end                                     /* bss_end_addr */
    .long _start32                                      /* entry_addr */
