/*
 * 32-bit entry from a Multiboot 1 or 2 loader into 64-bit Rust.
 *
 * Both protocols enter here in 32-bit protected mode with paging off, EAX holding the loader's
 * magic and EBX the physical address of its boot information (Multiboot 0.6.96 section 3.2,
 * Multiboot2 2.0 section 3.3). We zero .bss (the loaders are not relied upon for that), identity
 * map the first 4 GiB with 2 MiB pages, enable PAE, long mode, NX and SSE (the precompiled
 * `core` uses SSE from its first instructions), then far-jump into 64-bit code and call
 * `kernel_main(magic, info)`. The Rust side replaces these page tables with finer ones.
 */
.section .text.boot, "ax"
.code32
.global _start32
_start32:
    cli
    cld
    movl %eax, %ebp                     /* loader magic: kept in EBP ... */
    movl %ebx, %esi                     /* ... and boot information in ESI across CPUID */

    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl

    movl $boot_stack_top, %esp

    movl $0x80000000, %eax              /* highest extended CPUID leaf */
    cpuid
    cmpl $0x80000001, %eax
    jb no_long_mode
    movl $0x80000001, %eax
    cpuid
    testl $(1 << 29), %edx              /* long mode */
    jz no_long_mode
    testl $(1 << 20), %edx              /* no-execute pages */
    jz no_long_mode

    movl $boot_pdpt, %eax               /* PML4[0] -> PDPT */
    orl $0x3, %eax
    movl %eax, boot_pml4

    movl $boot_pd, %eax                 /* PDPT[0..4] -> the four page directories */
    orl $0x3, %eax
    movl $boot_pdpt, %edi
    movl $4, %ecx
1:  movl %eax, (%edi)
    addl $4096, %eax
    addl $8, %edi
    loop 1b

    movl $boot_pd, %edi                 /* 2048 entries of 2 MiB: present, writable, large */
    movl $0x83, %eax
    movl $2048, %ecx
2:  movl %eax, (%edi)
    addl $0x200000, %eax
    addl $8, %edi
    loop 2b

    movl %cr4, %eax
    orl $((1 << 5) | (1 << 9) | (1 << 10)), %eax   /* PAE, OSFXSR, OSXMMEXCPT */
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3

    movl $0xC0000080, %ecx              /* EFER */
    rdmsr
    orl $((1 << 8) | (1 << 11)), %eax   /* LME, NXE */
    wrmsr

    movl %cr0, %eax
    andl $~(1 << 2), %eax               /* EM off: FPU/SSE instructions run */
    orl $((1 << 31) | (1 << 16) | (1 << 1) | 1), %eax  /* PG, WP, MP, PE */
    movl %eax, %cr0

    lgdt boot_gdt_pointer
    /* Far jump to the 64-bit code selector, encoded by hand: the assembler's 32-bit
       `ljmp` form is not reliable in this mode. */
    .byte 0xEA
    .long long_mode_entry
    .short 0x08

no_long_mode:
    movl $no_long_mode_message, %esi
3:  lodsb
    testb %al, %al
    jz 5f
    movw $0x3FD, %dx                    /* COM1 line status: wait until it can take a byte */
4:  movb %al, %bl
    inb %dx, %al
    testb $0x20, %al
    movb %bl, %al
    jz 4b
    movw $0x3F8, %dx
    outb %al, %dx
    jmp 3b
5:  hlt
    jmp 5b

.code64
long_mode_entry:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movq $boot_stack_top, %rsp
    movl %ebp, %edi                     /* kernel_main(magic, info) */
    movl %esi, %esi                     /* zero-extend the info address */
    xorl %ebp, %ebp                     /* end of the frame-pointer chain */
    call kernel_main
    ud2

.section .rodata.boot, "a"
.balign 8
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF            /* 0x08: 64-bit code, ring 0 */
    .quad 0x00CF92000000FFFF            /* 0x10: data, ring 0 */
boot_gdt_end:
boot_gdt_pointer:
    .short boot_gdt_end - boot_gdt - 1
    .long boot_gdt
no_long_mode_message:
    .asciz "amoeba: this CPU lacks 64-bit long mode or no-execute pages; cannot boot\r\n"

.section .bss.boot_page_tables, "aw", @nobits
.balign 4096
boot_pml4: .skip 4096
boot_pdpt: .skip 4096
boot_pd:   .skip 4 * 4096
