/*
 * test_signal.c - signals as loop callbacks, which loop receives them
 * (including a loop on a non-main thread), Ctrl-C (in child processes:
 * cancellation, cleanup, death by SIGINT, the forced second Ctrl-C, a
 * user handler replacing it), debug mode (task dump, slow callback
 * warning, wrong-thread calls).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cio_testutil.h"

static int hits;
static cio_loop *hit_loop;

static int on_usr1(void *arg)
{
    hits++;
    hit_loop = cio_get_running_loop(); /* runs as a loop callback */
    cio_loop_stop(arg);
    return 0;
}

static int send_usr1(void *arg)
{
    (void)arg;
    kill(getpid(), SIGUSR1);
    return 0;
}

static void handler_runs_on_loop(void **state)
{
    (void)state;
    cio_loop *loop;
    assert_int_equal(cio_loop_new(&loop, NULL), 0);
    hits = 0;
    assert_int_equal(cio_loop_add_signal_handler(loop, SIGUSR1, on_usr1, loop),
                     0);
    cio_loop_call_soon(loop, send_usr1, NULL, NULL);
    assert_int_equal(cio_loop_run_forever(loop), 0);
    assert_int_equal(hits, 1);
    assert_ptr_equal(hit_loop, loop);
    assert_int_equal(cio_loop_remove_signal_handler(loop, SIGUSR1), 1);
    assert_int_equal(cio_loop_remove_signal_handler(loop, SIGUSR1), 0);
    tu_loop_done(loop);
}

static void ownership_and_bad_signals(void **state)
{
    (void)state;
    cio_loop *a, *b;
    cio_loop_new(&a, NULL);
    cio_loop_new(&b, NULL);
    assert_int_equal(cio_loop_add_signal_handler(a, SIGUSR2, on_usr1, a), 0);
    /* One owner per signal number, whatever thread runs the loops. */
    assert_int_equal(cio_loop_add_signal_handler(b, SIGUSR2, on_usr1, b),
                     -EBUSY);
    assert_int_equal(cio_loop_remove_signal_handler(a, SIGUSR2), 1);
    assert_int_equal(cio_loop_add_signal_handler(b, SIGUSR2, on_usr1, b), 0);
    int bad[] = {0, -1, 65, SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cio_loop_add_signal_handler(a, bad[i], on_usr1, a),
                         -EINVAL);
    assert_int_equal(cio_loop_add_signal_handler(a, SIGUSR1, NULL, a),
                     -EINVAL);
    tu_loop_done(a);
    tu_loop_done(b); /* closing releases b's SIGUSR2 */
    cio_loop_new(&a, NULL);
    assert_int_equal(cio_loop_add_signal_handler(a, SIGUSR2, on_usr1, a), 0);
    tu_loop_done(a);
}

static volatile sig_atomic_t old_hits;
static void old_handler(int s)
{
    (void)s;
    old_hits++;
}

static void remove_restores_disposition(void **state)
{
    (void)state;
    struct sigaction sa, cur;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = old_handler;
    sigaction(SIGUSR1, &sa, NULL);
    cio_loop *loop;
    cio_loop_new(&loop, NULL);
    cio_loop_add_signal_handler(loop, SIGUSR1, on_usr1, loop);
    cio_loop_remove_signal_handler(loop, SIGUSR1);
    sigaction(SIGUSR1, NULL, &cur);
    assert_ptr_equal(cur.sa_handler, old_handler);
    old_hits = 0;
    raise(SIGUSR1);
    assert_int_equal(old_hits, 1);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGUSR1, &sa, NULL);
    tu_loop_done(loop);
}

static void *thread_loop(void *arg)
{
    cio_loop *loop = arg;
    cio_loop_run_forever(loop); /* until the SIGUSR2 handler stops it */
    return NULL;
}

static void loop_in_non_main_thread_receives(void **state)
{
    (void)state;
    cio_loop *loop;
    cio_loop_new(&loop, NULL);
    hits = 0;
    hit_loop = NULL;
    assert_int_equal(cio_loop_add_signal_handler(loop, SIGUSR2, on_usr1, loop),
                     0);
    pthread_t th;
    pthread_create(&th, NULL, thread_loop, loop);
    /* The kernel may interrupt either thread; the callback still runs on
     * the owning loop, in its thread. */
    while (!cio_loop_is_running(loop))
        usleep(1000);
    kill(getpid(), SIGUSR2);
    pthread_join(th, NULL);
    assert_int_equal(hits, 1);
    assert_ptr_equal(hit_loop, loop);
    tu_loop_done(loop);
}

/* ---- Ctrl-C, in child processes ---- */

static int report_fd = -1;

static void say(const char *s)
{
    ssize_t r = write(report_fd, s, strlen(s));
    (void)r;
}

static int sleepy(void *arg, void **result)
{
    (void)result;
    intptr_t secs = (intptr_t)arg;
    int r = cio_sleep(secs * CIO_SEC);
    if (r == -ECANCELED) {
        char buf[64];
        snprintf(buf, sizeof(buf), "cancelled %ld\n", (long)secs);
        say(buf);
    }
    return r;
}

static int slow_cleanup(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int r = cio_sleep(100 * CIO_SEC);
    say("cleaning\n");
    cio_sleep(30 * CIO_SEC); /* a cleanup that would take forever */
    return r;
}

static int ctrl_c_main(void *arg, void **result)
{
    (void)result;
    cio_loop *loop = cio_get_running_loop();
    int mode = (int)(intptr_t)arg;
    if (mode == 1) {
        cio_task_create(loop, CIO_CORO(slow_cleanup, NULL), NULL, NULL);
    } else {
        cio_task_create(loop, CIO_CORO(sleepy, 20), NULL, NULL);
        cio_task_create(loop, CIO_CORO(sleepy, 33), NULL, NULL);
    }
    cio_sleep(CIO_MS);
    say("ready\n");
    return cio_sleep(60 * CIO_SEC);
}

static int user_int(void *arg)
{
    say("user handler\n");
    cio_task_cancel(arg, NULL);
    return 0;
}

static int user_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_loop_add_signal_handler(cio_get_running_loop(), SIGINT, user_int,
                                cio_current_task());
    say("ready\n");
    int r = cio_sleep(60 * CIO_SEC);
    return r == -ECANCELED ? 0 : -EPROTO;
}

/* Forks a child running mode; sends SIGINT after each line matching
 * trigger; returns the wait status and the child's report. */
static int run_child(int mode, const char *trigger1, const char *trigger2,
                     char *out, size_t cap)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        report_fd = p[1];
        int r = cio_run(mode == 2 ? user_main : ctrl_c_main,
                        (void *)(intptr_t)mode, NULL);
        char buf[64];
        snprintf(buf, sizeof(buf), "returned %d\n", r);
        say(buf);
        _exit(r == 0 ? 0 : 3);
    }
    close(p[1]);
    size_t n = 0;
    const char *trig = trigger1;
    while (n + 1 < cap) {
        ssize_t k = read(p[0], out + n, cap - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
        out[n] = 0;
        if (trig && strstr(out, trig)) {
            kill(pid, SIGINT);
            trig = trig == trigger1 ? trigger2 : NULL;
        }
    }
    out[n] = 0;
    close(p[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return st;
}

static void ctrl_c_cancels_all_then_dies_by_sigint(void **state)
{
    (void)state;
    char out[512];
    int st = run_child(0, "ready\n", NULL, out, sizeof(out));
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGINT); /* a shell reports 130 */
    assert_non_null(strstr(out, "cancelled 20\n"));
    assert_non_null(strstr(out, "cancelled 33\n"));
    assert_null(strstr(out, "returned")); /* never returned normally */
}

static void second_ctrl_c_forces_exit(void **state)
{
    (void)state;
    char out[512];
    int st = run_child(1, "ready\n", "cleaning\n", out, sizeof(out));
    if (!WIFSIGNALED(st))
        fprintf(stderr, "status %#x out=[%s]\n", st, out);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGINT);
    assert_non_null(strstr(out, "cleaning\n"));
}

static void user_sigint_handler_replaces_default(void **state)
{
    (void)state;
    char out[512];
    int st = run_child(2, "ready\n", NULL, out, sizeof(out));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_non_null(strstr(out, "user handler\n"));
    assert_non_null(strstr(out, "returned 0\n"));
}

/* ---- debug mode ---- */

static int napper(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return cio_sleep(CIO_SEC);
}

static int blocker(void *arg)
{
    (void)arg;
    usleep(30000); /* blocks the loop for 30 ms */
    return 0;
}

static int dump_and_stop(void *arg)
{
    int *fds = arg;
    cio_loop *loop = cio_get_running_loop();
    assert_int_equal(cio_loop_dump_tasks(loop, fds[1]), 2);
    cio_loop_stop(loop);
    return 0;
}

static void task_dump_lists_tasks(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_task_opts o = CIO_TASK_OPTS_INIT;
    o.name = "napper-one";
    cio_task *a, *b;
    cio_task_create(loop, CIO_CORO(napper, NULL), &o, &a);
    cio_task_create(loop, CIO_CORO(napper, NULL), NULL, &b);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    cio_loop_call_later(loop, CIO_MS, dump_and_stop, fds, NULL);
    cio_loop_run_forever(loop);
    char buf[4096];
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    assert_true(n > 0);
    buf[n] = 0;
    assert_non_null(strstr(buf, "2 live task(s)"));
    assert_non_null(strstr(buf, "napper-one: suspended, waiting on sleep"));
    assert_non_null(strstr(buf, "Task-1: suspended, waiting on sleep"));
#if defined(__x86_64__)
    /* The suspended stack is walked: at least the resume address. */
    assert_non_null(strstr(buf, "      #0 0x"));
#endif
    close(fds[0]);
    close(fds[1]);
    cio_task_cancel(a, NULL);
    cio_task_cancel(b, NULL);
    cio_loop_run_until_complete(loop, b, NULL);
    cio_loop_run_until_complete(loop, a, NULL);
    cio_future_release(a);
    cio_future_release(b);
    tu_loop_done(loop);
}

static int stop_cb(void *arg)
{
    cio_loop_stop(arg);
    return 0;
}

static void slow_callback_warning(void **state)
{
    (void)state;
    cio_loop *loop;
    cio_loop_new(&loop, NULL);
    assert_int_equal(cio_loop_get_debug(loop), 0);
    assert_int_equal(cio_loop_set_debug(loop, 1), 0);
    assert_int_equal(cio_loop_set_slow_callback_duration(loop, 10 * CIO_MS),
                     0);
    /* Capture stderr in a pipe for the duration of the run. */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int saved = dup(2);
    dup2(fds[1], 2);
    cio_loop_call_soon(loop, blocker, NULL, NULL);
    cio_loop_call_soon(loop, stop_cb, loop, NULL);
    cio_loop_run_forever(loop);
    dup2(saved, 2);
    close(saved);
    close(fds[1]);
    char buf[1024];
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    assert_true(n > 0);
    buf[n] = 0;
    assert_non_null(strstr(buf, "took"));
    assert_non_null(strstr(buf, "blocked"));
    tu_loop_done(loop);
}

static void *wrong_thread(void *arg)
{
    cio_loop *loop = arg;
    intptr_t r = cio_loop_call_soon(loop, stop_cb, loop, NULL);
    cio_loop_stop_threadsafe(loop);
    return (void *)r;
}

static int start_thread(void *arg)
{
    pthread_t *th = arg;
    pthread_create(th, NULL, wrong_thread, cio_get_running_loop());
    return 0;
}

static void wrong_thread_call_refused(void **state)
{
    (void)state;
    cio_loop *loop;
    cio_loop_new(&loop, NULL);
    cio_loop_set_debug(loop, 1);
    pthread_t th;
    cio_loop_call_soon(loop, start_thread, &th, NULL);
    cio_loop_run_forever(loop); /* stopped by the threadsafe call */
    void *r;
    pthread_join(th, &r);
    assert_int_equal((intptr_t)r, -EINVAL);
    tu_loop_done(loop);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(handler_runs_on_loop),
    cmocka_unit_test(ownership_and_bad_signals),
    cmocka_unit_test(remove_restores_disposition),
    cmocka_unit_test(loop_in_non_main_thread_receives),
    cmocka_unit_test(ctrl_c_cancels_all_then_dies_by_sigint),
    cmocka_unit_test(second_ctrl_c_forces_exit),
    cmocka_unit_test(user_sigint_handler_replaces_default),
    cmocka_unit_test(task_dump_lists_tasks),
    cmocka_unit_test(slow_callback_warning),
    cmocka_unit_test(wrong_thread_call_refused),
};

CIO_TEST_MAIN(tests)
