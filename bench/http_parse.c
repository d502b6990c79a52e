/*
 * http_parse.c - figure http_parse_ns: ns to parse the head of a typical
 * 545-byte browser request (request line and 12 fields, framing checks
 * included) with cio::http's parser, median of 9 batches. The batches
 * alternate between the scalar scan and the one the CPU selects (SSE4.2
 * where present), so drift on a shared machine hits both alike; the
 * scalar figure is printed as http_parse_scalar_ns.
 *
 * Usage: http_parse [-n N]  (N parses per batch, default 1,000,000)
 */
#include "bench_util.h"
#include "http/parse.h"

static const char req[] =
    "GET /static/app/dashboard.html?tab=overview&lang=en HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 "
    "Firefox/120.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,"
    "image/avif,image/webp,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://www.example.com/\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=4f1a9c2e7b; theme=dark\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "\r\n";

static volatile size_t sink;

static double batch(long iters)
{
    cio__http_limits lim = CIO__HTTP_LIMITS_INIT;
    cio__http_header hdrs[32];
    size_t len = sizeof(req) - 1;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < iters; i++) {
        cio__http_msg m = {.headers = hdrs, .headers_cap = 32};
        int r = cio__http_parse_head(req, len, 0, &lim, &m);
        if (r != (int)len) {
            fprintf(stderr, "http_parse: parse failed: %d\n", r);
            exit(1);
        }
        sink += m.nheaders;
    }
    return (double)(bench_now_ns() - t0) / (double)iters;
}

int main(int argc, char **argv)
{
    long n = 1000000, unused = 0;
    bench_args(argc, argv, "http_parse", "[-n N]", &n, 1000000000, "-x",
               &unused, 1);
    int selected = cio__http_parse_set_simd(1);
    cio__http_parse_set_simd(selected);
    double v[2][9];
    batch(n / 10);
    for (int round = 0; round < 9; round++)
        for (int mode = 0; mode < 2; mode++) {
            cio__http_parse_set_simd(mode ? selected : 0);
            v[mode][round] = batch(n);
        }
    printf("# %zu-byte request, selected scan: %s\n", sizeof(req) - 1,
           selected ? "sse4.2" : "scalar");
    printf("http_parse_scalar_ns %.1f\n", bench_median(v[0], 9));
    printf("http_parse_ns %.1f\n", bench_median(v[1], 9));
    return 0;
}
