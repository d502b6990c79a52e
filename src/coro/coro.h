/*
 * coro.h - private contract of the coroutine layer: stacks and context
 * switches, nothing about tasks or loops.
 *
 * A cio__coro is a suspended execution context with its own stack. The
 * task and generator layers embed one and switch between them; the thread's
 * own stack is described by a "main" cio__coro that owns no stack.
 *
 * Stacks are mmap'd with a PROT_NONE guard page below them and recycled
 * through a per-thread pool. In compact mode (many small stacks carved from
 * big slabs, no guard page) a canary at the bottom of the stack is checked
 * at every switch instead. A guard-page hit is caught by a SIGSEGV handler
 * on an alternate signal stack, which prints the coroutine's name and
 * aborts.
 *
 * Floating-point control state: on x86-64 (assembly and ucontext backends)
 * MXCSR and the x87 control word belong to each coroutine, as in
 * Boost.Context; a new coroutine starts with its creator's values as they
 * were at cio__coro_create. On AArch64 FPCR is thread-wide (not switched).
 *
 * Threads: a coroutine may be resumed on any thread that called
 * cio__coro_current(), and destroyed on any thread; its stack then joins
 * that thread's pool. Nothing here takes a lock on the switch path.
 */
#ifndef CIO_CORO_H
#define CIO_CORO_H

#include <stddef.h>
#include <stdint.h>

#if defined(CIO_CORO_UCONTEXT)
#include <ucontext.h>
#endif

typedef struct cio__coro {
    void *sp; /* saved stack pointer (assembly backends); must
               * stay the first field: the .S files use it */
#if defined(CIO_CORO_UCONTEXT)
    ucontext_t uc;
#endif
    void *map_base; /* whole mapping (guard included), or slab slot */
    size_t map_size;
    void *stack_lo; /* lowest usable byte (just above guard/canary) */
    void *stack_hi; /* one past the highest byte */
    void (*fn)(void *);
    void *arg;
    const char *name; /* borrowed, for diagnostics */
    uint64_t name_num; /* if name is NULL and this is not 0: "Task-<num>",
                        * so a default task name costs nothing until read */
    unsigned flags;   /* CIO__CORO_F_* */
    void *asan_fake_stack;
    void *tsan_fiber;
    unsigned vg_stack_id;
} cio__coro;

#define CIO__CORO_F_MAIN 0x1u    /* a thread's own stack: nothing to free */
#define CIO__CORO_F_COMPACT 0x2u /* slab slot with a canary, no guard page */
#define CIO__CORO_F_EXITED 0x4u  /* cio__coro_exit ran: never resume it */

typedef struct cio__coro_opts {
    size_t stack_size; /* usable bytes; 0: the process default */
    int compact;       /* -1: process default, 0: guarded, 1: compact */
} cio__coro_opts;

/* Every field at its process default (NULL opts means the same). */
/* clang-format off */
#define CIO__CORO_OPTS_INIT {0, -1}
/* clang-format on */

/* The coroutine running on the calling thread. On a thread's first call
 * this lazily describes the thread's own stack as a "main" coroutine (no
 * stack allocated) and installs the thread's alternate signal stack for
 * overflow reports; both are released when the thread exits. Never NULL
 * (aborts with a message if even that setup fails). */
cio__coro *cio__coro_current(void);

/* Prepares c so that the first switch into it calls fn(arg) on a fresh
 * stack (taken from the pool or mapped). fn must never return: it ends with
 * cio__coro_exit. Returns 0, -ENOMEM (mapping failed; one line printed once
 * per process naming vm.max_map_count, CIO_STACK_COMPACT=1 and the size
 * options),
 * or -EINVAL. c->name is reset to NULL; name it afterwards.
 * Sizes: guarded stacks are rounded up to whole pages, compact ones to
 * whole pages too (the lowest 64 bytes hold the canary); either is at
 * least 16 KiB. A compact stack above 8 MiB is -EINVAL. */
int cio__coro_create(cio__coro *c, const cio__coro_opts *o, void (*fn)(void *),
                     void *arg);

/* Saves the current context in from and resumes to. from must be the
 * running coroutine (cio__coro_current()). */
void cio__coro_switch(cio__coro *from, cio__coro *to);

/* Last switch out of from: its stack may be recycled by whoever runs on
 * to (call cio__coro_destroy there). */
_Noreturn void cio__coro_exit(cio__coro *from, cio__coro *to);

/* Returns c's stack to the pool. c must not be running or resumable. A
 * coroutine that was created but never switched into may be destroyed. */
void cio__coro_destroy(cio__coro *c);

/* Makes c, which ended with cio__coro_exit, ready to run its fn(arg)
 * again from the top of the same stack, as if just created (the stack
 * stays mapped: no pool round trip, no re-registration). Returns 0, or -1
 * when this build cannot (sanitizers track a stack's fake frames and
 * fibers per run: destroy and create instead). c must not be running. */
int cio__coro_rearm(cio__coro *c);

/* Names c for diagnostics (borrowed pointer, may change). */
void cio__coro_set_name(cio__coro *c, const char *name);

/* (Re)installs the process-wide SIGSEGV/SIGBUS handler that reports
 * guard-page hits, chaining to the handlers installed right now. It is
 * installed automatically by the first cio__coro_current(); call this
 * again only after other code (a test framework, a crash reporter)
 * replaced it and cio should see faults first. */
void cio__coro_install_fault_handler(void);

/* The guard-page handler's rule, exposed for tests: nonzero when a fault
 * while c runs is an overflow of c's stack. sp is the faulting context's
 * stack pointer (0: unknown), addr the fault address, [alt_lo, alt_hi)
 * the thread's signal stack (empty if none). An overflow is a stack
 * pointer below c's stack by at most 1 GiB and not on the signal stack,
 * or a fault address in c's guard page or up to 64 KiB below it. Main
 * coroutines (thread stacks) never overflow by this rule. */
int cio__coro_fault_is_overflow(const cio__coro *c, uintptr_t sp,
                                uintptr_t addr, uintptr_t alt_lo,
                                uintptr_t alt_hi);

/* Process defaults: stack size from CIO_STACK_SIZE (bytes, K/M suffix),
 * compact mode from CIO_STACK_COMPACT=1. */
size_t cio__coro_default_stack_size(void);

/* The default size for one mode (compact: 0 or 1): CIO_STACK_SIZE when
 * set, else 256 KiB guarded / 16 KiB compact (1 MiB / 64 KiB under
 * AddressSanitizer). */
size_t cio__coro_default_stack_size_for(int compact);

/* 1 when CIO_STACK_COMPACT=1 is set, else 0. */
int cio__coro_default_compact(void);

/* Parses a CIO_STACK_SIZE value: decimal bytes with an optional K, M or G
 * suffix (powers of 1024, case-insensitive, optionally followed by "B" or
 * "iB"). Values below 16 KiB are raised to 16 KiB; the result is rounded up
 * to whole pages. Returns 0 and sets *out, or -EINVAL (garbage, zero,
 * overflow; *out untouched). */
int cio__coro_parse_size(const char *s, size_t *out);

/* Forgets the cached environment defaults so the next call re-reads
 * CIO_STACK_SIZE and CIO_STACK_COMPACT. For tests; not thread-safe against
 * concurrent cio__coro_create. */
void cio__coro_reset_defaults(void);

#endif
