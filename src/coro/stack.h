/*
 * stack.h - what coro.c needs from stack.c and from the switch backends
 * (switch_x86_64.S, switch_aarch64.S, switch_ucontext.c). Private to
 * src/coro/.
 *
 * Checklist: a new switch backend implements cio__ctx_prepare and
 * cio__ctx_jump with the contract below, and enters cio__coro_entry(c) on
 * the first jump; coro.c picks backends only by CIO_CORO_UCONTEXT.
 */
#ifndef CIO_CORO_STACK_H
#define CIO_CORO_STACK_H

#include <stdint.h>

#include "coro/coro.h"
#include "internal.h" /* CIO__ASAN, CIO__TSAN */


/* Bytes at the bottom of a compact stack that hold the canary. */
#define CIO__CANARY_BYTES 64

/* Fills c->map_base, map_size, stack_lo, stack_hi and the COMPACT flag.
 * size is the requested usable size (already defaulted, not yet rounded).
 * Returns 0, -ENOMEM (one-time message printed) or -EINVAL. */
int cio__stack_alloc(cio__coro *c, size_t size, int compact);

/* Gives c's stack back to the calling thread's pool (or unmaps it). */
void cio__stack_free(cio__coro *c);

/* Secret that compact canaries are derived from; set before the first
 * compact stack exists and never changed afterwards. */
extern uint64_t cio__canary_key;

/* Nonzero when c's canary (compact stacks only) has been overwritten. The
 * first and last words are checked: an overflow reaches the last (highest)
 * word first, a big frame that skips it usually lands on the first. */
static inline int cio__canary_smashed(const cio__coro *c)
{
    const volatile uint64_t *w = (const volatile uint64_t *)c->map_base;
    uint64_t want = cio__canary_key ^ (uint64_t)(uintptr_t)w;
    return ((w[0] ^ want) | (w[CIO__CANARY_BYTES / 8 - 1] ^ want)) != 0;
}

/* Backend: builds c's initial context so that the first cio__ctx_jump to
 * it runs cio__coro_entry(c) on the stack whose top (16-byte aligned) is
 * top. */
void cio__ctx_prepare(cio__coro *c, void *top);

/* Backend: saves the running context into from, resumes to. */
void cio__ctx_jump(cio__coro *from, cio__coro *to);

/* Runs on the new stack at the first switch into c; never returns. */
_Noreturn void cio__coro_entry(cio__coro *c);

#endif
