/*
 * test_process.c - subprocesses: every stdio option combination, stderr
 * into stdout, cwd, env, sessions and process groups, exit codes and
 * death by signal, -ENOENT and misuse, pipes as streams (readline,
 * readexactly, readuntil, write + drain), communicate in both directions,
 * EPIPE from a child that does not read, cancellation (the child is
 * killed and reaped; keep_running leaves it), free and loop close while a
 * child runs, a loop in another thread, the SIGCHLD fallback (and that it
 * never reaps children that are not cio's), connect_read_pipe and
 * connect_write_pipe, and no leaked descriptor or zombie.
 */
/* cio-test: label=core timeout=120 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cio_testutil_net.h"

/* True once pid is gone (reaped): kill(pid, 0) succeeds on a zombie. */
static int pid_gone(pid_t pid)
{
    return kill(pid, 0) < 0 && errno == ESRCH;
}

/* Runs the loop in short sleeps until pid is reaped (at most ~3 s). */
static void await_gone(pid_t pid)
{
    for (int i = 0; i < 300 && !pid_gone(pid); i++)
        assert_int_equal(cio_sleep(10 * CIO_MS), 0);
    assert_true(pid_gone(pid));
}

#define SH(script) ((char *const[]){"/bin/sh", "-c", (char *)(script), NULL})

/* ---- basics: line iteration, exit codes, signals ---- */

static int lines_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_PIPE;
    cio_process *p;
    assert_int_equal(
        cio_create_subprocess_exec(
            NULL, SH("for i in 1 2 3; do echo line $i; done"), &o, &p),
        0);
    assert_true(cio_process_pid(p) > 0);
    assert_null(cio_process_stdin(p));
    assert_null(cio_process_stderr(p));
    cio_stream_reader *r = cio_process_stdout(p);
    assert_non_null(r);
    const char *line;
    ssize_t n;
    int k = 0;
    char want[32];
    while ((n = cio_stream_reader_readline(r, &line)) > 0) {
        k++;
        snprintf(want, sizeof(want), "line %d\n", k);
        assert_int_equal(n, strlen(want));
        assert_memory_equal(line, want, (size_t)n);
    }
    assert_int_equal(n, 0);
    assert_int_equal(k, 3);
    int rc = -100;
    assert_int_equal(cio_process_wait(p, &rc), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(cio_process_returncode(p, &rc), 1);
    assert_int_equal(cio_process_exited(p), 1);
    assert_int_equal(cio_process_signaled(p), 0);
    /* Waiting again returns at once. */
    assert_int_equal(cio_process_wait(p, &rc), 0);
    assert_int_equal(cio_process_free(p), 0);
    return 0;
}

TU_NET_CASE(exec_reads_lines, lines_main)

static int codes_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_process *p;
    int rc;
    assert_int_equal(cio_create_subprocess_exec(NULL, SH("exit 3"), NULL, &p),
                     0);
    assert_int_equal(cio_process_wait(p, &rc), 0);
    assert_int_equal(rc, 3);
    assert_int_equal(cio_process_exited(p), 1);
    assert_int_equal(cio_process_free(p), 0);

    assert_int_equal(
        cio_create_subprocess_exec(NULL, SH("kill -TERM $$"), NULL, &p), 0);
    assert_int_equal(cio_process_wait(p, &rc), 0);
    assert_int_equal(rc, -SIGTERM);
    assert_int_equal(cio_process_exited(p), 0);
    assert_int_equal(cio_process_signaled(p), SIGTERM);
    assert_int_equal(cio_process_send_signal(p, SIGTERM), -ESRCH);
    assert_int_equal(cio_process_free(p), 0);

    /* terminate and kill */
    char *const sl[] = {"sleep", "100", NULL};
    assert_int_equal(cio_create_subprocess_exec(NULL, sl, NULL, &p), 0);
    assert_int_equal(cio_process_returncode(p, &rc), 0); /* None */
    assert_int_equal(cio_process_terminate(p), 0);
    assert_int_equal(cio_process_wait(p, &rc), 0);
    assert_int_equal(rc, -SIGTERM);
    assert_int_equal(cio_process_free(p), 0);
    assert_int_equal(cio_create_subprocess_exec(NULL, sl, NULL, &p), 0);
    assert_int_equal(cio_process_kill(p), 0);
    assert_int_equal(cio_process_wait(p, &rc), 0);
    assert_int_equal(rc, -SIGKILL);
    assert_int_equal(cio_process_send_signal(p, 1000), -EINVAL);
    assert_int_equal(cio_process_free(p), 0);

    /* The shell form. */
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_PIPE;
    assert_int_equal(cio_create_subprocess_shell(NULL, "echo $((1+2))", &o, &p),
                     0);
    const char *out;
    size_t len;
    assert_int_equal(
        cio_process_communicate(p, NULL, 0, &out, &len, NULL, NULL), 0);
    assert_int_equal(len, 2);
    assert_string_equal(out, "3\n");
    assert_int_equal(cio_process_free(p), 0);
    o.stdout_mode = CIO_PROCESS_INHERIT;
    o.stderr_mode = CIO_PROCESS_DEVNULL;
    assert_int_equal(
        cio_create_subprocess_shell(NULL, "no-such-command-cio", &o, &p), 0);
    assert_int_equal(cio_process_wait(p, &rc), 0);
    assert_int_equal(rc, 127);
    assert_int_equal(cio_process_free(p), 0);
    return 0;
}

TU_NET_CASE(exit_codes_and_signals, codes_main)

/* Valgrind turns posix_spawn's clone(CLONE_VM|CLONE_VFORK) into a fork,
 * so glibc cannot report an exec failure to the parent there: the child
 * exits 127 instead. */
static int under_valgrind(void)
{
    const char *pre = getenv("LD_PRELOAD");
    return pre && strstr(pre, "vgpreload");
}

static int bad_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds = count_fds();
    cio_process *p = (cio_process *)1;
    if (!under_valgrind()) {
        char *const missing[] = {"/nonexistent/cio-prog", NULL};
        assert_int_equal(cio_create_subprocess_exec(NULL, missing, NULL, &p),
                         -ENOENT);
        assert_null(p);
        char *const missing2[] = {"no-such-program-cio", "x", NULL};
        assert_int_equal(cio_create_subprocess_exec(NULL, missing2, NULL, &p),
                         -ENOENT);
    }
    char *const empty[] = {NULL};
    assert_int_equal(cio_create_subprocess_exec(NULL, empty, NULL, &p),
                     -EINVAL);
    assert_int_equal(cio_create_subprocess_exec(NULL, NULL, NULL, &p), -EINVAL);
    assert_int_equal(cio_create_subprocess_shell(NULL, NULL, NULL, &p),
                     -EINVAL);
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_PIPE;
    o.stdin_mode = CIO_PROCESS_PIPE;
    o.cwd = "/nonexistent/dir";
    if (!under_valgrind())
        assert_int_equal(cio_create_subprocess_exec(NULL, SH("true"), &o, &p),
                         -ENOENT);
    o.cwd = NULL;
    o.stdout_mode = CIO_PROCESS_STDOUT;
    assert_int_equal(cio_create_subprocess_exec(NULL, SH("true"), &o, &p),
                     -EINVAL);
    o.stdout_mode = 99;
    assert_int_equal(cio_create_subprocess_exec(NULL, SH("true"), &o, &p),
                     -EINVAL);
    o.stdout_mode = CIO_PROCESS_FD;
    o.stdout_fd = -1;
    assert_int_equal(cio_create_subprocess_exec(NULL, SH("true"), &o, &p),
                     -EINVAL);
    o.stdout_mode = CIO_PROCESS_PIPE;
    o.new_session = 1;
    o.set_pgroup = 1;
    assert_int_equal(cio_create_subprocess_exec(NULL, SH("true"), &o, &p),
                     -EINVAL);
    /* No descriptor and no child was left behind by the failures. */
    assert_int_equal(count_fds(), fds);
    assert_int_equal(count_zombies(), 0);
    assert_int_equal(cio_process_wait(NULL, NULL), -EINVAL);
    assert_int_equal(cio_process_free(NULL), 0);
    return 0;
}

static void bad_input(void **state)
{
    (void)state;
    assert_int_equal(run_main(bad_main, NULL), 0);
    /* Outside a task: create works with an explicit loop, wait refuses. */
    cio_loop *loop;
    assert_int_equal(cio_loop_new(&loop, NULL), 0);
    cio_process *p;
    assert_int_equal(cio_create_subprocess_exec(NULL, SH("true"), NULL, &p),
                     -EINVAL); /* no running loop */
    assert_int_equal(cio_create_subprocess_exec(loop, SH("true"), NULL, &p), 0);
    assert_int_equal(cio_process_wait(p, NULL), -EINVAL);
    assert_int_equal(cio_process_free(p), 0);
    tu_loop_done(loop); /* the close reaps the child */
    assert_int_equal(count_zombies(), 0);
}

/* ---- stdio: every combination ---- */

static char tmpdir[64];

static void readlink_fd(pid_t pid, int fd, char *buf, size_t cap)
{
    char path[64];
    if (pid)
        snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
    else
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, buf, cap - 1);
    buf[n < 0 ? 0 : n] = 0;
}

/* The child's 0, 1 and 2 as the kernel sees them. posix_spawn returns
 * after the exec, so they are final. */
static void child_fds(pid_t pid, char got[3][256])
{
    for (int i = 0; i < 3; i++)
        readlink_fd(pid, i, got[i], sizeof(got[i]));
}

/* Descriptors above 2 in pid that are pipes, pidfds or this test's files:
 * none may reach a child (sleep opens its own locale files). */
static int foreign_fds(pid_t pid)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd < 3)
            continue;
        char t[256];
        readlink_fd(pid, fd, t, sizeof(t));
        if (strncmp(t, "pipe:", 5) == 0 || strncmp(t, "anon_inode", 10) == 0 ||
            strstr(t, "cio-proc"))
            n++;
    }
    closedir(d);
    return n;
}

static char *const sleeper[] = {"sleep", "10", NULL};

/* Ends a sleeper and checks it died by SIGKILL. */
static void end_sleeper(cio_process *p)
{
    int rc;
    assert_int_equal(cio_process_kill(p), 0);
    assert_int_equal(cio_process_wait(p, &rc), 0);
    assert_int_equal(rc, -SIGKILL);
    assert_int_equal(cio_process_free(p), 0);
}

static int matrix_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    char fin[128], fout[128], ferr[128];
    snprintf(fin, sizeof(fin), "%s/in", tmpdir);
    snprintf(fout, sizeof(fout), "%s/out", tmpdir);
    snprintf(ferr, sizeof(ferr), "%s/err", tmpdir);
    int in = open(fin, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
    int out = open(fout, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    int er = open(ferr, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    assert_true(in >= 0 && out >= 0 && er >= 0);
    char parent[3][256];
    for (int i = 0; i < 3; i++)
        readlink_fd(0, i, parent[i], sizeof(parent[i]));
    const int ins[] = {CIO_PROCESS_INHERIT, CIO_PROCESS_PIPE,
                       CIO_PROCESS_DEVNULL, CIO_PROCESS_FD};
    const int outs[] = {CIO_PROCESS_INHERIT, CIO_PROCESS_PIPE,
                        CIO_PROCESS_DEVNULL, CIO_PROCESS_FD};
    const int errs[] = {CIO_PROCESS_INHERIT, CIO_PROCESS_PIPE,
                        CIO_PROCESS_DEVNULL, CIO_PROCESS_FD,
                        CIO_PROCESS_STDOUT};
    int fds0 = count_fds();
    int combos = 0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 5; c++) {
                cio_process_opts o = CIO_PROCESS_OPTS_INIT;
                o.stdin_mode = ins[a];
                o.stdout_mode = outs[b];
                o.stderr_mode = errs[c];
                o.stdin_fd = in;
                o.stdout_fd = out;
                o.stderr_fd = er;
                cio_process *p;
                assert_int_equal(
                    cio_create_subprocess_exec(NULL, sleeper, &o, &p), 0);
                assert_true((cio_process_stdin(p) != NULL) ==
                            (ins[a] == CIO_PROCESS_PIPE));
                assert_true((cio_process_stdout(p) != NULL) ==
                            (outs[b] == CIO_PROCESS_PIPE));
                assert_true((cio_process_stderr(p) != NULL) ==
                            (errs[c] == CIO_PROCESS_PIPE));
                char got[3][256];
                child_fds(cio_process_pid(p), got);
                const char *want[3][4] = {
                    {parent[0], "pipe:", "/dev/null", fin},
                    {parent[1], "pipe:", "/dev/null", fout},
                    {parent[2], "pipe:", "/dev/null", ferr}};
                int idx[3] = {a, b, c};
                for (int i = 0; i < 3; i++) {
                    const char *w;
                    if (i == 2 && c == 4)
                        w = got[1]; /* stderr -> stdout */
                    else
                        w = want[i][idx[i]];
                    if (strcmp(w, "pipe:") == 0)
                        assert_true(strncmp(got[i], "pipe:[", 6) == 0);
                    else
                        assert_string_equal(got[i], w);
                }
                assert_int_equal(foreign_fds(cio_process_pid(p)), 0);
                end_sleeper(p);
                combos++;
            }
    assert_int_equal(combos, 80);
    assert_int_equal(count_fds(), fds0);
    close(in);
    close(out);
    close(er);
    unlink(fin);
    unlink(fout);
    unlink(ferr);
    return 0;
}

static void stdio_every_combination(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/cio-proc-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    assert_int_equal(run_main(matrix_main, NULL), 0);
    rmdir(tmpdir);
}

/* CIO_PROCESS_FD with descriptors 1 and 2 swapped: neither dup2 may
 * clobber the other's source. */
static int swap_main(void *arg, void **result)
{
    (void)result;
    const char *dir = arg;
    char a[128], b[128];
    snprintf(a, sizeof(a), "%s/a", dir);
    snprintf(b, sizeof(b), "%s/b", dir);
    int fa = open(a, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    int fb = open(b, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    int save1 = dup(1), save2 = dup(2);
    dup2(fa, 1);
    dup2(fb, 2);
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_FD;
    o.stdout_fd = 2;
    o.stderr_mode = CIO_PROCESS_FD;
    o.stderr_fd = 1;
    cio_process *p;
    int r = cio_create_subprocess_exec(NULL, sleeper, &o, &p);
    dup2(save1, 1);
    dup2(save2, 2);
    close(save1);
    close(save2);
    assert_int_equal(r, 0);
    char got[3][256];
    child_fds(cio_process_pid(p), got);
    assert_string_equal(got[1], b);
    assert_string_equal(got[2], a);
    end_sleeper(p);
    close(fa);
    close(fb);
    unlink(a);
    unlink(b);
    return 0;
}

static void stdio_fd_swap(void **state)
{
    (void)state;
    char dir[] = "/tmp/cio-proc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(run_main(swap_main, dir), 0);
    rmdir(dir);
}

static int merge_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_PIPE;
    o.stderr_mode = CIO_PROCESS_STDOUT;
    cio_process *p;
    assert_int_equal(cio_create_subprocess_exec(
                         NULL, SH("echo a; echo b >&2; echo c"), &o, &p),
                     0);
    assert_null(cio_process_stderr(p));
    const char *out, *err = "x";
    size_t len, elen = 7;
    assert_int_equal(
        cio_process_communicate(p, NULL, 0, &out, &len, &err, &elen), 0);
    assert_string_equal(out, "a\nb\nc\n");
    assert_int_equal(len, 6);
    assert_null(err);
    assert_int_equal(elen, 0);
    assert_int_equal(cio_process_free(p), 0);
    return 0;
}

TU_NET_CASE(stderr_into_stdout, merge_main)

/* ---- cwd, env, session, group ---- */

/* Runs script with o (stdout piped) and returns its output (owned by *p,
 * freed by the caller with cio_process_free). */
static const char *run_capture(const char *script, cio_process_opts *o,
                               cio_process **p)
{
    o->stdout_mode = CIO_PROCESS_PIPE;
    assert_int_equal(cio_create_subprocess_exec(NULL, SH(script), o, p), 0);
    const char *out;
    assert_int_equal(
        cio_process_communicate(*p, NULL, 0, &out, NULL, NULL, NULL), 0);
    int rc;
    assert_int_equal(cio_process_returncode(*p, &rc), 1);
    assert_int_equal(rc, 0);
    return out;
}

/* "pid pgrp session" of the shell, from /proc/$$/stat. */
static void stat_ids(const char *out, int *pid, int *pgrp, int *sid)
{
    assert_int_equal(sscanf(out, "%d", pid), 1);
    const char *rp = strrchr(out, ')');
    assert_non_null(rp);
    char st;
    int ppid;
    assert_int_equal(sscanf(rp + 2, "%c %d %d %d", &st, &ppid, pgrp, sid), 4);
}

static int options_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_process *p;
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.cwd = "/usr";
    assert_string_equal(run_capture("pwd", &o, &p), "/usr\n");
    assert_int_equal(cio_process_free(p), 0);

    cio_process_opts e = CIO_PROCESS_OPTS_INIT;
    char *envp[] = {"FOO=bar baz", NULL};
    e.envp = envp;
    assert_string_equal(
        run_capture("echo \"$FOO\"; echo ${HOME-unset}", &e, &p),
        "bar baz\nunset\n");
    assert_int_equal(cio_process_free(p), 0);

    const char *stat_script = "cat /proc/$$/stat";
    int pid, pgrp, sid;
    cio_process_opts d = CIO_PROCESS_OPTS_INIT;
    stat_ids(run_capture(stat_script, &d, &p), &pid, &pgrp, &sid);
    assert_int_equal(pgrp, getpgrp());
    assert_int_equal(sid, getsid(0));
    assert_int_equal(cio_process_free(p), 0);

    cio_process_opts s = CIO_PROCESS_OPTS_INIT;
    s.new_session = 1;
    stat_ids(run_capture(stat_script, &s, &p), &pid, &pgrp, &sid);
    assert_int_equal(pid, cio_process_pid(p));
    assert_int_equal(sid, pid);
    assert_int_equal(pgrp, pid);
    assert_int_equal(cio_process_free(p), 0);

    cio_process_opts g = CIO_PROCESS_OPTS_INIT;
    g.set_pgroup = 1;
    g.pgroup = 0; /* a new group led by the child */
    stat_ids(run_capture(stat_script, &g, &p), &pid, &pgrp, &sid);
    assert_int_equal(pgrp, pid);
    assert_int_equal(sid, getsid(0));
    assert_int_equal(cio_process_free(p), 0);

    g.pgroup = getpgrp(); /* join an existing group */
    stat_ids(run_capture(stat_script, &g, &p), &pid, &pgrp, &sid);
    assert_int_equal(pgrp, getpgrp());
    assert_int_equal(cio_process_free(p), 0);
    return 0;
}

TU_NET_CASE(cwd_env_session_group, options_main)

/* ---- kill_group: a cancelled shell child takes its own children along -- */

/* 1 while pid is a live process (a zombie counts as dead). */
static int alive(pid_t pid)
{
    char path[64], st[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(st, 1, sizeof st - 1, f);
    fclose(f);
    st[n] = 0;
    const char *paren = strrchr(st, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z';
}

static int wait_body(void *arg, void **result)
{
    (void)result;
    return cio_process_wait(arg, NULL);
}

/* Starts `sleep 30 &` under a shell that waits for it, reads the
 * grandchild's pid, cancels the task waiting for the shell, and returns
 * the grandchild's pid (the shell is gone by then). */
static pid_t cancel_shell_with_grandchild(const cio_process_opts *o)
{
    cio_process *p;
    assert_int_equal(cio_create_subprocess_shell(
                         NULL, "sleep 30 & echo $!; wait", o, &p),
                     0);
    const char *line;
    assert_true(cio_stream_reader_readline(cio_process_stdout(p), &line) > 0);
    pid_t gpid = (pid_t)atoi(line);
    assert_true(gpid > 0);
    assert_true(alive(gpid));
    cio_task *t;
    assert_int_equal(cio_task_create(cio_get_running_loop(),
                                     CIO_CORO(wait_body, p), NULL, &t),
                     0);
    assert_int_equal(cio_sleep(10 * CIO_MS), 0);
    cio_task_cancel(t, NULL);
    assert_int_equal(cio_await(t, NULL), -ECANCELED);
    cio_future_release(t);
    WAIT_FOR(cio_process_returncode(p, NULL) == 1);
    assert_int_equal(cio_process_free(p), 0);
    return gpid;
}

static int kill_group_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* Without kill_group only the shell dies: its child lives on (the
     * behaviour the option exists for). */
    cio_process_opts plain = CIO_PROCESS_OPTS_INIT;
    plain.stdout_mode = CIO_PROCESS_PIPE;
    plain.new_session = 1;
    plain.kill_on_cancel = 1; /* a cancelled wait kills (not the default) */
    pid_t g = cancel_shell_with_grandchild(&plain);
    assert_int_equal(cio_sleep(50 * CIO_MS), 0);
    assert_true(alive(g));
    kill(g, SIGKILL);

    /* With it, for both ways of leading a group. */
    cio_process_opts s = plain;
    s.kill_group = 1;
    g = cancel_shell_with_grandchild(&s);
    WAIT_FOR(!alive(g));

    cio_process_opts pg = CIO_PROCESS_OPTS_INIT;
    pg.stdout_mode = CIO_PROCESS_PIPE;
    pg.set_pgroup = 1;
    pg.pgroup = 0;
    pg.kill_group = 1;
    pg.kill_on_cancel = 1;
    g = cancel_shell_with_grandchild(&pg);
    WAIT_FOR(!alive(g));

    /* The group must be the child's own, never the caller's. */
    cio_process *p = NULL;
    char *const t[] = {"true", NULL};
    cio_process_opts bad = CIO_PROCESS_OPTS_INIT;
    bad.kill_group = 1;
    assert_int_equal(cio_create_subprocess_exec(NULL, t, &bad, &p), -EINVAL);
    bad.set_pgroup = 1;
    bad.pgroup = getpgrp();
    assert_int_equal(cio_create_subprocess_exec(NULL, t, &bad, &p), -EINVAL);
    assert_null(p);
    return 0;
}

TU_NET_CASE(kill_group_takes_grandchildren, kill_group_main)

/* ---- pipes as streams ---- */

static int streams_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdin_mode = CIO_PROCESS_PIPE;
    o.stdout_mode = CIO_PROCESS_PIPE;
    o.stderr_mode = CIO_PROCESS_PIPE;
    cio_process *p;
    char *const cat[] = {"cat", NULL};
    assert_int_equal(cio_create_subprocess_exec(NULL, cat, &o, &p), 0);
    cio_stream_writer *w = cio_process_stdin(p);
    cio_stream_reader *r = cio_process_stdout(p);
    assert_int_equal(cio_stream_writer_write(w, "hello\nworld;tail", 16), 0);
    assert_int_equal(cio_stream_writer_drain(w), 0);
    const char *line;
    assert_int_equal(cio_stream_reader_readline(r, &line), 6);
    assert_memory_equal(line, "hello\n", 6);
    const char *data;
    size_t len;
    assert_int_equal(cio_stream_reader_readuntil(r, ";", 1, &data, &len), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(data, "world;", 6);
    char buf[8];
    size_t got;
    assert_int_equal(cio_stream_reader_readexactly(r, buf, 4, &got), 0);
    assert_memory_equal(buf, "tail", 4);
    /* Closing stdin ends cat: EOF on stdout, then exit 0. */
    assert_int_equal(cio_stream_writer_close(w), 0);
    assert_int_equal(cio_stream_reader_readexactly(r, buf, 1, &got), CIO_EOF);
    assert_int_equal(got, 0);
    int rc;
    assert_int_equal(cio_process_wait(p, &rc), 0);
    assert_int_equal(rc, 0);
    ssize_t n = cio_stream_reader_read(cio_process_stderr(p), buf, sizeof(buf));
    assert_int_equal(n, 0);
    assert_int_equal(cio_process_free(p), 0);
    return 0;
}

TU_NET_CASE(pipes_are_streams, streams_main)

/* ---- communicate ---- */

static int communicate_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    size_t n = 8u << 20;
    char *in = malloc(n);
    for (size_t i = 0; i < n; i++)
        in[i] = (char)(i * 7 + i / 4096);
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdin_mode = CIO_PROCESS_PIPE;
    o.stdout_mode = CIO_PROCESS_PIPE;
    o.stderr_mode = CIO_PROCESS_PIPE;
    cio_process *p;
    /* Both directions at once, with a large stderr too: a child that
     * writes 4 MB to stderr before reading stdin deadlocks a sequential
     * implementation. */
    assert_int_equal(
        cio_create_subprocess_exec(NULL,
                                   SH("head -c 4000000 /dev/zero >&2; cat; "
                                      "echo done >&2"),
                                   &o, &p),
        0);
    const char *out, *err;
    size_t olen, elen;
    assert_int_equal(
        cio_process_communicate(p, in, n, &out, &olen, &err, &elen), 0);
    assert_int_equal(olen, n);
    assert_memory_equal(out, in, n);
    assert_int_equal(elen, 4000000 + 5);
    assert_memory_equal(err + 4000000, "done\n", 5);
    int rc;
    assert_int_equal(cio_process_returncode(p, &rc), 1);
    assert_int_equal(rc, 0);
    assert_int_equal(cio_process_free(p), 0);
    free(in);
    return 0;
}

TU_NET_CASE(communicate_both_directions, communicate_main)

static int epipe_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdin_mode = CIO_PROCESS_PIPE;
    cio_process *p;
    char *const tru[] = {"true", NULL};
    assert_int_equal(cio_create_subprocess_exec(NULL, tru, &o, &p), 0);
    int rc;
    assert_int_equal(cio_process_wait(p, &rc), 0);
    assert_int_equal(rc, 0);
    /* The reader is gone: -EPIPE, never SIGPIPE (we are still alive). */
    static char big[1 << 20];
    cio_stream_writer *w = cio_process_stdin(p);
    int r = cio_stream_writer_write(w, big, sizeof(big));
    if (r == 0)
        r = cio_stream_writer_drain(w);
    assert_int_equal(r, -EPIPE);
    assert_int_equal(cio_process_free(p), 0);

    /* communicate swallows it, as asyncio does. */
    assert_int_equal(cio_create_subprocess_exec(NULL, tru, &o, &p), 0);
    assert_int_equal(
        cio_process_communicate(p, big, sizeof(big), NULL, NULL, NULL, NULL),
        0);
    assert_int_equal(cio_process_free(p), 0);

    /* A child that closes stdout early while we still read: EOF, no
     * hang. */
    o.stdout_mode = CIO_PROCESS_PIPE;
    assert_int_equal(cio_create_subprocess_exec(
                         NULL, SH("exec >&- ; exec 0<&- ; sleep 0.1"), &o, &p),
                     0);
    char b[16];
    assert_int_equal(
        cio_stream_reader_read(cio_process_stdout(p), b, sizeof(b)), 0);
    assert_int_equal(
        cio_process_communicate(p, big, sizeof(big), NULL, NULL, NULL, NULL),
        0);
    assert_int_equal(cio_process_free(p), 0);
    return 0;
}

TU_NET_CASE(epipe_child_not_reading, epipe_main)

/* ---- cancellation, keep_running, free, loop close ---- */

static int waiter(void *arg, void **result)
{
    (void)result;
    return cio_process_wait(arg, NULL);
}

static int cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    char *const sl[] = {"sleep", "100", NULL};
    cio_process *p;
    cio_process_opts ko = CIO_PROCESS_OPTS_INIT;
    ko.kill_on_cancel = 1;
    assert_int_equal(cio_create_subprocess_exec(NULL, sl, &ko, &p), 0);
    pid_t pid = cio_process_pid(p);
    cio_task *t;
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(waiter, p), NULL, &t), 0);
    assert_int_equal(cio_sleep(20 * CIO_MS), 0);
    assert_int_equal(cio_process_free(p), -EBUSY); /* t waits on it */
    cio_task_cancel(t, NULL);
    assert_int_equal(cio_await(t, NULL), -ECANCELED);
    cio_future_release(t);
    /* kill_on_cancel: killed, and reaped by the loop without anyone
     * waiting. */
    await_gone(pid);
    int rc;
    assert_int_equal(cio_process_returncode(p, &rc), 1);
    assert_int_equal(rc, -SIGKILL);
    assert_int_equal(cio_process_free(p), 0);

    /* A timeout scope around communicate: -ETIMEDOUT, child killed. */
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_PIPE;
    o.stdin_mode = CIO_PROCESS_PIPE;
    o.kill_on_cancel = 1;
    assert_int_equal(cio_create_subprocess_exec(NULL, sl, &o, &p), 0);
    cio_timeout sc;
    assert_int_equal(cio_timeout_begin(&sc, 50 * CIO_MS), 0);
    int r = cio_process_communicate(p, "x", 1, NULL, NULL, NULL, NULL);
    assert_int_equal(cio_timeout_end(&sc, r), -ETIMEDOUT);
    assert_int_equal(cio_process_wait(p, &rc), 0);
    assert_int_equal(rc, -SIGKILL);
    assert_int_equal(cio_process_free(p), 0);

    /* keep_running: the cancelled wait leaves the child alone. */
    o = (cio_process_opts)CIO_PROCESS_OPTS_INIT;
    o.keep_running = 1;
    assert_int_equal(
        cio_create_subprocess_exec(NULL, SH("sleep 0.2; exit 4"), &o, &p), 0);
    assert_int_equal(cio_timeout_begin(&sc, 20 * CIO_MS), 0);
    r = cio_process_wait(p, NULL);
    assert_int_equal(cio_timeout_end(&sc, r), -ETIMEDOUT);
    assert_int_equal(kill(cio_process_pid(p), 0), 0);
    assert_int_equal(cio_process_wait(p, &rc), 0);
    assert_int_equal(rc, 4);
    assert_int_equal(cio_process_free(p), 0);

    /* free while running: killed and reaped in the background. */
    assert_int_equal(cio_create_subprocess_exec(NULL, sl, NULL, &p), 0);
    pid = cio_process_pid(p);
    assert_int_equal(cio_process_free(p), 0);
    await_gone(pid);

    /* free with keep_running: the child finishes, and is still reaped. */
    assert_int_equal(cio_create_subprocess_exec(NULL, SH("sleep 0.1"), &o, &p),
                     0);
    pid = cio_process_pid(p);
    assert_int_equal(cio_process_free(p), 0);
    assert_int_equal(kill(pid, 0), 0);
    await_gone(pid);
    return 0;
}

/* asyncio leaves the child running when a wait() is cancelled: another
 * waiter gets the real exit status and a later kill still works. With
 * kill_on_cancel, a cancelled waiter does not kill the child while
 * another task still waits for it. */
static int wait_cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (int kill_opt = 0; kill_opt < 2; kill_opt++) {
        cio_process_opts o = CIO_PROCESS_OPTS_INIT;
        o.kill_on_cancel = kill_opt;
        cio_process *p;
        assert_int_equal(
            cio_create_subprocess_exec(NULL, SH("sleep 0.3; exit 3"), &o, &p),
            0);
        cio_task *a, *b;
        assert_int_equal(
            cio_task_create(g_loop, CIO_CORO(waiter, p), NULL, &a), 0);
        assert_int_equal(
            cio_task_create(g_loop, CIO_CORO(waiter, p), NULL, &b), 0);
        assert_int_equal(cio_sleep(20 * CIO_MS), 0);
        cio_task_cancel(a, NULL);
        assert_int_equal(cio_await(a, NULL), -ECANCELED);
        cio_future_release(a);
        assert_int_equal(cio_sleep(20 * CIO_MS), 0);
        assert_int_equal(kill(cio_process_pid(p), 0), 0); /* still runs */
        assert_int_equal(cio_await(b, NULL), 0); /* b: the real status */
        cio_future_release(b);
        int rc;
        assert_int_equal(cio_process_returncode(p, &rc), 1);
        assert_int_equal(rc, 3);
        assert_int_equal(cio_process_free(p), 0);
    }
    /* The only waiter cancelled (default): the child runs on and is
     * killed later by the program, which works. */
    cio_process *p;
    char *const sl[] = {"sleep", "100", NULL};
    assert_int_equal(cio_create_subprocess_exec(NULL, sl, NULL, &p), 0);
    cio_timeout sc;
    assert_int_equal(cio_timeout_begin(&sc, 20 * CIO_MS), 0);
    int r = cio_process_wait(p, NULL);
    assert_int_equal(cio_timeout_end(&sc, r), -ETIMEDOUT);
    assert_int_equal(kill(cio_process_pid(p), 0), 0);
    assert_int_equal(cio_process_kill(p), 0);
    int rc;
    assert_int_equal(cio_process_wait(p, &rc), 0);
    assert_int_equal(rc, -SIGKILL);
    assert_int_equal(cio_process_free(p), 0);
    return 0;
}

static void process_wait_cancel_leaves_child_running(void **state)
{
    (void)state;
    assert_int_equal(run_main(wait_cancel_main, NULL), 0);
    assert_int_equal(count_zombies(), 0);
}

static void cancel_kills_and_reaps(void **state)
{
    (void)state;
    assert_int_equal(run_main(cancel_main, NULL), 0);
    assert_int_equal(count_zombies(), 0);
}

static int leave_running(void *arg, void **result)
{
    (void)result;
    pid_t *pid = arg;
    char *const sl[] = {"sleep", "100", NULL};
    cio_process *p;
    assert_int_equal(cio_create_subprocess_exec(NULL, sl, NULL, &p), 0);
    pid[0] = cio_process_pid(p);
    /* Freed while running, and the loop closes right after main: the
     * close must reap what the background watcher had no time for. */
    assert_int_equal(cio_process_free(p), 0);
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.keep_running = 1;
    assert_int_equal(cio_create_subprocess_exec(NULL, SH("sleep 0.2"), &o, &p),
                     0);
    pid[1] = cio_process_pid(p);
    assert_int_equal(cio_process_free(p), 0);
    return 0;
}

static void loop_close_reaps(void **state)
{
    (void)state;
    pid_t pid[2];
    assert_int_equal(cio_run(leave_running, pid, NULL), 0);
    assert_true(pid_gone(pid[0]));
    /* The keep_running child was forgotten by the closed loop: it runs
     * on; reaping it is now ours. */
    assert_int_equal(kill(pid[1], 0), 0);
    int st;
    assert_int_equal(waitpid(pid[1], &st, 0), pid[1]);
    assert_int_equal(count_zombies(), 0);
}

/* ---- threads, fallback ---- */

static void *thread_main(void *arg)
{
    (void)arg;
    intptr_t r = cio_run(lines_main, NULL, NULL);
    return (void *)r;
}

/* pidfd_open works here (not under valgrind, not before Linux 5.3). */
static int have_pidfd(void)
{
    int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

static void loop_in_other_thread(void **state)
{
    (void)state;
    /* One loop in a non-main thread; then, with pidfd, two at once (the
     * SIGCHLD fallback serves one loop at a time: see cio/process.h). */
    int n = have_pidfd() ? 2 : 1;
    pthread_t th[2];
    for (int k = 1; k <= n; k++) {
        for (int i = 0; i < k; i++)
            assert_int_equal(pthread_create(&th[i], NULL, thread_main, NULL),
                             0);
        for (int i = 0; i < k; i++) {
            void *r;
            pthread_join(th[i], &r);
            assert_int_equal((intptr_t)r, 0);
        }
    }
    assert_int_equal(count_zombies(), 0);
}

static int fallback_main(void *arg, void **result)
{
    (void)result;
    /* A child that is not cio's: the fallback must never reap it. */
    pid_t mine;
    char *const argv[] = {"/bin/sleep", "0.3", NULL};
    assert_int_equal(posix_spawn(&mine, argv[0], NULL, NULL, argv, NULL), 0);
    assert_int_equal(lines_main(NULL, NULL), 0);
    assert_int_equal(cancel_main(NULL, NULL), 0);
    /* Several children at once, reaped by one SIGCHLD scan. */
    cio_process *p[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(
            cio_create_subprocess_exec(NULL, SH("exit 5"), NULL, &p[i]), 0);
    for (int i = 0; i < 8; i++) {
        int rc;
        assert_int_equal(cio_process_wait(p[i], &rc), 0);
        assert_int_equal(rc, 5);
        assert_int_equal(cio_process_free(p[i]), 0);
    }
    /* While this loop owns SIGCHLD, another fallback loop is refused. */
    cio_process *keep;
    char *const sl[] = {"sleep", "100", NULL};
    assert_int_equal(cio_create_subprocess_exec(NULL, sl, NULL, &keep), 0);
    cio_loop *other = arg;
    cio_process *q = NULL;
    assert_int_equal(cio_create_subprocess_exec(other, sl, NULL, &q), -EBUSY);
    assert_null(q);
    assert_int_equal(cio_process_kill(keep), 0);
    assert_int_equal(cio_process_wait(keep, NULL), 0);
    assert_int_equal(cio_process_free(keep), 0);
    int st;
    assert_int_equal(waitpid(mine, &st, 0), mine);
    assert_true(WIFEXITED(st));
    return 0;
}

static void sigchld_fallback(void **state)
{
    (void)state;
    setenv("CIO_PIDFD", "0", 1);
    /* Closed outside the task: closing a loop from inside another loop's
     * task is not supported by cio_loop_close. */
    cio_loop *other;
    assert_int_equal(cio_loop_new(&other, NULL), 0);
    assert_int_equal(run_main(fallback_main, other), 0);
    tu_loop_done(other);
    unsetenv("CIO_PIDFD");
    assert_int_equal(count_zombies(), 0);
    /* SIGCHLD was given back. */
    struct sigaction sa;
    sigaction(SIGCHLD, NULL, &sa);
    assert_true(sa.sa_handler == SIG_DFL);
}

/* ---- connect_read_pipe / connect_write_pipe ---- */

static int pipes_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int pp[2];
    assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_connect_read_pipe(g_loop, pp[0], NULL, &r), 0);
    assert_int_equal(cio_connect_write_pipe(g_loop, pp[1], NULL, &w), 0);
    assert_int_equal(cio_stream_writer_write(w, "one\ntwo\n", 8), 0);
    assert_int_equal(cio_stream_writer_close(w), 0);
    const char *line;
    assert_int_equal(cio_stream_reader_readline(r, &line), 4);
    assert_int_equal(cio_stream_reader_readline(r, &line), 4);
    assert_memory_equal(line, "two\n", 4);
    assert_int_equal(cio_stream_reader_readline(r, &line), 0);
    assert_int_equal(cio_stream_writer_free(w), 0);
    assert_int_equal(cio_stream_reader_free(r), 0);
    /* A regular file is refused and stays the caller's. */
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    assert_int_equal(cio_connect_read_pipe(g_loop, fd, NULL, &r), -EINVAL);
    assert_null(r);
    assert_int_equal(close(fd), 0);
    assert_int_equal(cio_connect_read_pipe(g_loop, -1, NULL, &r), -EINVAL);
    return 0;
}

TU_NET_CASE(connect_pipes, pipes_main)

/* ---- no leaks ---- */

static int many_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    enum {
        N = 40
    };
    cio_process *p[N];
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdin_mode = CIO_PROCESS_PIPE;
    o.stdout_mode = CIO_PROCESS_PIPE;
    o.stderr_mode = CIO_PROCESS_PIPE;
    for (int i = 0; i < N; i++)
        assert_int_equal(
            cio_create_subprocess_exec(NULL, SH("cat; echo x >&2"), &o, &p[i]),
            0);
    for (int i = 0; i < N; i++) {
        const char *out, *err;
        assert_int_equal(
            cio_process_communicate(p[i], "hi", 2, &out, NULL, &err, NULL), 0);
        assert_string_equal(out, "hi");
        assert_string_equal(err, "x\n");
        assert_int_equal(cio_process_free(p[i]), 0);
    }
    return 0;
}

static void no_leaked_fds_or_zombies(void **state)
{
    (void)state;
    int before = count_fds();
    assert_int_equal(run_main(many_main, NULL), 0);
    assert_int_equal(count_fds(), before);
    assert_int_equal(count_zombies(), 0);
}

/* ---- allocation failures ---- */

static int alloc_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds = count_fds();
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdin_mode = CIO_PROCESS_PIPE;
    o.stdout_mode = CIO_PROCESS_PIPE;
    o.stderr_mode = CIO_PROCESS_PIPE;
    int ok = 0;
    /* Fail allocation 1, 2, ... of create until it succeeds: each
     * failure is -ENOMEM with no child, descriptor or block left. */
    for (long n = 1; n < 64 && !ok; n++) {
        cio_process *p = NULL;
        tu_fail_nth(n);
        int r = cio_create_subprocess_exec(NULL, SH("cat"), &o, &p);
        tu_fail_nth(0);
        if (r == 0) {
            ok = 1;
            assert_int_equal(
                cio_process_communicate(p, "z", 1, NULL, NULL, NULL, NULL), 0);
            assert_int_equal(cio_process_free(p), 0);
        } else {
            assert_int_equal(r, -ENOMEM);
            assert_null(p);
            assert_int_equal(count_fds(), fds);
            assert_int_equal(count_zombies(), 0);
        }
    }
    assert_true(ok);
    return 0;
}

TU_NET_CASE(create_survives_allocation_failures, alloc_main)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(exec_reads_lines, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(exit_codes_and_signals, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(bad_input, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(kill_group_takes_grandchildren, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(stdio_every_combination, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(stdio_fd_swap, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(stderr_into_stdout, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cwd_env_session_group, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(pipes_are_streams, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(communicate_both_directions, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(epipe_child_not_reading, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(process_wait_cancel_leaves_child_running, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(cancel_kills_and_reaps, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(loop_close_reaps, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(loop_in_other_thread, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(sigchld_fallback, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(connect_pipes, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(no_leaked_fds_or_zombies, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(create_survives_allocation_failures,
                                    tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
