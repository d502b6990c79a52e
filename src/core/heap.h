/*
 * heap.h - binary min-heap of timer nodes ordered by (when, seq), so equal
 * deadlines fire in the order they were scheduled (libuv's start_id). Nodes
 * are embedded in their owners and remember their index, so removal of a
 * cancelled timer is O(log n) instead of a lazy tombstone: a cancelled
 * timer then costs nothing later and its node can be reused at once.
 * The array grows geometrically; it is the only allocation and it is
 * amortised, never per timer once warm.
 */
#ifndef CIO_HEAP_H
#define CIO_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct cio__heap_node {
    int64_t when;
    uint64_t seq;
    size_t idx;
} cio__heap_node;

typedef struct cio__heap {
    cio__heap_node **a;
    size_t n, cap;
} cio__heap;

void cio__heap_init(cio__heap *h);
void cio__heap_fini(cio__heap *h);
/* Returns 0 or -ENOMEM. */
int cio__heap_insert(cio__heap *h, cio__heap_node *n);
void cio__heap_remove(cio__heap *h, cio__heap_node *n);
static inline cio__heap_node *cio__heap_min(const cio__heap *h)
{
    return h->n ? h->a[0] : NULL;
}

#endif
