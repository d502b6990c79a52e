/*
 * http_router.c - figure http_router_ns: ns for one lookup among 1,000
 * routes (500 static "/static/pageN", 500 typed "/api/v1/resN/<id:int>"),
 * alternating a static and a typed path spread over the table, median of
 * 7 batches.
 *
 * Usage: http_router [-n N]  (N lookups per batch, default 2,000,000)
 */
#include "bench_util.h"
#include "http/router.h"

int main(int argc, char **argv)
{
    long n = 2000000, unused = 0;
    bench_args(argc, argv, "http_router", "[-n N]", &n, 1000000000, "-x",
               &unused, 1);
    cio__router *r;
    if (cio__router_new(&r) != 0)
        return 1;
    static int h;
    char pat[64], err[128];
    for (int i = 0; i < 500; i++) {
        snprintf(pat, sizeof(pat), "/api/v1/res%d/<id:int>", i);
        if (cio__router_add(r, pat, CIO__M_GET, &h, err, sizeof(err)) != 0)
            return 1;
        snprintf(pat, sizeof(pat), "/static/page%d", i);
        if (cio__router_add(r, pat, CIO__M_GET, &h, err, sizeof(err)) != 0)
            return 1;
    }
    enum { NP = 64 };
    char paths[NP][48];
    size_t lens[NP];
    for (int i = 0; i < NP; i++) {
        int k = (i * 97) % 500;
        int w = (i & 1) ? snprintf(paths[i], 48, "/api/v1/res%d/%d", k, k * 7)
                        : snprintf(paths[i], 48, "/static/page%d", k);
        lens[i] = (size_t)w;
    }
    volatile size_t sink = 0;
    double v[7];
    for (int round = -1; round < 7; round++) {
        long iters = round < 0 ? n / 10 : n;
        int64_t t0 = bench_now_ns();
        for (long i = 0; i < iters; i++) {
            cio__route_match m;
            int j = (int)(i & (NP - 1));
            if (cio__router_lookup(r, CIO__M_GET, paths[j], lens[j], &m)) {
                fprintf(stderr, "http_router: %s not found\n", paths[j]);
                return 1;
            }
            sink += m.nparams;
        }
        int64_t t1 = bench_now_ns();
        if (round >= 0)
            v[round] = (double)(t1 - t0) / (double)iters;
    }
    (void)sink;
    cio__router_free(r);
    printf("http_router_ns %.1f\n", bench_median(v, 7));
    return 0;
}
