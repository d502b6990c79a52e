/*
 * cio_testutil_mt.h - helpers for the tests that use threads (concurrent
 * futures, thread pools, loop threads): the wall clock and sleeps of the
 * calling thread, which those tests measure and wait with.
 *
 * Allocation counting needs nothing extra: cio_testutil.h's allocator
 * counts atomically, so tu_setup/tu_teardown serve the threaded cases
 * too (as long as they do not inject failures with tu_fail_nth).
 * Header-only like cio_testutil.h, so that each test binary stays one
 * source file.
 */
#ifndef CIO_TESTUTIL_MT_H
#define CIO_TESTUTIL_MT_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "cio_testutil.h"

/* The monotonic wall clock in nanoseconds (not a loop's clock). */
static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CIO_SEC + ts.tv_nsec;
}

/* Blocks the calling thread for ns nanoseconds (time.sleep). */
static inline void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / CIO_SEC), (long)(ns % CIO_SEC)};
    nanosleep(&ts, NULL);
}

static inline void sleep_ms(int ms)
{
    sleep_ns((int64_t)ms * CIO_MS);
}

#endif
