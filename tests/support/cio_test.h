/*
 * cio_test.h - the thin layer between cmocka and CTest.
 *
 * Every test file lists its cases in one cmocka array and ends with
 * CIO_TEST_MAIN(array). The binary then understands:
 *   --list        print one case name per line
 *   NAME          run only that case (CTest registers one test per case)
 *   (nothing)     run every case
 * CMake finds the case names by reading the cmocka_unit_test* lines of the
 * source, so a new case needs no CMake change.
 *
 * The suite runs on each backend (CIO_BACKEND=uring: make test's uring
 * runs). Where the kernel refuses io_uring, a run that asks for it exits
 * 77, which CTest reports as skipped, never as passed.
 */
#ifndef CIO_TEST_H
#define CIO_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cio.h"

/* UNDER_VALGRIND(): 1 when memcheck runs the test (it slows some cases
 * down past their bounds, or cannot run them: see test_backend.c). */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef UNDER_VALGRIND
#define UNDER_VALGRIND() 0
#endif

static inline int cio_test_backend_missing(void)
{
    const char *b = getenv("CIO_BACKEND");
    if (!b || strcmp(b, "uring") != 0)
        return 0;
    cio_loop *l;
    cio_loop_opts o = CIO_LOOP_OPTS_INIT;
    o.backend = CIO_BACKEND_URING;
    int r = cio_loop_new(&l, &o);
    if (r < 0) {
        fprintf(stderr, "CIO_BACKEND=uring: io_uring unavailable (%s): "
                        "skipped\n", cio_strerror(r));
        return 1;
    }
    cio_loop_free(l);
    return 0;
}

#define CIO_TEST_MAIN(cases)                                                  \
    int main(int argc, char **argv)                                           \
    {                                                                         \
        size_t n_ = sizeof(cases) / sizeof((cases)[0]);                       \
        if (argc > 1 && strcmp(argv[1], "--list") == 0) {                     \
            for (size_t i_ = 0; i_ < n_; i_++)                                \
                printf("%s\n", (cases)[i_].name);                             \
            return 0;                                                         \
        }                                                                     \
        if (argc > 1) {                                                       \
            size_t found_ = 0;                                                \
            for (size_t i_ = 0; i_ < n_; i_++)                                \
                if (strcmp((cases)[i_].name, argv[1]) == 0)                   \
                    found_ = 1;                                               \
            if (!found_) {                                                    \
                fprintf(stderr, "no test case named %s\n", argv[1]);          \
                return 2;                                                     \
            }                                                                 \
            cmocka_set_test_filter(argv[1]);                                  \
        }                                                                     \
        if (cio_test_backend_missing())                                       \
            return 77;                                                        \
        return cmocka_run_group_tests_name(argv[0], cases, NULL, NULL);       \
    }

#endif
