/*
 * s04_generators.c - MISSION S4: generators with next/send/throw and
 * "yield from" delegation.
 *
 * The note (Python):
 *     def gen():
 *         yield from subgen()
 *         yield from subgen()
 *     def subgen():
 *         i = 0
 *         while i<1:
 *             x = yield
 *             yield x+1
 *             i+=1
 *         return 100
 *     def main():
 *         g = gen()
 *         print(next(g))      # None
 *         print(g.send(1))    # 2
 *         print(g.send(1))    # None
 *         print(g.send(1))    # 2
 *         #g.throw(StopIteration) # "seems to throw an exception into gen()"
 * Values travel as intptr_t in void *; NULL prints as None. Then: a throw
 * into gen reaches subgen, which does not handle it, so it comes back out;
 * a generator that handles a thrown error; closing a suspended generator;
 * a generator driven by a task.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s04_generators.c -o s04_generators \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "cio.h"

/* none: print a NULL yielded value as None (else as the integer 0) */
static void print_value(const char *call, int r, void *v, int none)
{
    if (r == CIO_GEN_YIELDED && v == NULL && none)
        printf("%-13s None\n", call);
    else if (r == CIO_GEN_YIELDED)
        printf("%-13s %ld\n", call, (long)(intptr_t)v);
    else if (r == CIO_GEN_RETURNED)
        printf("%-13s returned %ld (StopIteration)\n", call, (long)(intptr_t)v);
    else
        printf("%-13s raised %s (%s)\n", call, cio_err_name(r), cio_strerror(r));
}

static int subgen(cio_gen *g, void *arg, void **retval)
{
    (void)arg;
    for (int i = 0; i < 1; i++) {
        void *x = NULL;
        int r = cio_gen_yield(g, NULL, &x);              /* x = yield */
        if (r == 0)
            r = cio_gen_yield(g, (void *)((intptr_t)x + 1), NULL); /* yield x+1 */
        if (r < 0) {
            printf("  subgen: %s raised at its yield, not handled\n", cio_err_name(r));
            return r;
        }
    }
    *retval = (void *)(intptr_t)100;                      /* return 100 */
    return 0;
}

static int gen(cio_gen *g, void *arg, void **retval)
{
    (void)arg;
    (void)retval;
    for (int k = 0; k < 2; k++) {                         /* yield from subgen() x2 */
        cio_gen *sub;
        void *ret = NULL;
        int r = cio_gen_new(&sub, subgen, NULL, 0);
        if (r == 0)
            r = cio_gen_yield_from(g, sub, &ret);
        cio_gen_free(sub);
        if (r < 0)
            return r;
    }
    return 0;
}

/* A running total; a thrown -EINVAL resets it (handled), anything else
 * ends the generator; closing it runs its cleanup. */
static int totals(cio_gen *g, void *arg, void **retval)
{
    (void)arg;
    (void)retval;
    intptr_t total = 0;
    for (;;) {
        void *in = NULL;
        int r = cio_gen_yield(g, (void *)total, &in);
        if (r == -EINVAL) {
            printf("  totals: caught EINVAL, resetting\n");
            total = 0;
        } else if (r < 0) {
            printf("  totals: got %s, cleaning up and re-raising\n", cio_err_name(r));
            return r;
        } else {
            total += (intptr_t)in;
        }
    }
}

/* A task that pulls from a generator between sleeps. */
static int consumer(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_gen *g;
    void *v = NULL;
    cio_gen_new(&g, totals, NULL, 0);
    int r = cio_gen_next(g, &v);
    for (intptr_t n = 1; n <= 3 && r == CIO_GEN_YIELDED; n++) {
        if ((r = cio_sleep(100 * CIO_MS)) < 0)
            break;
        r = cio_gen_send(g, (void *)n, &v);
        printf("  task %s: send(%ld) -> %ld\n", cio_task_name(cio_current_task()),
               (long)n, (long)(intptr_t)v);
    }
    cio_gen_free(g); /* closes it: its cleanup runs */
    return r < 0 ? r : 0;
}

int main(void)
{
    cio_gen *g;
    void *v = NULL;
    int r;

    printf("== the note's main() ==\n");
    cio_gen_new(&g, gen, NULL, 0);
    r = cio_gen_next(g, &v);                   print_value("next(g)", r, v, 1);
    r = cio_gen_send(g, (void *)1, &v);        print_value("g.send(1)", r, v, 1);
    r = cio_gen_send(g, (void *)1, &v);        print_value("g.send(1)", r, v, 1);
    r = cio_gen_send(g, (void *)1, &v);        print_value("g.send(1)", r, v, 1);

    printf("\n== throw into the delegating generator ==\n");
    r = cio_gen_throw(g, -EINVAL, &v);         print_value("g.throw(EINVAL)", r, v, 1);
    printf("finished: %d; next(g) -> %s\n", cio_gen_finished(g),
           cio_err_name(cio_gen_next(g, &v)));
    cio_gen_free(g);

    printf("\n== a generator that handles a thrown error ==\n");
    cio_gen_new(&g, totals, NULL, 0);
    r = cio_gen_next(g, &v);                   print_value("next(t)", r, v, 0);
    r = cio_gen_send(g, (void *)5, &v);        print_value("t.send(5)", r, v, 0);
    r = cio_gen_send(g, (void *)7, &v);        print_value("t.send(7)", r, v, 0);
    r = cio_gen_throw(g, -EINVAL, &v);         print_value("t.throw(EINVAL)", r, v, 0);
    r = cio_gen_send(g, (void *)3, &v);        print_value("t.send(3)", r, v, 0);
    printf("cio_gen_free(t) on the suspended generator -> %d\n", cio_gen_free(g));

    printf("\n== a generator driven from inside a task ==\n");
    r = cio_run(consumer, NULL, NULL);
    printf("cio_run(consumer) -> %d\n", r);
    return r < 0;
}
