/*
 * sleepers.c - tasks alive at once, each blocked in a one-hour cio_sleep.
 *
 * A task gets its stack when it first runs, so every task here is run until
 * it sits in its sleep before it counts. Tasks are created in batches of
 * 1000; after each batch the loop runs single iterations (cio_loop_stop +
 * cio_loop_run_forever) until every task of the batch is asleep or has
 * failed. Every mode ends cleanly: it cancels every task, runs them to
 * completion, releases them and frees the loop, and exits 1 if any of that
 * fails. CIO_STACK_SIZE is ignored (unset) so the figures are the
 * defaults'.
 *
 * Modes (one figure each):
 *   rss      sleeping_task_rss_bytes: resident memory per sleeping task.
 *            RSS (/proc/self/statm) after the loop exists and one trivial
 *            task has run (one-time setup), then after N = 10,000 tasks
 *            are asleep; prints (after - before) / N.
 *   max      max_concurrent_tasks_default: creates sleeping tasks until
 *            cio_task_create fails or a task fails to start (-ENOMEM once
 *            vm.max_map_count runs out of stack mappings), or 200,000 are
 *            asleep; prints how many were asleep at once.
 *   compact  max_concurrent_tasks_option: the same with CIO_STACK_COMPACT=1
 *            set before the loop is created, up to 1,000,000 tasks.
 * Creation stops early, with a note on stderr, if RSS passes --rss-limit
 * MiB (default 8192). Notes (timings, stop reason) go to stderr.
 *
 * Usage: sleepers rss|max|compact [-n TASKS] [--rss-limit MIB]
 * Prints one line: "<figure> <value>".
 */
#define _POSIX_C_SOURCE 200809L

#include <unistd.h>

#include "bench_util.h"

/* SLOT_FAILED: never got to its sleep, or left it early (set by grow). */
enum {
    SLOT_NEW = 0,
    SLOT_ASLEEP = 1,
    SLOT_ENDED = 2,
    SLOT_FAILED = 3
};

typedef struct slot {
    cio_task *task; /* our reference */
    int state;      /* written by the task body */
} slot;

typedef struct sleepers {
    cio_loop *loop;
    slot *slots;
    long n;          /* tasks created */
    long asleep;     /* tasks asleep when creation stopped */
    int stop_err;    /* the error that stopped creation, or 0 */
    const char *why; /* why creation stopped */
    long handler_calls;
} sleepers;

static const int64_t BATCH = 1000;

static long rss_bytes(void)
{
    long size = 0, resident = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2)
            resident = -1;
        fclose(f);
    }
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static int sleeper(void *arg, void **result)
{
    slot *s = arg;
    (void)result;
    s->state = SLOT_ASLEEP;
    int rc = cio_sleep(3600 * CIO_SEC);
    s->state = SLOT_ENDED;
    return rc;
}

static int trivial(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return 0;
}

static void quiet_handler(cio_loop *loop, const cio_exception_context *ctx,
                          void *arg)
{
    sleepers *sl = arg;
    if (sl->handler_calls++ == 0)
        fprintf(stderr, "# sleepers: exception handler: %s (%s)\n",
                ctx->message, cio_err_name(ctx->error));
    (void)loop;
}

/* Runs single iterations until every task in slots[lo, hi) is asleep or
 * done. */
static int settle(sleepers *sl, long lo, long hi)
{
    for (int iter = 0;; iter++) {
        long pending = 0;
        for (long i = lo; i < hi; i++)
            if (sl->slots[i].state == SLOT_NEW &&
                !cio_future_done(sl->slots[i].task))
                pending++;
        if (pending == 0)
            return 0;
        if (iter == 10000)
            return -EAGAIN; /* tasks that never start */
        int rc = cio_loop_stop(sl->loop);
        if (rc == 0)
            rc = cio_loop_run_forever(sl->loop);
        if (rc < 0)
            return rc;
    }
}

/* Creates sleeping tasks until limit, a failure, or the RSS limit. Returns
 * 0 (the reason is in sl->why) or a loop error. */
static int grow(sleepers *sl, long limit, long rss_limit)
{
    sl->why = "limit reached";
    while (sl->n < limit) {
        long lo = sl->n;
        long hi = lo + BATCH < limit ? lo + BATCH : limit;
        for (; sl->n < hi; sl->n++) {
            slot *s = &sl->slots[sl->n];
            int rc =
                cio_task_create(sl->loop, CIO_CORO(sleeper, s), NULL, &s->task);
            if (rc < 0) {
                sl->stop_err = rc;
                sl->why = "cio_task_create failed";
                break;
            }
        }
        int rc = settle(sl, lo, sl->n);
        if (rc < 0)
            return rc;
        for (long i = lo; i < sl->n; i++) {
            if (sl->slots[i].state != SLOT_ASLEEP) {
                int err = cio_future_error(sl->slots[i].task);
                sl->slots[i].state = SLOT_FAILED;
                if (sl->stop_err == 0) {
                    sl->stop_err = err;
                    sl->why = "a task failed";
                }
            } else {
                sl->asleep++;
            }
        }
        if (sl->stop_err != 0)
            return 0;
        if (rss_limit > 0 && rss_bytes() > rss_limit) {
            sl->why = "RSS limit reached";
            return 0;
        }
    }
    return 0;
}

/* Cancels every task, runs them all to completion and releases them. */
static int finish(sleepers *sl)
{
    int err = 0;
    for (long i = 0; i < sl->n; i++)
        cio_task_cancel(sl->slots[i].task, NULL);
    for (long i = sl->n; i-- > 0;) {
        cio_task *t = sl->slots[i].task;
        if (!cio_future_done(t)) {
            int rc = cio_loop_run_until_complete(sl->loop, t, NULL);
            if (rc < 0 && rc != -ECANCELED && err == 0)
                err = rc;
        }
    }
    for (long i = 0; i < sl->n; i++) {
        cio_task *t = sl->slots[i].task;
        int rc = cio_future_error(t);
        if (sl->slots[i].state != SLOT_FAILED && rc != -ECANCELED && err == 0) {
            fprintf(stderr, "# sleepers: a sleeping task ended with %s\n",
                    cio_err_name(rc));
            err = rc < 0 ? rc : -EINVAL;
        }
        cio_future_release(t);
    }
    sl->n = 0;
    return err;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sleepers rss|max|compact [-n TASKS] "
                        "[--rss-limit MIB]\n");
        return 2;
    }
    const char *mode = argv[1];
    const char *figure;
    long n;
    if (strcmp(mode, "rss") == 0) {
        figure = "sleeping_task_rss_bytes";
        n = 10000;
    } else if (strcmp(mode, "max") == 0) {
        figure = "max_concurrent_tasks_default";
        n = 200000;
    } else if (strcmp(mode, "compact") == 0) {
        figure = "max_concurrent_tasks_option";
        n = 1000000;
    } else {
        fprintf(stderr, "sleepers: unknown mode %s\n", mode);
        return 2;
    }
    long rss_limit = 8192L << 20;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = bench_count("sleepers", argv[++i], "-n", LONG_MAX);
        else if (strcmp(argv[i], "--rss-limit") == 0 && i + 1 < argc)
            rss_limit =
                bench_count("sleepers", argv[++i], "--rss-limit", LONG_MAX)
                << 20;
        else {
            fprintf(stderr, "sleepers: bad argument %s\n", argv[i]);
            return 2;
        }
    }

    unsetenv("CIO_STACK_SIZE");
    if (strcmp(mode, "compact") == 0)
        setenv("CIO_STACK_COMPACT", "1", 1);
    else
        unsetenv("CIO_STACK_COMPACT");

    sleepers sl = {0};
    sl.slots = calloc((size_t)n, sizeof(*sl.slots));
    if (!sl.slots) {
        fprintf(stderr, "sleepers: out of memory\n");
        return 1;
    }
    memset(sl.slots, 0, (size_t)n * sizeof(*sl.slots)); /* resident now */
    sl.loop = bench_loop_new("sleepers");
    cio_loop_set_exception_handler(sl.loop, quiet_handler, &sl);

    /* One-time setup (the thread's main context, signal stack, pools)
     * happens before the baseline. */
    cio_task *t;
    int rc = cio_task_create(sl.loop, CIO_CORO(trivial, NULL), NULL, &t);
    if (rc == 0) {
        rc = cio_loop_run_until_complete(sl.loop, t, NULL);
        cio_future_release(t);
    }
    long rss0 = rss_bytes();
    int64_t t0 = bench_now_ns();
    if (rc == 0)
        rc = grow(&sl, n, rss_limit);
    int64_t t1 = bench_now_ns();
    long rss1 = rss_bytes();
    long asleep = sl.asleep;
    fprintf(stderr,
            "# sleepers %s: %ld asleep of %ld created (%s%s%s), %.3f s, "
            "RSS %+.1f MiB (%.0f bytes per task)\n",
            mode, asleep, sl.n, sl.why, sl.stop_err ? ": " : "",
            sl.stop_err ? cio_err_name(sl.stop_err) : "",
            (double)(t1 - t0) / CIO_SEC, (double)(rss1 - rss0) / 1048576.0,
            asleep ? (double)(rss1 - rss0) / (double)asleep : 0.0);
    int rc_finish = finish(&sl);
    fprintf(stderr, "# sleepers %s: cancelled and finished in %.3f s\n", mode,
            (double)(bench_now_ns() - t1) / CIO_SEC);
    int rc_free = cio_loop_free(sl.loop);
    free(sl.slots);
    if (rc < 0 || rc_finish < 0 || rc_free < 0) {
        int e = rc < 0 ? rc : rc_finish < 0 ? rc_finish : rc_free;
        fprintf(stderr, "sleepers: %s\n", cio_strerror(e));
        return 1;
    }

    if (strcmp(mode, "rss") == 0) {
        if (asleep != n || rss0 < 0 || rss1 < 0) {
            fprintf(stderr, "sleepers: only %ld of %ld tasks asleep\n", asleep,
                    n);
            return 1;
        }
        printf("%s %.0f\n", figure, (double)(rss1 - rss0) / (double)n);
    } else {
        printf("%s %ld\n", figure, asleep);
    }
    return 0;
}
