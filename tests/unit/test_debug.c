/*
 * test_debug.c - debug mode end to end: CIO_DEBUG=1 in the environment
 * turns it on, SIGQUIT prints the task dump (in a child process, stderr
 * captured through a pipe), cio_loop_close's -EBUSY names the pending
 * tasks, and the slow-callback warning names a task whose step blocks the
 * loop. test_signal.c covers the dump and the warning called directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cio_testutil.h"

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CIO_SEC + ts.tv_nsec;
}

/* Runs while stderr goes to a pipe; returns what was written (NUL
 * terminated in buf). The pipe is non-blocking so an empty capture reads
 * as nothing instead of hanging. */
typedef struct capture {
    int fds[2];
    int saved;
} capture;

static void capture_begin(capture *c)
{
    assert_int_equal(pipe(c->fds), 0);
    assert_int_equal(fcntl(c->fds[0], F_SETFL, O_NONBLOCK), 0);
    fflush(stderr);
    c->saved = dup(2);
    assert_true(c->saved >= 0);
    assert_int_equal(dup2(c->fds[1], 2), 2);
}

static size_t capture_end(capture *c, char *buf, size_t cap)
{
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    close(c->fds[1]);
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t k = read(c->fds[0], buf + n, cap - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    buf[n] = 0;
    close(c->fds[0]);
    return n;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* ---- CIO_DEBUG in the environment ---- */

static void env_enables_debug_mode(void **state)
{
    (void)state;
    const char *old = getenv("CIO_DEBUG");
    char *saved = old ? strdup(old) : NULL;
    const struct {
        const char *value; /* NULL: unset */
        int debug;
    } cases[] = {{NULL, 0}, {"1", 1}, {"0", 0}, {"", 0}, {"yes", 1}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].value)
            setenv("CIO_DEBUG", cases[i].value, 1);
        else
            unsetenv("CIO_DEBUG");
        cio_loop *loop;
        assert_int_equal(cio_loop_new(&loop, NULL), 0);
        assert_int_equal(cio_loop_debug(loop), cases[i].debug);
        tu_loop_done(loop);
    }
    if (saved)
        setenv("CIO_DEBUG", saved, 1);
    else
        unsetenv("CIO_DEBUG");
    free(saved);
}

/* ---- SIGQUIT task dump, in a child process ---- */

static void unignore(int signo)
{
    struct sigaction cur;
    if (sigaction(signo, NULL, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) &&
        cur.sa_handler == SIG_IGN)
        signal(signo, SIG_DFL);
}

static int sleep_long(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return cio_sleep(60 * CIO_SEC);
}

static int quit_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_loop *loop = cio_get_running_loop();
    /* Nothing in this child calls cio_loop_set_debug: only the
     * environment can have turned it on. */
    fprintf(stderr, "debug %d\n", cio_loop_debug(loop));
    const char *names[] = {"dump-alpha", "dump-beta"};
    for (int i = 0; i < 2; i++) {
        cio_task_opts o = CIO_TASK_OPTS_INIT;
        o.name = names[i];
        cio_task_create(loop, CIO_CORO(sleep_long, NULL), &o, NULL);
    }
    cio_sleep(CIO_MS); /* both are now suspended in their sleeps */
    fprintf(stderr, "ready\n");
    return cio_sleep(60 * CIO_SEC);
}

/* Reads the child's stderr into out; sends sig1 once trig1 has appeared,
 * then sig2 once every string of trig2 has. Gives up (SIGKILL) after 60
 * s, so a child that ignores its signals fails the test, not CTest's
 * timeout. Returns the wait status. */
static int watch_child(pid_t pid, int fd, const char *trig1, int sig1,
                       const char *const *trig2, int sig2, char *out,
                       size_t cap)
{
    size_t n = 0;
    int stage = 0;
    int64_t deadline = mono_ns() + 60 * CIO_SEC;
    out[0] = 0;
    while (n + 1 < cap) {
        int64_t left = deadline - mono_ns();
        if (left <= 0) {
            kill(pid, SIGKILL);
            break;
        }
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)(left / CIO_MS) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        ssize_t k = read(fd, out + n, cap - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
        out[n] = 0;
        if (stage == 0 && strstr(out, trig1)) {
            /* To the child's pid directly: a signal sent to a background
             * process group by a shell may be ignored. */
            kill(pid, sig1);
            stage = 1;
        }
        if (stage == 1) {
            int all = 1;
            for (const char *const *t = trig2; *t; t++)
                if (!strstr(out, *t))
                    all = 0;
            if (all) {
                kill(pid, sig2);
                stage = 2;
            }
        }
    }
    out[n] = 0;
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return st;
}

static void sigquit_dumps_tasks_with_env_debug(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        /* Background jobs of a non-interactive shell start with SIGINT and
         * SIGQUIT ignored, and cio (rightly) leaves ignored signals alone;
         * start from the defaults as a program in a terminal would (only
         * when needed: see test_signal.c's run_child_by on TSan). */
        unignore(SIGQUIT);
        unignore(SIGINT);
        setenv("CIO_DEBUG", "1", 1);
        dup2(p[1], 2);
        close(p[1]);
        int r = cio_run(quit_main, NULL, NULL);
        fprintf(stderr, "returned %s\n", cio_err_name(r));
        _exit(r == CIO_EINTERRUPTED ? 4 : 3);
    }
    close(p[1]);
    static char out[16384];
    /* After the dump (both names seen), Ctrl-C ends the child: the dump
     * was written in full before the loop looks at the next signal. */
    const char *const dumped[] = {"dump-alpha", "dump-beta", NULL};
    int st = watch_child(pid, p[0], "ready\n", SIGQUIT, dumped, SIGINT, out,
                         sizeof(out));
    close(p[0]);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 4)
        fprintf(stderr, "status %#x out=[%s]\n", st, out);
    assert_non_null(strstr(out, "debug 1\n"));
    assert_non_null(strstr(out, "live task(s) on loop"));
    assert_non_null(strstr(out, "  dump-alpha: suspended, waiting on sleep\n"));
    assert_non_null(strstr(out, "  dump-beta: suspended, waiting on sleep\n"));
#if defined(__x86_64__)
    /* Each suspended stack is walked: at least its resume address, once
     * per task (the main task is suspended too). */
    assert_true(count(out, "      #0 0x") >= 2);
#endif
    /* The dump left the process running; Ctrl-C then ended cio_run. */
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 4);
    assert_non_null(strstr(out, "returned CIO_EINTERRUPTED\n"));
}

/* ---- cio_loop_close refusing pending tasks ---- */

static int stop_cb(void *arg)
{
    cio_loop_stop(arg);
    return 0;
}

static void close_refusal_lists_pending_tasks(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_task_opts o = CIO_TASK_OPTS_INIT;
    o.name = "left-behind";
    cio_task *t;
    assert_int_equal(
        cio_task_create(loop, CIO_CORO(sleep_long, NULL), &o, &t), 0);
    cio_loop_call_later(loop, CIO_MS, stop_cb, loop, NULL);
    cio_loop_run_forever(loop);

    /* Debug off: refused quietly. */
    char buf[8192];
    capture c;
    capture_begin(&c);
    int r = cio_loop_close(loop);
    capture_end(&c, buf, sizeof(buf));
    assert_int_equal(r, -EBUSY);
    assert_string_equal(buf, "");

    /* Debug on: the refusal names each pending task and its wait. */
    cio_loop_set_debug(loop, 1);
    capture_begin(&c);
    r = cio_loop_close(loop);
    capture_end(&c, buf, sizeof(buf));
    assert_int_equal(r, -EBUSY);
    assert_non_null(
        strstr(buf, "cio_loop_close refused: 1 task(s) still pending"));
    assert_non_null(strstr(buf, "  left-behind: suspended, waiting on sleep"));
    assert_false(cio_loop_is_closed(loop)); /* left untouched */

    cio_task_cancel(t, NULL);
    assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), -ECANCELED);
    cio_future_release(t);
    capture_begin(&c);
    r = cio_loop_close(loop);
    capture_end(&c, buf, sizeof(buf));
    assert_int_equal(r, 0);
    assert_null(strstr(buf, "refused"));
    assert_int_equal(cio_loop_free(loop), 0);
}

/* ---- slow task steps ---- */

static void block_loop(int64_t ns)
{
    int64_t end = mono_ns() + ns;
    while (mono_ns() < end)
        ; /* busy: the loop thread is really blocked */
}

static int quick(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return 0;
}

static int hog(void *arg, void **result)
{
    (void)arg;
    (void)result;
    block_loop(80 * CIO_MS); /* first step */
    cio_sleep(0);
    block_loop(80 * CIO_MS); /* second step, resumed by the loop */
    return 0;
}

static void slow_task_step_names_task(void **state)
{
    (void)state;
    cio_loop *loop;
    assert_int_equal(cio_loop_new(&loop, NULL), 0);
    cio_loop_set_debug(loop, 1);
    assert_int_equal(cio_loop_set_slow_callback_duration(loop, 20 * CIO_MS),
                     0);
    /* quick finishes without suspending right before hog's first step:
     * the step that blocks must still be charged to hog. */
    cio_task_opts o = CIO_TASK_OPTS_INIT;
    o.name = "quick";
    assert_int_equal(cio_task_create(loop, CIO_CORO(quick, NULL), &o, NULL),
                     0);
    o.name = "hog";
    cio_task *h;
    assert_int_equal(cio_task_create(loop, CIO_CORO(hog, NULL), &o, &h), 0);
    static char buf[8192];
    capture c;
    capture_begin(&c);
    int r = cio_loop_run_until_complete(loop, h, NULL);
    capture_end(&c, buf, sizeof(buf));
    assert_int_equal(r, 0);
    /* One warning per blocking step, each naming the task. */
    if (count(buf, "executing task hog took") != 2)
        fprintf(stderr, "captured: [%s]\n", buf);
    assert_int_equal(count(buf, "executing task hog took"), 2);
    assert_non_null(strstr(buf, "(the loop was blocked)"));
    cio_future_release(h);
    tu_loop_done(loop);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(env_enables_debug_mode),
    cmocka_unit_test(sigquit_dumps_tasks_with_env_debug),
    cmocka_unit_test_setup_teardown(close_refusal_lists_pending_tasks, tu_setup, tu_teardown),
    cmocka_unit_test(slow_task_step_names_task),
};

CIO_TEST_MAIN(tests)
