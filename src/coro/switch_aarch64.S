/*
 * switch_aarch64.S - context switch for AArch64, AAPCS64 (Linux).
 *
 * Origin: written for cio from the Arm Procedure Call Standard (AAPCS64:
 * x19-x28, fp, lr and the low halves d8-d15 are callee-saved; sp stays
 * 16-byte aligned); not derived from any other project.
 * License: MIT, same as the rest of cio.
 *
 * A suspended context is one pointer, cio__coro.sp (offset 0), pointing at
 * a 160-byte frame on its own stack:
 *     sp+0    d8 .. d15
 *     sp+64   x19 .. x28
 *     sp+144  x29 (fp), x30 (lr: where the context resumes)
 * The resume address is reached with br, not ret, so the return-address
 * predictor (which holds the leaving context's call site) is not consulted
 * and cannot mispredict every switch; see switch_x86_64.S.
 * FPCR is not switched (it is thread-wide here, unlike MXCSR on x86-64).
 * Not built with BTI/PAC landing pads; add "bti c" if the build enables
 * -mbranch-protection.
 */
#if defined(__aarch64__) && !defined(CIO_CORO_UCONTEXT)

    .text

/* void cio__ctx_jump(cio__coro *from, cio__coro *to) */
    .globl  cio__ctx_jump
    .hidden cio__ctx_jump
    .type   cio__ctx_jump, %function
    .p2align 4
cio__ctx_jump:
    .cfi_startproc
    sub     sp, sp, #160
    stp     d8, d9, [sp, #0]
    stp     d10, d11, [sp, #16]
    stp     d12, d13, [sp, #32]
    stp     d14, d15, [sp, #48]
    stp     x19, x20, [sp, #64]
    stp     x21, x22, [sp, #80]
    stp     x23, x24, [sp, #96]
    stp     x25, x26, [sp, #112]
    stp     x27, x28, [sp, #128]
    stp     x29, x30, [sp, #144]
    mov     x2, sp
    str     x2, [x0]
    ldr     x2, [x1]
    mov     sp, x2
    ldp     d8, d9, [sp, #0]
    ldp     d10, d11, [sp, #16]
    ldp     d12, d13, [sp, #32]
    ldp     d14, d15, [sp, #48]
    ldp     x19, x20, [sp, #64]
    ldp     x21, x22, [sp, #80]
    ldp     x23, x24, [sp, #96]
    ldp     x25, x26, [sp, #112]
    ldp     x27, x28, [sp, #128]
    ldp     x29, x30, [sp, #144]
    add     sp, sp, #160
    br      x30
    .cfi_endproc
    .size   cio__ctx_jump, .-cio__ctx_jump

/* void cio__ctx_prepare(cio__coro *c, void *top), top 16-byte aligned.
 * x19 carries the coroutine, lr the trampoline; fp is zero so backtraces
 * end there. */
    .globl  cio__ctx_prepare
    .hidden cio__ctx_prepare
    .type   cio__ctx_prepare, %function
    .p2align 4
cio__ctx_prepare:
    .cfi_startproc
    sub     x2, x1, #160
    mov     x3, #0
    mov     x4, #0
1:  str     x3, [x2, x4]
    add     x4, x4, #8
    cmp     x4, #160
    b.ne    1b
    str     x0, [x2, #64]           /* x19: the coroutine */
    adr     x3, cio__ctx_trampoline
    str     x3, [x2, #152]          /* x30 */
    str     x2, [x0]
    ret
    .cfi_endproc
    .size   cio__ctx_prepare, .-cio__ctx_prepare

    .type   cio__ctx_trampoline, %function
    .p2align 4
cio__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined x30
    mov     x0, x19
    bl      cio__coro_entry
    brk     #0
    .cfi_endproc
    .size   cio__ctx_trampoline, .-cio__ctx_trampoline

#endif

    .section .note.GNU-stack,"",%progbits
