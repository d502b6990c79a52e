/*
 * http_parse.c - figure http_parse_ns: ns to parse the head of a typical
 * 500-byte browser request (request line and 12 fields, framing checks
 * included) with cio::http's parser, median of 7 batches.
 *
 * Usage: http_parse [-n N]  (N parses per batch, default 2,000,000)
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

int main(int argc, char **argv)
{
    long n = 2000000, unused = 0;
    bench_args(argc, argv, "http_parse", "[-n N]", &n, 1000000000, "-x",
               &unused, 1);
    cio__http_limits lim = CIO__HTTP_LIMITS_INIT;
    cio__http_header hdrs[32];
    size_t len = sizeof(req) - 1;
    volatile size_t sink = 0;
    double v[7];
    for (int round = -1; round < 7; round++) {
        long iters = round < 0 ? n / 10 : n;
        int64_t t0 = bench_now_ns();
        for (long i = 0; i < iters; i++) {
            cio__http_msg m = {.headers = hdrs, .headers_cap = 32};
            int r = cio__http_parse_head(req, len, 0, &lim, &m);
            if (r != (int)len) {
                fprintf(stderr, "http_parse: parse failed: %d\n", r);
                return 1;
            }
            sink += m.nheaders;
        }
        int64_t t1 = bench_now_ns();
        if (round >= 0)
            v[round] = (double)(t1 - t0) / (double)iters;
    }
    (void)sink;
    printf("# %zu-byte request\n", len);
    printf("http_parse_ns %.1f\n", bench_median(v, 7));
    return 0;
}
