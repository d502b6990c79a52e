/*
 * header_cxx.cpp - compiled (not linked) by the CTest test header.cxx with
 * -std=c++11 -Wall -Wextra -Wpedantic -Werror, to prove that cio.h is
 * usable from C++ (extern "C", no C-only syntax outside macros).
 */
/* clang-format off */
#include <cio.h>
#include <cio.h>
/* clang-format on */

int main()
{
    cio_loop_opts opts = CIO_LOOP_OPTS_INIT;
    (void)opts;
    return cio_strerror(0) != nullptr ? 0 : 1;
}
