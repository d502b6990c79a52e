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
 */
#ifndef CIO_TEST_H
#define CIO_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

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
        return cmocka_run_group_tests_name(argv[0], cases, NULL, NULL);       \
    }

#endif
