/*
 * tasks.c - task_spawn_ns: the cost of one task that runs a trivial
 * coroutine: create it, run it to completion, release it.
 *
 * Shape, the same in bench/peers/tasks.py and bench/peers/tasks.go: a
 * parent task, in batches of 1000, creates 1000 child tasks (default
 * options), then awaits each one in creation order and releases it. A
 * discarded warm-up pass (a tenth of the work) precedes one measured round
 * of 1,000,000 tasks; bench/run repeats the program for its rounds.
 *
 * Usage: tasks [-n TASKS] [--batch N]
 * Prints one line: "task_spawn_ns <ns per task>".
 */
#define _POSIX_C_SOURCE 200809L

#include "bench_util.h"

typedef struct bench {
    long n;
    long batch;
    cio_task **kids; /* one batch of children, one reference each */
    int64_t elapsed;
} bench;

static int child(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return 0;
}

/* Spawns n tasks in batches, awaiting and releasing each batch. */
static int spawn(cio_loop *loop, long n, long batch, cio_task **kids)
{
    for (long b = 0; b < n / batch; b++) {
        long made = 0;
        int err = 0;
        for (; made < batch; made++) {
            err =
                cio_task_create(loop, CIO_CORO(child, NULL), NULL, &kids[made]);
            if (err < 0)
                break;
        }
        for (long i = 0; i < made; i++) {
            int rc = cio_await(kids[i], NULL);
            if (rc < 0 && err == 0)
                err = rc;
            cio_future_release(kids[i]);
        }
        if (err < 0)
            return err;
    }
    return 0;
}

static int parent(void *arg, void **result)
{
    bench *b = arg;
    cio_loop *loop = cio_get_running_loop();
    (void)result;

    int rc = spawn(loop, bench_warmup(b->n, b->batch), b->batch, b->kids);
    if (rc < 0)
        return rc;
    int64_t t0 = bench_now_ns();
    rc = spawn(loop, b->n, b->batch, b->kids);
    b->elapsed = bench_now_ns() - t0;
    return rc;
}

int main(int argc, char **argv)
{
    bench b = {.n = 1000000, .batch = 1000};
    bench_batch_args(argc, argv, "tasks", "[-n TASKS] [--batch N]", &b.n,
                     &b.batch);
    b.kids = calloc((size_t)b.batch, sizeof(*b.kids));
    if (!b.kids) {
        fprintf(stderr, "tasks: out of memory\n");
        return 1;
    }

    int status = bench_run_main("tasks", parent, &b);
    free(b.kids);
    if (status)
        return status;
    printf("task_spawn_ns %.1f\n", (double)b.elapsed / (double)b.n);
    return 0;
}
