/*
 * test_queue.c - cio_queue: FIFO, LIFO and priority order, growth of the
 * store, blocking put/get in FIFO order, reservations (no barging),
 * cancellation after a wake-up, task_done/join, Python 3.13 shutdown
 * (graceful and immediate), deadlines through timeout scopes, allocation
 * failures and misuse, on the virtual clock with the counting allocator.
 */
#include <errno.h>

#define TU_LOG_MAX 256
#include "cio_testutil_task.h"

#define IT(x) ((void *)(intptr_t)(x))
#define VAL(p) ((int)(intptr_t)(p))

static cio_queue *q;

/* Gets one item and logs it, or logs 1000 + -error. */
static int getter(void *arg, void **result)
{
    (void)arg;
    (void)result;
    void *item = NULL;
    int r = cio_queue_get(q, &item);
    rec(r == 0 ? VAL(item) : 1000 - r);
    return r;
}

/* Puts arg and logs it once added, or logs 1000 + -error. */
static int putter(void *arg, void **result)
{
    (void)result;
    int r = cio_queue_put(q, arg);
    rec(r == 0 ? VAL(arg) : 1000 - r);
    return r;
}

/* ==================================================================== */

static void fifo_nowait(void **state)
{
    (void)state;
    assert_int_equal(cio_queue_new(&q, NULL, 3, NULL), 0);
    assert_int_equal(cio_queue_maxsize(q), 3);
    assert_int_equal(cio_queue_empty(q), 1);
    assert_int_equal(cio_queue_full(q), 0);
    void *it;
    assert_int_equal(cio_queue_get_nowait(q, &it), -EAGAIN);
    for (int i = 1; i <= 3; i++)
        assert_int_equal(cio_queue_put_nowait(q, IT(i)), 0);
    assert_int_equal(cio_queue_put_nowait(q, IT(4)), -EAGAIN);
    assert_int_equal(cio_queue_qsize(q), 3);
    assert_int_equal(cio_queue_full(q), 1);
    assert_int_equal(cio_queue_empty(q), 0);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(cio_queue_get_nowait(q, &it), 0);
        assert_int_equal(VAL(it), i);
    }
    assert_int_equal(cio_queue_get_nowait(q, &it), -EAGAIN);
    assert_int_equal(cio_queue_free(q), 0);
}

/* Thousands of items through a ring that wraps and grows while wrapped. */
static void fifo_growth_and_wrap(void **state)
{
    (void)state;
    assert_int_equal(cio_queue_new(&q, NULL, 0, NULL), 0);
    assert_int_equal(cio_queue_full(q), 0); /* unbounded */
    int next_in = 0, next_out = 0;
    for (int round = 1; round <= 12; round++) {
        for (int i = 0; i < round * 37; i++)
            assert_int_equal(cio_queue_put_nowait(q, IT(next_in++)), 0);
        for (int i = 0; i < round * 23; i++) {
            void *it;
            assert_int_equal(cio_queue_get_nowait(q, &it), 0);
            assert_int_equal(VAL(it), next_out++);
        }
    }
    assert_int_equal(cio_queue_qsize(q), next_in - next_out);
    while (next_out < next_in) {
        void *it;
        assert_int_equal(cio_queue_get_nowait(q, &it), 0);
        assert_int_equal(VAL(it), next_out++);
    }
    assert_int_equal(cio_queue_free(q), 0);
}

static void lifo_order(void **state)
{
    (void)state;
    cio_queue_opts o = CIO_QUEUE_OPTS_INIT;
    o.kind = CIO_QUEUE_LIFO;
    assert_int_equal(cio_queue_new(&q, NULL, 0, &o), 0);
    for (int i = 0; i < 20; i++)
        cio_queue_put_nowait(q, IT(i));
    void *it;
    for (int i = 19; i >= 10; i--) {
        cio_queue_get_nowait(q, &it);
        assert_int_equal(VAL(it), i);
    }
    cio_queue_put_nowait(q, IT(100));
    cio_queue_get_nowait(q, &it);
    assert_int_equal(VAL(it), 100);
    for (int i = 9; i >= 0; i--) {
        cio_queue_get_nowait(q, &it);
        assert_int_equal(VAL(it), i);
    }
    assert_int_equal(cio_queue_free(q), 0);
}

typedef struct job {
    int prio;
    int id;
} job;

static int job_cmp(const void *a, const void *b, void *arg)
{
    assert_ptr_equal(arg, &q);
    const job *x = a, *y = b;
    return (x->prio > y->prio) - (x->prio < y->prio);
}

static void priority_order(void **state)
{
    (void)state;
    cio_queue_opts o = CIO_QUEUE_OPTS_INIT;
    o.kind = CIO_QUEUE_PRIORITY;
    o.cmp = job_cmp;
    o.cmp_arg = &q;
    assert_int_equal(cio_queue_new(&q, NULL, 0, &o), 0);
    enum { N = 300 };
    static job jobs[N];
    for (int i = 0; i < N; i++) {
        jobs[i].prio = (i * 7919) % 10; /* many ties */
        jobs[i].id = i;
        assert_int_equal(cio_queue_put_nowait(q, &jobs[i]), 0);
    }
    job *prev = NULL;
    for (int i = 0; i < N; i++) {
        void *it;
        assert_int_equal(cio_queue_get_nowait(q, &it), 0);
        job *j = it;
        if (prev) {
            assert_true(prev->prio <= j->prio);
            if (prev->prio == j->prio) /* equal priorities: FIFO */
                assert_true(prev->id < j->id);
        }
        prev = j;
    }
    assert_int_equal(cio_queue_empty(q), 1);
    assert_int_equal(cio_queue_free(q), 0);
}

/* ==================================================================== */

static int blocking_get_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    assert_int_equal(cio_queue_new(&q, cio_get_running_loop(), 0, NULL), 0);
    cio_task *g[4];
    for (int i = 0; i < 4; i++)
        g[i] = spawn(getter, NULL);
    cio_sleep(CIO_MS);
    assert_int_equal(cio_queue_free(q), -EBUSY);
    for (int i = 1; i <= 4; i++) {
        assert_int_equal(cio_queue_put(q, IT(i * 10)), 0);
        cio_sleep(CIO_MS);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(finish(g[i]), 0);
    int want[] = {10, 20, 30, 40}; /* the first getter gets the first item */
    expect_log(want, 4);
    assert_int_equal(cio_queue_free(q), 0);
    return 0;
}

TU_MAIN_CASE(blocking_get_fifo, blocking_get_main)

static int blocking_put_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    assert_int_equal(cio_queue_new(&q, NULL, 2, NULL), 0);
    cio_queue_put(q, IT(1));
    cio_queue_put(q, IT(2));
    cio_task *p[3];
    for (int i = 0; i < 3; i++)
        p[i] = spawn(putter, IT(3 + i));
    cio_sleep(CIO_MS);
    assert_int_equal(nlog, 0); /* all three wait */
    void *it;
    for (int i = 1; i <= 5; i++) {
        assert_int_equal(cio_queue_get(q, &it), 0);
        assert_int_equal(VAL(it), i); /* strict FIFO across the waits */
        cio_sleep(0);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(finish(p[i]), 0);
    int want[] = {3, 4, 5};
    expect_log(want, 3);
    assert_int_equal(cio_queue_free(q), 0);
    return 0;
}

TU_MAIN_CASE(blocking_put_fifo, blocking_put_main)

/* A woken getter's item is reserved: get_nowait and a new get do not
 * take it, and qsize still counts it until the getter runs. */
static int no_barging_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_queue_new(&q, NULL, 1, NULL);
    cio_task *g = spawn(getter, NULL);
    cio_sleep(CIO_MS);
    assert_int_equal(cio_queue_put_nowait(q, IT(7)), 0);
    assert_int_equal(cio_queue_qsize(q), 1);
    void *it;
    assert_int_equal(cio_queue_get_nowait(q, &it), -EAGAIN);
    assert_int_equal(finish(g), 0);
    int want[] = {7};
    expect_log(want, 1);
    /* Same for a slot reserved for a woken putter. */
    cio_queue_put_nowait(q, IT(8));
    cio_task *p = spawn(putter, IT(9));
    cio_sleep(CIO_MS);
    assert_int_equal(cio_queue_get_nowait(q, &it), 0); /* frees a slot */
    assert_int_equal(cio_queue_full(q), 1);            /* reserved */
    assert_int_equal(cio_queue_put_nowait(q, IT(10)), -EAGAIN);
    assert_int_equal(finish(p), 0);
    assert_int_equal(cio_queue_get_nowait(q, &it), 0);
    assert_int_equal(VAL(it), 9);
    assert_int_equal(cio_queue_free(q), 0);
    return 0;
}

TU_MAIN_CASE(no_barging, no_barging_main)

/* ==================================================================== */

/* An item put for a getter that is cancelled in the same iteration goes
 * to the next getter; a getter cancelled while waiting takes nothing. */
static int getter_cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_queue_new(&q, NULL, 0, NULL);
    cio_task *a = spawn(getter, NULL);
    cio_task *b = spawn(getter, NULL);
    cio_task *c = spawn(getter, NULL);
    cio_sleep(CIO_MS);
    cio_task_cancel(b, NULL);           /* waiting */
    assert_int_equal(cio_queue_put(q, IT(1)), 0); /* wakes a ... */
    cio_task_cancel(a, NULL);           /* ... cancelled before it runs */
    assert_int_equal(finish(a), -ECANCELED);
    assert_int_equal(finish(b), -ECANCELED);
    assert_int_equal(finish(c), 0);
    int want[] = {1000 + ECANCELED, 1000 + ECANCELED, 1};
    expect_log(want, 3);
    assert_int_equal(cio_queue_empty(q), 1);
    /* The last getter cancelled after a wake: the item stays queued. */
    nlog = 0;
    a = spawn(getter, NULL);
    cio_sleep(CIO_MS);
    cio_queue_put(q, IT(2));
    cio_task_cancel(a, NULL);
    assert_int_equal(finish(a), -ECANCELED);
    void *it;
    assert_int_equal(cio_queue_get_nowait(q, &it), 0);
    assert_int_equal(VAL(it), 2);
    assert_int_equal(cio_queue_free(q), 0);
    return 0;
}

TU_MAIN_CASE(getter_cancel, getter_cancel_main)

/* A slot freed for a putter that is cancelled in the same iteration goes
 * to the next putter; the cancelled putter's item is never added. */
static int putter_cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_queue_new(&q, NULL, 1, NULL);
    cio_queue_put_nowait(q, IT(1));
    cio_task *a = spawn(putter, IT(2));
    cio_task *b = spawn(putter, IT(3));
    cio_task *c = spawn(putter, IT(4));
    cio_sleep(CIO_MS);
    cio_task_cancel(b, NULL);
    void *it;
    assert_int_equal(cio_queue_get(q, &it), 0); /* slot for a ... */
    assert_int_equal(VAL(it), 1);
    cio_task_cancel(a, NULL); /* ... which is cancelled: c gets it */
    assert_int_equal(finish(a), -ECANCELED);
    assert_int_equal(finish(b), -ECANCELED);
    assert_int_equal(finish(c), 0);
    assert_int_equal(cio_queue_qsize(q), 1);
    assert_int_equal(cio_queue_get_nowait(q, &it), 0);
    assert_int_equal(VAL(it), 4);
    int want[] = {1000 + ECANCELED, 1000 + ECANCELED, 4};
    expect_log(want, 3);
    /* Items put: 1 and 4; task_done balances exactly two. */
    assert_int_equal(cio_queue_task_done(q), 0);
    assert_int_equal(cio_queue_task_done(q), 0);
    assert_int_equal(cio_queue_task_done(q), -EINVAL);
    assert_int_equal(cio_queue_free(q), 0);
    return 0;
}

TU_MAIN_CASE(putter_cancel, putter_cancel_main)

/* ==================================================================== */

static int worker(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (;;) {
        void *it;
        int r = cio_queue_get(q, &it);
        if (r < 0)
            return r == -ESHUTDOWN ? 0 : r;
        cio_sleep(VAL(it) * CIO_MS);
        rec(VAL(it));
        assert_int_equal(cio_queue_task_done(q), 0);
    }
}

static int joiner(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int r = cio_queue_join(q);
    rec(r == 0 ? 500 + (int)now_ms() : 1000 - r);
    return r;
}

static int join_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_queue_new(&q, NULL, 0, NULL);
    /* Nothing put: join returns at once. */
    assert_int_equal(cio_queue_join(q), 0);
    assert_int_equal(cio_queue_task_done(q), -EINVAL); /* ValueError */
    cio_task *w1 = spawn(worker, NULL);
    cio_task *w2 = spawn(worker, NULL);
    for (int i = 1; i <= 4; i++)
        cio_queue_put_nowait(q, IT(i));
    cio_task *j = spawn(joiner, NULL);
    assert_int_equal(cio_queue_join(q), 0);
    /* w1: 1 (1 ms), 3 (4 ms); w2: 2 (2 ms), 4 (6 ms). */
    assert_int_equal(now_ms(), 6);
    assert_int_equal(finish(j), 0);
    int want[] = {1, 2, 3, 4, 506};
    expect_log(want, 5);
    /* Cancelled while joining. */
    cio_queue_put_nowait(q, IT(100));
    nlog = 0;
    j = spawn(joiner, NULL);
    cio_sleep(CIO_MS);
    cio_task_cancel(j, NULL);
    assert_int_equal(finish(j), -ECANCELED);
    assert_int_equal(cio_queue_shutdown(q, 0), 0);
    assert_int_equal(finish(w1), 0);
    assert_int_equal(finish(w2), 0);
    assert_int_equal(cio_queue_free(q), 0);
    return 0;
}

TU_MAIN_CASE(task_done_join, join_main)

/* ==================================================================== */

static int shutdown_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_queue_new(&q, NULL, 2, NULL);
    cio_queue_put_nowait(q, IT(1));
    cio_queue_put_nowait(q, IT(2));
    cio_task *p = spawn(putter, IT(3)); /* waits: full */
    cio_sleep(CIO_MS);
    assert_int_equal(cio_queue_shutdown(q, 0), 0);
    assert_int_equal(finish(p), -ESHUTDOWN);
    assert_int_equal(cio_queue_put(q, IT(4)), -ESHUTDOWN);
    assert_int_equal(cio_queue_put_nowait(q, IT(4)), -ESHUTDOWN);
    /* Gets return what is left, then fail. */
    void *it;
    assert_int_equal(cio_queue_get(q, &it), 0);
    assert_int_equal(VAL(it), 1);
    assert_int_equal(cio_queue_get_nowait(q, &it), 0);
    assert_int_equal(VAL(it), 2);
    assert_int_equal(cio_queue_get(q, &it), -ESHUTDOWN);
    assert_int_equal(cio_queue_get_nowait(q, &it), -ESHUTDOWN);
    assert_int_equal(cio_queue_shutdown(q, 0), 0); /* again: fine */
    int want[] = {1000 + ESHUTDOWN};
    expect_log(want, 1);
    assert_int_equal(cio_queue_free(q), 0);

    /* Waiting getters are woken with -ESHUTDOWN; one already woken with
     * an item still gets it. */
    nlog = 0;
    cio_queue_new(&q, NULL, 0, NULL);
    cio_task *g1 = spawn(getter, NULL);
    cio_task *g2 = spawn(getter, NULL);
    cio_sleep(CIO_MS);
    cio_queue_put_nowait(q, IT(5)); /* reserved for g1 */
    cio_queue_shutdown(q, 0);
    assert_int_equal(finish(g1), 0);
    assert_int_equal(finish(g2), -ESHUTDOWN);
    int want2[] = {5, 1000 + ESHUTDOWN};
    expect_log(want2, 2);
    assert_int_equal(cio_queue_free(q), 0);
    return 0;
}

TU_MAIN_CASE(shutdown_graceful, shutdown_main)

static int dropped;

static void drop_item(void *item)
{
    (void)item;
    dropped++;
}

static int shutdown_immediate_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_queue_opts o = CIO_QUEUE_OPTS_INIT;
    o.item_dtor = drop_item;
    dropped = 0;
    cio_queue_new(&q, NULL, 0, &o);
    cio_task *g = spawn(getter, NULL);
    cio_sleep(CIO_MS);
    for (int i = 1; i <= 4; i++)
        cio_queue_put_nowait(q, IT(i)); /* one item is reserved for g */
    void *it;
    cio_queue_get_nowait(q, &it); /* taken, not done: join must wait */
    assert_int_equal(VAL(it), 1); /* g takes the head when it runs */
    /* Before g runs: its reservation is dissolved with the items. */
    assert_int_equal(cio_queue_shutdown(q, 1), 0);
    assert_int_equal(dropped, 3); /* 2, 3, 4 */
    assert_int_equal(cio_queue_qsize(q), 0);
    cio_task *j = spawn(joiner, NULL);
    cio_sleep(CIO_MS);
    assert_int_equal(finish(g), -ESHUTDOWN);
    assert_false(cio_future_done(j)); /* item 1 is still not done */
    assert_int_equal(cio_queue_task_done(q), 0);
    assert_int_equal(finish(j), 0);
    assert_int_equal(cio_queue_get_nowait(q, &it), -ESHUTDOWN);
    assert_int_equal(cio_queue_free(q), 0);

    /* Immediate with nothing in flight unblocks join at once; items left
     * at free go to the destructor as well. */
    nlog = 0;
    dropped = 0;
    cio_queue_new(&q, NULL, 2, &o);
    cio_queue_put_nowait(q, IT(1));
    cio_queue_put_nowait(q, IT(2));
    cio_task *p = spawn(putter, IT(3));
    j = spawn(joiner, NULL);
    cio_sleep(CIO_MS);
    cio_queue_shutdown(q, 1);
    assert_int_equal(finish(p), -ESHUTDOWN);
    assert_int_equal(finish(j), 0);
    assert_int_equal(dropped, 2);
    assert_int_equal(cio_queue_free(q), 0);
    cio_queue_new(&q, NULL, 0, &o);
    cio_queue_put_nowait(q, IT(1));
    assert_int_equal(cio_queue_free(q), 0);
    assert_int_equal(dropped, 3);
    return 0;
}

TU_MAIN_CASE(shutdown_immediate, shutdown_immediate_main)

/* ==================================================================== */

static int timed_get(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_timeout scope;
    cio_timeout_begin(&scope, 5 * CIO_MS);
    void *it;
    int r = cio_queue_get(q, &it);
    r = cio_timeout_end(&scope, r);
    rec(r == 0 ? VAL(it) : 1000 - r);
    return r;
}

static int timed_put(void *arg, void **result)
{
    (void)result;
    cio_timeout scope;
    cio_timeout_begin(&scope, 5 * CIO_MS);
    int r = cio_timeout_end(&scope, cio_queue_put(q, arg));
    rec(r == 0 ? VAL(arg) : 1000 - r);
    return r;
}

static int timed_join(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_timeout scope;
    cio_timeout_begin(&scope, 5 * CIO_MS);
    int r = cio_timeout_end(&scope, cio_queue_join(q));
    rec(1000 - r);
    return r;
}

static int timeouts_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_queue_new(&q, NULL, 1, NULL);
    cio_task *g = spawn(timed_get, NULL);
    assert_int_equal(finish(g), -ETIMEDOUT);
    assert_int_equal(now_ms(), 5);
    cio_queue_put_nowait(q, IT(1));
    cio_task *p = spawn(timed_put, IT(2));
    assert_int_equal(finish(p), -ETIMEDOUT);
    assert_int_equal(now_ms(), 10);
    cio_task *j = spawn(timed_join, NULL);
    assert_int_equal(finish(j), -ETIMEDOUT);
    assert_int_equal(now_ms(), 15);
    /* The queue is intact: 1 is still there, 2 was never added. */
    assert_int_equal(cio_queue_qsize(q), 1);
    void *it;
    assert_int_equal(cio_queue_get_nowait(q, &it), 0);
    assert_int_equal(VAL(it), 1);
    int want[] = {1000 + ETIMEDOUT, 1000 + ETIMEDOUT, 1000 + ETIMEDOUT};
    expect_log(want, 3);
    /* Served before its deadline: no timeout. */
    nlog = 0;
    g = spawn(timed_get, NULL);
    cio_sleep(2 * CIO_MS);
    cio_queue_put_nowait(q, IT(3));
    assert_int_equal(finish(g), 0);
    int want2[] = {3};
    expect_log(want2, 1);
    assert_int_equal(cio_queue_free(q), 0);
    return 0;
}

TU_MAIN_CASE(timeouts, timeouts_main)

/* ==================================================================== */

static int outside_loop_main(void *arg, void **result)
{
    (void)result;
    void *it;
    /* q is pinned to another loop. */
    assert_int_equal(cio_queue_get(arg, &it), -EINVAL);
    assert_int_equal(cio_queue_put(arg, NULL), -EINVAL);
    assert_int_equal(cio_queue_join(arg), -EINVAL);
    return 0;
}

static void misuse(void **state)
{
    (void)state;
    cio_queue *x = (cio_queue *)1;
    cio_queue_opts o = CIO_QUEUE_OPTS_INIT;
    o.kind = CIO_QUEUE_PRIORITY; /* without cmp */
    assert_int_equal(cio_queue_new(&x, NULL, 0, &o), -EINVAL);
    assert_null(x);
    o.kind = (cio_queue_kind)7;
    assert_int_equal(cio_queue_new(&x, NULL, 0, &o), -EINVAL);
    assert_int_equal(cio_queue_new(NULL, NULL, 0, NULL), -EINVAL);
    void *it;
    assert_int_equal(cio_queue_put(NULL, NULL), -EINVAL);
    assert_int_equal(cio_queue_get(NULL, &it), -EINVAL);
    assert_int_equal(cio_queue_put_nowait(NULL, NULL), -EINVAL);
    assert_int_equal(cio_queue_get_nowait(NULL, &it), -EINVAL);
    assert_int_equal(cio_queue_task_done(NULL), -EINVAL);
    assert_int_equal(cio_queue_join(NULL), -EINVAL);
    assert_int_equal(cio_queue_shutdown(NULL, 0), -EINVAL);
    assert_int_equal(cio_queue_qsize(NULL), -EINVAL);
    assert_int_equal(cio_queue_empty(NULL), -EINVAL);
    assert_int_equal(cio_queue_full(NULL), -EINVAL);
    assert_int_equal(cio_queue_maxsize(NULL), 0);
    assert_int_equal(cio_queue_free(NULL), 0);

    cio_loop *a = tu_loop_virtual();
    cio_loop *b = tu_loop_virtual();
    assert_int_equal(cio_queue_new(&x, a, 0, NULL), 0);
    /* Suspending calls outside a task. */
    assert_int_equal(cio_queue_put(x, NULL), -EINVAL);
    assert_int_equal(cio_queue_get(x, &it), -EINVAL);
    assert_int_equal(cio_queue_join(x), -EINVAL);
    assert_int_equal(cio_queue_get_nowait(x, NULL), -EINVAL);
    /* The non-suspending ones work from plain code. */
    assert_int_equal(cio_queue_put_nowait(x, IT(1)), 0);
    assert_int_equal(cio_queue_get_nowait(x, &it), 0);
    assert_int_equal(cio_queue_task_done(x), 0);
    cio_task *t;
    cio_task_create(b, CIO_CORO(outside_loop_main, x), NULL, &t);
    assert_int_equal(cio_loop_run_until_complete(b, t, NULL), 0);
    cio_future_release(t);
    assert_int_equal(cio_queue_free(x), 0);
    tu_loop_done(a);
    tu_loop_done(b);
    /* A closed loop is refused at creation. */
    cio_loop *c = tu_loop_virtual();
    cio_loop_close(c);
    assert_int_equal(cio_queue_new(&x, c, 0, NULL), -EINVAL);
    cio_loop_free(c);
}

static void alloc_failures(void **state)
{
    (void)state;
    /* The constructor: fail its one allocation. */
    tu_fail_nth(1);
    cio_queue *x = (cio_queue *)1;
    assert_int_equal(cio_queue_new(&x, NULL, 0, NULL), -ENOMEM);
    assert_null(x);
    tu_fail_nth(0);
    assert_int_equal(cio_queue_new(&x, NULL, 0, NULL), 0);
    /* First put allocates the store; growth at 8 allocates again. */
    tu_fail_nth(1);
    assert_int_equal(cio_queue_put_nowait(x, IT(0)), -ENOMEM);
    assert_int_equal(cio_queue_qsize(x), 0);
    assert_int_equal(cio_queue_task_done(x), -EINVAL); /* not counted */
    for (int i = 0; i < 8; i++)
        assert_int_equal(cio_queue_put_nowait(x, IT(i)), 0);
    tu_fail_nth(1);
    assert_int_equal(cio_queue_put_nowait(x, IT(8)), -ENOMEM);
    tu_fail_nth(0);
    assert_int_equal(cio_queue_put_nowait(x, IT(8)), 0);
    for (int i = 0; i <= 8; i++) {
        void *it;
        assert_int_equal(cio_queue_get_nowait(x, &it), 0);
        assert_int_equal(VAL(it), i);
    }
    assert_int_equal(cio_queue_free(x), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(fifo_nowait, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(fifo_growth_and_wrap, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(lifo_order, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(priority_order, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(blocking_get_fifo, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(blocking_put_fifo, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(no_barging, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(getter_cancel, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(putter_cancel, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(task_done_join, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(shutdown_graceful, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(shutdown_immediate, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(timeouts, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(misuse, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(alloc_failures, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
