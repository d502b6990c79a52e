/*
 * dedupe.c - finding repeated pointers in an argument array, for the
 * calls that work on the *set* of futures they are given (asyncio's
 * wait and as_completed, concurrent.futures.as_completed all start
 * with set(fs)). The first occurrence is kept, so the caller keeps the
 * argument order of the distinct ones.
 *
 * Sorting (pointer, index) pairs costs O(n log n) and one temporary
 * array; without memory for it a quadratic scan gives the same answer,
 * so the caller never has to fail for this. Rejected: a hash set (more
 * code for arrays that are usually a handful of entries long).
 */
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

typedef struct dent {
    uintptr_t key;
    size_t idx;
} dent;

static int dent_cmp(const void *a, const void *b)
{
    const dent *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

size_t cio__mark_dups(const void *arr, size_t n, cio__key_at key,
                      unsigned char *dup)
{
    size_t ndup = 0;
    for (size_t i = 0; i < n; i++)
        dup[i] = 0;
    dent *e = n > 16 ? cio__malloc(n * sizeof(*e)) : NULL;
    if (e) {
        for (size_t i = 0; i < n; i++)
            e[i] = (dent){(uintptr_t)key(arr, i), i};
        qsort(e, n, sizeof(*e), dent_cmp);
        for (size_t i = 1; i < n; i++)
            if (e[i].key == e[i - 1].key) {
                dup[e[i].idx] = 1;
                ndup++;
            }
        cio__free(e);
        return n - ndup;
    }
    for (size_t i = 1; i < n; i++) {
        const void *k = key(arr, i);
        for (size_t j = 0; j < i; j++)
            if (!dup[j] && key(arr, j) == k) {
                dup[i] = 1;
                ndup++;
                break;
            }
    }
    return n - ndup;
}
