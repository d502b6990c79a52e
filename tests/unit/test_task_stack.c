/* cio-test: label=core */
/*
 * test_task_stack.c - the stack limit seen from tasks: creation secures a
 * stack (a per-loop reservation, src/task/task.c), so running out of stack
 * mappings fails cio_task_create with -ENOMEM and one line naming the
 * options, and every task created before the limit still runs.
 *
 * The limit is simulated as test_coro.c does: a forked child lowers
 * RLIMIT_AS to just above what it has mapped, so the next stack mmap fails
 * with ENOMEM. Stacks are made 4 MiB (CIO_STACK_SIZE) so that they, not
 * malloc, hit the limit. Children never use cmocka asserts: they report
 * through their exit code, and the counting allocator tells leaks.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cio_testutil.h"
#include "cio_testutil_child.h"
#include "coro/coro.h"
#include "task/task.h"

#define MAX_TASKS 64
#define STACK_MIB 4

/* ---- child-process harness ---------------------------------------------- */

/* Runs fn in a child with stderr captured (tests/support). */
static void run_child(void (*fn)(void), tu_child_result *res)
{
    tu_run_child(NULL, fn, res);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* The child exited 0 and printed the stack-limit line exactly once. */
static void expect_clean_enomem(const tu_child_result *res)
{
    if (!WIFEXITED(res->status) || WEXITSTATUS(res->status) != 0) {
        fprintf(stderr, "child status 0x%x, output:\n%s\n", res->status,
                res->out);
        fail_msg("child failed");
    }
    assert_int_equal(count_of(res->out, "cio: cannot map a coroutine stack"),
                     1);
    assert_int_equal(count_of(res->out, "\n"), 1);
    /* Names the options that really exist, nothing else. */
    assert_non_null(strstr(res->out, "CIO_STACK_COMPACT=1"));
    assert_non_null(strstr(res->out, "CIO_STACK_SIZE"));
    assert_non_null(strstr(res->out, "stack_size"));
    assert_non_null(strstr(res->out, "vm.max_map_count"));
    assert_null(strstr(res->out, "compact field"));
}

#define CHECK(cond, code)                                                     \
    do {                                                                      \
        if (!(cond))                                                          \
            _exit(code);                                                      \
    } while (0)

/* Child set-up: counting allocator, 4 MiB default stacks, a loop that has
 * run one task (so its one-time allocations are made), then RLIMIT_AS
 * lowered to leave room for a few stacks only. */
static cio_loop *limited_loop(void)
{
    CHECK(cio_set_allocator(&tu_allocator) == 0, 40);
    CHECK(setenv("CIO_STACK_SIZE", "4M", 1) == 0, 41);
    CHECK(unsetenv("CIO_STACK_COMPACT") == 0, 41);
    cio__coro_reset_defaults();
    cio_loop_opts o = CIO_LOOP_OPTS_INIT;
    o.clock = CIO_CLOCK_VIRTUAL;
    cio_loop *loop = NULL;
    CHECK(cio_loop_new(&loop, &o) == 0, 42);
    return loop;
}

static void lower_rlimit(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    CHECK(f != NULL && fscanf(f, "%lu", &pages) == 1, 43);
    fclose(f);
    struct rlimit rl;
    /* Two stacks and change: at least one creation succeeds, a handful
     * at most, whatever the thread's pool holds already. */
    rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) +
                                (rlim_t)(2 * STACK_MIB + 3) * 1024 * 1024;
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0, 44);
}

static void child_done(cio_loop *loop)
{
    CHECK(cio_loop_close(loop) == 0, 50);
    CHECK(cio_loop_free(loop) == 0, 51);
    cio_set_allocator(NULL);
    CHECK(tu_live == 0, 52);
    _exit(0);
}

/* ---- bodies --------------------------------------------------------------- */

static int ran;

static int yield_body(void *arg, void **result)
{
    int r = cio_sleep(0);
    if (r < 0)
        return r;
    ran++;
    *result = arg;
    return 0;
}

static int trivial_body(void *arg, void **result)
{
    ran++;
    *result = arg;
    return 0;
}

/* Awaits the gate future (arg) so the task holds its stack meanwhile. */
static int gate_body(void *arg, void **result)
{
    int r = cio_await(arg, NULL);
    if (r < 0)
        return r;
    ran++;
    *result = arg;
    return 0;
}

/* ---- creation fails at the limit; earlier tasks run -------------------- */

static void create_limit_child(void)
{
    cio_loop *loop = limited_loop();
    cio_task *warm = NULL;
    CHECK(cio_task_create(loop, CIO_CORO(trivial_body, NULL), NULL, &warm) ==
              0,
          10);
    CHECK(cio_loop_run_until_complete(loop, warm, NULL) == 0, 11);
    cio_future_release(warm);
    ran = 0;
    lower_rlimit();

    cio_task *t[MAX_TASKS];
    int n = 0, r = 0;
    while (n < MAX_TASKS &&
           (r = cio_task_create(loop, CIO_CORO(yield_body, (void *)(long)n),
                                NULL, &t[n])) == 0)
        n++;
    CHECK(r == -ENOMEM, 12);
    CHECK(n >= 1 && n < MAX_TASKS, 13);
    /* The failed creation left nothing behind. */
    CHECK(cio_loop_all_tasks(loop, NULL, 0) == n, 14);
    size_t spares, reserved;
    cio__task_stack_counts(loop, &spares, &reserved);
    CHECK(reserved == (size_t)n && spares >= reserved, 15);
    /* Every entry point fails the same way: ensure_future, a task with its
     * own stack size, an eager task, fire-and-forget. */
    cio_future *ef = (cio_future *)&ef;
    CHECK(cio_ensure_future(loop, NULL, CIO_CORO(yield_body, NULL), &ef) ==
              -ENOMEM,
          16);
    CHECK(ef == NULL, 17);
    cio_task_opts big = CIO_TASK_OPTS_INIT;
    big.stack_size = (size_t)STACK_MIB * 1024 * 1024;
    cio_task *bt = (cio_task *)&bt;
    CHECK(cio_task_create(loop, CIO_CORO(yield_body, NULL), &big, &bt) ==
              -ENOMEM,
          18);
    CHECK(bt == NULL, 19);
    CHECK(cio_task_create(loop, CIO_CORO(yield_body, NULL), NULL, NULL) ==
              -ENOMEM,
          20);
    cio_task_opts named = CIO_TASK_OPTS_INIT;
    named.name = "a task name too long for the inline buffer of a task";
    CHECK(cio_task_create(loop, CIO_CORO(yield_body, NULL), &named, NULL) ==
              -ENOMEM,
          21);
    CHECK(cio_loop_all_tasks(loop, NULL, 0) == n, 22);

    /* Every task created before the limit runs to completion. */
    for (int i = 0; i < n; i++) {
        void *res = NULL;
        CHECK(cio_loop_run_until_complete(loop, t[i], &res) == 0, 23);
        CHECK(res == (void *)(long)i, 24);
    }
    CHECK(ran == n, 25);
    cio__task_stack_counts(loop, &spares, &reserved);
    CHECK(reserved == 0, 26);
    for (int i = 0; i < n; i++)
        cio_future_release(t[i]);

    /* Their stacks came back: creation works again, limit or not. */
    cio_task *again = NULL;
    CHECK(cio_task_create(loop, CIO_CORO(yield_body, (void *)7L), NULL,
                          &again) == 0,
          27);
    void *res = NULL;
    CHECK(cio_loop_run_until_complete(loop, again, &res) == 0, 28);
    CHECK(res == (void *)7L, 29);
    cio_future_release(again);
    child_done(loop);
}

static void task_create_enomem_at_limit(void **state)
{
    (void)state;
    tu_child_result res;
    run_child(create_limit_child, &res);
    expect_clean_enomem(&res);
}

/* ---- cancel before start gives the reservation back --------------------- */

static void cancel_limit_child(void)
{
    cio_loop *loop = limited_loop();
    cio_future *gate = NULL;
    CHECK(cio_future_new(loop, &gate) == 0, 10);
    cio_task *warm = NULL;
    CHECK(cio_task_create(loop, CIO_CORO(trivial_body, NULL), NULL, &warm) ==
              0,
          11);
    CHECK(cio_loop_run_until_complete(loop, warm, NULL) == 0, 12);
    cio_future_release(warm);
    ran = 0;
    lower_rlimit();

    cio_task *t[MAX_TASKS + 1];
    int n = 0, r = 0;
    while (n < MAX_TASKS && (r = cio_task_create(loop, CIO_CORO(gate_body, gate),
                                                 NULL, &t[n])) == 0)
        n++;
    CHECK(r == -ENOMEM, 13);
    CHECK(n >= 1, 14);
    /* The last one is cancelled before it starts: its body never runs and
     * its stack is free for someone else once its step has run. */
    cio_task *victim = t[n - 1];
    CHECK(cio_task_cancel(victim, "never mind") == 1, 15);
    CHECK(cio_loop_run_until_complete(loop, victim, NULL) == -ECANCELED, 16);
    CHECK(ran == 0, 17);
    size_t spares, reserved;
    cio__task_stack_counts(loop, &spares, &reserved);
    /* The others started and hold their stacks, waiting on the gate. */
    CHECK(reserved == 0 && spares == 1, 18);
    CHECK(cio_loop_all_tasks(loop, NULL, 0) == n - 1, 19);

    /* The freed reservation lets exactly one more task in: its stack is
     * the spare, no mapping needed. The next one is over the limit. */
    CHECK(cio_task_create(loop, CIO_CORO(gate_body, gate), NULL, &t[n - 1]) ==
              0,
          20);
    CHECK(cio_task_create(loop, CIO_CORO(gate_body, gate), NULL, &t[n]) ==
              -ENOMEM,
          21);
    cio__task_stack_counts(loop, &spares, &reserved);
    CHECK(reserved == 1 && spares == 1, 22);

    CHECK(cio_future_set_result(gate, NULL) == 0, 23);
    for (int i = 0; i < n; i++) {
        void *res = NULL;
        CHECK(cio_loop_run_until_complete(loop, t[i], &res) == 0, 24);
        CHECK(res == gate, 25);
        cio_future_release(t[i]);
    }
    CHECK(ran == n, 26);
    cio__task_stack_counts(loop, &spares, &reserved);
    CHECK(reserved == 0, 27);
    cio_future_release(victim);
    cio_future_release(gate);
    child_done(loop);
}

static void task_cancel_before_start_releases_stack(void **state)
{
    (void)state;
    tu_child_result res;
    run_child(cancel_limit_child, &res);
    expect_clean_enomem(&res);
}

/* ---- eager tasks, created from a running task ---------------------------- */

typedef struct eager_parent {
    cio_future *gate;
    cio_task *kids[MAX_TASKS];
    int n;
    int err;
} eager_parent;

static int eager_parent_body(void *arg, void **result)
{
    (void)result;
    eager_parent *p = arg;
    cio_loop *loop = cio_get_running_loop();
    cio_task_opts eo = CIO_TASK_OPTS_INIT;
    eo.eager = 1;
    /* Alternate eager and queued children until the limit. */
    int r = 0;
    while (p->n < MAX_TASKS) {
        r = cio_task_create(loop, CIO_CORO(gate_body, p->gate),
                            p->n % 2 ? NULL : &eo, &p->kids[p->n]);
        if (r < 0)
            break;
        p->n++;
    }
    p->err = r;
    /* At the limit an eager creation fails like any other. */
    if (cio_task_create(loop, CIO_CORO(gate_body, p->gate), &eo, NULL) !=
        -ENOMEM)
        return -EPROTO;
    r = cio_future_set_result(p->gate, NULL);
    if (r < 0)
        return r;
    for (int i = 0; i < p->n; i++) {
        void *res = NULL;
        r = cio_await(p->kids[i], &res);
        if (r < 0)
            return r;
        if (res != p->gate)
            return -EPROTO;
    }
    return 0;
}

static void eager_limit_child(void)
{
    cio_loop *loop = limited_loop();
    eager_parent p;
    memset(&p, 0, sizeof p);
    CHECK(cio_future_new(loop, &p.gate) == 0, 10);
    cio_task *warm = NULL;
    CHECK(cio_task_create(loop, CIO_CORO(trivial_body, NULL), NULL, &warm) ==
              0,
          11);
    CHECK(cio_loop_run_until_complete(loop, warm, NULL) == 0, 12);
    cio_future_release(warm);
    ran = 0;
    cio_task *parent = NULL;
    CHECK(cio_task_create(loop, CIO_CORO(eager_parent_body, &p), NULL,
                          &parent) == 0,
          13);
    lower_rlimit();
    CHECK(cio_loop_run_until_complete(loop, parent, NULL) == 0, 14);
    CHECK(p.err == -ENOMEM, 15);
    CHECK(p.n >= 1 && ran == p.n, 16);
    for (int i = 0; i < p.n; i++)
        cio_future_release(p.kids[i]);
    cio_future_release(parent);
    cio_future_release(p.gate);
    size_t spares, reserved;
    cio__task_stack_counts(loop, &spares, &reserved);
    CHECK(reserved == 0, 17);
    child_done(loop);
}

static void task_eager_enomem_at_limit(void **state)
{
    (void)state;
    tu_child_result res;
    run_child(eager_limit_child, &res);
    expect_clean_enomem(&res);
}

/* ---- reservations without a limit (in process) --------------------------- */

/* A batch of trivial tasks hands one stack along; each handed-over task
 * drops its reservation, and the spares serve the next batch. */
static void task_handoff_releases_reservations(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    enum { N = 100 };
    cio_task *t[N];
    size_t spares, reserved;
    for (int round = 0; round < 3; round++) {
        ran = 0;
        for (int i = 0; i < N; i++)
            assert_int_equal(cio_task_create(loop,
                                             CIO_CORO(trivial_body,
                                                      (void *)(long)i),
                                             NULL, &t[i]),
                             0);
        cio__task_stack_counts(loop, &spares, &reserved);
        assert_int_equal(reserved, N);
        assert_true(spares >= reserved);
        for (int i = 0; i < N; i++) {
            void *res = NULL;
            assert_int_equal(cio_loop_run_until_complete(loop, t[i], &res), 0);
            assert_ptr_equal(res, (void *)(long)i);
        }
        assert_int_equal(ran, N);
        cio__task_stack_counts(loop, &spares, &reserved);
        assert_int_equal(reserved, 0);
        /* Nearly all spares are still there for the next round. */
        assert_true(spares >= N - 2 && spares <= N);
        for (int i = 0; i < N; i++)
            cio_future_release(t[i]);
    }
    tu_loop_done(loop);
}

/* Spares left over from a burst decay as tasks finish. */
static void task_spares_trimmed(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    enum { BURST = 600, SLEEPERS = 200 };
    cio_task *last = NULL;
    for (int i = 0; i < BURST; i++)
        assert_int_equal(cio_task_create(loop, CIO_CORO(trivial_body, NULL),
                                         NULL, i == BURST - 1 ? &last : NULL),
                         0);
    assert_int_equal(cio_loop_run_until_complete(loop, last, NULL), 0);
    cio_future_release(last);
    size_t spares, reserved, before;
    cio__task_stack_counts(loop, &before, &reserved);
    assert_int_equal(reserved, 0);
    assert_true(before >= BURST - 2);
    /* Sleepers each take a spare and, finishing, drop one more. */
    for (int i = 0; i < SLEEPERS; i++)
        assert_int_equal(cio_task_create(loop, CIO_CORO(yield_body, NULL),
                                         NULL,
                                         i == SLEEPERS - 1 ? &last : NULL),
                         0);
    assert_int_equal(cio_loop_run_until_complete(loop, last, NULL), 0);
    cio_future_release(last);
    cio__task_stack_counts(loop, &spares, &reserved);
    assert_int_equal(reserved, 0);
    assert_int_equal(spares, before - 2 * SLEEPERS);
    tu_loop_done(loop);
}

/* Reservations stop at 1024 per loop (task.c's RESERVE_MAX): a batch of
 * 40,000 tasks created before any runs - more than vm.max_map_count's
 * 65530 mappings allow as guarded stacks (two each) - must not fail
 * creation for want of stacks, because the hand-off runs trivial tasks on
 * one stack; and some of them suspending still works (they take a stack
 * at their first step). */
static void task_reservations_capped(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    enum { N = 40000, CAP = 1024, SUSPENDERS = 50 };
    cio_task **t = malloc(N * sizeof(*t));
    assert_non_null(t);
    ran = 0;
    for (int i = 0; i < N; i++)
        assert_int_equal(cio_task_create(loop,
                                         i % (N / SUSPENDERS)
                                             ? CIO_CORO(trivial_body, NULL)
                                             : CIO_CORO(yield_body, NULL),
                                         NULL, &t[i]),
                         0);
    size_t spares, reserved;
    cio__task_stack_counts(loop, &spares, &reserved);
    assert_int_equal(reserved, CAP);
    assert_true(spares >= CAP);
    assert_int_equal(cio_loop_run_until_complete(loop, t[N - 1], NULL), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(cio_loop_run_until_complete(loop, t[i], NULL), 0);
        assert_int_equal(cio_future_error(t[i]), 0);
        cio_future_release(t[i]);
    }
    assert_int_equal(ran, N);
    cio__task_stack_counts(loop, &spares, &reserved);
    assert_int_equal(reserved, 0);
    free(t);
    tu_loop_done(loop);
}

/* Tasks with their own stack size get their coroutine at creation; one
 * cancelled before it starts gives it back (no leak), others run. */
static void task_sized_stack_cancel_and_run(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_task_opts o = CIO_TASK_OPTS_INIT;
    o.stack_size = 64 * 1024;
    cio_task *a = NULL, *b = NULL, *c = NULL;
    ran = 0;
    assert_int_equal(
        cio_task_create(loop, CIO_CORO(trivial_body, (void *)1L), &o, &a), 0);
    assert_int_equal(
        cio_task_create(loop, CIO_CORO(trivial_body, (void *)2L), &o, &b), 0);
    assert_int_equal(
        cio_task_create(loop, CIO_CORO(yield_body, (void *)3L), &o, &c), 0);
    size_t spares, reserved;
    cio__task_stack_counts(loop, &spares, &reserved);
    assert_int_equal(reserved, 0); /* own coroutines, no reservation */
    assert_int_equal(cio_task_cancel(b, NULL), 1);
    void *res = NULL;
    assert_int_equal(cio_loop_run_until_complete(loop, c, &res), 0);
    assert_ptr_equal(res, (void *)3L);
    assert_int_equal(cio_future_result(a, &res), 0);
    assert_ptr_equal(res, (void *)1L);
    assert_int_equal(cio_future_result(b, NULL), -ECANCELED);
    assert_int_equal(ran, 2);
    cio_future_release(a);
    cio_future_release(b);
    cio_future_release(c);
    tu_loop_done(loop);
}

/* A default task cancelled before its first step drops its reservation. */
static void task_cancel_before_start_unreserves(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_task *t = NULL;
    ran = 0;
    assert_int_equal(cio_task_create(loop, CIO_CORO(trivial_body, NULL), NULL,
                                     &t),
                     0);
    size_t spares, reserved;
    cio__task_stack_counts(loop, &spares, &reserved);
    assert_int_equal(reserved, 1);
    assert_true(spares >= 1);
    assert_int_equal(cio_task_cancel(t, NULL), 1);
    assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), -ECANCELED);
    assert_int_equal(ran, 0);
    cio__task_stack_counts(loop, &spares, &reserved);
    assert_int_equal(reserved, 0);
    assert_int_equal(spares, 1);
    cio_future_release(t);
    tu_loop_done(loop);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(task_create_enomem_at_limit),
    cmocka_unit_test(task_cancel_before_start_releases_stack),
    cmocka_unit_test(task_eager_enomem_at_limit),
    cmocka_unit_test_setup_teardown(task_handoff_releases_reservations, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(task_spares_trimmed, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(task_reservations_capped, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(task_sized_stack_cancel_and_run, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(task_cancel_before_start_unreserves, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
