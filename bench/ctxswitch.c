/*
 * ctxswitch.c - cost of one cio__coro_switch (one direction), main thread
 * to a coroutine and back, N round trips; median of ROUNDS rounds.
 * Prints "ctx_switch_ns <value>". Compare with peers/ctxswitch_boost.cpp,
 * which runs the same loop on Boost.Context's fcontext.
 */
#include "bench_util.h"
#include "coro/coro.h"

#define ROUNDS 5

static cio__coro co;
static cio__coro *main_co;
static volatile long counter;

static void body(void *arg)
{
    (void)arg;
    for (;;) {
        counter++;
        cio__coro_switch(&co, main_co);
    }
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000000L;
    if (n <= 0)
        n = 10000000L;
    main_co = cio__coro_current();
    cio__coro_opts o = CIO__CORO_OPTS_INIT;
    o.compact = 0;
    if (cio__coro_create(&co, &o, body, NULL) != 0) {
        fprintf(stderr, "ctxswitch: cannot create a coroutine\n");
        return 1;
    }
    for (long i = 0; i < 100000; i++) /* warm up */
        cio__coro_switch(main_co, &co);

    double r[ROUNDS];
    for (int k = 0; k < ROUNDS; k++) {
        int64_t t0 = bench_now_ns();
        for (long i = 0; i < n; i++)
            cio__coro_switch(main_co, &co);
        r[k] = (double)(bench_now_ns() - t0) / ((double)n * 2);
    }
    if (counter != 100000 + (long)ROUNDS * n) {
        fprintf(stderr, "ctxswitch: lost switches\n");
        return 1;
    }
    printf("ctx_switch_ns %.2f\n", bench_median(r, ROUNDS));
    /* co is suspended for good; the process exits without destroying it. */
    return 0;
}
