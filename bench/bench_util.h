/*
 * bench_util.h - what the bench programs share: the monotonic clock,
 * medians, count arguments, the warm-up size, single loop iterations
 * and running a main task on a fresh loop. Header-only, so that each
 * bench stays one program per file (bench/CMakeLists.txt builds each
 * .c file there). Errors go to stderr as "<prog>: ..."; a program's figure
 * line on stdout is its own.
 */
#ifndef CIO_BENCH_UTIL_H
#define CIO_BENCH_UTIL_H

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cio.h"

/* The monotonic clock in nanoseconds. */
static inline int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CIO_SEC + ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline int bench_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sorts v[0..n) and returns its median (the upper one for even n). */
static inline double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), bench_cmp_double);
    return v[n / 2];
}

static inline int64_t bench_median_i64(int64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), bench_cmp_i64);
    return v[n / 2];
}

/* Parses a count in [1, max]; anything else is "<prog>: bad <what>:
 * <s>" and exit status 2. */
static inline long bench_count(const char *prog, const char *s,
                               const char *what, long max)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v <= 0 || v > max) {
        fprintf(stderr, "%s: bad %s: %s\n", prog, what, s);
        exit(2);
    }
    return v;
}

/* Parses the arguments "[-n N] [<opt> M]" into *n and *m (counts up to
 * n_max and m_max); anything else prints "usage: <prog> <usage>" and
 * exits with status 2. */
static inline void bench_args(int argc, char **argv, const char *prog,
                              const char *usage, long *n, long n_max,
                              const char *opt, long *m, long m_max)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            *n = bench_count(prog, argv[++i], "-n", n_max);
        else if (strcmp(argv[i], opt) == 0 && i + 1 < argc)
            *m = bench_count(prog, argv[++i], opt, m_max);
        else {
            fprintf(stderr, "usage: %s %s\n", prog, usage);
            exit(2);
        }
    }
}

/* bench_args for "[-n N] [--batch B]", where N must be a multiple of B. */
static inline void bench_batch_args(int argc, char **argv, const char *prog,
                                    const char *usage, long *n, long *batch)
{
    bench_args(argc, argv, prog, usage, n, LONG_MAX, "--batch", batch,
               LONG_MAX);
    if (*n % *batch != 0) {
        fprintf(stderr, "%s: -n must be a multiple of --batch\n", prog);
        exit(2);
    }
}

/* The discarded warm-up: a tenth of n in whole batches, at least one. */
static inline long bench_warmup(long n, long batch)
{
    long warm = n / 10 - (n / 10) % batch;
    return warm > batch ? warm : batch;
}

/* A new loop with default options, or "<prog>: cio_loop_new: ..." and
 * exit status 1. */
static inline cio_loop *bench_loop_new(const char *prog)
{
    cio_loop *loop;
    int rc = cio_loop_new(&loop, NULL);
    if (rc < 0) {
        fprintf(stderr, "%s: cio_loop_new: %s\n", prog, cio_strerror(rc));
        exit(1);
    }
    return loop;
}

/* Runs single loop iterations (cio_loop_stop + cio_loop_run_forever)
 * until *count reaches expected; -EAGAIN after 1000 of them. */
static inline int bench_run_until_count(cio_loop *loop, const long *count,
                                        long expected)
{
    for (int i = 0; *count < expected; i++) {
        if (i == 1000)
            return -EAGAIN; /* the callbacks are not coming */
        int rc = cio_loop_stop(loop);
        if (rc == 0)
            rc = cio_loop_run_forever(loop);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Frees loop; reports rc, or the free's error, as "<prog>: <error>".
 * Returns the exit status: 0 or 1. */
static inline int bench_loop_end(const char *prog, cio_loop *loop, int rc)
{
    int rc_free = cio_loop_free(loop);
    if (rc < 0 || rc_free < 0) {
        fprintf(stderr, "%s: %s\n", prog, cio_strerror(rc < 0 ? rc : rc_free));
        return 1;
    }
    return 0;
}

/* Runs fn(arg) as the main task of a new loop and frees the loop.
 * Returns the exit status: 0, or 1 after "<prog>: <error>". */
static inline int bench_run_main(const char *prog, cio_coro_fn fn, void *arg)
{
    cio_loop *loop = bench_loop_new(prog);
    cio_task *main_task;
    int rc = cio_task_create(loop, CIO_CORO(fn, arg), NULL, &main_task);
    if (rc == 0) {
        rc = cio_loop_run_until_complete(loop, main_task, NULL);
        cio_future_release(main_task);
    }
    return bench_loop_end(prog, loop, rc);
}

#endif
