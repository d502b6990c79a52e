/*
 * ctxswitch_boost.cpp - the loop of bench/ctxswitch.c on Boost.Context's
 * fcontext (make_fcontext / jump_fcontext), the reference cio's switch is
 * held to. One switch = one jump_fcontext; N round trips; median of 5.
 * Prints "boost_ctx_switch_ns <value>". Build:
 *   g++ -O2 bench/peers/ctxswitch_boost.cpp -lboost_context
 */
#include <boost/context/detail/fcontext.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <sys/mman.h>

namespace ctx = boost::context::detail;

static const int ROUNDS = 5;
static volatile long counter;

static void body(ctx::transfer_t t)
{
    for (;;) {
        counter++;
        t = ctx::jump_fcontext(t.fctx, nullptr);
    }
}

static double now_ns()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? std::atol(argv[1]) : 10000000L;
    if (n <= 0)
        n = 10000000L;
    const std::size_t size = 256 * 1024;
    void *mem = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (mem == MAP_FAILED)
        return 1;
    ctx::fcontext_t co =
        ctx::make_fcontext(static_cast<char *>(mem) + size, size, body);
    for (long i = 0; i < 100000; i++)
        co = ctx::jump_fcontext(co, nullptr).fctx;

    double r[ROUNDS];
    for (int k = 0; k < ROUNDS; k++) {
        double t0 = now_ns();
        for (long i = 0; i < n; i++)
            co = ctx::jump_fcontext(co, nullptr).fctx;
        r[k] = (now_ns() - t0) / ((double)n * 2);
    }
    std::sort(r, r + ROUNDS);
    if (counter != 100000 + (long)ROUNDS * n) {
        std::fprintf(stderr, "ctxswitch_boost: lost switches\n");
        return 1;
    }
    std::printf("boost_ctx_switch_ns %.2f\n", r[ROUNDS / 2]);
    return 0;
}
