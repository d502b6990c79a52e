/*
 * timers.c - timer_ns: the cost of one timer scheduled and fired by the
 * loop, with its deadline already due so that nothing waits.
 *
 * Shape, the same in bench/peers/timers.py: in batches of 1000, read
 * cio_loop_time once, then schedule the batch with
 * cio_loop_call_at(loop, now - off[i], ...) where off[i] =
 * (1 + (i * 7919) % 1000) microseconds, a fixed permutation of past
 * deadlines so the timer heap sees them out of order; then one loop
 * iteration (cio_loop_stop + cio_loop_run_forever) fires them all
 * (repeated only if some did not fire). Default monotonic clock. A
 * discarded warm-up pass (a tenth of the work) precedes one measured round
 * of 1,000,000 timers; bench/run repeats the program.
 *
 * Usage: timers [-n TIMERS] [--batch N]
 * Prints one line: "timer_ns <ns per timer>".
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

static int on_timer(void *arg)
{
    (*(long *)arg)++;
    return 0;
}

/* Runs single loop iterations until *count reaches expected. */
static int run_until_count(cio_loop *loop, const long *count, long expected)
{
    for (int i = 0; *count < expected; i++) {
        if (i == 1000)
            return -EAGAIN; /* the timers are not firing */
        int rc = cio_loop_stop(loop);
        if (rc == 0)
            rc = cio_loop_run_forever(loop);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int rounds(cio_loop *loop, long n, long batch, const int64_t *offs,
                  long *fired)
{
    long expected = *fired;
    for (long b = 0; b < n / batch; b++) {
        int64_t now = cio_loop_time(loop);
        for (long i = 0; i < batch; i++) {
            int rc =
                cio_loop_call_at(loop, now - offs[i], on_timer, fired, NULL);
            if (rc < 0)
                return rc;
        }
        expected += batch;
        int rc = run_until_count(loop, fired, expected);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static long parse_count(const char *s, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v <= 0) {
        fprintf(stderr, "timers: bad %s: %s\n", what, s);
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
            fprintf(stderr, "usage: timers [-n TIMERS] [--batch N]\n");
            return 2;
        }
    }
    if (n % batch != 0) {
        fprintf(stderr, "timers: -n must be a multiple of --batch\n");
        return 2;
    }
    int64_t *offs = malloc((size_t)batch * sizeof(*offs));
    if (!offs) {
        fprintf(stderr, "timers: out of memory\n");
        return 1;
    }
    for (long i = 0; i < batch; i++)
        offs[i] = (1 + (i * 7919) % 1000) * CIO_US;

    cio_loop *loop;
    int rc = cio_loop_new(&loop, NULL);
    if (rc < 0) {
        fprintf(stderr, "timers: cio_loop_new: %s\n", cio_strerror(rc));
        return 1;
    }
    long fired = 0;
    long warm = n / 10 - (n / 10) % batch;
    rc = rounds(loop, warm > batch ? warm : batch, batch, offs, &fired);
    int64_t t0 = now_ns();
    if (rc == 0)
        rc = rounds(loop, n, batch, offs, &fired);
    int64_t elapsed = now_ns() - t0;
    int rc_free = cio_loop_free(loop);
    free(offs);
    if (rc < 0 || rc_free < 0) {
        fprintf(stderr, "timers: %s\n", cio_strerror(rc < 0 ? rc : rc_free));
        return 1;
    }
    printf("timer_ns %.1f\n", (double)elapsed / (double)n);
    return 0;
}
