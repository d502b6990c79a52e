/*
 * gather.c - gather_100k_ns_per_task: the cost per child of gathering
 * 100,000 trivial coroutines.
 *
 * Shape, the same in bench/peers/gather.py: a main task builds the list of
 * 100,000 coroutines (each returns its argument at once), gathers them
 * (every coroutine becomes a task), awaits the gather and collects the
 * results in argument order, then drops everything. One round is timed
 * from building the list to having the results and releasing the gather
 * (task creation included). A discarded warm-up round precedes 5 measured
 * rounds; the program prints their median.
 *
 * Usage: gather [-n TASKS] [--rounds N]
 * Prints one line: "gather_100k_ns_per_task <ns per task>" (the figure's
 * name keeps "100k" whatever -n is).
 */
#define _POSIX_C_SOURCE 200809L

#include "bench_util.h"

typedef struct bench {
    long n;
    int rounds;
    cio_awaitable *items;
    void **results;
    int64_t *elapsed; /* one per measured round */
} bench;

/* async def child(i): return i */
static int child(void *arg, void **result)
{
    *result = arg;
    return 0;
}

/* results = await asyncio.gather(*[child(i) for i in range(n)]) */
static int one_round(cio_loop *loop, bench *b)
{
    cio_future *g;
    for (long i = 0; i < b->n; i++)
        b->items[i] = CIO_AW_CORO(child, (intptr_t)i);
    int rc = cio_gather(loop, b->items, (size_t)b->n, 0, &g);
    if (rc < 0)
        return rc;
    rc = cio_await(g, NULL);
    if (rc == 0)
        rc = cio_gather_results(g, b->results, NULL, (size_t)b->n);
    cio_future_release(g);
    if (rc == 0 && (intptr_t)b->results[b->n - 1] != (intptr_t)(b->n - 1))
        rc = -1; /* results out of argument order */
    return rc;
}

static int parent(void *arg, void **result)
{
    bench *b = arg;
    cio_loop *loop = cio_get_running_loop();
    (void)result;

    int rc = one_round(loop, b); /* warm-up, discarded */
    for (int r = 0; rc == 0 && r < b->rounds; r++) {
        int64_t t0 = bench_now_ns();
        rc = one_round(loop, b);
        b->elapsed[r] = bench_now_ns() - t0;
    }
    return rc;
}

int main(int argc, char **argv)
{
    bench b = {.n = 100000, .rounds = 5};
    long rounds = b.rounds;
    bench_args(argc, argv, "gather", "[-n TASKS] [--rounds N]", &b.n, LONG_MAX,
               "--rounds", &rounds, LONG_MAX);
    b.rounds = (int)rounds;
    b.items = calloc((size_t)b.n, sizeof(*b.items));
    b.results = calloc((size_t)b.n, sizeof(*b.results));
    b.elapsed = calloc((size_t)b.rounds, sizeof(*b.elapsed));
    if (!b.items || !b.results || !b.elapsed) {
        fprintf(stderr, "gather: out of memory\n");
        return 1;
    }

    int status = bench_run_main("gather", parent, &b);
    if (status)
        return status;
    printf("gather_100k_ns_per_task %.1f\n",
           (double)bench_median_i64(b.elapsed, (size_t)b.rounds) /
               (double)b.n);
    free(b.items);
    free(b.results);
    free(b.elapsed);
    return 0;
}
