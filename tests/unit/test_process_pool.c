/*
 * test_process_pool.c - the process pool: registry, submit/result bytes,
 * ordered map on the note's numbers, as_completed, job errors and size
 * limits, cancellation and shutdown, max_tasks_per_child, worker crashes
 * (segfault, abort, exit: the future fails with a clear message, the pool
 * recovers, no zombie is left), the fork server refusing to start once
 * threads exist, and the multiprocessing.Pool conveniences for both
 * kinds.
 */
/* cio-test: timeout=120 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cio_testutil.h"

pid_t cio__process_server_pid(void);

static atomic_long xa_live;

static void *xa_malloc(size_t n, void *ud)
{
    (void)ud;
    void *p = malloc(n);
    if (p)
        atomic_fetch_add(&xa_live, 1);
    return p;
}

static void *xa_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    void *q = realloc(p, n);
    if (q && !p)
        atomic_fetch_add(&xa_live, 1);
    return q;
}

static void xa_free(void *p, void *ud)
{
    (void)ud;
    if (p)
        atomic_fetch_sub(&xa_live, 1);
    free(p);
}

static const cio_allocator xa_allocator = {xa_malloc, xa_realloc, xa_free,
                                           NULL};

static int is_prime(const void *in, size_t len, void *out, size_t *out_len);
static int crash(const void *in, size_t len, void *out, size_t *out_len);
static int my_pid(const void *in, size_t len, void *out, size_t *out_len);
static int echo(const void *in, size_t len, void *out, size_t *out_len);
static int fail_with(const void *in, size_t len, void *out, size_t *out_len);
static int slow(const void *in, size_t len, void *out, size_t *out_len);
static int exp_of(const void *in, size_t len, void *out, size_t *out_len);

static int xa_setup(void **state)
{
    (void)state;
    /* Registration happens before the fork server starts (the first
     * case to create a pool starts it). */
    cio_process_pool_register("is_prime", is_prime);
    cio_process_pool_register("crash", crash);
    cio_process_pool_register("my_pid", my_pid);
    cio_process_pool_register("echo", echo);
    cio_process_pool_register("fail_with", fail_with);
    cio_process_pool_register("slow", slow);
    cio_process_pool_register("exp_of", exp_of);
    atomic_store(&xa_live, 0);
    return cio_set_allocator(&xa_allocator);
}

static int xa_teardown(void **state)
{
    (void)state;
    long live = atomic_load(&xa_live);
    cio_set_allocator(NULL);
    if (live) {
        fprintf(stderr, "leak: %ld live blocks at teardown\n", live);
        return -1;
    }
    return 0;
}

/* ---- the functions the workers run ---- */

static int is_prime(const void *in, size_t len, void *out, size_t *out_len)
{
    int n;
    if (len != sizeof(n) || *out_len < sizeof(int))
        return -EINVAL;
    memcpy(&n, in, sizeof(n));
    int flag = n >= 2 && (n == 2 || n % 2);
    for (int i = 3; flag && i * i <= n; i += 2)
        if (n % i == 0)
            flag = 0;
    memcpy(out, &flag, sizeof(flag));
    *out_len = sizeof(flag);
    return 0;
}

static int crash(const void *in, size_t len, void *out, size_t *out_len)
{
    (void)len;
    (void)out;
    (void)out_len;
    int how = *(const int *)in;
    if (how == 0) {
        /* A real invalid store. Address 16, not NULL: UBSan turns a NULL
         * store into an exit before the fault happens. */
        volatile uintptr_t bad = 16;
        *(volatile int *)bad = 1;
    } else if (how == 1) {
        abort();
    }
    exit(3);
}

static int my_pid(const void *in, size_t len, void *out, size_t *out_len)
{
    (void)in;
    (void)len;
    int p = (int)getpid();
    memcpy(out, &p, sizeof(p));
    *out_len = sizeof(p);
    return 0;
}

static int echo(const void *in, size_t len, void *out, size_t *out_len)
{
    if (len > *out_len)
        len = *out_len + 1; /* claims too much: cio reports -EMSGSIZE */
    else
        memcpy(out, in, len);
    *out_len = len;
    return 0;
}

static int fail_with(const void *in, size_t len, void *out, size_t *out_len)
{
    (void)len;
    (void)out;
    (void)out_len;
    return *(const int *)in;
}

static int slow(const void *in, size_t len, void *out, size_t *out_len)
{
    (void)len;
    struct timespec ts = {0, (long)*(const int *)in * 1000000L};
    nanosleep(&ts, NULL);
    *out_len = 0;
    (void)out;
    return 0;
}

/* math.exp without libm (tests link only cio and cmocka): the Taylor
 * series, exact to double precision for the small arguments used here. */
static double exp_series(double x)
{
    double sum = 1, term = 1;
    for (int k = 1; k < 80; k++) {
        term *= x / k;
        sum += term;
    }
    return sum;
}

static int exp_of(const void *in, size_t len, void *out, size_t *out_len)
{
    (void)len;
    double x = exp_series((double)*(const int *)in);
    memcpy(out, &x, sizeof(x));
    *out_len = sizeof(x);
    return 0;
}

/* ---- helpers ---- */

/* Children of pid (any state, or only zombies: state Z), from
 * /proc/<child>/stat. */
static int children_of(pid_t parent, int zombies_only)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t k = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[k] = 0;
        char *rp = strrchr(buf, ')');
        char st;
        int ppid;
        if (rp && sscanf(rp + 2, "%c %d", &st, &ppid) == 2 &&
            ppid == (int)parent && (!zombies_only || st == 'Z'))
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

/* After cio_process_pool_free, shutdown(wait) has returned only once
 * every worker had exited and the server had reaped it, so the server has
 * no child left at all (no retry: a worker still exiting is the bug).
 * While a pool lives, its workers may run but none is a zombie: a job
 * failed by a crash is failed after the server reaped the worker. */
static void check_children(int pool_freed)
{
    /* Our only child is the fork server, alive: waitpid says 0. */
    int st;
    assert_int_equal(waitpid(-1, &st, WNOHANG), 0);
    pid_t srv = cio__process_server_pid();
    assert_true(srv > 0);
    assert_int_equal(children_of(srv, !pool_freed), 0);
    assert_int_equal(children_of(getpid(), 1), 0);
}

static void assert_no_zombies(void)
{
    check_children(0);
}

static void assert_all_workers_gone(void)
{
    check_children(1);
}

static cio_process_pool *new_pool(unsigned workers, unsigned max_tasks)
{
    cio_process_pool_opts o = CIO_PROCESS_POOL_OPTS_INIT;
    o.max_workers = workers;
    o.max_tasks_per_child = max_tasks;
    cio_process_pool *p = NULL;
    assert_int_equal(cio_process_pool_new(&p, &o), 0);
    return p;
}

static int int_result(cio_cfuture *cf, int *v)
{
    void *r;
    int rc = cio_cfuture_result(cf, 30 * CIO_SEC, &r);
    if (rc == 0) {
        const cio_bytes *b = r;
        if (b->len != sizeof(int))
            return -EPROTO;
        memcpy(v, b->data, sizeof(int));
    }
    return rc;
}

/* ---- cases ---- */

static void submit_and_result(void **state)
{
    (void)state;
    cio_process_pool *p = new_pool(2, 0);
    int n = 61, v = -1;
    cio_cfuture *cf;
    assert_int_equal(cio_process_pool_submit(p, is_prime, &n, sizeof(n), &cf),
                     0);
    assert_int_equal(int_result(cf, &v), 0);
    assert_int_equal(v, 1);
    cio_cfuture_release(cf);
    cio_process_pool_free(p);
    assert_all_workers_gone();
}

static void map_is_ordered(void **state)
{
    (void)state;
    cio_process_pool *p = new_pool(0, 0);
    int nums[5] = {25, 61, 29, 50, 109}, res[5], errs[5];
    assert_int_equal(cio_process_pool_map(p, is_prime, nums, sizeof(int), 5,
                                          res, sizeof(int), -1, errs),
                     0);
    int want[5] = {0, 1, 1, 0, 1};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(res[i], want[i]);
        assert_int_equal(errs[i], 0);
    }
    cio_process_pool_free(p);
}

static void as_completed_over_process_futures(void **state)
{
    (void)state;
    cio_process_pool *p = new_pool(2, 0);
    int ms[3] = {150, 1, 60};
    cio_cfuture *fs[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(cio_process_pool_submit(p, slow, &ms[i], sizeof(int),
                                                 &fs[i]),
                         0);
    cio_cfuture_iter *it;
    assert_int_equal(cio_cfuture_as_completed_new(fs, 3, 30 * CIO_SEC, &it),
                     0);
    cio_cfuture *f;
    assert_int_equal(cio_cfuture_as_completed_next(it, &f), 1);
    assert_ptr_equal(f, fs[1]);
    assert_int_equal(cio_cfuture_as_completed_next(it, &f), 1);
    assert_int_equal(cio_cfuture_as_completed_next(it, &f), 1);
    assert_int_equal(cio_cfuture_as_completed_next(it, &f), 0);
    cio_cfuture_as_completed_free(it);
    for (int i = 0; i < 3; i++)
        cio_cfuture_release(fs[i]);
    cio_process_pool_free(p);
}

static void errors_and_limits(void **state)
{
    (void)state;
    cio_process_pool *p = new_pool(1, 0);
    int e = -EDOM;
    cio_cfuture *cf;
    assert_int_equal(cio_process_pool_submit(p, fail_with, &e, sizeof(e), &cf),
                     0);
    assert_int_equal(cio_cfuture_result(cf, 30 * CIO_SEC, NULL), -EDOM);
    cio_cfuture_release(cf);
    /* A result larger than max_result (64 KiB by default). */
    size_t big = 100 * 1024;
    char *buf = calloc(1, big);
    assert_int_equal(cio_process_pool_submit(p, echo, buf, big, &cf), 0);
    assert_int_equal(cio_cfuture_result(cf, 30 * CIO_SEC, NULL), -EMSGSIZE);
    cio_cfuture_release(cf);
    assert_int_equal(cio_process_pool_submit(p, echo, buf, 1000, &cf), 0);
    void *r;
    assert_int_equal(cio_cfuture_result(cf, 30 * CIO_SEC, &r), 0);
    assert_int_equal(((const cio_bytes *)r)->len, 1000);
    cio_cfuture_release(cf);
    free(buf);
    assert_int_equal(cio_process_pool_submit(p, echo, "x",
                                             CIO_PROCESS_MAX_INPUT + 1, &cf),
                     -EMSGSIZE);
    /* Not registered. */
    assert_int_equal(cio_process_pool_submit(
                         p, (cio_process_fn)(void (*)(void))abort, NULL, 0,
                         &cf),
                     -ENOENT);
    assert_int_equal(cio_process_pool_register("late", exp_of),
                     cio_process_pool_register("again", exp_of));
    assert_int_equal(cio_process_pool_register("late", (cio_process_fn)(
                                                           void (*)(void))abort),
                     -EBUSY);
    /* A map item whose result has the wrong size. */
    int nums[2] = {3, 4};
    char small[2];
    int errs[2];
    assert_int_equal(cio_process_pool_map(p, is_prime, nums, sizeof(int), 2,
                                          small, 1, -1, errs),
                     -EMSGSIZE);
    assert_int_equal(errs[1], -EMSGSIZE);
    cio_process_pool_free(p);
}

static void worker_crashes_fail_futures_and_pool_recovers(void **state)
{
    (void)state;
    cio_process_pool *p = new_pool(1, 0);
    const char *want[3] = {"signal 11 (SIGSEGV)", "signal 6 (SIGABRT)",
                           "exit status 3"};
    for (int how = 0; how < 3; how++) {
        cio_cfuture *cf;
        assert_int_equal(cio_process_pool_submit(p, crash, &how, sizeof(how),
                                                 &cf),
                         0);
        assert_int_equal(cio_cfuture_result(cf, 30 * CIO_SEC, NULL), CIO_ECHILD_DIED);
        const char *msg = cio_cfuture_error_message(cf);
        assert_non_null(msg);
        assert_non_null(strstr(msg, "worker process "));
        assert_non_null(strstr(msg, want[how]));
        cio_cfuture_release(cf);
        /* Replaced: the next job works. */
        int n = 29, v = 0;
        assert_int_equal(cio_process_pool_submit(p, is_prime, &n, sizeof(n),
                                                 &cf),
                         0);
        assert_int_equal(int_result(cf, &v), 0);
        assert_int_equal(v, 1);
        cio_cfuture_release(cf);
    }
    assert_no_zombies();
    cio_process_pool_free(p);
    assert_all_workers_gone();
}

static void max_tasks_per_child_replaces_workers(void **state)
{
    (void)state;
    cio_process_pool *p = new_pool(1, 2);
    int pids[6];
    for (int i = 0; i < 6; i++) {
        cio_cfuture *cf;
        assert_int_equal(cio_process_pool_submit(p, my_pid, NULL, 0, &cf), 0);
        assert_int_equal(int_result(cf, &pids[i]), 0);
        cio_cfuture_release(cf);
    }
    for (int i = 0; i < 6; i += 2) {
        assert_int_equal(pids[i], pids[i + 1]);
        if (i)
            assert_int_not_equal(pids[i], pids[i - 1]);
    }
    cio_process_pool_free(p);
    assert_all_workers_gone();
}

static void cancel_and_shutdown_with_pending_work(void **state)
{
    (void)state;
    cio_process_pool *p = new_pool(1, 0);
    int ms = 150;
    cio_cfuture *busy, *q[3];
    assert_int_equal(cio_process_pool_submit(p, slow, &ms, sizeof(ms), &busy),
                     0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(cio_process_pool_submit(p, slow, &ms, sizeof(ms),
                                                 &q[i]),
                         0);
    while (!cio_cfuture_running(busy)) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(cio_cfuture_cancel(busy), 0);
    assert_int_equal(cio_cfuture_cancel(q[0]), 1);
    assert_int_equal(cio_process_pool_shutdown(p, 1, 1), 0);
    assert_int_equal(cio_cfuture_result(busy, 0, NULL), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cio_cfuture_result(q[i], 0, NULL), -ECANCELED);
        cio_cfuture_release(q[i]);
    }
    cio_cfuture_release(busy);
    assert_int_equal(cio_process_pool_submit(p, slow, &ms, sizeof(ms), NULL),
                     -ESHUTDOWN);
    cio_process_pool_free(p);
    assert_all_workers_gone();
}

static int await_process(void *arg, void **result)
{
    cio_process_pool *p = arg;
    int n = 109;
    cio_cfuture *cf;
    int rc = cio_process_pool_submit(p, is_prime, &n, sizeof(n), &cf);
    if (rc < 0)
        return rc;
    void *r;
    rc = cio_cfuture_await(cf, &r); /* the loop keeps running */
    if (rc == 0)
        *result = (void *)(intptr_t)*(const int *)((const cio_bytes *)r)->data;
    cio_cfuture_release(cf);
    return rc;
}

static void awaited_from_a_task(void **state)
{
    (void)state;
    cio_process_pool *p = new_pool(1, 0);
    void *r;
    assert_int_equal(cio_run(await_process, p, &r), 0);
    assert_ptr_equal(r, (void *)1);
    cio_process_pool_free(p);
}

static void pool_apply_async_and_map_both_kinds(void **state)
{
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        cio_pool *p;
        assert_int_equal(cio_pool_new(&p, (cio_pool_kind)kind, 4), 0);
        int n = 50;
        cio_cfuture *cf;
        assert_int_equal(cio_pool_apply_async(p, is_prime, &n, sizeof(n), &cf),
                         0);
        int v = -1;
        assert_int_equal(int_result(cf, &v), 0); /* .get() */
        assert_int_equal(v, 0);
        cio_cfuture_release(cf);
        int xs[10];
        double ys[10];
        for (int i = 0; i < 10; i++)
            xs[i] = i + 1;
        assert_int_equal(cio_pool_map(p, exp_of, xs, sizeof(int), 10, ys,
                                      sizeof(double), NULL),
                         0);
        assert_true(ys[0] > 2.718281828459 && ys[0] < 2.718281828460);
        assert_true(ys[9] > 22026.46579480 && ys[9] < 22026.46579481);
        for (int i = 1; i < 10; i++)
            assert_true(ys[i] > ys[i - 1] * 2.7 && ys[i] < ys[i - 1] * 2.8);
        cio_pool_free(p);
    }
}

static void *block_until(void *arg)
{
    atomic_int *go = arg;
    while (!atomic_load(go)) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void fork_server_refuses_once_threads_exist(void **state)
{
    (void)state;
    if (cio__process_server_pid() != 0) {
        /* Already running in this process (all cases in one run). */
        assert_int_equal(cio_process_pool_prepare(), 0);
        return;
    }
    atomic_int go = 0;
    pthread_t t;
    pthread_create(&t, NULL, block_until, &go);
    cio_process_pool *p;
    assert_int_equal(cio_process_pool_new(&p, NULL), -EBUSY);
    assert_null(p);
    atomic_store(&go, 1);
    pthread_join(t, NULL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(submit_and_result, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(map_is_ordered, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(as_completed_over_process_futures, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(errors_and_limits, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(worker_crashes_fail_futures_and_pool_recovers, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(max_tasks_per_child_replaces_workers, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(cancel_and_shutdown_with_pending_work, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(awaited_from_a_task, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(pool_apply_async_and_map_both_kinds, xa_setup, xa_teardown),
    /* Last: in a run of every case in one process the server is already
     * up by now; CTest runs it alone, where it sees a fresh process. */
    cmocka_unit_test_setup_teardown(fork_server_refuses_once_threads_exist, xa_setup, xa_teardown),
};

CIO_TEST_MAIN(tests)
