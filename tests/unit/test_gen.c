/*
 * test_gen.c - generators: next/send/throw, return values, yield-from
 * delegation (the note's gen/subgen: None 2 None 2), closing, use inside
 * a task, misuse.
 */
#include <errno.h>

#include "cio_testutil.h"

#define V(x) ((void *)(intptr_t)(x))
#define I(p) ((int)(intptr_t)(p))

static int counter(cio_gen *g, void *arg, void **retval)
{
    int n = I(arg);
    for (int i = 0; i < n; i++) {
        int r = cio_gen_yield(g, V(i), NULL);
        if (r < 0)
            return r;
    }
    *retval = V(1000 + n);
    return 0;
}

static void next_until_return(void **state)
{
    (void)state;
    cio_gen *g;
    assert_int_equal(cio_gen_new(&g, counter, V(3), 0), 0);
    void *v;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cio_gen_next(g, &v), CIO_GEN_YIELDED);
        assert_int_equal(I(v), i);
    }
    assert_false(cio_gen_finished(g));
    assert_int_equal(cio_gen_next(g, &v), CIO_GEN_RETURNED);
    assert_int_equal(I(v), 1003);
    assert_true(cio_gen_finished(g));
    assert_int_equal(cio_gen_next(g, &v), -EINVAL); /* exhausted */
    assert_int_equal(cio_gen_free(g), 0);
}

/* The note's subgen: x = yield; yield x + 1; (once) return 100. */
static int subgen(cio_gen *g, void *arg, void **retval)
{
    (void)arg;
    for (int i = 0; i < 1; i++) {
        void *x;
        int r = cio_gen_yield(g, NULL, &x);
        if (r < 0)
            return r;
        r = cio_gen_yield(g, V(I(x) + 1), NULL);
        if (r < 0)
            return r;
    }
    *retval = V(100);
    return 0;
}

static int gen(cio_gen *g, void *arg, void **retval)
{
    int *rets = arg;
    for (int k = 0; k < 2; k++) {
        cio_gen *sub;
        int r = cio_gen_new(&sub, subgen, NULL, 0);
        if (r < 0)
            return r;
        void *rv;
        r = cio_gen_yield_from(g, sub, &rv);
        cio_gen_free(sub);
        if (r < 0)
            return r;
        rets[k] = I(rv);
    }
    *retval = NULL;
    return 0;
}

static void note_example_none_2_none_2(void **state)
{
    (void)state;
    int rets[2] = {0, 0};
    cio_gen *g;
    cio_gen_new(&g, gen, rets, 0);
    void *v = V(-1);
    assert_int_equal(cio_gen_next(g, &v), CIO_GEN_YIELDED);
    assert_null(v); /* None */
    assert_int_equal(cio_gen_send(g, V(1), &v), CIO_GEN_YIELDED);
    assert_int_equal(I(v), 2);
    assert_int_equal(cio_gen_send(g, V(1), &v), CIO_GEN_YIELDED);
    assert_null(v); /* None: the first subgen returned 100 meanwhile */
    assert_int_equal(rets[0], 100);
    assert_int_equal(cio_gen_send(g, V(1), &v), CIO_GEN_YIELDED);
    assert_int_equal(I(v), 2);
    assert_int_equal(cio_gen_send(g, V(1), &v), CIO_GEN_RETURNED);
    assert_int_equal(rets[1], 100);
    cio_gen_free(g);
}

static int catcher(cio_gen *g, void *arg, void **retval)
{
    (void)arg;
    int r = cio_gen_yield(g, V(1), NULL);
    if (r == -EINVAL) { /* handle the thrown error, keep going */
        r = cio_gen_yield(g, V(2), NULL);
        *retval = V(3);
        return r;
    }
    return -EPROTO;
}

static void throw_is_raised_at_yield(void **state)
{
    (void)state;
    cio_gen *g;
    cio_gen_new(&g, catcher, NULL, 0);
    void *v;
    assert_int_equal(cio_gen_next(g, &v), CIO_GEN_YIELDED);
    assert_int_equal(cio_gen_throw(g, -EINVAL, &v), CIO_GEN_YIELDED);
    assert_int_equal(I(v), 2);
    /* Not caught this time: the error comes out of throw. */
    assert_int_equal(cio_gen_throw(g, -EIO, &v), -EIO);
    assert_true(cio_gen_finished(g));
    assert_int_equal(cio_gen_throw(g, 5, &v), -EINVAL); /* not an error */
    cio_gen_free(g);

    /* Throw into an unstarted generator: it finishes with the error. */
    cio_gen_new(&g, catcher, NULL, 0);
    assert_int_equal(cio_gen_throw(g, -EIO, &v), -EIO);
    assert_true(cio_gen_finished(g));
    cio_gen_free(g);
}

static void throw_passes_through_delegation(void **state)
{
    (void)state;
    int rets[2] = {0, 0};
    cio_gen *g;
    cio_gen_new(&g, gen, rets, 0);
    void *v;
    cio_gen_next(g, &v);
    /* subgen does not catch: the error leaves subgen, then gen, then us. */
    assert_int_equal(cio_gen_throw(g, -ENOENT, &v), -ENOENT);
    assert_true(cio_gen_finished(g));
    cio_gen_free(g);
}

static int cleanup_ran;

static int closable(cio_gen *g, void *arg, void **retval)
{
    (void)arg;
    (void)retval;
    int r = cio_gen_yield(g, NULL, NULL);
    if (r == CIO_EGENEXIT)
        cleanup_ran = 1;
    return r;
}

static int stubborn(cio_gen *g, void *arg, void **retval)
{
    (void)arg;
    (void)retval;
    for (;;)
        cio_gen_yield(g, NULL, NULL);
    return 0;
}

static void free_closes_suspended(void **state)
{
    (void)state;
    cio_gen *g;
    cleanup_ran = 0;
    cio_gen_new(&g, closable, NULL, 0);
    cio_gen_next(g, NULL);
    assert_int_equal(cio_gen_free(g), 0);
    assert_int_equal(cleanup_ran, 1);
    cio_gen_new(&g, stubborn, NULL, 0);
    cio_gen_next(g, NULL);
    assert_int_equal(cio_gen_free(g), 1); /* ignored GeneratorExit */
    cio_gen_new(&g, stubborn, NULL, 0);
    assert_int_equal(cio_gen_free(g), 0); /* never started */
}

static int tries_to_sleep(cio_gen *g, void *arg, void **retval)
{
    (void)arg;
    /* Generators are not tasks: suspending task calls are refused. */
    *retval = V(cio_sleep(CIO_MS));
    assert_null(cio_current_task());
    return cio_gen_yield(g, V(7), NULL);
}

static int task_drives_gen(void *arg, void **result)
{
    (void)arg;
    cio_gen *g;
    cio_gen_new(&g, counter, V(2), 0);
    void *v;
    int sum = 0;
    while (cio_gen_next(g, &v) == CIO_GEN_YIELDED) {
        sum += I(v);
        cio_sleep(CIO_MS); /* the task suspends between steps */
    }
    cio_gen_free(g);
    cio_gen_new(&g, tries_to_sleep, NULL, 0);
    assert_int_equal(cio_gen_next(g, &v), CIO_GEN_YIELDED);
    assert_int_equal(I(v), 7);
    assert_int_equal(cio_gen_next(g, &v), CIO_GEN_RETURNED);
    assert_int_equal(I(v), -EINVAL);
    cio_gen_free(g);
    assert_non_null(cio_current_task()); /* restored after the body */
    *result = V(sum);
    return 0;
}

static void generator_inside_task(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_task *t;
    cio_task_create(loop, CIO_CORO(task_drives_gen, NULL), NULL, &t);
    void *res;
    assert_int_equal(cio_loop_run_until_complete(loop, t, &res), 0);
    assert_int_equal(I(res), 1);
    cio_future_release(t);
    tu_loop_done(loop);
}

static int self_resume(cio_gen *g, void *arg, void **retval)
{
    (void)arg;
    (void)retval;
    void *v;
    return cio_gen_next(g, &v); /* running: refused */
}

static void misuse(void **state)
{
    (void)state;
    cio_gen *g = (cio_gen *)1;
    assert_int_equal(cio_gen_new(&g, NULL, NULL, 0), -EINVAL);
    assert_null(g);
    assert_int_equal(cio_gen_new(NULL, counter, NULL, 0), -EINVAL);
    cio_gen_new(&g, counter, V(1), 0);
    assert_int_equal(cio_gen_yield(g, NULL, NULL), -EINVAL); /* not inside */
    assert_int_equal(cio_gen_send(g, V(1), NULL), -EINVAL); /* first send */
    cio_gen_free(g);
    cio_gen_new(&g, self_resume, NULL, 0);
    void *v;
    assert_int_equal(cio_gen_next(g, &v), -EINVAL);
    cio_gen_free(g);
    assert_int_equal(cio_gen_next(NULL, &v), -EINVAL);
    assert_int_equal(cio_gen_free(NULL), 0);
    tu_fail_nth(1);
    assert_int_equal(cio_gen_new(&g, counter, NULL, 0), -ENOMEM);
    tu_fail_nth(0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(next_until_return, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(note_example_none_2_none_2, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(throw_is_raised_at_yield, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(throw_passes_through_delegation, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(free_closes_suspended, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(generator_inside_task, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(misuse, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
