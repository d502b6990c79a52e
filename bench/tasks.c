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

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cio.h"

typedef struct bench {
    long n;
    long batch;
    cio_task **kids; /* one batch of children, one reference each */
    int64_t elapsed;
} bench;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CIO_SEC + ts.tv_nsec;
}

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

    long warm = b->n / 10 - (b->n / 10) % b->batch;
    int rc = spawn(loop, warm > b->batch ? warm : b->batch, b->batch, b->kids);
    if (rc < 0)
        return rc;
    int64_t t0 = now_ns();
    rc = spawn(loop, b->n, b->batch, b->kids);
    b->elapsed = now_ns() - t0;
    return rc;
}

static long parse_count(const char *s, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v <= 0) {
        fprintf(stderr, "tasks: bad %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    bench b = {.n = 1000000, .batch = 1000};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            b.n = parse_count(argv[++i], "-n");
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            b.batch = parse_count(argv[++i], "--batch");
        else {
            fprintf(stderr, "usage: tasks [-n TASKS] [--batch N]\n");
            return 2;
        }
    }
    if (b.n % b.batch != 0) {
        fprintf(stderr, "tasks: -n must be a multiple of --batch\n");
        return 2;
    }
    b.kids = calloc((size_t)b.batch, sizeof(*b.kids));
    if (!b.kids) {
        fprintf(stderr, "tasks: out of memory\n");
        return 1;
    }

    cio_loop *loop;
    int rc = cio_loop_new(&loop, NULL);
    if (rc < 0) {
        fprintf(stderr, "tasks: cio_loop_new: %s\n", cio_strerror(rc));
        return 1;
    }
    cio_task *main_task;
    rc = cio_task_create(loop, CIO_CORO(parent, &b), NULL, &main_task);
    if (rc == 0) {
        rc = cio_loop_run_until_complete(loop, main_task, NULL);
        cio_future_release(main_task);
    }
    int rc_free = cio_loop_free(loop);
    free(b.kids);
    if (rc < 0 || rc_free < 0) {
        fprintf(stderr, "tasks: %s\n", cio_strerror(rc < 0 ? rc : rc_free));
        return 1;
    }
    printf("task_spawn_ns %.1f\n", (double)b.elapsed / (double)b.n);
    return 0;
}
