/*
 * heap.c - see heap.h.
 */
#include <errno.h>

#include "core/heap.h"
#include "internal.h"

static int less(const cio__heap_node *a, const cio__heap_node *b)
{
    if (a->when != b->when)
        return a->when < b->when;
    return a->seq < b->seq;
}

static void place(cio__heap *h, size_t i, cio__heap_node *n)
{
    h->a[i] = n;
    n->idx = i;
}

static void sift_up(cio__heap *h, size_t i)
{
    cio__heap_node *n = h->a[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!less(n, h->a[p]))
            break;
        place(h, i, h->a[p]);
        i = p;
    }
    place(h, i, n);
}

static void sift_down(cio__heap *h, size_t i)
{
    cio__heap_node *n = h->a[i];
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        cio__heap_node *best = n;
        if (l < h->n && less(h->a[l], best))
            m = l, best = h->a[l];
        if (l + 1 < h->n && less(h->a[l + 1], best))
            m = l + 1, best = h->a[l + 1];
        if (m == i)
            break;
        place(h, i, best);
        i = m;
    }
    place(h, i, n);
}

void cio__heap_init(cio__heap *h)
{
    h->a = NULL;
    h->n = h->cap = 0;
}

void cio__heap_fini(cio__heap *h)
{
    cio__free(h->a);
    cio__heap_init(h);
}

int cio__heap_insert(cio__heap *h, cio__heap_node *n)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        cio__heap_node **a = cio__realloc(h->a, cap * sizeof(*a));
        if (!a)
            return -ENOMEM;
        h->a = a;
        h->cap = cap;
    }
    place(h, h->n++, n);
    sift_up(h, n->idx);
    return 0;
}

void cio__heap_remove(cio__heap *h, cio__heap_node *n)
{
    size_t i = n->idx;
    CIO_ASSERT(i < h->n && h->a[i] == n);
    cio__heap_node *last = h->a[--h->n];
    if (last == n)
        return;
    place(h, i, last);
    if (i > 0 && less(last, h->a[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}
