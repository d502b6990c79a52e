/*
 * test_heap.c - the timer heap on its own: order by (when, seq), removal
 * from any position, against a brute-force model.
 */
#include <stdlib.h>

#include "cio_test.h"
#include "core/heap.h"

#define N 2000

static void heap_matches_model(void **state)
{
    (void)state;
    static cio__heap_node nodes[N];
    static int in[N];
    cio__heap h;
    cio__heap_init(&h);
    srand(1);
    uint64_t seq = 0;
    for (int i = 0; i < N; i++) {
        nodes[i].when = rand() % 100; /* many equal deadlines */
        nodes[i].seq = seq++;
        assert_int_equal(cio__heap_insert(&h, &nodes[i]), 0);
        in[i] = 1;
    }
    /* Remove a third from arbitrary positions. */
    for (int i = 0; i < N; i += 3) {
        cio__heap_remove(&h, &nodes[i]);
        in[i] = 0;
    }
    int64_t lw = -1;
    uint64_t ls = 0;
    size_t popped = 0;
    cio__heap_node *m;
    while ((m = cio__heap_min(&h))) {
        assert_true(m->when > lw || (m->when == lw && m->seq > ls));
        lw = m->when;
        ls = m->seq;
        int idx = (int)(m - nodes);
        assert_true(in[idx]);
        in[idx] = 0;
        cio__heap_remove(&h, m);
        popped++;
    }
    for (int i = 0; i < N; i++)
        assert_false(in[i]);
    assert_int_equal(popped, N - (N + 2) / 3);
    cio__heap_fini(&h);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(heap_matches_model),
};

CIO_TEST_MAIN(tests)
