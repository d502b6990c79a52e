/*
 * s12_process_pool.c - MISSION S12: ProcessPoolExecutor for CPU-bound
 * work (is_prime).
 *
 * is_prime is registered and the fork server started at the top of main,
 * while the program is single-threaded. Then, on the note's numbers:
 * submit + as_completed (completion order), and map as an iterator
 * (argument order, each item as soon as it is done, printed zipped with
 * the input as the note does). Finally a bigger
 * CPU-bound run: counting the primes below 3,000,000 in chunks, on one
 * worker and on every CPU.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s12_process_pool.c -o s12_process_pool \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cio.h>

static int prime(int n)
{
    if (n < 2)
        return 0;
    if (n % 2 == 0)
        return n == 2;
    for (int i = 3; i * i <= n; i += 2) /* the note's loop, sqrt bound */
        if (n % i == 0)
            return 0;
    return 1;
}

/* is_prime(n): one int in, one int (0/1) out. */
static int is_prime(const void *in, size_t len, void *out, size_t *out_len)
{
    int n, flag;
    if (len != sizeof(n))
        return -1;
    memcpy(&n, in, sizeof(n));
    flag = prime(n);
    memcpy(out, &flag, sizeof(flag));
    *out_len = sizeof(flag);
    return 0;
}

/* count_primes([lo, hi)): two ints in, one int out. */
static int count_primes(const void *in, size_t len, void *out,
                        size_t *out_len)
{
    int range[2], count = 0;
    if (len != sizeof(range))
        return -1;
    memcpy(range, in, sizeof(range));
    for (int n = range[0]; n < range[1]; n++)
        count += prime(n);
    memcpy(out, &count, sizeof(count));
    *out_len = sizeof(count);
    return 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int count_below(unsigned workers, int limit, double *secs)
{
    cio_process_pool *pool;
    cio_process_pool_opts o = CIO_PROCESS_POOL_OPTS_INIT;
    o.max_workers = workers;
    if (cio_process_pool_new(&pool, &o) < 0)
        return -1;
    enum { CHUNKS = 60 };
    int ranges[CHUNKS][2], counts[CHUNKS];
    for (int i = 0; i < CHUNKS; i++) {
        ranges[i][0] = (int)((int64_t)limit * i / CHUNKS);
        ranges[i][1] = (int)((int64_t)limit * (i + 1) / CHUNKS);
    }
    double t0 = now();
    int r = cio_process_pool_map(pool, count_primes, ranges, sizeof(ranges[0]),
                                 CHUNKS, counts, sizeof(int), -1, NULL);
    *secs = now() - t0;
    cio_process_pool_free(pool);
    int total = 0;
    for (int i = 0; i < CHUNKS; i++)
        total += counts[i];
    return r < 0 ? r : total;
}

int main(void)
{
    cio_process_pool_register("is_prime", is_prime);
    cio_process_pool_register("count_primes", count_primes);
    if (cio_process_pool_prepare() < 0)
        return 1;

    int nums[5] = {25, 61, 29, 50, 109};
    cio_process_pool *pool;
    if (cio_process_pool_new(&pool, NULL) < 0)
        return 1;

    /* future_to_num = {executor.submit(is_prime, n): n for n in nums} */
    cio_cfuture *fs[5];
    for (int i = 0; i < 5; i++)
        cio_process_pool_submit(pool, is_prime, &nums[i], sizeof(int),
                                &fs[i]);
    cio_cfuture_iter *it;
    cio_cfuture_as_completed_new(fs, 5, -1, &it);
    cio_cfuture *f;
    while (cio_cfuture_as_completed_next(it, &f) == 1) {
        int i = 0;
        while (fs[i] != f)
            i++;
        void *data;
        if (cio_cfuture_result(f, -1, &data) == 0)
            printf("%d %s\n", nums[i],
                   *(int *)((cio_bytes *)data)->data ? "True" : "False");
    }
    cio_cfuture_as_completed_free(it);
    for (int i = 0; i < 5; i++)
        cio_cfuture_release(fs[i]);

    /* for x in zip(nums, executor.map(is_prime, nums)): print(x)
     * The map iterator yields in argument order, each item as soon as it
     * is done. */
    if (cio_process_pool_map_iter(pool, is_prime, nums, sizeof(int), 5, -1,
                                  &it) < 0)
        return 1;
    for (int i = 0; cio_cfuture_as_completed_next(it, &f) == 1; i++) {
        void *data;
        if (cio_cfuture_result(f, 0, &data) < 0)
            return 1;
        printf("(%d, %s)\n", nums[i],
               *(int *)((cio_bytes *)data)->data ? "True" : "False");
    }
    cio_cfuture_as_completed_free(it);
    cio_process_pool_free(pool);

    double t1, tn;
    int c1 = count_below(1, 3000000, &t1);
    int cn = count_below(0, 3000000, &tn);
    printf("primes below 3,000,000: %d (1 worker: %.2f s), %d (all CPUs: "
           "%.2f s, %.1fx)\n",
           c1, t1, cn, tn, t1 / tn);
    return c1 == 216816 && cn == c1 ? 0 : 1;
}
