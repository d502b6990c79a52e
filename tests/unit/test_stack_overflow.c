/*
 * test_stack_overflow.c - a task that overflows its stack gets one line
 * naming the task, its stack size and the options that raise it, not a
 * plain "Segmentation fault", whatever the size of the frame that
 * overflows: 4 KiB and 64 KiB frames in a recursion, one 400 KiB frame
 * and one 4 MiB frame (both larger than the stack and than the guard
 * page's 64 KiB slack), on the main thread and on a thread-pool thread.
 *
 * Each case runs in a forked child (tests/support). A frame is written
 * lowest address first, so a frame larger than the guard slack makes its
 * first store far below the guard page: only the faulting stack pointer
 * tells it is an overflow (src/coro/coro.c). So that the store faults at
 * all instead of landing in some writable neighbour, the task first maps
 * PROT_NONE right below its stack (the frame's size and 1 MiB more); where that
 * address range is taken already the case is skipped, not passed. The rule
 * itself is also checked directly on made-up addresses.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cio.h"
#include "cio_test.h"
#include "cio_testutil_child.h"
#include "coro/coro.h"

#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

#define KIB ((size_t)1024)
#define MIB (KIB * 1024)
#define TASK_STACK                                                             \
    (256 * KIB)        /* the default, set explicitly (ASan's is 1 MiB) */
#define EXIT_LAYOUT 77 /* the fence could not be placed: skip */

/* ---- frames of every size ------------------------------------------------ */

static volatile int sink;

/* A recursion of frames of `bytes` each (one frame is enough when it is
 * larger than the stack). The lowest byte is stored first. */
#define DEFINE_FRAME(name, bytes)                                              \
    static NOINLINE int name(int depth)                                        \
    {                                                                          \
        volatile char buf[bytes];                                              \
        buf[0] = (char)depth;                                                  \
        for (size_t i = 1; i < sizeof buf; i += 256)                           \
            buf[i] = (char)depth;                                              \
        if (depth > 1000000)                                                   \
            return buf[0];                                                     \
        return name(depth + 1) + buf[sizeof buf - 1];                          \
    }

DEFINE_FRAME(frame_4k, 4 * KIB)
DEFINE_FRAME(frame_64k, 64 * KIB)
DEFINE_FRAME(frame_400k, 400 * KIB)
DEFINE_FRAME(frame_4m, 4 * MIB)

/* fence: how much PROT_NONE goes below the stack; the deepest frame's
 * first store lands at most its size below the guard page. */
static const struct {
    const char *task_name;
    int (*fn)(int);
    size_t fence;
} cases[] = {
    {"frames-4k", frame_4k, MIB},
    {"frames-64k", frame_64k, MIB},
    {"frame-400k", frame_400k, MIB},
    {"frame-4m", frame_4m, 5 * MIB},
};

static int which; /* index into cases, set before forking */

/* ---- the child ----------------------------------------------------------- */

/* cmocka catches SIGSEGV per test; the child wants cio's handler first,
 * then the default action. */
static void child_prep(void)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGSEGV, &dfl, NULL);
    sigaction(SIGBUS, &dfl, NULL);
    sigaction(SIGABRT, &dfl, NULL);
    cio__coro_install_fault_handler();
}

/* PROT_NONE right below the running coroutine's mapping (its guard page
 * is the lowest page of it). */
static int fence_below_stack(size_t len)
{
    const cio__coro *c = cio__coro_current();
    char *want = (char *)c->map_base - len;
    void *m =
        mmap(want, len, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
             -1, 0);
    if (m == MAP_FAILED)
        return -1;
    if (m != want) { /* a kernel before 4.17 treats the flag as a hint */
        munmap(m, len);
        return -1;
    }
    return 0;
}

static int overflow_body(void *arg, void **result)
{
    (void)arg;
    (void)result;
    if (fence_below_stack(cases[which].fence) != 0)
        _exit(EXIT_LAYOUT);
    sink = cases[which].fn(0);
    _exit(3); /* not reached: the overflow aborts */
}

static int parent_body(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_task_opts o = CIO_TASK_OPTS_INIT;
    o.name = cases[which].task_name;
    o.stack_size = TASK_STACK;
    cio_task *t = NULL;
    if (cio_task_create(cio_get_running_loop(), CIO_CORO(overflow_body, NULL),
                        &o, &t) != 0)
        _exit(2);
    (void)cio_await(t, NULL);
    _exit(4); /* not reached */
}

static void overflow_child(void)
{
    (void)cio_run(parent_body, NULL, NULL);
    _exit(5);
}

/* The same, with the loop run by a thread-pool thread: its signal stack
 * is set up by cio on that thread. */
static int pool_job(void *arg, void **result)
{
    (void)arg;
    (void)result;
    (void)cio_run(parent_body, NULL, NULL);
    _exit(6);
}

static int pool_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    (void)cio_to_thread(pool_job, NULL, NULL);
    _exit(7);
}

static void pool_child(void)
{
    (void)cio_run(pool_main, NULL, NULL);
    _exit(8);
}

/* ---- the parent ---------------------------------------------------------- */

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void expect_report(int idx, void (*child)(void))
{
    if (UNDER_VALGRIND())
        skip(); /* memcheck runs its own stack checks and reports */
    which = idx;
    tu_child_result res;
    tu_run_child(child_prep, child, &res);
    if (WIFEXITED(res.status) && WEXITSTATUS(res.status) == EXIT_LAYOUT) {
        fprintf(stderr, "address space below the stack is taken: skipped\n");
        skip();
    }
    char want[128];
    snprintf(want, sizeof want,
             "cio: stack overflow in task '%s' (stack of %zu bytes",
             cases[idx].task_name, TASK_STACK);
    if (!WIFSIGNALED(res.status) || WTERMSIG(res.status) != SIGABRT ||
        strstr(res.out, want) == NULL ||
        strstr(res.out, "CIO_STACK_SIZE") == NULL ||
        strstr(res.out, "cio_task_opts.stack_size") == NULL ||
        count_of(res.out, "stack overflow") != 1) {
        fprintf(stderr, "child status 0x%x, output:\n%s\n", res.status,
                res.out);
        fail_msg("no one-line overflow report for '%s'", cases[idx].task_name);
    }
    /* One line: the report ends at the first newline. */
    const char *line = strstr(res.out, want);
    const char *nl = strchr(line, '\n');
    assert_non_null(nl);
    assert_null(strstr(nl, "CIO_STACK_SIZE"));
}

static void overflow_frames_4k(void **state)
{
    (void)state;
    expect_report(0, overflow_child);
}

static void overflow_frames_64k(void **state)
{
    (void)state;
    expect_report(1, overflow_child);
}

static void overflow_frame_400k(void **state)
{
    (void)state;
    expect_report(2, overflow_child);
}

static void overflow_frame_4m(void **state)
{
    (void)state;
    expect_report(3, overflow_child);
}

static void overflow_frame_400k_pool_thread(void **state)
{
    (void)state;
    expect_report(2, pool_child);
}

/* ---- the rule on made-up addresses ------------------------------------ */

static void overflow_rule(void **state)
{
    (void)state;
    uintptr_t page = 4096;
    /* A made-up stack (never touched): guard page at base, usable above. */
    uintptr_t base = (uintptr_t)0x7f0000000000u;
    cio__coro c;
    memset(&c, 0, sizeof c);
    c.map_base = (void *)base;
    c.stack_lo = (void *)(base + page);
    c.stack_hi = (void *)(base + page + TASK_STACK);
    uintptr_t lo = base + page, hi = lo + TASK_STACK;
    uintptr_t alt_lo = hi + MIB, alt_hi = alt_lo + 64 * KIB;

    /* The stack pointer below the stack, the store anywhere. */
    assert_true(cio__coro_fault_is_overflow(&c, lo - 400 * KIB, lo - 400 * KIB,
                                            alt_lo, alt_hi));
    assert_true(
        cio__coro_fault_is_overflow(&c, lo - 4 * MIB, 16, alt_lo, alt_hi));
    assert_true(cio__coro_fault_is_overflow(&c, lo - 1, lo - 9, 0, 0));
    /* A stack pointer inside the stack: only a guard-page address counts. */
    assert_false(cio__coro_fault_is_overflow(&c, hi - 128, 16, alt_lo, alt_hi));
    assert_true(
        cio__coro_fault_is_overflow(&c, hi - 128, base + 8, alt_lo, alt_hi));
    assert_true(cio__coro_fault_is_overflow(&c, hi - 128, base - 60 * KIB,
                                            alt_lo, alt_hi));
    assert_false(cio__coro_fault_is_overflow(&c, hi - 128, base - 80 * KIB,
                                             alt_lo, alt_hi));
    assert_false(cio__coro_fault_is_overflow(&c, hi - 128, hi, alt_lo, alt_hi));
    /* Unknown stack pointer: the address decides. */
    assert_true(cio__coro_fault_is_overflow(&c, 0, base + 8, 0, 0));
    assert_false(cio__coro_fault_is_overflow(&c, 0, lo - 400 * KIB, 0, 0));
    /* A signal handler's stack, or a stack far away, is not this stack. */
    uintptr_t alt2_lo = lo - 200 * KIB, alt2_hi = lo - 100 * KIB;
    assert_false(
        cio__coro_fault_is_overflow(&c, alt2_lo + 64, 16, alt2_lo, alt2_hi));
    assert_false(cio__coro_fault_is_overflow(&c, lo - ((uintptr_t)2 << 30), 16,
                                             alt_lo, alt_hi));
    /* A thread's own stack (main coroutine) is never reported. */
    c.flags = CIO__CORO_F_MAIN;
    assert_false(cio__coro_fault_is_overflow(&c, lo - 400 * KIB, base + 8,
                                             alt_lo, alt_hi));
    c.flags = 0;
    assert_false(cio__coro_fault_is_overflow(NULL, lo - 1, base + 8, 0, 0));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(overflow_rule),
    cmocka_unit_test(overflow_frames_4k),
    cmocka_unit_test(overflow_frames_64k),
    cmocka_unit_test(overflow_frame_400k),
    cmocka_unit_test(overflow_frame_4m),
    cmocka_unit_test(overflow_frame_400k_pool_thread),
};

CIO_TEST_MAIN(tests)
