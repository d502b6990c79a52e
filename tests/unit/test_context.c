/*
 * test_context.c - context variables: a task sees its creator's values as
 * of creation; values it sets reach the tasks it creates afterwards, never
 * its siblings or its parent.
 */
#include <errno.h>

#include "cio_testutil.h"

static cio_contextvar *var;

#define V(x) ((void *)(intptr_t)(x))
#define I(p) ((int)(intptr_t)(p))

static int get_int(void)
{
    void *v;
    cio_contextvar_get(var, &v);
    return I(v);
}

static int grandchild(void *arg, void **result)
{
    (void)arg;
    *result = V(get_int());
    return 0;
}

static int child(void *arg, void **result)
{
    int mine = I(arg);
    cio_sleep(CIO_MS); /* let the sibling run and set its own value */
    assert_int_equal(get_int(), 1); /* inherited from the parent */
    cio_contextvar_set(var, V(mine));
    cio_sleep(CIO_MS);
    assert_int_equal(get_int(), mine); /* the sibling's set is invisible */
    cio_task *g;
    cio_task_create(cio_get_running_loop(), CIO_CORO(grandchild, NULL), NULL,
                    &g);
    cio_contextvar_set(var, V(mine + 100)); /* after creation: not seen */
    void *v;
    cio_await(g, &v);
    cio_future_release(g);
    *result = v;
    return 0;
}

static int parent(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_loop *loop = cio_get_running_loop();
    assert_int_equal(get_int(), 7); /* the default */
    cio_contextvar_set(var, V(1));
    cio_task *a, *b;
    cio_task_create(loop, CIO_CORO(child, 10), NULL, &a);
    cio_task_create(loop, CIO_CORO(child, 20), NULL, &b);
    void *ra, *rb;
    cio_await(a, &ra);
    cio_await(b, &rb);
    assert_int_equal(I(ra), 10);
    assert_int_equal(I(rb), 20);
    assert_int_equal(get_int(), 1); /* children never write back */
    cio_future_release(a);
    cio_future_release(b);
    return 0;
}

static void inheritance_and_isolation(void **state)
{
    (void)state;
    assert_int_equal(cio_contextvar_new(&var, "request_id", V(7)), 0);
    cio_loop *loop = tu_loop_virtual();
    cio_task *t;
    cio_task_create(loop, CIO_CORO(parent, NULL), NULL, &t);
    assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), 0);
    cio_future_release(t);
    tu_loop_done(loop);
    /* Outside tasks the thread has its own context. */
    void *v;
    assert_int_equal(cio_contextvar_get(var, &v), 0);
    assert_int_equal(I(v), 7);
    cio_contextvar_free(var);
}

static void misuse(void **state)
{
    (void)state;
    void *v;
    assert_int_equal(cio_contextvar_get(NULL, &v), -EINVAL);
    assert_int_equal(cio_contextvar_set(NULL, NULL), -EINVAL);
    assert_int_equal(cio_contextvar_new(NULL, "x", NULL), -EINVAL);
    cio_contextvar_free(NULL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(inheritance_and_isolation, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(misuse, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
