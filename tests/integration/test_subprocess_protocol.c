/*
 * test_subprocess_protocol.c - asyncio's subprocess protocol API
 * (cio_subprocess_exec / cio_subprocess_shell, a SubprocessProtocol and
 * the subprocess transport) with real children (cat, sh): the order of
 * the events (connection_made first, pipe events per pipe,
 * process_exited, connection_lost last), a child that closes stdout
 * early, a grandchild holding the pipe after the child exited, wait
 * cancelled (the child runs on), close killing a running child, and the
 * creation errors.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cio_testutil_net.h"

#define SH(script) ((char *const[]){"/bin/sh", "-c", (char *)(script), NULL})

/* ---- a protocol that records what happens ---- */

typedef struct rec {
    cio_subprocess_transport *t;
    char log[512];  /* events in order: M, D1, D2, L0, L1, L2, X, C */
    char out[2][256];
    size_t outlen[2];
    int lost_err[3];
    int nmade, nexit, nlost;
    int exit_rc;       /* get_returncode inside process_exited */
    int out_at_exit;   /* bytes of stdout seen when process_exited ran */
    const char *input; /* written to stdin in connection_made, then EOF */
    int data_rc;       /* what pipe_data_received returns */
} rec;

static void logev(rec *r, const char *ev)
{
    size_t n = strlen(r->log);
    snprintf(r->log + n, sizeof(r->log) - n, "%s%s", n ? " " : "", ev);
}

static int r_made(cio_subprocess_transport *t, void *ctx)
{
    rec *r = ctx;
    r->t = t;
    r->nmade++;
    logev(r, "M");
    if (r->input) {
        cio_transport *in = cio_subprocess_transport_pipe_transport(t, 0);
        assert_non_null(in);
        assert_int_equal(cio_transport_write(in, r->input, strlen(r->input)),
                         0);
        assert_int_equal(cio_transport_write_eof(in), 0);
    }
    return 0;
}

static int r_data(cio_subprocess_transport *t, int fd, const void *data,
                  size_t len, void *ctx)
{
    rec *r = ctx;
    assert_ptr_equal(t, r->t);
    assert_true(fd == 1 || fd == 2);
    /* Data only between connection_made and that pipe's loss. */
    assert_int_equal(r->nmade, 1);
    char ev[8];
    snprintf(ev, sizeof(ev), "D%d", fd);
    size_t n = strlen(r->log);
    if (n < 2 || strcmp(r->log + n - 2, ev) != 0) /* runs of D1 once */
        logev(r, ev);
    rec *rr = r;
    size_t room = sizeof(rr->out[0]) - 1 - rr->outlen[fd - 1];
    size_t k = len < room ? len : room;
    memcpy(rr->out[fd - 1] + rr->outlen[fd - 1], data, k);
    rr->outlen[fd - 1] += k;
    return r->data_rc;
}

static void r_pipe_lost(cio_subprocess_transport *t, int fd, int err,
                        void *ctx)
{
    rec *r = ctx;
    assert_ptr_equal(t, r->t);
    assert_int_equal(r->nmade, 1);
    char ev[8];
    snprintf(ev, sizeof(ev), "L%d", fd);
    logev(r, ev);
    r->lost_err[fd] = err;
    /* The pipe transport is gone from the transport once lost. */
    assert_null(cio_subprocess_transport_pipe_transport(t, fd));
}

static void r_exited(cio_subprocess_transport *t, void *ctx)
{
    rec *r = ctx;
    assert_int_equal(r->nmade, 1);
    r->nexit++;
    logev(r, "X");
    assert_int_equal(cio_subprocess_transport_returncode(t, &r->exit_rc), 1);
    r->out_at_exit = (int)r->outlen[0];
}

static void r_lost(cio_subprocess_transport *t, int err, void *ctx)
{
    rec *r = ctx;
    assert_ptr_equal(t, r->t);
    assert_int_equal(err, 0);
    r->nlost++;
    logev(r, "C");
}

static const cio_subprocess_protocol rec_proto = {
    .connection_made = r_made,
    .pipe_data_received = r_data,
    .pipe_connection_lost = r_pipe_lost,
    .process_exited = r_exited,
    .connection_lost = r_lost,
};

static int rec_factory(void *arg, const cio_subprocess_protocol **p,
                       void **ctx)
{
    *p = &rec_proto;
    *ctx = arg;
    return 0;
}

/* The log's events, checked for the guarantees every run must keep: M
 * first and once, each L once, X once, C last and once. */
static void check_order(const rec *r, int npipes)
{
    assert_int_equal(strncmp(r->log, "M", 1), 0);
    size_t n = strlen(r->log);
    assert_true(n >= 1 && r->log[n - 1] == 'C');
    assert_int_equal(r->nmade, 1);
    assert_int_equal(r->nexit, 1);
    assert_int_equal(r->nlost, 1);
    int ls = 0;
    for (const char *p = r->log; (p = strchr(p, 'L')) != NULL; p++)
        ls++;
    assert_int_equal(ls, npipes);
}

/* Where in the log an event is (its offset), or -1. */
static int at(const rec *r, const char *ev)
{
    const char *p = strstr(r->log, ev);
    return p ? (int)(p - r->log) : -1;
}

/* ---- cat: stdin to stdout, every pipe, the full order ---- */

static int cat_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    rec r = {0};
    r.input = "hello\nworld\n";
    cio_subprocess_transport *t;
    char *const argv[] = {"cat", NULL};
    assert_int_equal(cio_subprocess_exec(NULL, rec_factory, &r, argv, NULL, &t),
                     0);
    /* connection_made comes from the loop, after the call. */
    assert_int_equal(r.nmade, 0);
    assert_true(cio_subprocess_transport_pid(t) > 0);
    assert_int_equal(cio_subprocess_transport_returncode(t, NULL), 0);
    for (int fd = 0; fd < 3; fd++)
        assert_non_null(cio_subprocess_transport_pipe_transport(t, fd));
    assert_null(cio_subprocess_transport_pipe_transport(t, 3));
    int rc = -1;
    assert_int_equal(cio_subprocess_transport_wait(t, &rc), 0);
    assert_int_equal(rc, 0);
    /* wait returns after connection_lost: everything happened. */
    check_order(&r, 3);
    assert_int_equal(r.outlen[0], 12);
    assert_memory_equal(r.out[0], "hello\nworld\n", 12);
    assert_int_equal(r.outlen[1], 0);
    assert_int_equal(r.lost_err[0], 0);
    assert_int_equal(r.lost_err[1], 0);
    assert_true(at(&r, "D1") < at(&r, "L1"));
    assert_int_equal(cio_subprocess_transport_returncode(t, &rc), 1);
    assert_int_equal(rc, 0);
    /* After the exit: asyncio's ProcessLookupError. */
    assert_int_equal(cio_subprocess_transport_send_signal(t, SIGTERM), -ESRCH);
    assert_int_equal(cio_subprocess_transport_wait(t, &rc), 0); /* again */
    assert_int_equal(cio_subprocess_transport_is_closing(t), 0);
    assert_int_equal(cio_subprocess_transport_close(t), 0); /* frees t */
    return 0;
}

TU_NET_CASE(subprocess_protocol_cat_event_order, cat_main)

/* ---- sh: stdout and stderr apart, the exit status ---- */

static int shell_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    rec r = {0};
    cio_subprocess_transport *t;
    assert_int_equal(cio_subprocess_shell(NULL, rec_factory, &r,
                                          "echo out; echo err >&2; exit 3",
                                          NULL, &t),
                     0);
    int rc = 0;
    assert_int_equal(cio_subprocess_transport_wait(t, &rc), 0);
    assert_int_equal(rc, 3);
    assert_int_equal(r.exit_rc, 3);
    check_order(&r, 3);
    assert_int_equal(r.outlen[0], 4);
    assert_memory_equal(r.out[0], "out\n", 4);
    assert_int_equal(r.outlen[1], 4);
    assert_memory_equal(r.out[1], "err\n", 4);
    assert_int_equal(cio_subprocess_transport_close(t), 0);

    /* Killed by a signal: -SIGNUM, as cio_process_wait. */
    rec k = {0};
    cio_process_opts o = CIO_PROCESS_OPTS_INIT; /* no pipes at all */
    assert_int_equal(
        cio_subprocess_shell(NULL, rec_factory, &k, "kill -9 $$", &o, &t), 0);
    for (int fd = 0; fd < 3; fd++)
        assert_null(cio_subprocess_transport_pipe_transport(t, fd));
    assert_int_equal(cio_subprocess_transport_wait(t, &rc), 0);
    assert_int_equal(rc, -SIGKILL);
    check_order(&k, 0);
    assert_string_equal(k.log, "M X C");
    assert_int_equal(cio_subprocess_transport_close(t), 0);
    return 0;
}

TU_NET_CASE(subprocess_protocol_shell_stdout_stderr_exit_status, shell_main)

/* ---- a child that closes its stdout long before it exits ---- */

static int early_close_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    rec r = {0};
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_PIPE;
    cio_subprocess_transport *t;
    assert_int_equal(cio_subprocess_shell(NULL, rec_factory, &r,
                                          "echo bye; exec 1>&-; sleep 0.3; "
                                          "exit 4",
                                          &o, &t),
                     0);
    int rc = 0;
    assert_int_equal(cio_subprocess_transport_wait(t, &rc), 0);
    assert_int_equal(rc, 4);
    check_order(&r, 1);
    /* The pipe's loss came first, then the exit, then the end. */
    assert_string_equal(r.log, "M D1 L1 X C");
    assert_memory_equal(r.out[0], "bye\n", 4);
    assert_int_equal(cio_subprocess_transport_close(t), 0);
    return 0;
}

TU_NET_CASE(subprocess_protocol_child_closes_stdout_early, early_close_main)

/* ---- a grandchild holds stdout after the child exited ---- */

static int grandchild_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    rec r = {0};
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_PIPE;
    cio_subprocess_transport *t;
    /* The shell exits at once; its background child keeps the pipe's
     * write end for 0.3 s, then writes and exits. */
    assert_int_equal(cio_subprocess_shell(NULL, rec_factory, &r,
                                          "(sleep 0.3; echo late) & "
                                          "echo early",
                                          &o, &t),
                     0);
    int rc = -1;
    assert_int_equal(cio_subprocess_transport_wait(t, &rc), 0);
    assert_int_equal(rc, 0);
    check_order(&r, 1);
    /* process_exited came while the pipe was still open (asyncio: "can
     * be called before pipe_data_received() and pipe_connection_lost()"),
     * and before "late" arrived; connection_lost and the wait only after
     * the grandchild let the pipe go. */
    assert_true(at(&r, "X") < at(&r, "L1"));
    assert_true(r.out_at_exit < (int)r.outlen[0]);
    assert_int_equal(r.outlen[0], 11);
    assert_memory_equal(r.out[0], "early\nlate\n", 11);
    assert_true(at(&r, "L1") < at(&r, "C"));
    assert_int_equal(cio_subprocess_transport_close(t), 0);
    return 0;
}

TU_NET_CASE(subprocess_protocol_grandchild_holding_pipe_delays_connection_lost,
            grandchild_main)

/* ---- wait cancelled: the child runs on ---- */

static int waiter(void *arg, void **result)
{
    (void)result;
    int rc;
    return cio_subprocess_transport_wait(arg, &rc);
}

static int cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    rec r = {0};
    cio_subprocess_transport *t;
    char *const argv[] = {"sleep", "10", NULL};
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_PIPE;
    assert_int_equal(cio_subprocess_exec(NULL, rec_factory, &r, argv, &o, &t),
                     0);
    pid_t pid = cio_subprocess_transport_pid(t);
    cio_task *w1, *w2;
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(waiter, t), NULL, &w1),
                     0);
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(waiter, t), NULL, &w2),
                     0);
    assert_int_equal(cio_sleep(20 * CIO_MS), 0);
    assert_int_equal(cio_task_cancel(w1, NULL), 1);
    void *res;
    assert_int_equal(cio_await(w1, &res), -ECANCELED);
    cio_future_release(w1);
    assert_int_equal(cio_sleep(20 * CIO_MS), 0);
    /* asyncio: a cancelled wait leaves the child alone. */
    assert_int_equal(kill(pid, 0), 0);
    assert_int_equal(r.nexit, 0);
    assert_int_equal(cio_subprocess_transport_returncode(t, NULL), 0);
    assert_false(cio_future_done(w2));
    /* The other waiter gets the real status. */
    assert_int_equal(cio_subprocess_transport_terminate(t), 0);
    assert_int_equal(cio_await(w2, &res), 0);
    cio_future_release(w2);
    int rc = 0;
    assert_int_equal(cio_subprocess_transport_returncode(t, &rc), 1);
    assert_int_equal(rc, -SIGTERM);
    check_order(&r, 1);
    assert_int_equal(cio_subprocess_transport_close(t), 0);
    return 0;
}

TU_NET_CASE(subprocess_protocol_wait_cancelled_leaves_child_running,
            cancel_main)

/* ---- close kills a running child; the events still come ---- */

static int close_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    rec r = {0};
    cio_subprocess_transport *t;
    char *const argv[] = {"sleep", "100", NULL};
    assert_int_equal(cio_subprocess_exec(NULL, rec_factory, &r, argv, NULL, &t),
                     0);
    pid_t pid = cio_subprocess_transport_pid(t);
    WAIT_FOR(r.nmade == 1);
    assert_int_equal(cio_subprocess_transport_close(t), 0);
    WAIT_FOR(r.nlost == 1);
    check_order(&r, 3);
    assert_int_equal(r.exit_rc, -SIGKILL);
    assert_true(kill(pid, 0) < 0 && errno == ESRCH); /* reaped */
    return 0;
}

TU_NET_CASE(subprocess_protocol_close_kills_running_child, close_main)

/* ---- send_signal and kill ---- */

static int signals_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    rec r = {0};
    cio_subprocess_transport *t;
    char *const argv[] = {"sleep", "10", NULL};
    assert_int_equal(cio_subprocess_exec(NULL, rec_factory, &r, argv, NULL, &t),
                     0);
    assert_int_equal(cio_subprocess_transport_send_signal(t, 0), 0);
    assert_int_equal(cio_subprocess_transport_send_signal(t, -1), -EINVAL);
    assert_int_equal(cio_subprocess_transport_send_signal(t, 4096), -EINVAL);
    assert_int_equal(cio_subprocess_transport_kill(t), 0);
    int rc = 0;
    assert_int_equal(cio_subprocess_transport_wait(t, &rc), 0);
    assert_int_equal(rc, -SIGKILL);
    check_order(&r, 3);
    assert_int_equal(cio_subprocess_transport_kill(t), -ESRCH);
    assert_int_equal(cio_subprocess_transport_terminate(t), -ESRCH);
    assert_int_equal(cio_subprocess_transport_close(t), 0);
    return 0;
}

TU_NET_CASE(subprocess_protocol_send_signal_and_kill, signals_main)

/* ---- a failing pipe_data_received aborts that pipe ---- */

static int handler_calls;

static void count_handler(cio_loop *loop, const cio_exception_context *c,
                          void *arg)
{
    (void)loop;
    (void)c;
    (void)arg;
    handler_calls++;
}

static int data_error_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    handler_calls = 0;
    cio_loop_set_exception_handler(g_loop, count_handler, NULL);
    rec r = {0};
    r.data_rc = -EIO;
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_PIPE;
    cio_subprocess_transport *t;
    assert_int_equal(cio_subprocess_shell(NULL, rec_factory, &r,
                                          "echo x; sleep 0.1; echo y", &o, &t),
                     0);
    int rc = -1;
    assert_int_equal(cio_subprocess_transport_wait(t, &rc), 0);
    check_order(&r, 1);
    assert_int_equal(r.lost_err[1], -EIO);
    assert_true(handler_calls >= 1);
    /* The child's second echo met a closed pipe (SIGPIPE) or ran first. */
    assert_true(rc == 0 || rc == -SIGPIPE);
    assert_int_equal(cio_subprocess_transport_close(t), 0);
    cio_loop_set_exception_handler(g_loop, NULL, NULL);
    return 0;
}

TU_NET_CASE(subprocess_protocol_callback_error_aborts_pipe, data_error_main)

/* ---- creation errors: no child, no callback ---- */

static int refuse(void *arg, const cio_subprocess_protocol **p, void **ctx)
{
    (void)arg;
    (void)p;
    (void)ctx;
    return -EPERM;
}

static int errors_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    rec r = {0};
    cio_subprocess_transport *t = (void *)1;
    char *const missing[] = {"/nonexistent/cio-no-such-program", NULL};
    assert_int_equal(
        cio_subprocess_exec(NULL, rec_factory, &r, missing, NULL, &t),
        -ENOENT);
    assert_null(t);
    char *const argv[] = {"true", NULL};
    assert_int_equal(cio_subprocess_exec(NULL, refuse, &r, argv, NULL, &t),
                     -EPERM);
    assert_int_equal(cio_subprocess_exec(NULL, NULL, &r, argv, NULL, &t),
                     -EINVAL);
    assert_int_equal(cio_subprocess_shell(NULL, rec_factory, &r, NULL, NULL,
                                          &t),
                     -EINVAL);
    assert_int_equal(cio_subprocess_transport_wait(NULL, NULL), -EINVAL);
    assert_int_equal(cio_subprocess_transport_close(NULL), -EINVAL);
    /* Let a queued callback of a failed creation run: none reaches r. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(cio_sleep(CIO_MS), 0);
    assert_int_equal(r.nmade, 0);
    assert_string_equal(r.log, "");
    return 0;
}

TU_NET_CASE(subprocess_protocol_creation_errors_run_no_callback, errors_main)

/* ---- the streams form's documented difference ---- */

/* cio_process_wait returns at the reap, not when the pipes close (the
 * header says why); the subprocess transport's wait is asyncio's. */
static int process_wait_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_PIPE;
    cio_process *p;
    assert_int_equal(cio_create_subprocess_shell(
                         NULL, "(sleep 0.5; echo late) & echo early", &o, &p),
                     0);
    int rc = -1;
    assert_int_equal(cio_process_wait(p, &rc), 0);
    assert_int_equal(rc, 0);
    /* The grandchild still holds stdout: "late" has not come. */
    const char *line;
    cio_stream_reader *out = cio_process_stdout(p);
    assert_int_equal(cio_stream_reader_readline(out, &line), 6);
    assert_memory_equal(line, "early\n", 6);
    assert_int_equal(cio_stream_reader_at_eof(out), 0);
    assert_int_equal(cio_stream_reader_buffered(out), 0);
    /* Reading to the end is the caller's part: it waits for the
     * grandchild. */
    assert_int_equal(cio_stream_reader_readline(out, &line), 5);
    assert_memory_equal(line, "late\n", 5);
    assert_int_equal(cio_stream_reader_readline(out, &line), 0);
    assert_int_equal(cio_process_free(p), 0);
    return 0;
}

TU_NET_CASE(process_wait_returns_at_reap_while_grandchild_holds_stdout,
            process_wait_main)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(subprocess_protocol_cat_event_order, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(subprocess_protocol_shell_stdout_stderr_exit_status, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(subprocess_protocol_child_closes_stdout_early, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(subprocess_protocol_grandchild_holding_pipe_delays_connection_lost, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(subprocess_protocol_wait_cancelled_leaves_child_running, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(subprocess_protocol_close_kills_running_child, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(subprocess_protocol_send_signal_and_kill, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(subprocess_protocol_callback_error_aborts_pipe, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(subprocess_protocol_creation_errors_run_no_callback, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(process_wait_returns_at_reap_while_grandchild_holds_stdout, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
