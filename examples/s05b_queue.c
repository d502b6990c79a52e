/*
 * s05b_queue.c - producer/consumer over a bounded cio_queue.
 *
 * The Python this mirrors:
 *     async def consumer(name, q):
 *         while True:
 *             try:
 *                 job = await q.get()
 *             except asyncio.QueueShutDown:
 *                 print(name, 'sees the shutdown and leaves'); return
 *             await asyncio.sleep(job.cost)
 *             q.task_done()
 *     async def main():
 *         q = asyncio.Queue(maxsize=3)
 *         consumers = [asyncio.create_task(consumer(n, q)) for n in names]
 *         for job in jobs:
 *             await q.put(job)        # waits while 3 jobs are queued
 *         await q.join()              # every job processed
 *         q.shutdown()                # Python 3.13: wakes idle consumers
 *         await asyncio.gather(*consumers)
 *
 * Ten jobs of 20-60 ms each for three consumers: it ends after about
 * 0.2 s. Times are printed relative to the start, in milliseconds.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s05b_queue.c -o s05b_queue \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "cio.h"

#define NJOBS 10
#define NCONSUMERS 3

static cio_queue *q;
static int64_t t0;

static long ms(void)
{
    return (long)((cio_loop_time(cio_get_running_loop()) - t0) / CIO_MS);
}

static int consumer(void *arg, void **result)
{
    (void)result;
    const char *name = arg;
    int done = 0;
    for (;;) {
        void *job;
        int r = cio_queue_get(q, &job);
        if (r == -ESHUTDOWN) {
            printf("%4ld ms  %s: queue shut down, leaving after %d jobs\n",
                   ms(), name, done);
            return 0;
        }
        if (r < 0)
            return r;
        int id = (int)(intptr_t)job;
        int cost = 20 + (id * 17) % 41;
        printf("%4ld ms  %s: got job %d (%d ms), %zd left in the queue\n", ms(),
               name, id, cost, cio_queue_qsize(q));
        r = cio_sleep(cost * CIO_MS);
        if (r < 0)
            return r;
        cio_queue_task_done(q);
        done++;
    }
}

static int producer_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    static const char *names[NCONSUMERS] = {"alice", "bob", "carol"};
    cio_loop *loop = cio_get_running_loop();
    t0 = cio_loop_time(loop);
    int r = cio_queue_new(&q, loop, 3, NULL);
    if (r < 0)
        return r;
    cio_task *c[NCONSUMERS];
    for (int i = 0; i < NCONSUMERS; i++)
        cio_task_create(loop, CIO_CORO(consumer, names[i]), NULL, &c[i]);

    for (int id = 1; id <= NJOBS; id++) {
        int full = cio_queue_full(q);
        r = cio_queue_put(q, (void *)(intptr_t)id); /* waits while full */
        printf("%4ld ms  producer: put job %d%s\n", ms(), id,
               full ? " (after waiting for room)" : "");
        if (r < 0)
            return r;
    }
    printf("%4ld ms  producer: all jobs queued, joining\n", ms());
    cio_queue_join(q);
    printf("%4ld ms  producer: join returned, every job is done\n", ms());
    cio_queue_shutdown(q, 0);
    printf("%4ld ms  producer: shutdown; put now gives %s\n", ms(),
           cio_err_name(cio_queue_put_nowait(q, NULL)));
    for (int i = 0; i < NCONSUMERS; i++) {
        cio_await(c[i], NULL);
        cio_future_release(c[i]);
    }
    return cio_queue_free(q);
}

int main(void)
{
    int r = cio_run(producer_main, NULL, NULL);
    printf("cio_run -> %s\n", cio_err_name(r));
    return r != 0;
}
