/*
 * queue.c - queue_pingpong_ns: the cost of one item through a cio_queue
 * (one put plus the get that receives it), with a task switch each way.
 *
 * Shape, the same in bench/peers/queue_pingpong.py: two unbounded FIFO queues and
 * two tasks. A puts i on q1 and gets from q2; B gets from q1 and puts
 * what it got on q2. One round trip moves two items, so the figure is
 * elapsed / (2 * round trips). Each put finds the other task waiting in
 * get, so every item wakes a task and switches to it: this measures the
 * wake-up path, not a batch drain. A discarded warm-up of a tenth of the
 * work, then ROUNDS measured rounds of -n round trips; the median is
 * printed.
 *
 * Usage: queue [-n ROUND_TRIPS] [--rounds N]
 * Prints one line: "queue_pingpong_ns <ns per item>".
 */
#define _POSIX_C_SOURCE 200809L

#include "bench_util.h"

static cio_queue *q1, *q2;

static int pong(void *arg, void **result)
{
    (void)result;
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++) {
        void *item;
        int r = cio_queue_get(q1, &item);
        if (r == 0)
            r = cio_queue_put(q2, item);
        if (r < 0)
            return r;
    }
    return 0;
}

/* One round: n round trips; returns elapsed ns or a negative error. */
static int64_t one_round(long n)
{
    cio_task *b;
    int r = cio_task_create(cio_get_running_loop(), CIO_CORO(pong, (intptr_t)n),
                            NULL, &b);
    if (r < 0)
        return r;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n && r == 0; i++) {
        void *item;
        r = cio_queue_put(q1, (void *)(intptr_t)i);
        if (r == 0)
            r = cio_queue_get(q2, &item);
        if (r == 0 && (intptr_t)item != i)
            r = -EPROTO;
    }
    int64_t elapsed = bench_now_ns() - t0;
    int rb = cio_await(b, NULL);
    cio_future_release(b);
    if (r < 0 || rb < 0)
        return r < 0 ? r : rb;
    return elapsed;
}

typedef struct bench {
    long n;
    int rounds;
    double ns[16];
} bench;

static int bench_main(void *arg, void **result)
{
    (void)result;
    bench *bn = arg;
    int r = cio_queue_new(&q1, cio_get_running_loop(), 0, NULL);
    if (r == 0)
        r = cio_queue_new(&q2, cio_get_running_loop(), 0, NULL);
    if (r < 0)
        return r;
    int64_t e = one_round(bn->n / 10 > 0 ? bn->n / 10 : 1); /* warm-up */
    for (int i = 0; i < bn->rounds && e >= 0; i++) {
        e = one_round(bn->n);
        bn->ns[i] = (double)e / (2.0 * (double)bn->n);
    }
    cio_queue_free(q1);
    cio_queue_free(q2);
    return e < 0 ? (int)e : 0;
}

int main(int argc, char **argv)
{
    bench bn = {1000000, 5, {0}};
    long rounds = bn.rounds;
    bench_args(argc, argv, "queue", "[-n ROUND_TRIPS] [--rounds N]", &bn.n,
               1L << 40, "--rounds", &rounds, 16);
    bn.rounds = (int)rounds;
    int rc = cio_run(bench_main, &bn, NULL);
    if (rc < 0) {
        fprintf(stderr, "queue: %s\n", cio_strerror(rc));
        return 1;
    }
    printf("queue_pingpong_ns %.1f\n", bench_median(bn.ns, (size_t)bn.rounds));
    return 0;
}
