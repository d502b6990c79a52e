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

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cio.h"

typedef struct bench {
    long n;
    int rounds;
    cio_awaitable *items;
    void **results;
    int64_t *elapsed; /* one per measured round */
} bench;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CIO_SEC + ts.tv_nsec;
}

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
        int64_t t0 = now_ns();
        rc = one_round(loop, b);
        b->elapsed[r] = now_ns() - t0;
    }
    return rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static long parse_count(const char *s, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v <= 0) {
        fprintf(stderr, "gather: bad %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    bench b = {.n = 100000, .rounds = 5};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            b.n = parse_count(argv[++i], "-n");
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            b.rounds = (int)parse_count(argv[++i], "--rounds");
        else {
            fprintf(stderr, "usage: gather [-n TASKS] [--rounds N]\n");
            return 2;
        }
    }
    b.items = calloc((size_t)b.n, sizeof(*b.items));
    b.results = calloc((size_t)b.n, sizeof(*b.results));
    b.elapsed = calloc((size_t)b.rounds, sizeof(*b.elapsed));
    if (!b.items || !b.results || !b.elapsed) {
        fprintf(stderr, "gather: out of memory\n");
        return 1;
    }

    cio_loop *loop;
    int rc = cio_loop_new(&loop, NULL);
    if (rc < 0) {
        fprintf(stderr, "gather: cio_loop_new: %s\n", cio_strerror(rc));
        return 1;
    }
    cio_task *main_task;
    rc = cio_task_create(loop, CIO_CORO(parent, &b), NULL, &main_task);
    if (rc == 0) {
        rc = cio_loop_run_until_complete(loop, main_task, NULL);
        cio_future_release(main_task);
    }
    int rc_free = cio_loop_free(loop);
    if (rc < 0 || rc_free < 0) {
        fprintf(stderr, "gather: %s\n", cio_strerror(rc < 0 ? rc : rc_free));
        return 1;
    }
    qsort(b.elapsed, (size_t)b.rounds, sizeof(*b.elapsed), cmp_i64);
    printf("gather_100k_ns_per_task %.1f\n",
           (double)b.elapsed[b.rounds / 2] / (double)b.n);
    free(b.items);
    free(b.results);
    free(b.elapsed);
    return 0;
}
