/*
 * fuzz_router.c - the router: the input is split at NUL bytes into route
 * patterns (first half) and paths (second half); registration must accept
 * or refuse cleanly, lookups must return views inside the path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    cio__router *r;
    if (cio__router_new(&r) != 0) {
        free(copy);
        return 0;
    }
    static int handler;
    char *parts[64];
    size_t n = 0;
    for (char *p = copy; n < 64 && p <= copy + size;) {
        parts[n++] = p;
        p += strlen(p) + 1;
    }
    size_t half = (n + 1) / 2;
    for (size_t i = 0; i < half; i++) {
        char err[128];
        unsigned mask = 1u << (i % CIO__M_COUNT);
        cio__router_add(r, parts[i], mask, &handler, err, sizeof(err));
    }
    for (size_t i = half; i < n; i++) {
        size_t len = strlen(parts[i]);
        for (unsigned m = 1; m <= CIO__M_OPTIONS; m <<= 1) {
            cio__route_match mt;
            int st = cio__router_lookup(r, m, parts[i], len, &mt);
            if (st != 0 && st != 404 && st != 405)
                abort();
            if (st == 0 && mt.handler && mt.handler != &handler)
                abort();
            for (size_t k = 0; st == 0 && k < mt.nparams; k++)
                if (mt.values[k] < parts[i] ||
                    mt.values[k] + mt.lens[k] > parts[i] + len)
                    abort();
        }
    }
    cio__router_free(r);
    free(copy);
    return 0;
}
