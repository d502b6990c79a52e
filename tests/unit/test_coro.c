/*
 * test_coro.c - the coroutine layer (src/coro/): switching, stacks, pools,
 * compact slabs, overflow reports, sanitizer-friendliness.
 *
 * Fatal paths (guard-page hit, smashed canary, a body that returns, ENOMEM
 * with its one-time message) run in a forked child whose stderr is a pipe;
 * the parent checks the exit signal and the text. Children never use
 * cmocka asserts: they report through their exit code.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cio_test.h"
#include "cio_testutil_child.h"
#include "coro/coro.h"
#include "coro/stack.h"


#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

#define KIB ((size_t)1024)

static cio__coro_opts guarded_opts(size_t size)
{
    cio__coro_opts o = {size, 0};
    return o;
}

static cio__coro_opts compact_opts(size_t size)
{
    cio__coro_opts o = {size, 1};
    return o;
}

/* ---- child-process harness ---------------------------------------------- */

/* cmocka catches SIGSEGV per test and longjmps back into the runner; a
 * child wants the real behaviour: cio's handler first, then the default
 * action. */
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

/* Runs fn in a child with stderr captured (tests/support). */
static void run_child(void (*fn)(void), tu_child_result *res)
{
    tu_run_child(child_prep, fn, res);
}

static void expect_abort_with(const tu_child_result *res, const char *a,
                              const char *b)
{
    if (!WIFSIGNALED(res->status) || WTERMSIG(res->status) != SIGABRT ||
        strstr(res->out, a) == NULL || (b && strstr(res->out, b) == NULL)) {
        fprintf(stderr, "child status 0x%x, output:\n%s\n", res->status,
                res->out);
        fail_msg("child did not abort with the expected message");
    }
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* ---- ping-pong ---------------------------------------------------------- */

static cio__coro pp_co;
static cio__coro *pp_main;
static long pp_value;

static void pp_body(void *arg)
{
    long *rounds = arg;
    for (long i = 0; i < *rounds; i++) {
        assert_int_equal(pp_value, 2 * i);
        pp_value++;
        cio__coro_switch(&pp_co, pp_main);
    }
    cio__coro_exit(&pp_co, pp_main);
}

static void coro_ping_pong(void **state)
{
    (void)state;
    long rounds = UNDER_VALGRIND() ? 20000 : 200000;
    pp_main = cio__coro_current();
    assert_non_null(pp_main);
    assert_true(pp_main == cio__coro_current());
    assert_true(pp_main->flags & CIO__CORO_F_MAIN);
    cio__coro_opts o = guarded_opts(0);
    assert_int_equal(cio__coro_create(&pp_co, &o, pp_body, &rounds), 0);
    cio__coro_set_name(&pp_co, "ping-pong");
    pp_value = 0;
    for (long i = 0; i < rounds; i++) {
        cio__coro_switch(pp_main, &pp_co);
        assert_true(cio__coro_current() == pp_main);
        assert_int_equal(pp_value, 2 * i + 1);
        pp_value++;
    }
    cio__coro_switch(pp_main, &pp_co); /* runs to cio__coro_exit */
    assert_true(pp_co.flags & CIO__CORO_F_EXITED);
    cio__coro_destroy(&pp_co);
    assert_null(pp_co.map_base);
}

/* ---- nested ------------------------------------------------------------- */

static cio__coro nest_a, nest_b;
static cio__coro *nest_main;
static char nest_log[16];
static size_t nest_len;

static void nest_mark(char c)
{
    nest_log[nest_len++] = c;
}

static void nest_b_body(void *arg)
{
    (void)arg;
    assert_true(cio__coro_current() == &nest_b);
    nest_mark('b');
    cio__coro_switch(&nest_b, &nest_a);
    nest_mark('B');
    cio__coro_exit(&nest_b, &nest_a);
}

static void nest_a_body(void *arg)
{
    (void)arg;
    assert_true(cio__coro_current() == &nest_a);
    nest_mark('a');
    cio__coro_opts o = compact_opts(0);
    assert_int_equal(cio__coro_create(&nest_b, &o, nest_b_body, NULL), 0);
    cio__coro_switch(&nest_a, &nest_b);
    assert_true(cio__coro_current() == &nest_a);
    nest_mark('A');
    cio__coro_switch(&nest_a, &nest_b); /* B exits back here */
    cio__coro_destroy(&nest_b);
    nest_mark('x');
    cio__coro_exit(&nest_a, nest_main);
}

static void coro_nested(void **state)
{
    (void)state;
    nest_main = cio__coro_current();
    nest_len = 0;
    memset(nest_log, 0, sizeof nest_log);
    cio__coro_opts o = guarded_opts(0);
    assert_int_equal(cio__coro_create(&nest_a, &o, nest_a_body, NULL), 0);
    /* Creating does not run anything. */
    assert_int_equal(nest_len, 0);
    cio__coro_switch(nest_main, &nest_a);
    assert_true(cio__coro_current() == nest_main);
    assert_string_equal(nest_log, "abABx");
    cio__coro_destroy(&nest_a);
}

/* ---- lifecycle corner: destroy without ever running --------------------- */

static void never_body(void *arg)
{
    (void)arg;
    abort();
}

static void coro_destroy_unstarted(void **state)
{
    (void)state;
    cio__coro c;
    cio__coro_opts g = guarded_opts(0), k = compact_opts(0);
    assert_int_equal(cio__coro_create(&c, &g, never_body, NULL), 0);
    cio__coro_destroy(&c);
    assert_int_equal(cio__coro_create(&c, &k, never_body, NULL), 0);
    cio__coro_destroy(&c);
    cio__coro_destroy(&c); /* second destroy is a no-op */
    assert_int_equal(cio__coro_create(NULL, &g, never_body, NULL), -EINVAL);
    assert_int_equal(cio__coro_create(&c, &g, NULL, NULL), -EINVAL);
    cio__coro_opts bad = {0, 7};
    assert_int_equal(cio__coro_create(&c, &bad, never_body, NULL), -EINVAL);
    cio__coro_opts huge = {(size_t)1 << 30, 1}; /* compact above a slab */
    assert_int_equal(cio__coro_create(&c, &huge, never_body, NULL), -EINVAL);
}

/* ---- pool reuse --------------------------------------------------------- */

struct simple {
    cio__coro co;
    cio__coro *back;
    int runs;
};

static void simple_body(void *arg)
{
    struct simple *s = arg;
    s->runs++;
    cio__coro_switch(&s->co, s->back);
    s->runs++;
    cio__coro_exit(&s->co, s->back);
}

static void run_simple(struct simple *s)
{
    s->back = cio__coro_current();
    cio__coro_switch(s->back, &s->co);
    cio__coro_switch(s->back, &s->co);
    assert_int_equal(s->runs, 2);
}

static void coro_stack_pool_reuse(void **state)
{
    (void)state;
    struct simple s = {.runs = 0};
    cio__coro_opts o = guarded_opts(96 * KIB);
    assert_int_equal(cio__coro_create(&s.co, &o, simple_body, &s), 0);
    void *first = s.co.map_base;
    run_simple(&s);
    cio__coro_destroy(&s.co);

    s.runs = 0;
    assert_int_equal(cio__coro_create(&s.co, &o, simple_body, &s), 0);
    assert_ptr_equal(s.co.map_base, first);
    run_simple(&s);
    cio__coro_destroy(&s.co);

    /* Compact slots come back through the free list the same way. */
    cio__coro_opts k = compact_opts(28 * KIB);
    s.runs = 0;
    assert_int_equal(cio__coro_create(&s.co, &k, simple_body, &s), 0);
    first = s.co.map_base;
    run_simple(&s);
    cio__coro_destroy(&s.co);
    s.runs = 0;
    assert_int_equal(cio__coro_create(&s.co, &k, simple_body, &s), 0);
    assert_ptr_equal(s.co.map_base, first);
    run_simple(&s);
    cio__coro_destroy(&s.co);
}

/* ---- stack sizes -------------------------------------------------------- */

struct touch {
    cio__coro co;
    cio__coro *back;
    size_t bytes;
    int done;
};

/* Writes every page of a local array of t->bytes bytes, then returns so
 * the array is popped before the body switches out. */
static NOINLINE void touch_pages(size_t bytes)
{
    volatile char *p = __builtin_alloca(bytes);
    for (size_t i = 0; i < bytes; i += 512)
        p[i] = (char)i;
    p[bytes - 1] = 1;
}

static void touch_body(void *arg)
{
    struct touch *t = arg;
    touch_pages(t->bytes);
    t->done = 1;
    cio__coro_exit(&t->co, t->back);
}

static void coro_stack_size_honoured(void **state)
{
    (void)state;
    static const struct {
        size_t size;
        int compact;
    } cases[] = {
        {16 * KIB, 0},   {64 * KIB, 0}, {256 * KIB, 0}, {1024 * KIB, 0},
        {4096 * KIB, 0}, {32 * KIB, 1}, {128 * KIB, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct touch t = {.bytes = cases[i].size - 4 * KIB, .done = 0};
        cio__coro_opts o = {cases[i].size, cases[i].compact};
        assert_int_equal(cio__coro_create(&t.co, &o, touch_body, &t), 0);
        size_t usable = (size_t)((char *)t.co.stack_hi - (char *)t.co.stack_lo);
        if (cases[i].compact)
            assert_int_equal(usable, cases[i].size - CIO__CANARY_BYTES);
        else
            assert_int_equal(usable, cases[i].size);
        t.back = cio__coro_current();
        cio__coro_switch(t.back, &t.co);
        assert_int_equal(t.done, 1);
        cio__coro_destroy(&t.co);
    }
    /* Sizes are rounded up to pages and raised to 16 KiB. */
    struct touch t = {.bytes = 1, .done = 0};
    cio__coro_opts o = guarded_opts(5000);
    assert_int_equal(cio__coro_create(&t.co, &o, touch_body, &t), 0);
    assert_int_equal((char *)t.co.stack_hi - (char *)t.co.stack_lo, 16 * KIB);
    cio__coro_destroy(&t.co);
    o = guarded_opts(20 * KIB + 1);
    assert_int_equal(cio__coro_create(&t.co, &o, touch_body, &t), 0);
    assert_int_equal((char *)t.co.stack_hi - (char *)t.co.stack_lo, 24 * KIB);
    cio__coro_destroy(&t.co);
}

/* ---- registers and floating point -------------------------------------- */

static cio__coro reg_co;
static cio__coro *reg_main;
static volatile long reg_sink;

/* Many live integer and double values across each switch: the compiler
 * keeps some in callee-saved registers (rbx, r12-r15 / x19-x28, d8-d15),
 * which the switch must preserve. */
#define MIX(a, b, c, d, e, f, x, y, i)                                         \
    do {                                                                       \
        a = a * 6364136223846793005u + 1442695040888963407u;                   \
        b ^= a >> 7;                                                           \
        c += b * 3 + (unsigned long)(i);                                       \
        d = (d << 5) ^ c;                                                      \
        e -= d ^ a;                                                            \
        f = f * 31 + e;                                                        \
        x = x * 1.000001 + (double)(i & 7) * 0.5;                              \
        y = y / 1.0000003 + x * 1e-9;                                          \
    } while (0)

static void reg_compute(int rounds, int do_switch, unsigned long out[6],
                        double dout[2], cio__coro *self, cio__coro *peer)
{
    unsigned long a = 1, b = 2, c = 3, d = 4, e = 5, f = 6;
    double x = 1.25, y = 1e6;
    for (int i = 0; i < rounds; i++) {
        MIX(a, b, c, d, e, f, x, y, i);
        if (do_switch)
            cio__coro_switch(self, peer);
    }
    out[0] = a, out[1] = b, out[2] = c, out[3] = d, out[4] = e, out[5] = f;
    dout[0] = x, dout[1] = y;
}

static unsigned long reg_co_out[6];
static double reg_co_dout[2];

static void reg_body(void *arg)
{
    int rounds = *(int *)arg;
    /* The coroutine runs its own different computation meanwhile. */
    unsigned long p = 99, q = 7, r = 1;
    double z = 3.5;
    for (int i = 0; i < rounds; i++) {
        p = p * 2862933555777941757u + 3037000493u;
        q += p >> 11;
        r ^= q * 5;
        z = z * 0.999999 + 1.0;
        cio__coro_switch(&reg_co, reg_main);
    }
    reg_co_out[0] = p, reg_co_out[1] = q, reg_co_out[2] = r;
    reg_co_dout[0] = z;
    cio__coro_exit(&reg_co, reg_main);
}

static void coro_registers_preserved(void **state)
{
    (void)state;
    int rounds = 5000;
    reg_main = cio__coro_current();
    cio__coro_opts o = guarded_opts(0);
    assert_int_equal(cio__coro_create(&reg_co, &o, reg_body, &rounds), 0);

    unsigned long want[6], got[6];
    double dwant[2], dgot[2];
    reg_compute(rounds, 0, want, dwant, NULL, NULL);
    reg_compute(rounds, 1, got, dgot, reg_main, &reg_co);
    cio__coro_switch(reg_main, &reg_co); /* lets it exit */
    cio__coro_destroy(&reg_co);
    for (int i = 0; i < 6; i++)
        assert_int_equal(got[i], want[i]);
    assert_true(dgot[0] == dwant[0]);
    assert_true(dgot[1] == dwant[1]);

    unsigned long p = 99, q = 7, r = 1;
    double z = 3.5;
    for (int i = 0; i < rounds; i++) {
        p = p * 2862933555777941757u + 3037000493u;
        q += p >> 11;
        r ^= q * 5;
        z = z * 0.999999 + 1.0;
    }
    assert_int_equal(reg_co_out[0], p);
    assert_int_equal(reg_co_out[1], q);
    assert_int_equal(reg_co_out[2], r);
    assert_true(reg_co_dout[0] == z);
    reg_sink = (long)got[0];
}

#if defined(__x86_64__)
static unsigned get_mxcsr(void)
{
    unsigned v;
    __asm__ volatile("stmxcsr %0" : "=m"(v));
    return v;
}

static void set_mxcsr(unsigned v)
{
    __asm__ volatile("ldmxcsr %0" : : "m"(v));
}

static unsigned short get_x87cw(void)
{
    unsigned short v;
    __asm__ volatile("fnstcw %0" : "=m"(v));
    return v;
}

static void set_x87cw(unsigned short v)
{
    __asm__ volatile("fldcw %0" : : "m"(v));
}

#define MXCSR_RC_MASK 0x6000u
#define MXCSR_RC_DOWN 0x2000u
#define MXCSR_RC_UP 0x4000u
#define MXCSR_RC_ZERO 0x6000u
#define X87_RC_MASK 0x0c00u
#define X87_RC_UP 0x0800u

static cio__coro fp_co;
static cio__coro *fp_main;
static unsigned fp_seen_at_start;
static int fp_ok;

static void fp_body(void *arg)
{
    (void)arg;
    fp_seen_at_start = get_mxcsr();
    unsigned mine = (get_mxcsr() & ~MXCSR_RC_MASK) | MXCSR_RC_UP;
    unsigned short mine87 =
        (unsigned short)((get_x87cw() & ~X87_RC_MASK) | X87_RC_UP);
    set_mxcsr(mine);
    set_x87cw(mine87);
    cio__coro_switch(&fp_co, fp_main);
    /* Main changed its own mode meanwhile; ours is intact. */
    fp_ok = get_mxcsr() == mine && get_x87cw() == mine87;
    cio__coro_exit(&fp_co, fp_main);
}
#endif

static void coro_fp_control_per_coroutine(void **state)
{
    (void)state;
#if defined(__x86_64__)
    fp_main = cio__coro_current();
    unsigned m0 = get_mxcsr();
    unsigned short c0 = get_x87cw();

    /* A new coroutine starts with its creator's control state as of
     * cio__coro_create (here: round toward zero). */
    set_mxcsr((m0 & ~MXCSR_RC_MASK) | MXCSR_RC_ZERO);
    cio__coro_opts o = guarded_opts(0);
    assert_int_equal(cio__coro_create(&fp_co, &o, fp_body, NULL), 0);
    set_mxcsr(m0);

    cio__coro_switch(fp_main, &fp_co);
    assert_int_equal(fp_seen_at_start & MXCSR_RC_MASK, MXCSR_RC_ZERO);
    /* The coroutine's rounding mode did not leak into main. */
    assert_int_equal(get_mxcsr(), m0);
    assert_int_equal(get_x87cw(), c0);

    unsigned down = (m0 & ~MXCSR_RC_MASK) | MXCSR_RC_DOWN;
    set_mxcsr(down);
    cio__coro_switch(fp_main, &fp_co);
    assert_true(fp_ok);
    assert_int_equal(get_mxcsr(), down);
    assert_int_equal(get_x87cw(), c0);
    set_mxcsr(m0);
    cio__coro_destroy(&fp_co);
#else
    skip(); /* FPCR is thread-wide on AArch64; nothing per coroutine */
#endif
}

/* ---- overflow of a guarded stack (child) -------------------------------- */

static volatile char *dig_floor;

/* Recursion that fills each frame so every byte on the way down is
 * written; stops when its frame passes dig_floor (NULL: never). */
static NOINLINE int dig(int depth)
{
    volatile char buf[512];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)(depth + 0x41);
    if (dig_floor != NULL && buf < dig_floor)
        return buf[3];
    return dig(depth + 1) + buf[depth % 512];
}

static cio__coro ovf_co;

static void ovf_body(void *arg)
{
    (void)arg;
    reg_sink = dig(0);
    cio__coro_switch(&ovf_co, cio__coro_current()); /* not reached */
    _exit(3);
}

static void guard_child(void)
{
    cio__coro *m = cio__coro_current();
    dig_floor = NULL;
    cio__coro_opts o = guarded_opts(64 * KIB);
    if (cio__coro_create(&ovf_co, &o, ovf_body, NULL) != 0)
        _exit(2);
    cio__coro_set_name(&ovf_co, "deep-recursion-task");
    cio__coro_switch(m, &ovf_co);
    _exit(4);
}

static void coro_guard_overflow_child(void **state)
{
    (void)state;
    tu_child_result res;
    run_child(guard_child, &res);
    expect_abort_with(&res, "stack overflow in task 'deep-recursion-task'",
                      "(stack of 65536 bytes");
    assert_non_null(strstr(res.out, "CIO_STACK_SIZE"));
    assert_int_equal(count_of(res.out, "stack overflow"), 1);
}

/* An unrelated fault in a coroutine still kills the process the ordinary
 * way (the handler hands it on), not as an overflow. */
static volatile uintptr_t wild_addr = 16;

static void wild_body(void *arg)
{
    (void)arg;
    volatile int *p = (volatile int *)wild_addr;
    *p = 1;
    _exit(5);
}

static void wild_child(void)
{
    cio__coro *m = cio__coro_current();
    cio__coro c;
    cio__coro_opts o = guarded_opts(0);
    if (cio__coro_create(&c, &o, wild_body, NULL) != 0)
        _exit(2);
    cio__coro_set_name(&c, "wild");
    cio__coro_switch(m, &c);
    _exit(4);
}

static void coro_unrelated_fault_child(void **state)
{
    (void)state;
    if (UNDER_VALGRIND())
        skip(); /* works, but the child's memcheck report clutters the log */
    tu_child_result res;
    run_child(wild_child, &res);
    assert_null(strstr(res.out, "stack overflow"));
    assert_true(WIFSIGNALED(res.status));
    assert_int_equal(WTERMSIG(res.status), SIGSEGV);
}

/* ---- overflow of a compact stack (child) -------------------------------- */

static cio__coro canary_lower, canary_victim;
static cio__coro *canary_main;

static void canary_body(void *arg)
{
    (void)arg;
    /* Go 300 bytes below the usable area: through the canary, into the
     * top of the (idle) slot underneath, which is mapped. */
    dig_floor = (volatile char *)canary_victim.stack_lo - 300;
    reg_sink = dig(0);
    cio__coro_switch(&canary_victim, canary_main); /* must abort here */
    _exit(3);
}

static void canary_child(void)
{
    canary_main = cio__coro_current();
    /* A slot size no other test uses, so both come fresh and adjacent
     * from the slab; retry across a slab boundary. */
    size_t size = 20 * KIB;
    cio__coro_opts o = compact_opts(size);
    if (cio__coro_create(&canary_lower, &o, never_body, NULL) != 0)
        _exit(2);
    for (int tries = 0; tries < 4; tries++) {
        if (cio__coro_create(&canary_victim, &o, canary_body, NULL) != 0)
            _exit(2);
        if ((char *)canary_victim.map_base ==
            (char *)canary_lower.map_base + size)
            break;
        canary_lower = canary_victim;
    }
    if ((char *)canary_victim.map_base != (char *)canary_lower.map_base + size)
        _exit(6);
    cio__coro_set_name(&canary_victim, "compact-victim");
    cio__coro_switch(canary_main, &canary_victim);
    _exit(4);
}

static void coro_canary_overflow_child(void **state)
{
    (void)state;
    tu_child_result res;
    run_child(canary_child, &res);
    expect_abort_with(&res,
                      "stack overflow detected in task 'compact-victim' "
                      "(compact stack of 20480 bytes)",
                      "raise stack_size or use guarded stacks");
}

/* ---- body that returns (child) ----------------------------------------- */

static void returning_body(void *arg)
{
    (void)arg;
}

static void return_child(void)
{
    cio__coro c;
    cio__coro_opts o = guarded_opts(0);
    if (cio__coro_create(&c, &o, returning_body, NULL) != 0)
        _exit(2);
    cio__coro_set_name(&c, "returner");
    cio__coro_switch(cio__coro_current(), &c);
    _exit(4);
}

static void coro_return_aborts_child(void **state)
{
    (void)state;
    tu_child_result res;
    run_child(return_child, &res);
    expect_abort_with(&res, "coroutine 'returner' returned", NULL);
}

/* ---- ENOMEM (children) -------------------------------------------------- */

static void enomem_rlimit_child(void)
{
    /* Address space just above what is mapped now: the next stack mmap
     * fails with ENOMEM. */
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f == NULL || fscanf(f, "%lu", &pages) != 1)
        _exit(10);
    fclose(f);
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max =
        (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + 2 * 1024 * 1024;
    if (setrlimit(RLIMIT_AS, &rl) != 0)
        _exit(11);
    cio__coro c;
    cio__coro_opts g = guarded_opts(8 * 1024 * KIB);
    if (cio__coro_create(&c, &g, never_body, NULL) != -ENOMEM)
        _exit(12);
    if (c.map_base != NULL)
        _exit(13);
    if (cio__coro_create(&c, &g, never_body, NULL) != -ENOMEM)
        _exit(14);
    /* A compact stack may still fit in the current slab; if a new slab
     * is needed it fails the same way. Either is fine, a crash is not. */
    cio__coro_opts k = compact_opts(64 * 1024 * KIB);
    int r = cio__coro_create(&c, &k, never_body, NULL);
    if (r == 0)
        cio__coro_destroy(&c);
    else if (r != -ENOMEM)
        _exit(15);
    _exit(0);
}

static void coro_enomem_rlimit_child(void **state)
{
    (void)state;
    tu_child_result res;
    run_child(enomem_rlimit_child, &res);
    if (!WIFEXITED(res.status) || WEXITSTATUS(res.status) != 0) {
        fprintf(stderr, "status 0x%x output: %s\n", res.status, res.out);
        fail();
    }
    assert_int_equal(count_of(res.out, "cio: cannot map"), 1);
    assert_int_equal(count_of(res.out, "\n"), 1);
    assert_non_null(strstr(res.out, "vm.max_map_count"));
    assert_non_null(strstr(res.out, "CIO_STACK_COMPACT=1"));
}

static void enomem_mapcount_child(void)
{
    /* The real limit: guarded stacks until vm.max_map_count runs out. */
    size_t cap = 200000, n = 0;
    cio__coro *v = calloc(cap, sizeof *v);
    if (v == NULL)
        _exit(10);
    int r = 0;
    cio__coro_opts o = guarded_opts(24 * KIB);
    while (n < cap && (r = cio__coro_create(&v[n], &o, never_body, NULL)) == 0)
        n++;
    if (r != -ENOMEM)
        _exit(11);
    /* Fewer than max_map_count / 2 stacks fit, and some did. */
    if (n < 1000 || n > 65530 / 2)
        _exit(12);
    /* After freeing, creation works again. */
    for (size_t i = 0; i < n; i++)
        cio__coro_destroy(&v[i]);
    if (cio__coro_create(&v[0], &o, never_body, NULL) != 0)
        _exit(13);
    cio__coro_destroy(&v[0]);
    free(v);
    _exit(0);
}

static void coro_enomem_map_count_child(void **state)
{
    (void)state;
    /* Under ASan, TSan and valgrind the tool's own runtime needs new
     * mappings too and dies first once the limit is reached (valgrind:
     * "VG_N_SEGMENTS is too low"), so only plain builds run this. The
     * RLIMIT_AS test above covers the ENOMEM path under every tool. */
    if (UNDER_VALGRIND())
        skip();
#if defined(CIO__ASAN) || defined(CIO__TSAN)
    skip();
#endif
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    long mmc = 0;
    if (f != NULL) {
        if (fscanf(f, "%ld", &mmc) != 1)
            mmc = 0;
        fclose(f);
    }
    if (mmc <= 0 || mmc > 65530)
        skip(); /* raised limit: would take too long here */
    tu_child_result res;
    run_child(enomem_mapcount_child, &res);
    if (!WIFEXITED(res.status) || WEXITSTATUS(res.status) != 0) {
        fprintf(stderr, "status 0x%x output: %s\n", res.status, res.out);
        fail();
    }
    assert_int_equal(count_of(res.out, "cio: cannot map"), 1);
    assert_non_null(strstr(res.out, "vm.max_map_count"));
}

/* ---- CIO_STACK_SIZE ------------------------------------------------------ */

static void coro_parse_size(void **state)
{
    (void)state;
    size_t v = 0;
    assert_int_equal(cio__coro_parse_size("65536", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(cio__coro_parse_size("64K", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(cio__coro_parse_size("64k", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(cio__coro_parse_size("64KiB", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(cio__coro_parse_size("2M", &v), 0);
    assert_int_equal(v, 2 * 1024 * 1024);
    assert_int_equal(cio__coro_parse_size("1G", &v), 0);
    assert_int_equal(v, 1024 * 1024 * 1024);
    assert_int_equal(cio__coro_parse_size("100000", &v), 0);
    assert_int_equal(v, 102400); /* rounded up to pages */
    assert_int_equal(cio__coro_parse_size("1000", &v), 0);
    assert_int_equal(v, 16384); /* raised to the minimum */
    assert_int_equal(cio__coro_parse_size("4K", &v), 0);
    assert_int_equal(v, 16384);
    v = 7;
    assert_int_equal(cio__coro_parse_size("", &v), -EINVAL);
    assert_int_equal(cio__coro_parse_size(NULL, &v), -EINVAL);
    assert_int_equal(cio__coro_parse_size("0", &v), -EINVAL);
    assert_int_equal(cio__coro_parse_size("-5", &v), -EINVAL);
    assert_int_equal(cio__coro_parse_size("12Q", &v), -EINVAL);
    assert_int_equal(cio__coro_parse_size("64 K", &v), -EINVAL);
    assert_int_equal(cio__coro_parse_size("K", &v), -EINVAL);
    assert_int_equal(cio__coro_parse_size("99999999999999999999999", &v),
                     -EINVAL);
    assert_int_equal(cio__coro_parse_size("99999999999999G", &v), -EINVAL);
    assert_int_equal(v, 7);
}

#if defined(CIO__ASAN)
#define DEF_GUARDED (1024 * KIB)
#define DEF_COMPACT (64 * KIB)
#else
#define DEF_GUARDED (256 * KIB)
#define DEF_COMPACT (16 * KIB)
#endif

static void env_child(void)
{
    unsetenv("CIO_STACK_SIZE");
    unsetenv("CIO_STACK_COMPACT");
    cio__coro_reset_defaults();
    if (cio__coro_default_stack_size() != DEF_GUARDED)
        _exit(10);
    if (cio__coro_default_compact() != 0)
        _exit(11);
    if (cio__coro_default_stack_size_for(1) != DEF_COMPACT)
        _exit(12);

    setenv("CIO_STACK_SIZE", "512K", 1);
    cio__coro_reset_defaults();
    if (cio__coro_default_stack_size() != 512 * KIB)
        _exit(13);
    cio__coro c;
    if (cio__coro_create(&c, NULL, never_body, NULL) != 0)
        _exit(14);
    if ((char *)c.stack_hi - (char *)c.stack_lo != (long)(512 * KIB) ||
        (c.flags & CIO__CORO_F_COMPACT))
        _exit(15);
    cio__coro_destroy(&c);

    setenv("CIO_STACK_SIZE", "bogus", 1);
    cio__coro_reset_defaults();
    if (cio__coro_default_stack_size() != DEF_GUARDED)
        _exit(16);

    unsetenv("CIO_STACK_SIZE");
    setenv("CIO_STACK_COMPACT", "1", 1);
    cio__coro_reset_defaults();
    if (cio__coro_default_compact() != 1 ||
        cio__coro_default_stack_size() != DEF_COMPACT)
        _exit(17);
    if (cio__coro_create(&c, NULL, never_body, NULL) != 0)
        _exit(18);
    if (!(c.flags & CIO__CORO_F_COMPACT) || c.map_size != DEF_COMPACT)
        _exit(19);
    cio__coro_destroy(&c);
    /* Explicit opts win over the environment. */
    cio__coro_opts g = guarded_opts(0);
    if (cio__coro_create(&c, &g, never_body, NULL) != 0)
        _exit(20);
    if (c.flags & CIO__CORO_F_COMPACT)
        _exit(21);
    cio__coro_destroy(&c);
    _exit(0);
}

static void coro_env_defaults_child(void **state)
{
    (void)state;
    tu_child_result res;
    run_child(env_child, &res);
    if (!WIFEXITED(res.status) || WEXITSTATUS(res.status) != 0) {
        fprintf(stderr, "status 0x%x output: %s\n", res.status, res.out);
        fail();
    }
    assert_int_equal(count_of(res.out, "invalid CIO_STACK_SIZE='bogus'"), 1);
}

/* ---- many at once ------------------------------------------------------- */

struct many {
    cio__coro co;
    cio__coro *back;
    unsigned hits;
};

static void many_body(void *arg)
{
    struct many *m = arg;
    m->hits++;
    cio__coro_switch(&m->co, m->back);
    m->hits++;
    cio__coro_exit(&m->co, m->back);
}

/* TSan treats every fiber as a thread: GCC 12's runtime dies above 8128
 * live ones ("Thread limit exceeded") and maps a 1 MiB trace for each. */
#define TSAN_MAX_FIBERS 4000

static void run_many(size_t n, int compact)
{
    struct many *v = calloc(n, sizeof *v);
    assert_non_null(v);
    cio__coro *m = cio__coro_current();
    cio__coro_opts o = {0, compact};
    for (size_t i = 0; i < n; i++) {
        v[i].back = m;
        int r = cio__coro_create(&v[i].co, &o, many_body, &v[i]);
        if (r != 0) {
            fprintf(stderr, "create %zu of %zu: %d\n", i, n, r);
            fail();
        }
    }
    /* All alive; two rounds so every stack is entered and resumed. */
    for (size_t i = 0; i < n; i++)
        cio__coro_switch(m, &v[i].co);
    for (size_t i = n; i-- > 0;)
        cio__coro_switch(m, &v[i].co);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v[i].hits, 2);
        cio__coro_destroy(&v[i].co);
    }
    free(v);
}

static void coro_many_guarded(void **state)
{
    (void)state;
    size_t n = 10000;
#if defined(CIO__TSAN)
    n = TSAN_MAX_FIBERS;
#endif
    run_many(n, 0);
}

static void coro_many_compact(void **state)
{
    (void)state;
    size_t n = 100000;
    /* Valgrind looks registered stacks up linearly on stack switches:
     * 100,000 of them take about 95 s there, 10,000 take a few. */
    if (UNDER_VALGRIND())
        n = 10000;
#if defined(CIO__TSAN)
    n = TSAN_MAX_FIBERS;
#endif
    run_many(n, 1);
}

/* ---- threads ------------------------------------------------------------ */

static cio__coro th_co;
static cio__coro *th_resumer;
static int th_steps;

static void th_body(void *arg)
{
    (void)arg;
    for (;;) {
        th_steps++;
        if (th_steps == 3)
            cio__coro_exit(&th_co, th_resumer);
        cio__coro_switch(&th_co, th_resumer);
    }
}

static void *th_main(void *arg)
{
    struct simple *own = arg;
    /* Resume a coroutine created on the main thread. */
    th_resumer = cio__coro_current();
    cio__coro_switch(th_resumer, &th_co);
    /* Create and run one of its own, left for main to destroy. */
    cio__coro_opts o = compact_opts(0);
    if (cio__coro_create(&own->co, &o, simple_body, own) == 0)
        run_simple(own);
    /* And one destroyed here so this thread's pool has something to free
     * at exit. */
    struct simple mine = {.runs = 0};
    cio__coro_opts g = guarded_opts(0);
    if (cio__coro_create(&mine.co, &g, simple_body, &mine) == 0) {
        run_simple(&mine);
        cio__coro_destroy(&mine.co);
    }
    return NULL;
}

static void coro_cross_thread(void **state)
{
    (void)state;
    th_steps = 0;
    cio__coro_opts o = guarded_opts(0);
    assert_int_equal(cio__coro_create(&th_co, &o, th_body, NULL), 0);
    th_resumer = cio__coro_current();
    cio__coro_switch(th_resumer, &th_co); /* step 1 on main */
    assert_int_equal(th_steps, 1);

    struct simple own = {.runs = 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, th_main, &own), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(th_steps, 2);
    assert_int_equal(own.runs, 2);
    cio__coro_destroy(&own.co); /* made on the other thread */

    th_resumer = cio__coro_current();
    cio__coro_switch(th_resumer, &th_co); /* step 3: exits */
    assert_int_equal(th_steps, 3);
    cio__coro_destroy(&th_co); /* ran on two threads, freed here */
}

static const struct CMUnitTest coro_tests[] = {
    cmocka_unit_test(coro_ping_pong),
    cmocka_unit_test(coro_nested),
    cmocka_unit_test(coro_destroy_unstarted),
    cmocka_unit_test(coro_stack_pool_reuse),
    cmocka_unit_test(coro_stack_size_honoured),
    cmocka_unit_test(coro_registers_preserved),
    cmocka_unit_test(coro_fp_control_per_coroutine),
    cmocka_unit_test(coro_guard_overflow_child),
    cmocka_unit_test(coro_unrelated_fault_child),
    cmocka_unit_test(coro_canary_overflow_child),
    cmocka_unit_test(coro_return_aborts_child),
    cmocka_unit_test(coro_enomem_rlimit_child),
    cmocka_unit_test(coro_enomem_map_count_child),
    cmocka_unit_test(coro_parse_size),
    cmocka_unit_test(coro_env_defaults_child),
    cmocka_unit_test(coro_many_guarded),
    cmocka_unit_test(coro_many_compact),
    cmocka_unit_test(coro_cross_thread),
};

CIO_TEST_MAIN(coro_tests)
