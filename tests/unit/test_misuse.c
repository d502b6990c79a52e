/*
 * test_misuse.c - misuse is never silent in debug mode: each refused call
 * returns -EINVAL and, with CIO_DEBUG=1 (or a loop in debug mode), logs
 * one line naming the function and the rule it broke; without debug mode
 * it logs nothing. An unknown CIO_BACKEND is an error, not epoll.
 *
 * stderr is captured by pointing descriptor 2 at a temporary file for
 * the duration of each call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cio_testutil.h"

/* ---- stderr capture ------------------------------------------------------ */

static int saved_fd = -1;
static FILE *cap;
static char captured[4096];

static void capture_begin(void)
{
    fflush(stderr);
    cap = tmpfile();
    assert_non_null(cap);
    saved_fd = dup(STDERR_FILENO);
    assert_true(saved_fd >= 0);
    assert_true(dup2(fileno(cap), STDERR_FILENO) >= 0);
}

static const char *capture_end(void)
{
    fflush(stderr);
    dup2(saved_fd, STDERR_FILENO);
    close(saved_fd);
    rewind(cap);
    size_t n = fread(captured, 1, sizeof captured - 1, cap);
    captured[n] = 0;
    fclose(cap);
    return captured;
}

static void debug_env(int on)
{
    if (on)
        setenv("CIO_DEBUG", "1", 1);
    else
        unsetenv("CIO_DEBUG");
}

/* ---- outside any task ---------------------------------------------------- */

static void misuse_outside_task_logged_in_debug(void **state)
{
    (void)state;
    debug_env(1);
    capture_begin();
    int r1 = cio_sleep(CIO_MS);
    int r2 = cio_await(NULL, NULL);
    cio_lock l;
    int r3 = cio_lock_init(&l);
    int r4 = cio_lock_acquire(&l);
    const char *out = capture_end();
    debug_env(0);
    assert_int_equal(r1, -EINVAL);
    assert_int_equal(r2, -EINVAL);
    assert_int_equal(r3, 0);
    assert_int_equal(r4, -EINVAL);
    assert_string_equal(out, "cio: cio_sleep: called outside a task\n"
                             "cio: cio_await: called outside a task\n"
                             "cio: cio_lock_acquire: called outside a task\n");
    cio_lock_destroy(&l);
}

static void misuse_silent_without_debug(void **state)
{
    (void)state;
    debug_env(0);
    capture_begin();
    int r1 = cio_sleep(CIO_MS);
    int r2 = cio_run(NULL, NULL, NULL);
    const char *out = capture_end();
    assert_int_equal(r1, -EINVAL);
    assert_int_equal(r2, -EINVAL);
    assert_string_equal(out, "");
}

/* ---- inside a task: the task is named, the loop's flag decides ----------- */

static int nested_run(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return 0;
}

static int misuse_body(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* A task awaiting itself, a nested cio_run. */
    if (cio_await(cio_current_task(), NULL) != -EINVAL)
        return -EPROTO;
    if (cio_run(nested_run, NULL, NULL) != -EINVAL)
        return -EPROTO;
    return 0;
}

static int run_named(int debug)
{
    cio_loop *loop = tu_loop_virtual();
    if (debug >= 0)
        cio_loop_set_debug(loop, debug);
    cio_task_opts o = CIO_TASK_OPTS_INIT;
    o.name = "misuser";
    cio_task *t;
    assert_int_equal(cio_task_create(loop, CIO_CORO(misuse_body, NULL), &o, &t),
                     0);
    int r = cio_loop_run_until_complete(loop, t, NULL);
    cio_future_release(t);
    tu_loop_done(loop);
    return r;
}

static void misuse_in_task_names_task(void **state)
{
    (void)state;
    debug_env(1);
    capture_begin();
    int r = run_named(-1); /* debug from CIO_DEBUG */
    const char *out = capture_end();
    debug_env(0);
    assert_int_equal(r, 0);
    assert_non_null(strstr(out, "cio: cio_await: a task cannot await itself "
                                "(in task 'misuser')\n"));
    assert_non_null(strstr(out, "cio: cio_run: a loop already runs on this "
                                "thread (in task 'misuser')\n"));
}

static void misuse_follows_loop_debug_flag(void **state)
{
    (void)state;
    /* cio_loop_set_debug turns it on without the environment... */
    debug_env(0);
    capture_begin();
    assert_int_equal(run_named(1), 0);
    const char *out = capture_end();
    assert_non_null(strstr(out, "cio: cio_await: a task cannot await itself"));
    /* ...and off in spite of it. */
    debug_env(1);
    capture_begin();
    assert_int_equal(run_named(0), 0);
    out = capture_end();
    debug_env(0);
    assert_null(strstr(out, "cio_await"));
}

/* ---- CIO_BACKEND --------------------------------------------------------- */

static void unknown_backend_is_an_error(void **state)
{
    (void)state;
    const char *old = getenv("CIO_BACKEND");
    char *saved = old ? strdup(old) : NULL;
    setenv("CIO_BACKEND", "kqueue", 1);
    capture_begin();
    cio_loop *loop = (cio_loop *)1;
    int r1 = cio_loop_new(&loop, NULL);
    int r2 = cio_run(nested_run, NULL, NULL);
    const char *out = capture_end();
    assert_int_equal(r1, -ENOSYS);
    assert_null(loop);
    assert_int_equal(r2, -ENOSYS);
    assert_non_null(strstr(out, "cio: CIO_BACKEND='kqueue' is not a backend "
                                "(epoll or uring)"));
    /* An explicit backend does not consult the variable. */
    cio_loop_opts o = CIO_LOOP_OPTS_INIT;
    o.backend = CIO_BACKEND_EPOLL;
    assert_int_equal(cio_loop_new(&loop, &o), 0);
    assert_int_equal(cio_loop_free(loop), 0);
    /* Empty and "epoll" select epoll. */
    setenv("CIO_BACKEND", "", 1);
    assert_int_equal(cio_loop_new(&loop, NULL), 0);
    assert_string_equal(cio_loop_backend_name(loop), "epoll");
    assert_int_equal(cio_loop_free(loop), 0);
    if (saved) {
        setenv("CIO_BACKEND", saved, 1);
        free(saved);
    } else {
        unsetenv("CIO_BACKEND");
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(misuse_outside_task_logged_in_debug, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(misuse_silent_without_debug, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(misuse_in_task_names_task, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(misuse_follows_loop_debug_flag, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(unknown_backend_is_an_error, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
