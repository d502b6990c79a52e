/*
 * http_parse_llhttp.c - figure http_parse_ns_llhttp: ns to parse the same
 * 545-byte browser request as bench/http_parse.c with Node's llhttp, the
 * way a server uses it: callbacks record the views cio's parser returns
 * (method, target, each field's name and value), the parser is reset per
 * request. Median of 9 batches. Not built by CMake (llhttp is not in the
 * tree): bench/peers/llhttp_parse.sh compiles it against a fetched copy
 * of llhttp's release sources (LLHTTP_DIR) and skips with a note without.
 *
 * Usage: http_parse_llhttp [-n N]  (N parses per batch, default 1,000,000)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llhttp.h"

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

typedef struct view {
    const char *p;
    size_t n;
} view;

typedef struct rec {
    view url, name[32], value[32];
    size_t nh;
    int done;
} rec;

static volatile size_t sink;

/* Views of one piece each here (the whole request is in one buffer);
 * a split would extend the last view. */
static int on_url(llhttp_t *h, const char *at, size_t n)
{
    rec *r = h->data;
    r->url.p = at;
    r->url.n = n;
    return 0;
}

static int on_field(llhttp_t *h, const char *at, size_t n)
{
    rec *r = h->data;
    if (r->nh < 32) {
        r->name[r->nh].p = at;
        r->name[r->nh].n = n;
    }
    return 0;
}

static int on_value(llhttp_t *h, const char *at, size_t n)
{
    rec *r = h->data;
    if (r->nh < 32) {
        r->value[r->nh].p = at;
        r->value[r->nh].n = n;
        r->nh++;
    }
    return 0;
}

static int on_headers_complete(llhttp_t *h)
{
    rec *r = h->data;
    r->done = 1;
    return 0;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double batch(const llhttp_settings_t *s, long iters)
{
    llhttp_t h;
    rec r;
    size_t len = sizeof(req) - 1;
    int64_t t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        llhttp_init(&h, HTTP_REQUEST, s);
        r.nh = 0;
        r.done = 0;
        h.data = &r;
        llhttp_errno_t e = llhttp_execute(&h, req, len);
        if (e != HPE_OK || !r.done || r.nh != 12) {
            fprintf(stderr, "http_parse_llhttp: parse failed: %s\n",
                    llhttp_errno_name(e));
            exit(1);
        }
        sink += r.nh + r.url.n;
    }
    return (double)(now_ns() - t0) / (double)iters;
}

int main(int argc, char **argv)
{
    long n = 1000000;
    if (argc == 3 && strcmp(argv[1], "-n") == 0)
        n = atol(argv[2]);
    if (n < 1) {
        fprintf(stderr, "usage: http_parse_llhttp [-n N]\n");
        return 2;
    }
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_url = on_url;
    s.on_header_field = on_field;
    s.on_header_value = on_value;
    s.on_headers_complete = on_headers_complete;
    double v[9];
    batch(&s, n / 10);
    for (int i = 0; i < 9; i++)
        v[i] = batch(&s, n);
    qsort(v, 9, sizeof(v[0]), cmp);
    printf("# %zu-byte request, llhttp %d.%d.%d\n", sizeof(req) - 1,
           LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH);
    printf("http_parse_ns_llhttp %.1f\n", v[4]);
    return 0;
}
