/*
 * s13_pool.c - MISSION S13: multiprocessing.Pool(4) and
 * multiprocessing.pool.ThreadPool(4) with the same functions:
 *   Pool(4).apply_async(func, [url, 60]).get()   -> blocking get
 *   Pool(4).map(math.exp, range(1, 11))          -> blocking map
 * for the process kind and the thread kind.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s13_pool.c -o s13_pool \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <stdio.h>
#include <string.h>

#include <cio.h>

/* func(url, timeout): the note's stand-in; returns a message. */
static int func(const void *in, size_t len, void *out, size_t *out_len)
{
    int n = snprintf(out, *out_len, "fetched %.*s (timeout=60)", (int)len,
                     (const char *)in);
    if (n < 0)
        return -1;
    *out_len = (size_t)n + 1;
    return 0;
}

/* math.exp without libm: the Taylor series (exact to double precision for
 * these arguments). */
static int math_exp(const void *in, size_t len, void *out, size_t *out_len)
{
    int x;
    if (len != sizeof(x))
        return -1;
    memcpy(&x, in, sizeof(x));
    double sum = 1, term = 1;
    for (int k = 1; k < 80; k++) {
        term *= x / (double)k;
        sum += term;
    }
    memcpy(out, &sum, sizeof(sum));
    *out_len = sizeof(sum);
    return 0;
}

static int demo(cio_pool_kind kind, const char *name)
{
    cio_pool *pool;
    if (cio_pool_new(&pool, kind, 4) < 0)
        return -1;
    const char *url = "http://localhost";
    cio_cfuture *res;
    cio_pool_apply_async(pool, func, url, strlen(url), &res);
    void *got;
    if (cio_cfuture_result(res, -1, &got) < 0) /* .get() blocks */
        return -1;
    printf("%s(4).apply_async(func, [url, 60]).get() = '%s'\n", name,
           (char *)((cio_bytes *)got)->data);
    cio_cfuture_release(res);

    int xs[10];
    double ys[10];
    for (int i = 0; i < 10; i++)
        xs[i] = i + 1;
    if (cio_pool_map(pool, math_exp, xs, sizeof(int), 10, ys, sizeof(double),
                     NULL) < 0)
        return -1;
    printf("%s(4).map(math.exp, range(1, 11)) = [", name);
    for (int i = 0; i < 10; i++)
        printf("%s%.15g", i ? ", " : "", ys[i]);
    printf("]\n");
    cio_pool_free(pool);
    return 0;
}

int main(void)
{
    cio_process_pool_register("func", func);
    cio_process_pool_register("math_exp", math_exp);
    if (cio_process_pool_prepare() < 0) /* before any thread exists */
        return 1;
    if (demo(CIO_POOL_PROCESS, "multiprocessing.Pool") < 0)
        return 1;
    if (demo(CIO_POOL_THREAD, "multiprocessing.pool.ThreadPool") < 0)
        return 1;
    return 0;
}
