/*
 * cio_testutil.h - helpers shared by the loop-level tests: a counting
 * allocator (every test ends with zero live blocks) that can also fail the
 * Nth allocation, and a loop on the virtual clock.
 * Header-only so that each test binary stays one source file.
 */
#ifndef CIO_TESTUTIL_H
#define CIO_TESTUTIL_H

#include <stdlib.h>

#include "cio.h"
#include "cio_test.h"

#include <stdatomic.h>

/* Atomic: loop tests also allocate from other threads (threadsafe calls).
 * The failure injection is meant for single-threaded tests. */
static atomic_long tu_live;    /* blocks allocated and not freed */
static atomic_long tu_fail_at; /* 0: never; N: the Nth allocation fails */
static atomic_long tu_count;

static void *tu_malloc(size_t n, void *ud)
{
    (void)ud;
    if (tu_fail_at && ++tu_count == tu_fail_at)
        return NULL;
    void *p = malloc(n);
    if (p)
        tu_live++;
    return p;
}

static void *tu_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    if (tu_fail_at && ++tu_count == tu_fail_at)
        return NULL;
    void *q = realloc(p, n);
    if (q && !p)
        tu_live++;
    return q;
}

static void tu_free(void *p, void *ud)
{
    (void)ud;
    if (p)
        tu_live--;
    free(p);
}

static const cio_allocator tu_allocator = {tu_malloc, tu_realloc, tu_free,
                                           NULL};

/* Installs the counting allocator; use as a cmocka group/test setup. */
static inline int tu_setup(void **state)
{
    (void)state;
    tu_live = 0;
    tu_fail_at = 0;
    tu_count = 0;
    return cio_set_allocator(&tu_allocator);
}

/* Checks that nothing leaked and restores the libc allocator. */
static inline int tu_teardown(void **state)
{
    (void)state;
    long live = tu_live;
    cio_set_allocator(NULL);
    if (live != 0) {
        fprintf(stderr, "leak: %ld live blocks at teardown\n", live);
        return -1;
    }
    return 0;
}

static inline void tu_fail_nth(long n)
{
    tu_count = 0;
    tu_fail_at = n;
}

static inline cio_loop *tu_loop_virtual(void)
{
    cio_loop_opts o = CIO_LOOP_OPTS_INIT;
    o.clock = CIO_CLOCK_VIRTUAL;
    cio_loop *loop = NULL;
    assert_int_equal(cio_loop_new(&loop, &o), 0);
    return loop;
}

static inline void tu_loop_done(cio_loop *loop)
{
    assert_int_equal(cio_loop_close(loop), 0);
    assert_int_equal(cio_loop_free(loop), 0);
}

#define TU_TEST(name) cmocka_unit_test_setup_teardown(name, tu_setup, tu_teardown)

#endif
