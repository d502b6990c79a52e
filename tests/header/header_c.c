/*
 * header_c.c - compiled (not linked) by the CTest test header.c11 with
 * -std=c11 -Wall -Wextra -Wpedantic -Werror and no other flag, to prove
 * that cio.h stands alone in a strict C11 program. Included twice to check
 * the include guard. Uses errno names with no #include <errno.h>.
 */
/* clang-format off */
#include <cio.h>
#include <cio.h>
/* clang-format on */

int main(void)
{
    cio_loop_opts opts = CIO_LOOP_OPTS_INIT;
    (void)opts;
    /* Every result is -E...: cio.h brings <errno.h> with it. */
    int errors[] = {-EIO, -ECANCELED, -ETIMEDOUT, CIO_EINTERRUPTED};
    (void)errors;
    return cio_strerror(0) != NULL ? 0 : 1;
}
