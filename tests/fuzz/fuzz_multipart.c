/*
 * fuzz_multipart.c - the multipart/form-data parser, fed as one piece and
 * byte by byte (the caller keeping unconsumed bytes, as the server does):
 * the same parts, the same data and the same verdict; every view inside
 * the input. The boundary is "b0und" (the corpus uses it).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct result {
    int verdict; /* 1 done, 0 truncated, -1 error */
    size_t parts, names, files;
    unsigned long long sum; /* a checksum of the data and the names */
    size_t bytes;
} result;

static void add(result *r, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        r->sum = r->sum * 131 + (unsigned char)p[i] + 1;
}

static void run(const char *in, size_t size, size_t step, result *res)
{
    static const char ct[] = "multipart/form-data; boundary=b0und";
    cio__mp p;
    if (cio__mp_init(&p, ct, sizeof(ct) - 1) != 0)
        abort();
    memset(res, 0, sizeof(*res));
    size_t start = 0, avail = step < size ? step : size;
    for (;;) {
        cio__mp_event ev;
        long r = cio__mp_feed(&p, in + start, avail - start, &ev);
        if (r < 0) {
            res->verdict = -1;
            return;
        }
        if ((size_t)r > avail - start)
            abort();
#define INSIDE(v, l) ((v) == NULL || ((v) >= in + start && (v) + (l) <= in + avail))
        if (!INSIDE(ev.name, ev.name_len) ||
            !INSIDE(ev.filename, ev.filename_len) ||
            !INSIDE(ev.content_type, ev.content_type_len) ||
            !INSIDE(ev.data, ev.len))
            abort();
        if (ev.type == CIO__MP_DONE) {
            res->verdict = 1;
            return;
        }
        if (ev.type == CIO__MP_PART) {
            res->parts++;
            if (ev.name) {
                res->names++;
                add(res, ev.name, ev.name_len);
            }
            if (ev.filename)
                res->files++;
        }
        if (ev.type == CIO__MP_DATA) {
            if (ev.len == 0)
                abort();
            add(res, ev.data, ev.len);
            res->bytes += ev.len;
        }
        start += (size_t)r;
        if (r == 0) {
            if (ev.type != CIO__MP_NEED)
                abort();
            if (avail == size) {
                res->verdict = 0;
                return;
            }
            avail = avail + step < size ? avail + step : size;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    result whole, bytes;
    run(in, size, size ? size : 1, &whole);
    run(in, size, 1, &bytes);
    if (whole.verdict != bytes.verdict)
        abort();
    if (whole.verdict >= 0 &&
        (whole.parts != bytes.parts || whole.names != bytes.names ||
         whole.files != bytes.files || whole.bytes != bytes.bytes ||
         whole.sum != bytes.sum))
        abort();
    return 0;
}
