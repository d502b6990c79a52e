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

#include "bench_util.h"

static int on_done(cio_future *f, void *arg)
{
    (void)f;
    (*(long *)arg)++;
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
            err = bench_run_until_count(loop, ran, expected);
        }
        for (long i = 0; i < made; i++)
            cio_future_release(futs[i]);
        if (err < 0)
            return err;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long n = 1000000, batch = 1000;
    bench_batch_args(argc, argv, "futures", "[-n FUTURES] [--batch N]", &n,
                     &batch);
    cio_future **futs = calloc((size_t)batch, sizeof(*futs));
    if (!futs) {
        fprintf(stderr, "futures: out of memory\n");
        return 1;
    }

    cio_loop *loop = bench_loop_new("futures");
    long ran = 0;
    int rc = rounds(loop, bench_warmup(n, batch), batch, futs, &ran);
    int64_t t0 = bench_now_ns();
    if (rc == 0)
        rc = rounds(loop, n, batch, futs, &ran);
    int64_t elapsed = bench_now_ns() - t0;
    int status = bench_loop_end("futures", loop, rc);
    free(futs);
    if (status)
        return status;
    printf("future_callback_ns %.1f\n", (double)elapsed / (double)n);
    return 0;
}
