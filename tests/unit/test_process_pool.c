/*
 * test_process_pool.c - the process pool: registry, submit/result bytes,
 * ordered map on the note's numbers, the map iterator (argument order,
 * blocking per item, the timeout from the call, early free cancelling),
 * as_completed, job errors and size limits, cancellation before and while
 * running, shutdown, run_in_process_pool from tasks (result, error,
 * cancelling the awaiting task before and while the job runs),
 * max_tasks_per_child, worker crashes (segfault, abort, exit: the future
 * fails with a clear message, the pool recovers, no zombie is left), the
 * fork server refusing to start once threads exist, and the
 * multiprocessing.Pool conveniences for both kinds.
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
static int marked(const void *in, size_t len, void *out, size_t *out_len);

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
    cio_process_pool_register("marked", marked);
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
    int ms = *(const int *)in;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
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

/* A job that leaves marks the test can see from outside the worker:
 * it creates <path>.start, waits until <path>.gate exists if gated (the
 * test decides when it may finish, so orders do not depend on timing),
 * sleeps ms, creates <path>.done and returns value. */
typedef struct mark_job {
    int ms, gated, value;
    char path[80];
} mark_job;

static int touch(const char *path, const char *suffix)
{
    char p[100];
    snprintf(p, sizeof(p), "%s%s", path, suffix);
    FILE *f = fopen(p, "w");
    if (!f)
        return -errno;
    fclose(f);
    return 0;
}

static int exists(const char *path, const char *suffix)
{
    char p[100];
    snprintf(p, sizeof(p), "%s%s", path, suffix);
    return access(p, F_OK) == 0;
}

static int marked(const void *in, size_t len, void *out, size_t *out_len)
{
    mark_job j;
    if (len != sizeof(j) || *out_len < sizeof(int))
        return -EINVAL;
    memcpy(&j, in, sizeof(j));
    int r = touch(j.path, ".start");
    for (int i = 0; r == 0 && j.gated && !exists(j.path, ".gate"); i++) {
        if (i == 60000)
            return -ETIMEDOUT; /* the test is long gone */
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    struct timespec ts = {0, (long)j.ms * 1000000L};
    nanosleep(&ts, NULL);
    if (r == 0)
        r = touch(j.path, ".done");
    memcpy(out, &j.value, sizeof(int));
    *out_len = sizeof(int);
    return r;
}

/* ---- helpers ---- */

static void unlink_marks(const mark_job *j)
{
    static const char *const sfx[] = {".start", ".gate", ".done"};
    for (int i = 0; i < 3; i++) {
        char p[100];
        snprintf(p, sizeof(p), "%s%s", j->path, sfx[i]);
        unlink(p);
    }
}

/* A marked job under /tmp named after this process and tag; stale marks
 * are removed. */
static mark_job mark_new(const char *tag, int gated, int ms, int value)
{
    mark_job j;
    memset(&j, 0, sizeof(j));
    j.ms = ms;
    j.gated = gated;
    j.value = value;
    snprintf(j.path, sizeof(j.path), "/tmp/cio-test-pp-%d-%s", (int)getpid(),
             tag);
    unlink_marks(&j);
    return j;
}

static void mark_cleanup(const mark_job *js, int n)
{
    for (int k = 0; k < n; k++)
        unlink_marks(&js[k]);
}

static void open_gate(const mark_job *j)
{
    assert_int_equal(touch(j->path, ".gate"), 0);
}

static void wait_mark(const mark_job *j, const char *suffix)
{
    for (int i = 0; !exists(j->path, suffix); i++) {
        assert_true(i < 30000); /* 30 s */
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

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
    /* The 1 ms job must end first: 1.5 s of margin (150 ms was overtaken
     * once under ASan on a machine loaded 10x over its cores). */
    int ms[3] = {1500, 1, 60};
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

static void cancel_while_running_keeps_the_result(void **state)
{
    (void)state;
    cio_process_pool *p = new_pool(1, 0);
    mark_job j = mark_new("run", 1, 0, 7);
    cio_cfuture *cf;
    assert_int_equal(cio_process_pool_submit(p, marked, &j, sizeof(j), &cf),
                     0);
    wait_mark(&j, ".start"); /* running, and held there by its gate */
    assert_int_equal(cio_cfuture_running(cf), 1);
    /* Python's cancel(): False for a running job, which goes on. */
    assert_int_equal(cio_cfuture_cancel(cf), 0);
    assert_int_equal(cio_cfuture_cancelled(cf), 0);
    assert_int_equal(cio_cfuture_running(cf), 1);
    assert_int_equal(cio_cfuture_done(cf), 0);
    open_gate(&j);
    int v = -1;
    assert_int_equal(int_result(cf, &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(cio_cfuture_cancel(cf), 0); /* done */
    assert_int_equal(cio_cfuture_cancelled(cf), 0);
    assert_int_equal(cio_cfuture_error(cf, 0), 0);
    cio_cfuture_release(cf);
    cio_process_pool_free(p);
    assert_all_workers_gone();
    mark_cleanup(&j, 1);
}

/* ---- map as an iterator (Python's Executor.map) ---- */

static int next_int(cio_cfuture_iter *it)
{
    cio_cfuture *cf;
    assert_int_equal(cio_cfuture_as_completed_next(it, &cf), 1);
    int v = -1;
    assert_int_equal(int_result(cf, &v), 0);
    return v;
}

static void map_iter_ordered_and_blocking_per_item(void **state)
{
    (void)state;
    cio_process_pool *p = new_pool(3, 0);
    /* Items 1 and 2 (sleeps of 1 and 5 ms) finish before item 0; items 0
     * and 3 wait for their gates. */
    mark_job j[4] = {mark_new("o0", 1, 0, 10), mark_new("o1", 0, 1, 11),
                     mark_new("o2", 0, 5, 12), mark_new("o3", 1, 0, 13)};
    cio_cfuture_iter *it;
    assert_int_equal(cio_process_pool_map_iter(p, marked, j, sizeof(j[0]), 4,
                                               -1, &it),
                     0);
    wait_mark(&j[1], ".done");
    wait_mark(&j[2], ".done");
    assert_false(exists(j[0].path, ".done"));
    open_gate(&j[0]);
    /* The first result arrives while the last item cannot be done. */
    assert_int_equal(next_int(it), 10);
    assert_false(exists(j[3].path, ".done"));
    open_gate(&j[3]);
    for (int i = 1; i < 4; i++)
        assert_int_equal(next_int(it), 10 + i);
    cio_cfuture *cf;
    assert_int_equal(cio_cfuture_as_completed_next(it, &cf), 0);
    cio_cfuture_as_completed_free(it);
    assert_int_equal(cio_process_pool_map_iter(p, NULL, j, sizeof(j[0]), 4,
                                               -1, &it),
                     -EINVAL);
    assert_null(it);
    assert_int_equal(cio_process_pool_map_iter(p, fail_with, j, 1 << 27, 1,
                                               -1, &it),
                     -EMSGSIZE);
    assert_null(it);
    cio_process_pool_free(p);
    assert_all_workers_gone();
    mark_cleanup(j, 4);
}

static void map_iter_timeout_from_the_call(void **state)
{
    (void)state;
    cio_process_pool *p = new_pool(1, 0);
    mark_job j[3] = {mark_new("t0", 0, 0, 0), mark_new("t1", 1, 0, 1),
                     mark_new("t2", 0, 0, 2)};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cio_cfuture_iter *it;
    assert_int_equal(cio_process_pool_map_iter(p, marked, j, sizeof(j[0]), 3,
                                               300 * CIO_MS, &it),
                     0);
    /* Item 1 started on the only worker, so item 0 is done. Then let the
     * deadline, counted from the call, pass before the first next: item
     * 0 is still returned, item 1 times out at once. */
    wait_mark(&j[1], ".start");
    int64_t el;
    do {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        el = (t1.tv_sec - t0.tv_sec) * CIO_SEC + (t1.tv_nsec - t0.tv_nsec);
    } while (el < 350 * CIO_MS);
    assert_int_equal(next_int(it), 0);
    cio_cfuture *cf;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(cio_cfuture_as_completed_next(it, &cf), -ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    el = (t1.tv_sec - t0.tv_sec) * CIO_SEC + (t1.tv_nsec - t0.tv_nsec);
    assert_true(el < 200 * CIO_MS);
    assert_null(cf);
    assert_int_equal(cio_cfuture_as_completed_next(it, &cf), -ETIMEDOUT);
    open_gate(&j[1]); /* running: not cancelled, it finishes */
    cio_cfuture_as_completed_free(it);
    cio_process_pool_free(p);
    assert_true(exists(j[1].path, ".done"));
    assert_false(exists(j[2].path, ".start")); /* cancelled, never ran */
    assert_all_workers_gone();
    mark_cleanup(j, 3);
}

static void map_iter_early_free_cancels_pending(void **state)
{
    (void)state;
    cio_process_pool *p = new_pool(1, 0);
    mark_job j[3] = {mark_new("f0", 1, 0, 0), mark_new("f1", 0, 0, 1),
                     mark_new("f2", 0, 0, 2)};
    cio_cfuture_iter *it;
    assert_int_equal(cio_process_pool_map_iter(p, marked, j, sizeof(j[0]), 3,
                                               -1, &it),
                     0);
    wait_mark(&j[0], ".start");
    cio_cfuture_as_completed_free(it); /* leaves the loop early */
    open_gate(&j[0]);
    cio_process_pool_free(p); /* would run whatever is still queued */
    assert_true(exists(j[0].path, ".done"));
    assert_false(exists(j[1].path, ".start"));
    assert_false(exists(j[2].path, ".start"));
    assert_all_workers_gone();
    mark_cleanup(j, 3);
}

/* ---- run_in_process_pool from tasks ---- */

typedef struct rpp_job {
    cio_process_pool *p;
    mark_job j;
} rpp_job;

/* A task awaiting a marked job through cio_run_in_process_pool. */
static int await_marked(void *arg, void **result)
{
    rpp_job *x = arg;
    cio_future *f;
    int rc = cio_run_in_process_pool(cio_get_running_loop(), x->p, marked,
                                     &x->j, sizeof(x->j), &f);
    if (rc < 0)
        return rc;
    void *r;
    rc = cio_await(f, &r);
    if (rc == 0)
        *result = (void *)(intptr_t)*(const int *)((const cio_bytes *)r)->data;
    cio_future_release(f);
    return rc;
}

typedef struct rpp {
    cio_process_pool *p;
    int prime, prime_rc, err_rc, null_rc, ra, rb, a_done_at_cancel;
    rpp_job a, b;
} rpp;

static int run_in_process_pool_main(void *arg, void **result)
{
    (void)result;
    rpp *x = arg;
    cio_loop *loop = cio_get_running_loop();
    /* A result, read from the loop future (valid while it lives). */
    int n = 109;
    cio_future *f;
    void *r;
    x->prime_rc = cio_run_in_process_pool(loop, x->p, is_prime, &n,
                                          sizeof(n), &f);
    if (x->prime_rc == 0) {
        x->prime_rc = cio_await(f, &r);
        if (x->prime_rc == 0) {
            const cio_bytes *b = r;
            x->prime = b->len == sizeof(int) ? *(const int *)b->data : -1;
        }
        cio_future_release(f);
    }
    /* The job's error. */
    int e = -EIO;
    x->err_rc = cio_run_in_process_pool(loop, x->p, fail_with, &e, sizeof(e),
                                        &f);
    if (x->err_rc == 0) {
        x->err_rc = cio_await(f, NULL);
        cio_future_release(f);
    }
    x->null_rc = cio_run_in_process_pool(loop, NULL, is_prime, &n, sizeof(n),
                                         &f);
    /* One worker: a's job runs (held by its gate), b's waits. */
    cio_task *a, *b;
    cio_task_create(loop, CIO_CORO(await_marked, &x->a), NULL, &a);
    cio_task_create(loop, CIO_CORO(await_marked, &x->b), NULL, &b);
    for (int i = 0; !exists(x->a.j.path, ".start"); i++) {
        if (i == 30000)
            return -ETIMEDOUT;
        cio_sleep(CIO_MS);
    }
    cio_task_cancel(a, NULL); /* while running */
    cio_task_cancel(b, NULL); /* before start */
    x->ra = cio_await(a, NULL);
    x->rb = cio_await(b, NULL);
    /* a returned at once: its job is still held by the gate. */
    x->a_done_at_cancel = exists(x->a.j.path, ".done");
    cio_future_release(a);
    cio_future_release(b);
    return touch(x->a.j.path, ".gate");
}

static void run_in_process_pool_from_tasks(void **state)
{
    (void)state;
    rpp x;
    memset(&x, 0, sizeof(x));
    x.p = new_pool(1, 0);
    x.a = (rpp_job){x.p, mark_new("ra", 1, 0, 1)};
    x.b = (rpp_job){x.p, mark_new("rb", 0, 0, 2)};
    assert_int_equal(cio_run(run_in_process_pool_main, &x, NULL), 0);
    assert_int_equal(x.prime_rc, 0);
    assert_int_equal(x.prime, 1);
    assert_int_equal(x.err_rc, -EIO);
    assert_int_equal(x.null_rc, -EINVAL);
    assert_int_equal(x.ra, -ECANCELED);
    assert_int_equal(x.rb, -ECANCELED);
    assert_int_equal(x.a_done_at_cancel, 0);
    /* The scope's end waits for the running job: it was not interrupted
     * and ran to its end; the cancelled one never started. */
    cio_process_pool_free(x.p);
    assert_true(exists(x.a.j.path, ".done"));
    assert_false(exists(x.b.j.path, ".start"));
    assert_all_workers_gone();
    mark_cleanup(&x.a.j, 1);
    mark_cleanup(&x.b.j, 1);
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
    cmocka_unit_test_setup_teardown(cancel_while_running_keeps_the_result, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(map_iter_ordered_and_blocking_per_item, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(map_iter_timeout_from_the_call, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(map_iter_early_free_cancels_pending, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(run_in_process_pool_from_tasks, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(pool_apply_async_and_map_both_kinds, xa_setup, xa_teardown),
    /* Last: in a run of every case in one process the server is already
     * up by now; CTest runs it alone, where it sees a fresh process. */
    cmocka_unit_test_setup_teardown(fork_server_refuses_once_threads_exist, xa_setup, xa_teardown),
};

CIO_TEST_MAIN(tests)
