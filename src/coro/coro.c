/*
 * coro.c - coroutine lifecycle, the switch wrapper, per-thread "main"
 * coroutines, and guard-page overflow reports.
 *
 * The switch path is: check the leaving coroutine's canary when it lives
 * on a compact stack, store the thread-local "current" pointer, call the
 * backend (switch_*.S or switch_ucontext.c). No syscalls, no locks, no
 * allocation. Sanitizer and Valgrind hooks are compiled in only when the
 * build asks for them (ASan/TSan) or, for Valgrind, only on create and
 * destroy, where a client request is a few no-op instructions natively.
 *
 * Overflow of a guarded stack faults on its PROT_NONE page. The kernel
 * cannot push a signal frame on the overflowed stack, so each thread gets
 * an alternate signal stack (lazily, in its first cio__coro_current()) and
 * one process-wide SIGSEGV/SIGBUS handler runs there. It names the
 * thread's current coroutine, its stack size and the options that raise
 * it when the faulting context's stack pointer lies below the
 * coroutine's stack (a frame larger than the guard page - a 400 KiB local
 * array - moves the stack pointer far past it and faults wherever its
 * first store lands), or when the fault address is in or just below the
 * guard page; otherwise it hands the fault to whatever handler was
 * installed before (or to the default action, which then dumps core at
 * the faulting instruction as if cio were not there). See
 * cio__coro_fault_is_overflow for the exact rule.
 *
 * Rejected: checking stack depth in software at every switch for guarded
 * stacks (costs on the hot path what the MMU does for free), and
 * reporting from the handler with stdio (not async-signal-safe).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "coro/coro.h"
#include "coro/stack.h"

#if defined(CIO__ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(CIO__TSAN)
#include <sanitizer/tsan_interface.h>
#endif
#if !defined(CIO_NO_VALGRIND) && defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define CIO__VALGRIND 1
#endif
#endif

/* GNU attributes used here, with plain-C11 fallbacks. The initial-exec TLS
 * model turns every access to the current-coroutine pointer into one
 * %fs-relative move even in a shared library (the default model calls
 * __tls_get_addr). Its only cost is that libcio must be loaded at start-up
 * or fit in glibc's static TLS surplus when dlopen'ed: it uses a few
 * dozen bytes. */
#if defined(__GNUC__)
#define CORO_TLS_FAST __attribute__((tls_model("initial-exec")))
#define CORO_LIKELY(x) __builtin_expect(!!(x), 1)
#define CORO_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CORO_COLD __attribute__((cold, noinline))
#else
#define CORO_TLS_FAST
#define CORO_LIKELY(x) (x)
#define CORO_UNLIKELY(x) (x)
#define CORO_COLD
#endif

/* Size of each thread's alternate signal stack. 64 KiB covers the report
 * and a chained handler of ordinary depth (glibc's MINSIGSTKSZ is 2 KiB,
 * but AVX-512 signal frames alone take about 3.5 KiB). */
#define ALTSTACK_SIZE ((size_t)64 * 1024)

/* A fault this far below a guard page still counts as an overflow: a
 * frame larger than a page can step over the guard page into whatever
 * mapping lies below, and a fault just there has no other likely cause. */
#define GUARD_SLACK ((uintptr_t)64 * 1024)

/* A stack pointer at most this far below a coroutine's stack is taken as
 * an overflow of it (one frame, or a few, that jumped past the guard).
 * Further down it is more likely a stack the coroutine switched to
 * behind cio's back (another coroutine library, a hand-made signal
 * stack), whose faults are not ours to explain. */
#define SP_REACH ((uintptr_t)1024 * 1024 * 1024)

static _Thread_local cio__coro *tls_cur CORO_TLS_FAST;
static _Thread_local cio__coro tls_main;
static _Thread_local void *tls_altstack;

static pthread_key_t thread_key;
static pthread_once_t process_once = PTHREAD_ONCE_INIT;
static int thread_key_ok;
static struct sigaction prev_segv, prev_bus;

/* ---- messages (async-signal-safe) --------------------------------------- */

struct line {
    char buf[512];
    size_t n;
};

static void line_add(struct line *l, const char *s)
{
    while (*s != '\0' && l->n < sizeof l->buf - 1)
        l->buf[l->n++] = *s++;
}

static void line_add_name(struct line *l, const cio__coro *c)
{
    if (c->name == NULL && c->name_num != 0) {
        char digits[24];
        int nd = 0;
        uint64_t v = c->name_num;
        do {
            digits[nd++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        line_add(l, "Task-");
        while (nd && l->n < sizeof l->buf - 1)
            l->buf[l->n++] = digits[--nd];
        return;
    }
    const char *name = c->name != NULL ? c->name : "?";
    size_t n = 0;
    /* Bounded so a runaway name cannot swallow the rest of the line. */
    while (name[n] != '\0' && n < 200 && l->n < sizeof l->buf - 1)
        l->buf[l->n++] = name[n++];
}

static void line_add_size(struct line *l, size_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    tmp[--i] = '\0';
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    line_add(l, tmp + i);
}

static void line_write(struct line *l)
{
    l->buf[l->n++] = '\n';
    size_t off = 0;
    while (off < l->n) {
        ssize_t r = write(STDERR_FILENO, l->buf + off, l->n - off);
        if (r <= 0)
            break;
        off += (size_t)r;
    }
}

static size_t usable(const cio__coro *c)
{
    return (size_t)((char *)c->stack_hi - (char *)c->stack_lo);
}

CORO_COLD _Noreturn static void die_canary(const cio__coro *c)
{
    struct line l = {.n = 0};
    line_add(&l, "cio: stack overflow detected in task '");
    line_add_name(&l, c);
    line_add(&l, "' (compact stack of ");
    line_add_size(&l, c->map_size);
    line_add(&l, " bytes); raise stack_size or use guarded stacks");
    line_write(&l);
    abort();
}

/* lowest: the lowest address the overflow is known to have reached (the
 * faulting stack pointer or address), 0 if unknown. */
CORO_COLD _Noreturn static void die_guard(const cio__coro *c, uintptr_t lowest)
{
    struct line l = {.n = 0};
    line_add(&l, "cio: stack overflow in task '");
    line_add_name(&l, c);
    line_add(&l, "' (stack of ");
    line_add_size(&l, usable(c));
    line_add(&l, " bytes");
    uintptr_t hi = (uintptr_t)c->stack_hi;
    if (lowest != 0 && lowest < hi) {
        line_add(&l, ", needed more than ");
        line_add_size(&l, (size_t)(hi - lowest));
        line_add(&l, " bytes");
    }
    line_add(&l, "); raise it for every task with CIO_STACK_SIZE "
                 "(e.g. CIO_STACK_SIZE=2M) or for this one with "
                 "cio_task_opts.stack_size");
    line_write(&l);
    abort();
}

CORO_COLD _Noreturn static void die_misuse(const cio__coro *c, const char *what)
{
    struct line l = {.n = 0};
    line_add(&l, "cio: coroutine '");
    line_add_name(&l, c);
    line_add(&l, "' ");
    line_add(&l, what);
    line_write(&l);
    abort();
}

/* ---- guard-page handler ------------------------------------------------- */

static void chain(int sig, siginfo_t *si, void *uc)
{
    const struct sigaction *p = sig == SIGSEGV ? &prev_segv : &prev_bus;
    if (p->sa_flags & SA_SIGINFO) {
        if (p->sa_sigaction != NULL) {
            p->sa_sigaction(sig, si, uc);
            return;
        }
    } else if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN) {
        p->sa_handler(sig);
        return;
    }
    /* Default action: put it back and return. A hardware fault re-executes
     * the instruction and now kills the process the ordinary way (core
     * dump, right signal in the exit status). A kill(2)-sent signal does
     * not come back by itself, so resend it. */
    struct sigaction d;
    memset(&d, 0, sizeof d);
    d.sa_handler = SIG_DFL;
    sigemptyset(&d.sa_mask);
    sigaction(sig, &d, NULL);
    if (si == NULL || si->si_code <= 0)
        raise(sig);
}

int cio__coro_fault_is_overflow(const cio__coro *c, uintptr_t sp,
                                uintptr_t addr, uintptr_t alt_lo,
                                uintptr_t alt_hi)
{
    if (c == NULL || (c->flags & CIO__CORO_F_MAIN) || c->map_base == NULL)
        return 0;
    uintptr_t lo = (uintptr_t)c->stack_lo;
    /* The stack pointer below the stack: the frame being built does not
     * fit, wherever its first store happened to fault. A stack pointer on
     * the signal stack means the fault came from a signal handler, which
     * says nothing about the coroutine's stack. */
    if (sp != 0 && sp < lo && lo - sp <= SP_REACH &&
        !(sp >= alt_lo && sp < alt_hi))
        return 1;
    uintptr_t base = (uintptr_t)c->map_base;
    uintptr_t floor = base > GUARD_SLACK ? base - GUARD_SLACK : 0;
    return addr >= floor && addr < lo;
}

/* The interrupted context's stack pointer, 0 where it is not known. */
static uintptr_t fault_sp(void *uc)
{
    const ucontext_t *u = uc;
    if (u == NULL)
        return 0;
#if defined(__x86_64__)
    return (uintptr_t)u->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (uintptr_t)u->uc_mcontext.sp;
#else
    return 0;
#endif
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    const cio__coro *c = tls_cur;
    if (si != NULL && si->si_code > 0 && c != NULL) {
        uintptr_t sp = fault_sp(uc);
        uintptr_t addr = (uintptr_t)si->si_addr;
        uintptr_t alt_lo = 0, alt_hi = 0;
        stack_t ss;
        if (sigaltstack(NULL, &ss) == 0 && !(ss.ss_flags & SS_DISABLE)) {
            alt_lo = (uintptr_t)ss.ss_sp;
            alt_hi = alt_lo + ss.ss_size;
        }
        if (cio__coro_fault_is_overflow(c, sp, addr, alt_lo, alt_hi)) {
            /* A compact stack has no guard page, but running off the
             * bottom of a slab faults the same way. */
            if (c->flags & CIO__CORO_F_COMPACT)
                die_canary(c);
            uintptr_t lo = (uintptr_t)c->stack_lo;
            die_guard(c, sp != 0 && sp < lo ? sp : addr);
        }
    }
    chain(sig, si, uc);
}

static void thread_exit(void *arg)
{
    (void)arg;
    if (tls_altstack != NULL) {
        stack_t cur;
        if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == tls_altstack &&
            !(cur.ss_flags & SS_ONSTACK)) {
            stack_t off;
            memset(&off, 0, sizeof off);
            off.ss_flags = SS_DISABLE;
            sigaltstack(&off, NULL);
        }
        free(tls_altstack);
        tls_altstack = NULL;
    }
}

static void install_one(int sig, struct sigaction *prev)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, &old) != 0)
        return;
    /* Installing twice must not make the handler chain to itself. */
    if (!((old.sa_flags & SA_SIGINFO) && old.sa_sigaction == on_fault))
        *prev = old;
}

void cio__coro_install_fault_handler(void)
{
    install_one(SIGSEGV, &prev_segv);
    install_one(SIGBUS, &prev_bus);
}

static void process_init(void)
{
    thread_key_ok = pthread_key_create(&thread_key, thread_exit) == 0;
    cio__coro_install_fault_handler();
}

/* Gives the thread an alternate signal stack unless it has one already
 * (ASan, for one, installs its own on every thread; it is kept). */
static void altstack_init(void)
{
    stack_t cur;
    if (sigaltstack(NULL, &cur) != 0 || !(cur.ss_flags & SS_DISABLE))
        return;
    size_t size = ALTSTACK_SIZE;
    long min = sysconf(_SC_MINSIGSTKSZ);
    if (min > 0 && (size_t)min * 4 > size)
        size = (size_t)min * 4;
    void *mem = malloc(size);
    if (mem == NULL)
        return; /* overflows then die by plain SIGSEGV, unreported */
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = mem;
    ss.ss_size = size;
    if (sigaltstack(&ss, NULL) != 0) {
        free(mem);
        return;
    }
    tls_altstack = mem;
}

CORO_COLD static cio__coro *thread_init(void)
{
    pthread_once(&process_once, process_init);
    altstack_init();
    if (thread_key_ok)
        pthread_setspecific(thread_key, &tls_main);

    cio__coro *m = &tls_main;
    memset(m, 0, sizeof *m);
    m->flags = CIO__CORO_F_MAIN;
    m->name = "main";
#if defined(CIO__ASAN)
    /* ASan needs the bounds of every stack it is told to switch to. */
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *lo = NULL;
        size_t size = 0;
        if (pthread_attr_getstack(&attr, &lo, &size) == 0) {
            m->stack_lo = lo;
            m->stack_hi = (char *)lo + size;
        }
        pthread_attr_destroy(&attr);
    }
#endif
#if defined(CIO__TSAN)
    m->tsan_fiber = __tsan_get_current_fiber();
#endif
    tls_cur = m;
    return m;
}

cio__coro *cio__coro_current(void)
{
    cio__coro *c = tls_cur;
    if (CORO_UNLIKELY(c == NULL))
        c = thread_init();
    return c;
}

/* ---- lifecycle ---------------------------------------------------------- */

int cio__coro_create(cio__coro *c, const cio__coro_opts *o, void (*fn)(void *),
                     void *arg)
{
    if (c == NULL || fn == NULL)
        return -EINVAL;
    int compact = o != NULL ? o->compact : -1;
    if (compact < 0)
        compact = cio__coro_default_compact();
    else if (compact > 1)
        return -EINVAL;
    size_t size = o != NULL ? o->stack_size : 0;
    if (size == 0)
        size = cio__coro_default_stack_size_for(compact);

    /* The creating thread must be able to report overflows too, even if
     * it only creates and other threads resume. */
    (void)cio__coro_current();

    memset(c, 0, sizeof *c);
    int r = cio__stack_alloc(c, size, compact);
    if (r != 0) {
        memset(c, 0, sizeof *c);
        return r;
    }
    c->fn = fn;
    c->arg = arg;
    cio__ctx_prepare(c, (void *)((uintptr_t)c->stack_hi & ~(uintptr_t)15));
#if defined(CIO__VALGRIND)
    c->vg_stack_id = VALGRIND_STACK_REGISTER(c->stack_lo, c->stack_hi);
#endif
#if defined(CIO__TSAN)
    c->tsan_fiber = __tsan_create_fiber(0);
#endif
    return 0;
}

void cio__coro_destroy(cio__coro *c)
{
    if (c == NULL || (c->flags & CIO__CORO_F_MAIN) || c->map_base == NULL)
        return;
    if (CORO_UNLIKELY(c == tls_cur))
        die_misuse(c, "destroyed while running");
#if defined(CIO__VALGRIND)
    VALGRIND_STACK_DEREGISTER(c->vg_stack_id);
#endif
#if defined(CIO__TSAN)
    if (c->tsan_fiber != NULL)
        __tsan_destroy_fiber(c->tsan_fiber);
    c->tsan_fiber = NULL;
#endif
    cio__stack_free(c);
    c->map_base = NULL;
    c->sp = NULL;
    c->stack_lo = c->stack_hi = NULL;
}

int cio__coro_rearm(cio__coro *c)
{
#if defined(CIO__ASAN) || defined(CIO__TSAN)
    (void)c;
    return -1;
#else
    if (CORO_UNLIKELY(c == tls_cur))
        die_misuse(c, "rearmed while running");
    c->flags &= ~CIO__CORO_F_EXITED;
    c->name = NULL;
    c->name_num = 0;
    cio__ctx_prepare(c, (void *)((uintptr_t)c->stack_hi & ~(uintptr_t)15));
    return 0;
#endif
}

void cio__coro_set_name(cio__coro *c, const char *name)
{
    if (c != NULL)
        c->name = name;
}

/* ---- switching ---------------------------------------------------------- */

_Noreturn void cio__coro_entry(cio__coro *c)
{
#if defined(CIO__ASAN)
    __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
    c->fn(c->arg);
    die_misuse(c, "returned from its function; it must end with "
                  "cio__coro_exit");
}

void cio__coro_switch(cio__coro *from, cio__coro *to)
{
    if (from->flags & CIO__CORO_F_COMPACT) {
        if (CORO_UNLIKELY(cio__canary_smashed(from)))
            die_canary(from);
    }
    tls_cur = to;
#if defined(CIO__ASAN)
    __sanitizer_start_switch_fiber(&from->asan_fake_stack, to->stack_lo,
                                   usable(to));
#endif
#if defined(CIO__TSAN)
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
    cio__ctx_jump(from, to);
#if defined(CIO__ASAN)
    __sanitizer_finish_switch_fiber(from->asan_fake_stack, NULL, NULL);
#endif
}

_Noreturn void cio__coro_exit(cio__coro *from, cio__coro *to)
{
    if ((from->flags & CIO__CORO_F_COMPACT) && cio__canary_smashed(from))
        die_canary(from);
    from->flags |= CIO__CORO_F_EXITED;
    tls_cur = to;
#if defined(CIO__ASAN)
    /* NULL: this stack is done, let ASan free its fake frames. */
    __sanitizer_start_switch_fiber(NULL, to->stack_lo, usable(to));
#endif
#if defined(CIO__TSAN)
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
    cio__ctx_jump(from, to);
    die_misuse(from, "resumed after cio__coro_exit");
}
