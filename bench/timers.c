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

#include "bench_util.h"

static int on_timer(void *arg)
{
    (*(long *)arg)++;
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
        int rc = bench_run_until_count(loop, fired, expected);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long n = 1000000, batch = 1000;
    bench_batch_args(argc, argv, "timers", "[-n TIMERS] [--batch N]", &n,
                     &batch);
    int64_t *offs = malloc((size_t)batch * sizeof(*offs));
    if (!offs) {
        fprintf(stderr, "timers: out of memory\n");
        return 1;
    }
    for (long i = 0; i < batch; i++)
        offs[i] = (1 + (i * 7919) % 1000) * CIO_US;

    cio_loop *loop = bench_loop_new("timers");
    long fired = 0;
    int rc = rounds(loop, bench_warmup(n, batch), batch, offs, &fired);
    int64_t t0 = bench_now_ns();
    if (rc == 0)
        rc = rounds(loop, n, batch, offs, &fired);
    int64_t elapsed = bench_now_ns() - t0;
    int status = bench_loop_end("timers", loop, rc);
    free(offs);
    if (status)
        return status;
    printf("timer_ns %.1f\n", (double)elapsed / (double)n);
    return 0;
}
