/*
 * test_process_stress.c - subprocesses at volume: 100 MiB through a child
 * in both directions with communicate, and 1,000 short-lived children in
 * parallel (pidfd and SIGCHLD fallback) with no zombie and no leaked
 * descriptor afterwards. Normal builds only (label stress).
 */
/* cio-test: label=stress timeout=300 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "cio_testutil_net.h"

/* ---- 100 MiB each way ---- */

static int big_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    size_t n = (size_t)100 << 20;
    unsigned char *in = malloc(n);
    assert_non_null(in);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        in[i] = (unsigned char)(x >> 16);
    }
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdin_mode = CIO_PROCESS_PIPE;
    o.stdout_mode = CIO_PROCESS_PIPE;
    o.stderr_mode = CIO_PROCESS_PIPE;
    cio_process *p;
    char *const cat[] = {"/bin/sh", "-c", "cat; cat /proc/self/stat >&2", NULL};
    assert_int_equal(cio_create_subprocess_exec(NULL, cat, &o, &p), 0);
    const char *out, *err;
    size_t olen, elen;
    assert_int_equal(
        cio_process_communicate(p, in, n, &out, &olen, &err, &elen), 0);
    assert_int_equal(olen, n);
    assert_true(memcmp(out, in, n) == 0);
    assert_true(elen > 0);
    int rc;
    assert_int_equal(cio_process_returncode(p, &rc), 1);
    assert_int_equal(rc, 0);
    assert_int_equal(cio_process_free(p), 0);

    /* Output only: 100 MiB from the child while stdin is /dev/null. */
    o.stdin_mode = CIO_PROCESS_DEVNULL;
    char *const head[] = {"head", "-c", "104857600", "/dev/zero", NULL};
    assert_int_equal(cio_create_subprocess_exec(NULL, head, &o, &p), 0);
    assert_int_equal(
        cio_process_communicate(p, NULL, 0, &out, &olen, NULL, NULL), 0);
    assert_int_equal(olen, n);
    assert_int_equal(out[n - 1], 0);
    assert_int_equal(cio_process_free(p), 0);
    free(in);
    return 0;
}

TU_NET_CASE(communicate_100mib, big_main)

/* ---- 1,000 children ---- */

enum {
    CHILDREN = 1000,
    PARALLEL = 100
};

static cio_sem g_sem;
static int g_ok;

static int one_child(void *arg, void **result)
{
    (void)result;
    intptr_t i = (intptr_t)arg;
    int r = cio_sem_acquire(&g_sem);
    if (r < 0)
        return r;
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_PIPE;
    cio_process *p;
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "echo %d", (int)i);
    r = cio_create_subprocess_shell(NULL, cmd, &o, &p);
    if (r == 0) {
        const char *out;
        r = cio_process_communicate(p, NULL, 0, &out, NULL, NULL, NULL);
        if (r == 0 && atoi(out) == (int)i)
            g_ok++;
        cio_process_free(p);
    }
    cio_sem_release(&g_sem);
    return r;
}

static int many_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    g_ok = 0;
    assert_int_equal(cio_sem_init(&g_sem, PARALLEL, 0), 0);
    static cio_task *t[CHILDREN];
    for (intptr_t i = 0; i < CHILDREN; i++)
        assert_int_equal(cio_task_create(g_loop, CIO_CORO(one_child, (void *)i),
                                         NULL, &t[i]),
                         0);
    for (int i = 0; i < CHILDREN; i++) {
        assert_int_equal(cio_await(t[i], NULL), 0);
        cio_future_release(t[i]);
    }
    assert_int_equal(g_ok, CHILDREN);
    assert_int_equal(cio_sem_destroy(&g_sem), 0);
    return 0;
}

static void thousand_children(void **state)
{
    (void)state;
    int fds = count_fds();
    assert_int_equal(run_main(many_main, NULL), 0);
    assert_int_equal(count_fds(), fds);
    assert_int_equal(count_zombies(), 0);
}

static void thousand_children_sigchld(void **state)
{
    (void)state;
    int fds = count_fds();
    setenv("CIO_PIDFD", "0", 1);
    assert_int_equal(run_main(many_main, NULL), 0);
    unsetenv("CIO_PIDFD");
    assert_int_equal(count_fds(), fds);
    assert_int_equal(count_zombies(), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(communicate_100mib, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(thousand_children, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(thousand_children_sigchld, tu_setup,
                                    tu_teardown),
};

CIO_TEST_MAIN(tests)
