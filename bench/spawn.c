/*
 * spawn.c - spawn-and-wait of N `true` processes, one at a time, through
 * cio (create_subprocess_exec + wait: posix_spawn, pidfd on the loop,
 * waitpid) and through a bare C loop of posix_spawnp + waitpid, the
 * practical limit on this machine. Sequential on purpose: it measures
 * the cost each child adds, with nothing overlapping, and every peer
 * (bench/peers/spawn.py, spawn.js) runs the same shape.
 *
 * Usage: spawn [cio|bare|both] [N=1000] [ROUNDS=5]
 * Prints "spawn_cio_ms <ms per child>" and/or "spawn_bare_ms <ms>", each
 * the median of ROUNDS rounds of N children. In "both" mode a round
 * alternates blocks of 100 children between cio and the bare loop, so a
 * load change on a shared machine hits both alike.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "cio.h"

extern char **environ;

static long n_children = 1000;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CIO_SEC + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static char *const argv_true[] = {"true", NULL};

typedef struct block {
    long n;
    int64_t ns;
} block;

static int cio_block(void *arg, void **result)
{
    (void)result;
    block *b = arg;
    int64_t t0 = now_ns();
    for (long i = 0; i < b->n; i++) {
        cio_process *p;
        int r = cio_create_subprocess_exec(NULL, argv_true, NULL, &p);
        if (r < 0)
            return r;
        int rc;
        r = cio_process_wait(p, &rc);
        cio_process_free(p);
        if (r < 0 || rc != 0)
            return r < 0 ? r : -ECHILD;
    }
    b->ns += now_ns() - t0;
    return 0;
}

static int bare_block(block *b)
{
    int64_t t0 = now_ns();
    for (long i = 0; i < b->n; i++) {
        pid_t pid;
        int r = posix_spawnp(&pid, "true", NULL, NULL, argv_true, environ);
        if (r)
            return -r;
        int st;
        while (waitpid(pid, &st, 0) < 0)
            if (errno != EINTR)
                return -errno;
    }
    b->ns += now_ns() - t0;
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "both";
    if (argc > 2)
        n_children = strtol(argv[2], NULL, 10);
    int rounds = argc > 3 ? atoi(argv[3]) : 5;
    if (n_children < 1 || rounds < 1 || rounds > 100) {
        fprintf(stderr, "usage: spawn [cio|bare|both] [N] [ROUNDS]\n");
        return 2;
    }
    int do_cio = strcmp(mode, "bare") != 0;
    int do_bare = strcmp(mode, "cio") != 0;
    double c[100], b[100];
    const long step = 100;
    for (int i = 0; i < rounds; i++) {
        block bc = {0, 0}, bb = {0, 0};
        for (long done = 0; done < n_children; done += step) {
            long k = n_children - done < step ? n_children - done : step;
            if (do_cio) {
                bc.n = k;
                int r = cio_run(cio_block, &bc, NULL);
                if (r < 0) {
                    fprintf(stderr, "spawn: cio: %s\n", cio_strerror(r));
                    return 1;
                }
            }
            if (do_bare) {
                bb.n = k;
                int r = bare_block(&bb);
                if (r < 0) {
                    fprintf(stderr, "spawn: bare: %s\n", strerror(-r));
                    return 1;
                }
            }
        }
        c[i] = (double)bc.ns / 1e6 / (double)n_children;
        b[i] = (double)bb.ns / 1e6 / (double)n_children;
    }
    if (do_cio) {
        qsort(c, (size_t)rounds, sizeof(double), cmp);
        printf("spawn_cio_ms %.4f\n", c[rounds / 2]);
    }
    if (do_bare) {
        qsort(b, (size_t)rounds, sizeof(double), cmp);
        printf("spawn_bare_ms %.4f\n", b[rounds / 2]);
    }
    return 0;
}
