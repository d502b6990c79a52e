/*
 * test_process_combos.c - subprocess cases that combine features: write +
 * drain against a child whose stdin pipe is full (drain suspends above
 * the high water mark and returns at the low one, the buffer stays
 * bounded, every byte arrives), cwd + env + a new session with every
 * stdio piped, and create_subprocess_shell through several stdio
 * combinations (PIPE, DEVNULL, an fd, stderr into stdout).
 */
/* cio-test: label=core timeout=120 */
#include <errno.h>
#include <stdint.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cio_testutil_net.h"

#define SH(script) ((char *const[]){"/bin/sh", "-c", (char *)(script), NULL})

/* ---- write + drain with back-pressure ---- */

enum {
    TOTAL = 4 << 20,
    CHUNK = 128 * 1024,
    HIGH = 64 * 1024,
    LOW = 16 * 1024
};

static long g_ticks;

/* Counts loop turns in 1 ms steps until cancelled: it advances only
 * while the main task is suspended. */
static int ticker(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (;;) {
        int r = cio_sleep(CIO_MS);
        if (r < 0)
            return r;
        g_ticks++;
    }
}

static int drain_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdin_mode = CIO_PROCESS_PIPE;
    o.stdout_mode = CIO_PROCESS_PIPE;
    o.conn.high_water = HIGH;
    o.conn.low_water = LOW;
    cio_process *p;
    /* The child reads nothing for a while, then counts what it gets. */
    assert_int_equal(
        cio_create_subprocess_exec(NULL, SH("sleep 0.2; wc -c"), &o, &p), 0);
    cio_stream_writer *w = cio_process_stdin(p);
    assert_non_null(w);
    g_ticks = 0;
    cio_task *tick;
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(ticker, NULL), NULL, &tick), 0);

    char *chunk = malloc(CHUNK);
    assert_non_null(chunk);
    memset(chunk, 'x', CHUNK);
    ssize_t most = 0;
    int suspended = 0;
    long first_ticks = -1;
    for (size_t sent = 0; sent < TOTAL; sent += CHUNK) {
        assert_int_equal(cio_stream_writer_write(w, chunk, CHUNK), 0);
        ssize_t before = cio_stream_writer_write_buffer_size(w);
        assert_true(before >= 0);
        if (before > most)
            most = before;
        long t0 = g_ticks;
        assert_int_equal(cio_stream_writer_drain(w), 0);
        ssize_t after = cio_stream_writer_write_buffer_size(w);
        if (before > HIGH) {
            /* Above the high mark drain waits for the low one. */
            suspended++;
            assert_true(after <= LOW);
            if (first_ticks < 0)
                first_ticks = g_ticks - t0;
        } else {
            assert_int_equal(after, before); /* nothing to wait for */
        }
    }
    free(chunk);
    /* The first full pipe met a child still asleep: drain gave the loop
     * to the ticker while it waited. */
    assert_true(suspended >= 1);
    assert_true(first_ticks > 0);
    /* Draining after each write keeps the buffer to one chunk over the
     * mark, however much is written in all. */
    assert_true(most > HIGH);
    assert_true(most <= HIGH + CHUNK);

    const char *out;
    assert_int_equal(
        cio_process_communicate(p, NULL, 0, &out, NULL, NULL, NULL), 0);
    assert_int_equal(strtol(out, NULL, 10), TOTAL);
    int rc;
    assert_int_equal(cio_process_returncode(p, &rc), 1);
    assert_int_equal(rc, 0);
    assert_int_equal(cio_process_free(p), 0);
    cio_task_cancel(tick, NULL);
    assert_int_equal(cio_await(tick, NULL), -ECANCELED);
    cio_future_release(tick);
    return 0;
}

TU_NET_CASE(drain_suspends_on_full_pipe, drain_main)

/* ---- cwd + env + new session, all piped ---- */

static int combined_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    char dir[] = "/tmp/cio-combo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdin_mode = CIO_PROCESS_PIPE;
    o.stdout_mode = CIO_PROCESS_PIPE;
    o.stderr_mode = CIO_PROCESS_PIPE;
    o.cwd = dir;
    char *envp[] = {"FOO=combo value", "PATH=/usr/bin:/bin", NULL};
    o.envp = envp;
    o.new_session = 1;
    cio_process *p;
    /* One line per option: the input, the variable and HOME (gone with
     * the parent's environment), the directory, then pid, process group
     * and session from /proc; a file made in the cwd; a line on stderr. */
    assert_int_equal(cio_create_subprocess_exec(
                         NULL,
                         SH("read x; echo \"$x|$FOO|${HOME-unset}\"; pwd; "
                            "cut -d' ' -f1,5,6 /proc/$$/stat; echo made > f; "
                            "echo to-err >&2"),
                         &o, &p),
                     0);
    assert_non_null(cio_process_stdin(p));
    assert_non_null(cio_process_stdout(p));
    assert_non_null(cio_process_stderr(p));
    const char *out, *err;
    size_t outlen, errlen;
    assert_int_equal(
        cio_process_communicate(p, "in\n", 3, &out, &outlen, &err, &errlen), 0);
    int rc;
    assert_int_equal(cio_process_returncode(p, &rc), 1);
    assert_int_equal(rc, 0);
    char want[256];
    int pid = cio_process_pid(p);
    snprintf(want, sizeof(want), "in|combo value|unset\n%s\n%d %d %d\n", dir,
             pid, pid, pid);
    assert_string_equal(out, want);
    assert_int_equal(outlen, strlen(want));
    assert_string_equal(err, "to-err\n");
    assert_int_equal(errlen, 7);
    assert_int_equal(cio_process_free(p), 0);
    char path[64];
    snprintf(path, sizeof(path), "%s/f", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
    return 0;
}

TU_NET_CASE(cwd_env_session_with_pipes, combined_main)

/* ---- the shell form through stdio combinations ---- */

typedef struct shell_case {
    int in, out, errm;
    const char *cmd;
    const char *input;
    const char *want_out; /* NULL: stdout is not a pipe */
    const char *want_err; /* NULL: stderr is not a pipe */
    int want_rc;
} shell_case;

static int shell_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    char fpath[] = "/tmp/cio-shell-XXXXXX";
    int fd = mkostemp(fpath, O_CLOEXEC);
    assert_true(fd >= 0);
    const shell_case cases[] = {
        {CIO_PROCESS_PIPE, CIO_PROCESS_PIPE, CIO_PROCESS_PIPE,
         "read x; echo out:$x; echo err:$x >&2", "v\n", "out:v\n", "err:v\n",
         0},
        /* /dev/null in: cat ends at once; stderr lands in the stdout pipe
         * in order. */
        {CIO_PROCESS_DEVNULL, CIO_PROCESS_PIPE, CIO_PROCESS_STDOUT,
         "cat; echo e >&2; echo o; exit 3", NULL, "e\no\n", NULL, 3},
        /* Input the child reads, output thrown away, errors kept. */
        {CIO_PROCESS_PIPE, CIO_PROCESS_DEVNULL, CIO_PROCESS_PIPE,
         "wc -c; wc -c >&2", "12345", NULL, "0\n", 0},
        {CIO_PROCESS_DEVNULL, CIO_PROCESS_DEVNULL, CIO_PROCESS_DEVNULL,
         "echo x; echo y >&2; read z || exit 4", NULL, NULL, NULL, 4},
        /* stdout to a file, stderr following it there; stdin piped. */
        {CIO_PROCESS_PIPE, CIO_PROCESS_FD, CIO_PROCESS_STDOUT,
         "head -c 2; echo; echo b >&2", "a-rest", NULL, NULL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const shell_case *c = &cases[i];
        cio_process_opts o = CIO_PROCESS_OPTS_INIT;
        o.stdin_mode = c->in;
        o.stdout_mode = c->out;
        o.stderr_mode = c->errm;
        o.stdout_fd = fd;
        cio_process *p;
        assert_int_equal(cio_create_subprocess_shell(NULL, c->cmd, &o, &p), 0);
        assert_int_equal(cio_process_stdin(p) != NULL,
                         c->in == CIO_PROCESS_PIPE);
        assert_int_equal(cio_process_stdout(p) != NULL,
                         c->out == CIO_PROCESS_PIPE);
        assert_int_equal(cio_process_stderr(p) != NULL,
                         c->errm == CIO_PROCESS_PIPE);
        const char *out = (const char *)1, *err = (const char *)1;
        size_t outlen = 99, errlen = 99;
        assert_int_equal(cio_process_communicate(
                             p, c->input, c->input ? strlen(c->input) : 0, &out,
                             &outlen, &err, &errlen),
                         0);
        int rc;
        assert_int_equal(cio_process_returncode(p, &rc), 1);
        if (rc != c->want_rc)
            fail_msg("case %zu: exit %d, wanted %d", i, rc, c->want_rc);
        if (c->want_out) {
            assert_non_null(out);
            assert_string_equal(out, c->want_out);
            assert_int_equal(outlen, strlen(c->want_out));
        } else {
            assert_null(out);
            assert_int_equal(outlen, 0);
        }
        if (c->want_err) {
            assert_non_null(err);
            assert_string_equal(err, c->want_err);
        } else {
            assert_null(err);
            assert_int_equal(errlen, 0);
        }
        assert_int_equal(cio_process_free(p), 0);
    }
    /* What the last case sent to the file, stdout then stderr. */
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    assert_true(n >= 0);
    buf[n] = 0;
    assert_string_equal(buf, "a-\nb\n");
    assert_int_equal(close(fd), 0);
    assert_int_equal(unlink(fpath), 0);
    return 0;
}

TU_NET_CASE(shell_stdio_combinations, shell_main)

static int wait_child(void *arg, void **result)
{
    int rc = -1;
    int r = cio_process_wait(arg, &rc);
    *result = (void *)(intptr_t)rc;
    return r;
}

/* pipe_size (Python's pipesize): with a 1 MiB stdout pipe the child
 * writes 512 KiB and exits before anyone reads, which a default 64 KiB
 * pipe would not let it do; the bytes are all there afterwards. A size
 * F_SETPIPE_SZ cannot take is refused. */
static int pipesize_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    enum { SZ = 1 << 20, N = 512 * 1024 };
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_PIPE;
    o.pipe_size = SZ;
    cio_process *p;
    assert_int_equal(cio_create_subprocess_exec(
                         NULL, SH("head -c 524288 /dev/zero"), &o, &p),
                     0);
    void *rc = (void *)(intptr_t)-1;
    assert_int_equal(cio_wait_for(CIO_AW_CORO(wait_child, p), 20 * CIO_SEC,
                                  &rc),
                     0);
    assert_int_equal((intptr_t)rc, 0);
    static char buf[N + 1];
    size_t got = 0;
    for (;;) {
        ssize_t k = cio_stream_reader_read(cio_process_stdout(p), buf + got,
                                           sizeof(buf) - got);
        assert_true(k >= 0);
        if (k == 0)
            break;
        got += (size_t)k;
    }
    assert_int_equal(got, N);
    for (size_t i = 0; i < N; i++)
        if (buf[i] != 0)
            fail_msg("byte %zu is %d", i, buf[i]);
    assert_int_equal(cio_process_free(p), 0);

    o.pipe_size = (size_t)INT_MAX + 1;
    assert_int_equal(cio_create_subprocess_exec(NULL, SH("true"), &o, &p),
                     -EINVAL);
    return 0;
}

TU_NET_CASE(pipe_size_option, pipesize_main)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(pipe_size_option, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(drain_suspends_on_full_pipe, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(cwd_env_session_with_pipes, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(shell_stdio_combinations, tu_setup,
                                    tu_teardown),
};

CIO_TEST_MAIN(tests)
