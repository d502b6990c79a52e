/*
 * process.c - cio_process: spawning (create_subprocess_exec/_shell),
 * wait, communicate, signals, and the object's lifetime.
 *
 * Spawning uses posix_spawn, which glibc (2.24+) implements with
 * clone(CLONE_VM|CLONE_VFORK): the parent's memory is never copied, so a
 * spawn costs the same from a 10 MB or a 10 GB process, and an exec
 * failure comes back as posix_spawn's return value (-ENOENT from create,
 * not a child exiting 127). cwd, setsid and process groups use the GNU
 * extensions (addchdir_np, POSIX_SPAWN_SETSID, POSIX_SPAWN_SETPGROUP) so
 * they stay on that path. Every descriptor cio creates is O_CLOEXEC; the
 * child gets only its dup2'ed 0/1/2, and posix_spawn closes everything
 * from 3 up in the child (closefrom_np: asyncio's close_fds=True), so
 * descriptors other code opened without O_CLOEXEC do not leak into it
 * either. The child starts with an empty signal mask (cio's own threads
 * block signals) and SIGPIPE/SIGXFSZ at their defaults (Python's
 * restore_signals).
 *
 * Pipes are created before the spawn and wrapped as stream readers and
 * writers (cio/stream.h) right away, so any failure happens while no
 * child exists yet. Exit is observed by child_watch.c.
 *
 * communicate runs one helper task per output pipe, reading to EOF into a
 * growing buffer, while the calling task writes stdin in chunks with
 * drain as back-pressure: both directions progress, whatever the sizes.
 * Rejected: fork+exec (copies page tables; the cost grows with the
 * parent), a vfork() of our own (undefined behaviour on a shared stack
 * with ASan and TSan, and it would duplicate glibc's careful signal
 * handling), and one task multiplexing three pipes (the stream layer is
 * built for a task per direction, as asyncio's communicate is).
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc/proc.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

extern char **environ;

/* ======================================================================
 * Waiters
 * ====================================================================== */

typedef struct pwait {
    cio__list link;
    cio__task *t;
} pwait;

static int pwait_cancel(cio__task *t)
{
    pwait *w = cio__park_arg(t);
    cio__list_remove(&w->link);
    cio__unpark(t, -ECANCELED);
    return 1;
}

static int returncode_of(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return -WTERMSIG(st);
    return 255;
}

void cio__process_destroy(cio_process *p)
{
    cio__free(p->cbuf[0]);
    cio__free(p->cbuf[1]);
    cio__free(p);
}

void cio__process_reaped(cio_process *p, int st)
{
    p->status = st;
    p->reaped = 1;
    cio__chw_unwatch(p);
    while (!cio__list_empty(&p->waiters)) {
        pwait *w = cio__container_of(p->waiters.next, pwait, link);
        cio__list_remove(&w->link);
        cio__unpark(w->t, 0);
    }
    if (p->on_exit)
        p->on_exit(p, p->exit_arg);
    if (p->freed)
        cio__process_destroy(p);
}

static int signal_child(cio_process *p, int signo)
{
    if (p->reaped)
        return -ESRCH;
    int r = p->pidfd >= 0
                ? (int)syscall(SYS_pidfd_send_signal, p->pidfd, signo, NULL, 0)
                : kill(p->pid, signo);
    return r < 0 ? CIO__ERRNO() : 0;
}

/* On free (and a cancelled wait with kill_on_cancel): no child outlives
 * its object unless keep_running says so. While the child is not reaped
 * its pid is still its group's id, so killpg cannot hit a recycled group. */
void cio__process_kill_unless_kept(cio_process *p)
{
    if (p->keep_running || p->reaped)
        return;
    if (p->kill_group)
        killpg(p->pid, SIGKILL);
    signal_child(p, SIGKILL);
}

/* On a cancelled wait or communicate: asyncio leaves the child running;
 * kill_on_cancel opts into killing it, never under another waiter's
 * feet (it would get -9 instead of the real exit status). */
static void kill_on_cancel(cio_process *p)
{
    if (p->kill_on_cancel && cio__list_empty(&p->waiters))
        cio__process_kill_unless_kept(p);
}

/* ======================================================================
 * Spawning
 * ====================================================================== */

typedef struct spawn_state {
    posix_spawn_file_actions_t fa;
    int parent_end[3];  /* pipes: our ends, -1 when none */
    int close_after[6]; /* child ends and temporary copies */
    int nclose;
    size_t pipe_size; /* F_SETPIPE_SZ for each pipe; 0: the kernel's */
} spawn_state;

static void close_fds(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* A copy of fd numbered 3 or more, close-on-exec, so a dup2 onto 0/1/2
 * cannot overwrite a source another dup2 still needs. */
static int high_copy(int fd)
{
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    return d < 0 ? CIO__ERRNO() : d;
}

static int make_pipe(spawn_state *s, int i)
{
    int pp[2];
    if (pipe2(pp, O_CLOEXEC) < 0)
        return CIO__ERRNO();
    /* Python's pipesize: a larger pipe means fewer wake-ups of the child
     * and of the loop per byte moved. Not the default: an unprivileged
     * user's pipes share fs.pipe-user-pages-soft (64 MiB), past which
     * the kernel shrinks every new pipe of that user to two pages. */
    if (s->pipe_size && fcntl(pp[0], F_SETPIPE_SZ, (int)s->pipe_size) < 0) {
        int e = CIO__ERRNO();
        close(pp[0]);
        close(pp[1]);
        return e;
    }
    int mine = i == 0 ? pp[1] : pp[0];
    int theirs = i == 0 ? pp[0] : pp[1];
    if (theirs < 3) {
        int d = high_copy(theirs);
        close(theirs);
        if (d < 0) {
            close(mine);
            return d;
        }
        theirs = d;
    }
    s->close_after[s->nclose++] = theirs;
    s->parent_end[i] = mine;
    int fl = fcntl(mine, F_GETFL);
    if (fl < 0 || fcntl(mine, F_SETFL, fl | O_NONBLOCK) < 0)
        return CIO__ERRNO();
    int r = posix_spawn_file_actions_adddup2(&s->fa, theirs, i);
    return -r;
}

static int setup_stdio(spawn_state *s, int i, int mode, int fd)
{
    int r;
    switch (mode) {
    case CIO_PROCESS_INHERIT:
        return 0;
    case CIO_PROCESS_PIPE:
        return make_pipe(s, i);
    case CIO_PROCESS_DEVNULL:
        r = posix_spawn_file_actions_addopen(&s->fa, i, "/dev/null",
                                             i == 0 ? O_RDONLY : O_WRONLY, 0);
        return -r;
    case CIO_PROCESS_FD:
        if (fd < 0)
            return -EINVAL;
        if (fd == i)
            return 0; /* the parent's own: same as inheriting */
        if (fd < 3) {
            int d = high_copy(fd);
            if (d < 0)
                return d;
            s->close_after[s->nclose++] = d;
            fd = d;
        }
        return -posix_spawn_file_actions_adddup2(&s->fa, fd, i);
    case CIO_PROCESS_STDOUT:
        if (i != 2)
            return -EINVAL;
        return -posix_spawn_file_actions_adddup2(&s->fa, 1, 2);
    default:
        return -EINVAL;
    }
}

static int spawn_child(cio_process *p, const char *file, char *const argv[],
                       int search, const cio_process_opts *o, spawn_state *s)
{
    posix_spawnattr_t at;
    int r = posix_spawnattr_init(&at);
    if (r)
        return -r;
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGXFSZ);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &def);
    if (o->new_session)
        flags |= POSIX_SPAWN_SETSID;
    if (o->set_pgroup) {
        flags |= POSIX_SPAWN_SETPGROUP;
        posix_spawnattr_setpgroup(&at, o->pgroup);
    }
    posix_spawnattr_setflags(&at, flags);
    char *const *envp = o->envp ? o->envp : environ;
    pid_t pid;
    r = search ? posix_spawnp(&pid, file, &s->fa, &at, argv, envp)
               : posix_spawn(&pid, file, &s->fa, &at, argv, envp);
    posix_spawnattr_destroy(&at);
    if (r)
        return -r;
    p->pid = pid;
    return 0;
}

static int wrap_pipes(cio_process *p, spawn_state *s, const cio_process_opts *o,
                      cio__pipe_wrap wrap, void *wrap_arg)
{
    if (wrap)
        return wrap(p, s->parent_end, wrap_arg);
    int r = 0;
    if (s->parent_end[0] >= 0) {
        r = cio_stream_writer_from_fd(p->loop, s->parent_end[0], &o->conn,
                                      &p->in);
        if (r < 0)
            return r;
        s->parent_end[0] = -1; /* the stream owns it now */
    }
    for (int i = 1; i <= 2; i++) {
        if (s->parent_end[i] < 0)
            continue;
        r = cio_stream_reader_from_fd(p->loop, s->parent_end[i], &o->conn,
                                      i == 1 ? &p->out : &p->err);
        if (r < 0)
            return r;
        s->parent_end[i] = -1;
    }
    return 0;
}

static void free_streams(cio_process *p)
{
    if (p->in)
        cio_stream_writer_free(p->in);
    if (p->out)
        cio_stream_reader_free(p->out);
    if (p->err)
        cio_stream_reader_free(p->err);
    p->in = NULL;
    p->out = p->err = NULL;
}

int cio__process_spawn(cio_loop *loop, const char *file, char *const argv[],
                       int search, const cio_process_opts *opts,
                       cio__pipe_wrap wrap, void *wrap_arg, cio_process **out)
{
    if (out)
        *out = NULL;
    if (!loop)
        loop = cio_get_running_loop();
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (!out || !argv || !argv[0] || !file)
        return -EINVAL;
    static const cio_process_opts defaults = CIO_PROCESS_OPTS_INIT;
    const cio_process_opts *o = opts ? opts : &defaults;
    if (o->new_session && o->set_pgroup)
        return -EINVAL; /* a session leader cannot change its group */
    if (o->kill_group && !o->new_session && !(o->set_pgroup && o->pgroup == 0))
        return -EINVAL; /* the group would be someone else's */
    if (o->pipe_size > INT_MAX)
        return -EINVAL; /* F_SETPIPE_SZ takes an int */
    if (o->stdin_mode == CIO_PROCESS_STDOUT ||
        o->stdout_mode == CIO_PROCESS_STDOUT)
        return -EINVAL;
    cio__chw *w = cio__chw_get(loop);
    if (!w)
        return -ENOMEM;
    cio_process *p = cio__calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->loop = loop;
    p->pidfd = -1;
    p->keep_running = o->keep_running != 0;
    p->kill_group = o->kill_group != 0;
    p->kill_on_cancel = o->kill_on_cancel != 0;
    cio__list_init(&p->waiters);
    cio__list_init(&p->link);

    spawn_state s;
    s.parent_end[0] = s.parent_end[1] = s.parent_end[2] = -1;
    s.nclose = 0;
    s.pipe_size = o->pipe_size;
    r = posix_spawn_file_actions_init(&s.fa);
    if (r) {
        cio__free(p);
        return -r;
    }
    if (o->cwd && (r = -posix_spawn_file_actions_addchdir_np(&s.fa, o->cwd)))
        goto fail;
    const int modes[3] = {o->stdin_mode, o->stdout_mode, o->stderr_mode};
    const int fds[3] = {o->stdin_fd, o->stdout_fd, o->stderr_fd};
    for (int i = 0; i < 3; i++)
        if ((r = setup_stdio(&s, i, modes[i], fds[i])) < 0)
            goto fail;
    if ((r = -posix_spawn_file_actions_addclosefrom_np(&s.fa, 3)) < 0)
        goto fail;
    if ((r = wrap_pipes(p, &s, o, wrap, wrap_arg)) < 0)
        goto fail;
    if ((r = cio__chw_prepare(w)) < 0)
        goto fail;
    r = spawn_child(p, file, argv, search, o, &s);
    if (r < 0) {
        cio__chw_unprepare(w);
        goto fail;
    }
    posix_spawn_file_actions_destroy(&s.fa);
    close_fds(s.close_after, s.nclose);
    r = cio__chw_watch(w, p);
    if (r < 0) { /* the child was killed and reaped */
        free_streams(p);
        cio__process_destroy(p);
        return r;
    }
    *out = p;
    return 0;

fail:
    posix_spawn_file_actions_destroy(&s.fa);
    close_fds(s.close_after, s.nclose);
    close_fds(s.parent_end, 3);
    free_streams(p);
    cio__process_destroy(p);
    return r;
}

int cio_create_subprocess_exec(cio_loop *loop, char *const argv[],
                               const cio_process_opts *opts, cio_process **out)
{
    const char *file = argv ? argv[0] : NULL;
    return cio__process_spawn(loop, file, argv, file && !strchr(file, '/'),
                              opts, NULL, NULL, out);
}

int cio_create_subprocess_shell(cio_loop *loop, const char *cmd,
                                const cio_process_opts *opts, cio_process **out)
{
    if (!cmd) {
        if (out)
            *out = NULL;
        return -EINVAL;
    }
    char *const argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL};
    return cio__process_spawn(loop, "/bin/sh", argv, 0, opts, NULL, NULL,
                              out);
}

/* ======================================================================
 * Waiting
 * ====================================================================== */

static int in_task_of(const cio_process *p)
{
    cio__task *t = cio__tls_task;
    return p && t && t->f.loop == p->loop && !p->loop->closed;
}

int cio_process_wait(cio_process *p, int *returncode)
{
    if (!in_task_of(p))
        return -EINVAL;
    if (!p->reaped) {
        if (!p->watched)
            return -EINVAL; /* forgotten: its loop closed */
        cio__task *t = cio__tls_task;
        pwait w;
        w.t = t;
        cio__list_insert_tail(&p->waiters, &w.link);
        int r = cio__park(t, pwait_cancel, &w, "child process");
        if (w.link.next != &w.link) /* resumed by a late cancellation */
            cio__list_remove(&w.link);
        if (r < 0) {
            if (r == -ECANCELED)
                kill_on_cancel(p);
            return r;
        }
    }
    if (returncode)
        *returncode = returncode_of(p->status);
    return 0;
}

/* ---- communicate ---- */

typedef struct drain {
    cio_stream_reader *r;
    char *buf;
    size_t len, cap;
} drain;

static int drain_body(void *arg, void **result)
{
    (void)result;
    drain *d = arg;
    for (;;) {
        if (d->cap - d->len < 16384 + 1) {
            size_t cap = d->cap ? d->cap * 2 : 65536;
            char *b = cio__realloc(d->buf, cap);
            if (!b)
                return -ENOMEM;
            d->buf = b;
            d->cap = cap;
        }
        ssize_t n =
            cio_stream_reader_read(d->r, d->buf + d->len, d->cap - d->len - 1);
        if (n == 0)
            break;
        if (n < 0)
            return (int)n;
        d->len += (size_t)n;
    }
    if (!d->buf && !(d->buf = cio__malloc(1)))
        return -ENOMEM;
    d->buf[d->len] = '\0';
    return 0;
}

/* Feeds stdin in chunks, each followed by drain, so the write buffer
 * never holds more than a chunk plus the high water mark; then closes it
 * so the child sees end of file. */
static int feed_stdin(cio_stream_writer *w, const char *in, size_t len)
{
    const size_t chunk = 256 * 1024;
    int r = 0;
    while (len && r == 0) {
        size_t n = len < chunk ? len : chunk;
        r = cio_stream_writer_write(w, in, n);
        if (r == 0)
            r = cio_stream_writer_drain(w);
        in += n;
        len -= n;
    }
    int c = cio_stream_writer_close(w);
    /* asyncio's _feed_stdin: a child that stopped reading is not an
     * error of communicate. */
    if (r == -EPIPE || r == -ECONNRESET)
        r = 0;
    return r < 0 ? r : (c < 0 && c != -EPIPE ? c : 0);
}

int cio_process_communicate(cio_process *p, const void *input, size_t len,
                            const char **out, size_t *outlen, const char **err,
                            size_t *errlen)
{
    if (!in_task_of(p) || (len && !input) || (len && !p->in))
        return -EINVAL;
    if (p->busy)
        return -EBUSY;
    p->busy = 1;
    drain d[2];
    cio_task *t[2] = {NULL, NULL};
    cio_stream_reader *src[2] = {p->out, p->err};
    int r = 0;
    memset(d, 0, sizeof(d));
    for (int i = 0; i < 2 && r == 0; i++) {
        if (!src[i])
            continue;
        d[i].r = src[i];
        cio_task_opts to = CIO_TASK_OPTS_INIT;
        to.name = i ? "communicate-stderr" : "communicate-stdout";
        r = cio_task_create(p->loop, CIO_CORO(drain_body, &d[i]), &to, &t[i]);
    }
    if (r == 0 && p->in)
        r = feed_stdin(p->in, input, len);
    /* The helpers read from our stack: each is finished before we return
     * (cio_await returns once its task is done, also when cancelled). */
    for (int i = 0; i < 2; i++) {
        if (!t[i])
            continue;
        if (r < 0)
            cio_task_cancel(t[i], NULL);
        int a = cio_await(t[i], NULL);
        while (!cio_future_done(t[i]))
            cio_await(t[i], NULL);
        if (r == 0 && a < 0)
            r = a;
        cio_future_release(t[i]);
    }
    if (r == 0)
        r = cio_process_wait(p, NULL);
    else if (r == -ECANCELED)
        kill_on_cancel(p);
    if (r == 0) {
        for (int i = 0; i < 2; i++) {
            cio__free(p->cbuf[i]);
            p->cbuf[i] = d[i].buf;
            p->clen[i] = d[i].len;
        }
    } else {
        cio__free(d[0].buf);
        cio__free(d[1].buf);
    }
    p->busy = 0;
    if (r < 0)
        return r;
    if (out)
        *out = p->cbuf[0];
    if (outlen)
        *outlen = p->clen[0];
    if (err)
        *err = p->cbuf[1];
    if (errlen)
        *errlen = p->clen[1];
    return 0;
}

/* ======================================================================
 * Signals and accessors
 * ====================================================================== */

int cio_process_send_signal(cio_process *p, int signo)
{
    if (!p || signo < 0 || signo >= NSIG)
        return -EINVAL;
    return signal_child(p, signo);
}

int cio_process_terminate(cio_process *p)
{
    return cio_process_send_signal(p, SIGTERM);
}

int cio_process_kill(cio_process *p)
{
    return cio_process_send_signal(p, SIGKILL);
}

pid_t cio_process_pid(const cio_process *p)
{
    return p ? p->pid : -EINVAL;
}

int cio_process_returncode(const cio_process *p, int *rc)
{
    if (!p)
        return -EINVAL;
    if (!p->reaped)
        return 0;
    if (rc)
        *rc = returncode_of(p->status);
    return 1;
}

int cio_process_exited(const cio_process *p)
{
    if (!p)
        return -EINVAL;
    return p->reaped && WIFEXITED(p->status);
}

int cio_process_signaled(const cio_process *p)
{
    if (!p)
        return -EINVAL;
    return p->reaped && WIFSIGNALED(p->status) ? WTERMSIG(p->status) : 0;
}

cio_stream_writer *cio_process_stdin(const cio_process *p)
{
    return p ? p->in : NULL;
}

cio_stream_reader *cio_process_stdout(const cio_process *p)
{
    return p ? p->out : NULL;
}

cio_stream_reader *cio_process_stderr(const cio_process *p)
{
    return p ? p->err : NULL;
}

int cio_process_free(cio_process *p)
{
    if (!p)
        return 0;
    if (!p->loop->closed) {
        int r = cio__loop_check(p->loop);
        if (r < 0)
            return r;
    }
    if (!cio__list_empty(&p->waiters) || p->busy)
        return -EBUSY;
    /* Each stream refuses while a task uses it; what was freed stays
     * freed, so a retry after -EBUSY is safe. */
    if (p->in) {
        int r = cio_stream_writer_free(p->in);
        if (r < 0)
            return r;
        p->in = NULL;
    }
    cio_stream_reader **rs[2] = {&p->out, &p->err};
    for (int i = 0; i < 2; i++) {
        if (*rs[i]) {
            int r = cio_stream_reader_free(*rs[i]);
            if (r < 0)
                return r;
            *rs[i] = NULL;
        }
    }
    if (p->reaped || !p->watched) {
        cio__process_destroy(p);
        return 0;
    }
    cio__process_kill_unless_kept(p);
    p->freed = 1; /* the watcher frees it at the reap */
    return 0;
}
