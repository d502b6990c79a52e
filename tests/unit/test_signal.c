/*
 * test_signal.c - signals as loop callbacks, which loop receives them
 * (including a loop on a non-main thread, and two loops running at once
 * in two threads, each owning its own signal), Ctrl-C (in child processes,
 * under cio_run, run_until_complete and run_forever: cancellation,
 * cleanup, CIO_EINTERRUPTED returned to the caller, death by SIGINT when
 * the caller asks for it (cio_raise_sigint) and on a second Ctrl-C, a
 * program's last line reaching its output file, a user handler replacing
 * it), debug mode (task dump, slow callback warning,
 * wrong-thread calls; test_debug.c has the rest).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cio_testutil.h"

#include "internal.h" /* CIO__TSAN */

#include <poll.h>
#include <stdio.h>

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

/* Two loops running at once in two threads, each owning one signal. */
typedef struct two_side {
    cio_loop *loop;
    int signo, other;
    int hits;             /* handler calls on this side */
    cio_loop *ran_on;     /* running loop seen by the handler */
    pthread_t ran_in;     /* thread the handler ran in */
    pthread_t thread;     /* thread running this side's loop */
    int steal;            /* add_signal_handler(other) from inside the run */
} two_side;

static int two_handler(void *arg)
{
    two_side *sd = arg;
    sd->hits++;
    sd->ran_on = cio_get_running_loop();
    sd->ran_in = pthread_self();
    cio_loop_stop(sd->loop);
    return 0;
}

static int try_steal(void *arg)
{
    two_side *sd = arg;
    sd->steal = cio_loop_add_signal_handler(sd->loop, sd->other, two_handler,
                                            sd);
    return 0;
}

static void *two_thread(void *arg)
{
    two_side *sd = arg;
    cio_loop_call_soon(sd->loop, try_steal, sd, NULL);
    cio_loop_run_forever(sd->loop); /* until its own signal stops it */
    return NULL;
}

static void two_loops_two_threads_own_signals(void **state)
{
    (void)state;
    two_side sd[2] = {{0}, {0}};
    sd[0].signo = sd[1].other = SIGUSR1;
    sd[0].other = sd[1].signo = SIGUSR2;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(cio_loop_new(&sd[i].loop, NULL), 0);
        sd[i].steal = 1;
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(cio_loop_add_signal_handler(sd[i].loop, sd[i].signo,
                                                     two_handler, &sd[i]),
                         0);
    /* The other loop's signal is taken: documented -EBUSY. */
    for (int i = 0; i < 2; i++)
        assert_int_equal(cio_loop_add_signal_handler(sd[i].loop, sd[i].other,
                                                     two_handler, &sd[i]),
                         -EBUSY);
    for (int i = 0; i < 2; i++)
        assert_int_equal(
            pthread_create(&sd[i].thread, NULL, two_thread, &sd[i]), 0);
    while (!cio_loop_is_running(sd[0].loop) ||
           !cio_loop_is_running(sd[1].loop))
        usleep(1000);
    /* Process-directed: the kernel picks any thread that does not block
     * the signal (often this one); the callback still runs on the owner. */
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR2);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(sd[i].thread, NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sd[i].hits, 1); /* its own signal, only there */
        assert_ptr_equal(sd[i].ran_on, sd[i].loop);
        assert_true(pthread_equal(sd[i].ran_in, sd[i].thread));
        assert_int_equal(sd[i].steal, -EBUSY); /* also while running */
    }
    /* Closing one loop frees its signal for the other. */
    tu_loop_done(sd[0].loop);
    assert_int_equal(cio_loop_add_signal_handler(sd[1].loop, SIGUSR1,
                                                 two_handler, &sd[1]),
                     0);
    tu_loop_done(sd[1].loop);
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

static void unignore(int signo)
{
    struct sigaction cur;
    if (sigaction(signo, NULL, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) &&
        cur.sa_handler == SIG_IGN)
        signal(signo, SIG_DFL);
}

/* Set before forking: the child calls cio_raise_sigint after a
 * CIO_EINTERRUPTED return (the opt-in to die by SIGINT). */
static int child_reraises;

/* How the child drives its loop: Ctrl-C must behave the same in all. */
enum { BY_CIO_RUN, BY_RUN_UNTIL_COMPLETE, BY_RUN_FOREVER };

static int run_in_child(cio_coro_fn fn, int mode, int runner)
{
    if (runner == BY_CIO_RUN)
        return cio_run(fn, (void *)(intptr_t)mode, NULL);
    cio_loop *loop;
    if (cio_loop_new(&loop, NULL) < 0)
        return -EPROTO;
    cio_task *t;
    int r = cio_task_create(loop, CIO_CORO(fn, (intptr_t)mode), NULL, &t);
    if (r < 0)
        return r;
    if (runner == BY_RUN_UNTIL_COMPLETE)
        r = cio_loop_run_until_complete(loop, t, NULL);
    else
        r = cio_loop_run_forever(loop); /* nothing here ever stops it */
    return r;
}

/* Forks a child running mode; sends SIGINT after each line matching
 * trigger; returns the wait status and the child's report. */
static int run_child_by(int mode, int runner, const char *trigger1,
                        const char *trigger2, char *out, size_t cap)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        report_fd = p[1];
        /* A shell starts background jobs with SIGINT ignored; the default
         * Ctrl-C handling (rightly) stays off then, so start from the
         * default disposition as an interactive program would. Only when
         * needed: under TSan, resetting it here made the user handler's
         * SIGINT get lost now and then (TSan defers signal handlers). */
        unignore(SIGINT);
        int r = run_in_child(mode == 2 ? user_main : ctrl_c_main, mode,
                             runner);
        char buf[64];
        snprintf(buf, sizeof(buf), "returned %s\n", cio_err_name(r));
        say(buf);
        if (r == CIO_EINTERRUPTED && child_reraises)
            cio_raise_sigint();
        _exit(r == 0 ? 0 : r == CIO_EINTERRUPTED ? 4 : 3);
    }
    close(p[1]);
    size_t n = 0;
    const char *trig = trigger1;
#if defined(CIO__TSAN)
    int resends = 0;
#endif
    while (n + 1 < cap) {
#if defined(CIO__TSAN)
        /* Under TSan only: TSan runs signal handlers late (it defers
         * them to its interceptors), and once, in a gate's TSan stage,
         * the child slept its whole 60 s without the handler having run.
         * For the user handler, whose repeats are harmless, Ctrl-C is
         * sent again after a silent second: a default disposition would
         * still have killed the child at the first. */
        if (mode == 2 && trig != trigger1 && resends < 10 &&
            !strstr(out, "user handler")) {
            struct pollfd pf = {p[0], POLLIN, 0};
            if (poll(&pf, 1, 1000) == 0) {
                fprintf(stderr, "no answer to SIGINT: sent again\n");
                kill(pid, SIGINT);
                resends++;
                continue;
            }
        }
#endif
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

static int run_child(int mode, const char *trigger1, const char *trigger2,
                     char *out, size_t cap)
{
    return run_child_by(mode, BY_CIO_RUN, trigger1, trigger2, out, cap);
}

static void expect_interrupted_return(int st, const char *out)
{
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 4)
        fprintf(stderr, "status %#x out=[%s]\n", st, out);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 4);
    assert_non_null(strstr(out, "cancelled 20\n"));
    assert_non_null(strstr(out, "cancelled 33\n"));
    /* Every task had finished before the runner returned. */
    assert_true(strstr(out, "cancelled 33\n") <
                strstr(out, "returned CIO_EINTERRUPTED\n"));
}

static void ctrl_c_cancels_all_then_returns_interrupted(void **state)
{
    (void)state;
    char out[512];
    int st = run_child(0, "ready\n", NULL, out, sizeof(out));
    expect_interrupted_return(st, out);
}

/* The opt-in: the program re-raises after cio_run returned. */
static void ctrl_c_then_raise_sigint_dies_by_sigint(void **state)
{
    (void)state;
    char out[512];
    child_reraises = 1;
    int st = run_child(0, "ready\n", NULL, out, sizeof(out));
    child_reraises = 0;
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGINT); /* a shell reports 130 */
    assert_non_null(strstr(out, "cancelled 33\n"));
    assert_non_null(strstr(out, "returned CIO_EINTERRUPTED\n"));
}

/* The case: a program whose stdout is a file (fully buffered)
 * is Ctrl-C'd; its last line, printed after cio_run, is in the file. */
static void ctrl_c_program_prints_last_line_to_file(void **state)
{
    (void)state;
    char path[] = "/tmp/cio-ctrl-c-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        report_fd = p[1];
        unignore(SIGINT);
        dup2(fd, STDOUT_FILENO);
        close(fd);
        setvbuf(stdout, NULL, _IOFBF, 1 << 16);
        printf("first line\n");
        int r = cio_run(ctrl_c_main, (void *)(intptr_t)0, NULL);
        printf("last line: cio_run returned %s\n", cio_err_name(r));
        exit(r == CIO_EINTERRUPTED ? 0 : 3); /* exit flushes, as main's return */
    }
    close(p[1]);
    char out[512];
    size_t n = 0;
    int sent = 0;
    while (n + 1 < sizeof out) {
        ssize_t k = read(p[0], out + n, sizeof out - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
        out[n] = 0;
        if (!sent && strstr(out, "ready\n")) {
            kill(pid, SIGINT);
            sent = 1;
        }
    }
    close(p[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    char file[256];
    ssize_t k = pread(fd, file, sizeof file - 1, 0);
    close(fd);
    unlink(path);
    assert_true(k > 0);
    file[k] = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fprintf(stderr, "status %#x file=[%s]\n", st, file);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_string_equal(file, "first line\n"
                              "last line: cio_run returned CIO_EINTERRUPTED\n");
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

static void ctrl_c_during_run_until_complete(void **state)
{
    (void)state;
    char out[512];
    int st = run_child_by(0, BY_RUN_UNTIL_COMPLETE, "ready\n", NULL, out,
                          sizeof(out));
    expect_interrupted_return(st, out);
}

static void ctrl_c_during_run_forever(void **state)
{
    (void)state;
    char out[512];
    int st = run_child_by(0, BY_RUN_FOREVER, "ready\n", NULL, out,
                          sizeof(out));
    expect_interrupted_return(st, out);
}

static void second_ctrl_c_forces_exit_other_runners(void **state)
{
    (void)state;
    int runners[] = {BY_RUN_UNTIL_COMPLETE, BY_RUN_FOREVER};
    for (size_t i = 0; i < 2; i++) {
        char out[512];
        int st = run_child_by(1, runners[i], "ready\n", "cleaning\n", out,
                              sizeof(out));
        if (!WIFSIGNALED(st))
            fprintf(stderr, "runner %d status %#x out=[%s]\n", runners[i],
                    st, out);
        assert_true(WIFSIGNALED(st));
        assert_int_equal(WTERMSIG(st), SIGINT);
        assert_non_null(strstr(out, "cleaning\n"));
        assert_null(strstr(out, "returned"));
    }
}

static void user_sigint_handler_replaces_default(void **state)
{
    (void)state;
    char out[512];
    int st = run_child(2, "ready\n", NULL, out, sizeof(out));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_non_null(strstr(out, "user handler\n"));
    assert_non_null(strstr(out, "returned OK\n"));
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

/* A static function suspended in cio_sleep: not a tail call (the
 * counter after it), so its frame is on the task's stack. */
static __attribute__((noinline)) int static_sleeper(void *arg, void **result)
{
    (void)result;
    int rc = cio_sleep(CIO_SEC);
    (*(volatile int *)arg)++;
    return rc;
}

static int dump_one_and_stop(void *arg)
{
    int *fds = arg;
    cio_loop *loop = cio_get_running_loop();
    assert_int_equal(cio_loop_dump_tasks(loop, fds[1]), 1);
    cio_loop_stop(loop);
    return 0;
}

static void task_dump_names_static_functions(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    int woke = 0;
    cio_task *a;
    assert_int_equal(
        cio_task_create(loop, CIO_CORO(static_sleeper, &woke), NULL, &a), 0);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    cio_loop_call_later(loop, CIO_MS, dump_one_and_stop, fds, NULL);
    cio_loop_run_forever(loop);
    char buf[8192];
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    assert_true(n > 0);
    buf[n] = 0;
#if defined(__x86_64__) && !defined(CIO_CORO_UCONTEXT) && defined(CIO_HAVE_LIBDW)
    /* libdw names the static function, with its file:line under -g. */
    if (!strstr(buf, " static_sleeper+0x"))
        fail_msg("static_sleeper not named in the dump:\n%s", buf);
/* File:line from gcc's DWARF. Seen with clang 14 and elfutils 0.188 on
 * Debian 12: names found, no line for C frames (the assembler's are
 * there); not asserted under clang until that is understood. */
#if defined(CIO_TEST_HAVE_G) && !defined(__clang__)
    if (!strstr(buf, "(test_signal.c:"))
        fail_msg("no test_signal.c:line in the dump:\n%s", buf);
#endif
#elif defined(__x86_64__) && !defined(CIO_CORO_UCONTEXT)
    /* Without libdw: the module and offset, for addr2line. */
    assert_non_null(strstr(buf, "      #0 0x"));
#endif
    close(fds[0]);
    close(fds[1]);
    cio_task_cancel(a, NULL);
    cio_loop_run_until_complete(loop, a, NULL);
    assert_int_equal(woke, 1);
    cio_future_release(a);
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
    assert_int_equal(cio_loop_debug(loop), 0);
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
    cmocka_unit_test(two_loops_two_threads_own_signals),
    cmocka_unit_test(ctrl_c_cancels_all_then_returns_interrupted),
    cmocka_unit_test(ctrl_c_then_raise_sigint_dies_by_sigint),
    cmocka_unit_test(ctrl_c_program_prints_last_line_to_file),
    cmocka_unit_test(second_ctrl_c_forces_exit),
    cmocka_unit_test(ctrl_c_during_run_until_complete),
    cmocka_unit_test(ctrl_c_during_run_forever),
    cmocka_unit_test(second_ctrl_c_forces_exit_other_runners),
    cmocka_unit_test(user_sigint_handler_replaces_default),
    cmocka_unit_test(task_dump_lists_tasks),
    cmocka_unit_test(task_dump_names_static_functions),
    cmocka_unit_test(slow_callback_warning),
    cmocka_unit_test(wrong_thread_call_refused),
};

CIO_TEST_MAIN(tests)
