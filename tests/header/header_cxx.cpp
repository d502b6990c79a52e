/*
 * header_cxx.cpp - compiled (not linked) by the CTest test header.cxx with
 * -std=c++11 -Wall -Wextra -Wpedantic -Werror, to prove that cio.h is
 * usable from C++ (extern "C", no C-only syntax), the compound-literal
 * macros included (CIO_CORO, CIO_AW_*: inline functions under C++).
 */
/* clang-format off */
#include <cio.h>
#include <cio.h>
/* clang-format on */

static int body(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return 0;
}

int main()
{
    cio_loop_opts opts = CIO_LOOP_OPTS_INIT;
    (void)opts;
    static const int k = 7;
    cio_coro c = CIO_CORO(body, &k); /* a const pointer, as C allows */
    cio_coro n = CIO_CORO(body, NULL);
    cio_future *f = nullptr;
    cio_awaitable aws[3] = {CIO_AW_FUTURE(f), CIO_AW_CORO(body, &k),
                            CIO_AW_CORO(body, 0)};
    int ok = c.fn == body && c.arg == &k && n.arg == nullptr &&
             aws[0].future == nullptr && aws[0].coro.fn == nullptr &&
             aws[1].coro.fn == body && aws[1].coro.arg == &k &&
             aws[2].coro.arg == nullptr;
    return ok && cio_strerror(0) != nullptr ? 0 : 1;
}
