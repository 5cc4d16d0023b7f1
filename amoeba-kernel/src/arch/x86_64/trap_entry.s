/*
 * Entry stubs for all 256 IDT vectors, 16 bytes apart from `trap_stubs`.
 *
 * Each stub makes the stack uniform (a zero where the CPU pushes no error code; Intel SDM
 * vol. 3A, table 6-1 lists the vectors that push one) and pushes its vector number. The common
 * path saves the general registers and the SSE state (the precompiled `core` uses SSE, so any
 * Rust handler may clobber it) and passes the resulting `TrapFrame` to `trap_dispatch`.
 * In 64-bit mode the CPU aligns RSP to 16 before pushing its frame (Intel SDM vol. 3A, 6.14.2);
 * the 22 quadwords that follow keep that alignment for FXSAVE and the call.
 */
.section .text
.balign 16
.global trap_stubs
trap_stubs:
.set vector, 0
.rept 256
    .balign 16
    .if (vector == 8) || (vector == 10) || (vector == 11) || (vector == 12) || (vector == 13) || (vector == 14) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
    .else
        pushq $0
    .endif
    pushq $vector
    jmp trap_common
    .set vector, vector + 1
.endr
trap_stubs_end:

trap_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $512, %rsp
    fxsave64 (%rsp)
    leaq 512(%rsp), %rdi
    cld
    call trap_dispatch
/* A thread that resumes from a process descriptor starts here, RSP at its FXSAVE area. */
.global trap_return
trap_return:
    fxrstor64 (%rsp)
    addq $512, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp                      /* vector and error code */
    iretq
