/*
 * futures.c - future_callback_ns: the cost of one future with one done
 * callback: create it, add the callback, set the result, have the
 * callback run, release it.
 *
 * Shape, the same in bench/peers/futures.py: in batches of 1000, for each
 * future: cio_future_new, cio_future_add_done_callback,
 * cio_future_set_result; then one loop iteration (cio_loop_stop +
 * cio_loop_run_forever, asyncio's stop/run_forever idiom) runs the batch's
 * callbacks (repeated only if some did not run); then the batch is
 * released. A discarded warm-up pass (a tenth of the work) precedes one
 * measured round of 1,000,000 futures; bench/run repeats the program.
 *
 * Usage: futures [-n FUTURES] [--batch N]
 * Prints one line: "future_callback_ns <ns per future>".
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cio.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CIO_SEC + ts.tv_nsec;
}

static int on_done(cio_future *f, void *arg)
{
    (void)f;
    (*(long *)arg)++;
    return 0;
}

/* Runs single loop iterations until *count reaches expected. */
static int run_until_count(cio_loop *loop, const long *count, long expected)
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

static int rounds(cio_loop *loop, long n, long batch, cio_future **futs,
                  long *ran)
{
    long expected = *ran;
    for (long b = 0; b < n / batch; b++) {
        long made = 0;
        int err = 0;
        for (; made < batch; made++) {
            cio_future *f;
            err = cio_future_new(loop, &f);
            if (err < 0)
                break;
            futs[made] = f;
            err = cio_future_add_done_callback(f, on_done, ran);
            if (err == 0)
                err = cio_future_set_result(f, (void *)(intptr_t)made);
            if (err < 0) {
                made++;
                break;
            }
        }
        if (err == 0) {
            expected += batch;
            err = run_until_count(loop, ran, expected);
        }
        for (long i = 0; i < made; i++)
            cio_future_release(futs[i]);
        if (err < 0)
            return err;
    }
    return 0;
}

static long parse_count(const char *s, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v <= 0) {
        fprintf(stderr, "futures: bad %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    long n = 1000000, batch = 1000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = parse_count(argv[++i], "-n");
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = parse_count(argv[++i], "--batch");
        else {
            fprintf(stderr, "usage: futures [-n FUTURES] [--batch N]\n");
            return 2;
        }
    }
    if (n % batch != 0) {
        fprintf(stderr, "futures: -n must be a multiple of --batch\n");
        return 2;
    }
    cio_future **futs = calloc((size_t)batch, sizeof(*futs));
    if (!futs) {
        fprintf(stderr, "futures: out of memory\n");
        return 1;
    }

    cio_loop *loop;
    int rc = cio_loop_new(&loop, NULL);
    if (rc < 0) {
        fprintf(stderr, "futures: cio_loop_new: %s\n", cio_strerror(rc));
        return 1;
    }
    long ran = 0;
    long warm = n / 10 - (n / 10) % batch;
    rc = rounds(loop, warm > batch ? warm : batch, batch, futs, &ran);
    int64_t t0 = now_ns();
    if (rc == 0)
        rc = rounds(loop, n, batch, futs, &ran);
    int64_t elapsed = now_ns() - t0;
    int rc_free = cio_loop_free(loop);
    free(futs);
    if (rc < 0 || rc_free < 0) {
        fprintf(stderr, "futures: %s\n", cio_strerror(rc < 0 ? rc : rc_free));
        return 1;
    }
    printf("future_callback_ns %.1f\n", (double)elapsed / (double)n);
    return 0;
}
