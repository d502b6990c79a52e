/*
 * switch_ucontext.c - portable context switch on makecontext/swapcontext,
 * built when CIO_CORO_UCONTEXT is defined (architectures without a .S
 * backend). Written for cio; MIT license.
 *
 * It is correct but slow: glibc's swapcontext makes an rt_sigprocmask
 * system call on every switch to save and restore the signal mask. On
 * x86-64 glibc also saves MXCSR and the x87 environment in the context,
 * so the per-coroutine FP control behaviour matches switch_x86_64.S.
 * makecontext only passes int arguments, so the coroutine pointer is split
 * into two 32-bit halves.
 */
#if defined(CIO_CORO_UCONTEXT)

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

#include "coro/stack.h"

static void uc_trampoline(unsigned hi, unsigned lo)
{
    uintptr_t p = ((uintptr_t)hi << 16 << 16) | (uintptr_t)lo;
    cio__coro_entry((cio__coro *)p);
}

void cio__ctx_prepare(cio__coro *c, void *top)
{
    if (getcontext(&c->uc) != 0) {
        /* Cannot fail on Linux; stay loud rather than run garbage. */
        fputs("cio: getcontext failed\n", stderr);
        abort();
    }
    c->uc.uc_link = NULL;
    c->uc.uc_stack.ss_sp = c->stack_lo;
    c->uc.uc_stack.ss_size = (size_t)((char *)top - (char *)c->stack_lo);
    c->uc.uc_stack.ss_flags = 0;
    uintptr_t p = (uintptr_t)c;
    makecontext(&c->uc, (void (*)(void))uc_trampoline, 2,
                (unsigned)(p >> 16 >> 16), (unsigned)(p & 0xffffffffu));
}

void cio__ctx_jump(cio__coro *from, cio__coro *to)
{
    swapcontext(&from->uc, &to->uc);
}

#else

/* ISO C wants at least one declaration per translation unit. */
typedef int cio__switch_ucontext_unused;

#endif
