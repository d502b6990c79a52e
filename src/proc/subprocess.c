/*
 * subprocess.c - asyncio's subprocess protocol API beside the streams
 * form: loop.subprocess_exec/_shell(protocol_factory, ...) with
 * connection_made, pipe_data_received(fd, data),
 * pipe_connection_lost(fd, exc), process_exited and connection_lost, and
 * the subprocess transport (get_pid, get_returncode,
 * get_pipe_transport, send_signal/terminate/kill, close).
 *
 * How: the child is the cio_process of process.c (spawn, pidfd or
 * SIGCHLD watch, reaping), made with a wrap hook so its pipes become
 * pipe transports (cio_transport_from_fd, net/transport.c) driving an
 * internal protocol per pipe that forwards to the subprocess protocol
 * with the child's descriptor number, as asyncio's
 * ReadSubprocessPipeProto / WriteSubprocessPipeProto do. The reap hook
 * queues process_exited with call_soon; the last of "exited" and "every
 * pipe lost" queues connection_lost (asyncio's _try_finish), after which
 * the tasks in cio_subprocess_transport_wait wake (asyncio 3.12's wait:
 * exit AND pipes closed).
 *
 * Order: connection_made is queued with call_soon before the pipe
 * transports exist, so on the FIFO ready queue it runs before any pipe
 * event. process_exited may come before or after the pipes' events (a
 * grandchild may hold a pipe open long after the exit; a child may close
 * its stdout long before it exits), exactly as asyncio documents;
 * connection_lost is always last.
 *
 * Lifetime: refs = the caller's (dropped by close) + one until
 * connection_lost has returned + one per live pipe transport. The child's
 * cio_process is freed with the last.
 *
 * Rejected: building it on the streams form (a task per pipe reading
 * into a callback): two hops per chunk and a task stack per pipe for
 * what the transports already do from the ready queue.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "proc/proc.h"

typedef struct sp_pipe {
    cio_subprocess_transport *sp;
    cio_transport *t; /* NULL once its connection_lost ran */
    int fd;           /* the child's descriptor: 0, 1 or 2 */
    int open;
} sp_pipe;

typedef struct sp_wait {
    cio__list link;
    cio__task *t;
    int rc;
} sp_wait;

struct cio_subprocess_transport {
    cio_loop *loop;
    cio_process *p;
    const cio_subprocess_protocol *proto;
    void *ctx;
    uint32_t refs;
    int npipes;       /* pipe transports not yet lost */
    uint8_t made;     /* connection_made ran */
    uint8_t exited;   /* process_exited ran (returncode valid) */
    uint8_t finished; /* connection_lost queued */
    uint8_t lost;     /* connection_lost ran */
    uint8_t closed;   /* the caller's close ran */
    uint8_t failed;   /* creation failed: no callback runs */
    int returncode;
    sp_pipe pipe[3];
    cio__list waiters;
};

static void sp_unref(cio_subprocess_transport *s)
{
    if (--s->refs)
        return;
    if (s->p)
        cio_process_free(s->p); /* reaped by now: freed at once */
    cio__free(s);
}

static int ret_of(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return -WTERMSIG(st);
    return 255;
}

/* ---- the end: connection_lost, then the waiters ---- */

static int lost_cb(void *arg)
{
    cio_subprocess_transport *s = arg;
    s->lost = 1;
    if (s->proto->connection_lost)
        s->proto->connection_lost(s, 0, s->ctx);
    while (!cio__list_empty(&s->waiters)) {
        sp_wait *w = cio__container_of(s->waiters.next, sp_wait, link);
        cio__list_remove(&w->link);
        w->rc = s->returncode;
        cio__unpark(w->t, 0);
    }
    sp_unref(s); /* the "until connection_lost" reference */
    return 0;
}

/* asyncio's _try_finish: once the child exited and every pipe is lost. */
static void try_finish(cio_subprocess_transport *s)
{
    if (s->finished || !s->exited || s->npipes)
        return;
    s->finished = 1;
    if (cio_loop_call_soon(s->loop, lost_cb, s, NULL) < 0)
        lost_cb(s); /* no memory for a handle: run it now */
}

/* ---- the child's exit ---- */

static int exited_cb(void *arg)
{
    cio_subprocess_transport *s = arg;
    s->exited = 1;
    s->returncode = ret_of(s->p->status);
    if (s->proto->process_exited)
        s->proto->process_exited(s, s->ctx);
    try_finish(s);
    return 0;
}

/* From the child watcher (in the poll, or at a synchronous reap): no
 * user code here, only a queued process_exited. */
static void on_exit_hook(cio_process *p, void *arg)
{
    cio_subprocess_transport *s = arg;
    p->on_exit = NULL;
    if (s->failed || s->p->loop->closed)
        return;
    if (cio_loop_call_soon(s->loop, exited_cb, s, NULL) < 0)
        cio__loop_report(s->loop, "subprocess: cannot queue process_exited",
                         -ENOMEM, NULL, NULL, NULL);
}

/* ---- the pipes' protocol ---- */

static int pp_made(cio_transport *t, void *ctx)
{
    (void)t;
    (void)ctx;
    return 0;
}

static int pp_data(cio_transport *t, const void *data, size_t len, void *ctx)
{
    (void)t;
    sp_pipe *pp = ctx;
    cio_subprocess_transport *s = pp->sp;
    if (s->failed || !s->proto->pipe_data_received)
        return 0;
    return s->proto->pipe_data_received(s, pp->fd, data, len, s->ctx);
}

static int pp_eof(cio_transport *t, void *ctx)
{
    (void)t;
    (void)ctx;
    return 0; /* the pipe closes: pipe_connection_lost follows */
}

static void pp_lost(cio_transport *t, int err, void *ctx)
{
    (void)t;
    sp_pipe *pp = ctx;
    cio_subprocess_transport *s = pp->sp;
    pp->t = NULL;
    pp->open = 0;
    s->npipes--;
    if (!s->failed) {
        if (s->proto->pipe_connection_lost)
            s->proto->pipe_connection_lost(s, pp->fd, err, s->ctx);
        try_finish(s);
    }
    sp_unref(s);
}

static int pp_pause(cio_transport *t, void *ctx)
{
    (void)t;
    sp_pipe *pp = ctx;
    cio_subprocess_transport *s = pp->sp;
    return s->proto->pause_writing && !s->failed
               ? s->proto->pause_writing(s, s->ctx)
               : 0;
}

static int pp_resume(cio_transport *t, void *ctx)
{
    (void)t;
    sp_pipe *pp = ctx;
    cio_subprocess_transport *s = pp->sp;
    return s->proto->resume_writing && !s->failed
               ? s->proto->resume_writing(s, s->ctx)
               : 0;
}

static const cio_protocol pipe_proto = {
    .connection_made = pp_made,
    .data_received = pp_data,
    .eof_received = pp_eof,
    .connection_lost = pp_lost,
    .pause_writing = pp_pause,
    .resume_writing = pp_resume,
    .get_buffer = NULL,
    .buffer_updated = NULL,
};

static int pipe_factory(void *arg, const cio_protocol **proto, void **ctx)
{
    *proto = &pipe_proto;
    *ctx = arg;
    return 0;
}

typedef struct wrap_arg {
    cio_subprocess_transport *s;
    const cio_conn_opts *conn;
} wrap_arg;

/* Before the spawn: each pipe end becomes a transport. */
static int wrap_pipes(cio_process *p, int fds[3], void *arg)
{
    (void)p;
    wrap_arg *wa = arg;
    cio_subprocess_transport *s = wa->s;
    for (int i = 0; i < 3; i++) {
        if (fds[i] < 0)
            continue;
        sp_pipe *pp = &s->pipe[i];
        int r = cio_transport_from_fd(s->loop, fds[i], pipe_factory, pp,
                                      wa->conn, &pp->t);
        if (r < 0)
            return r;
        fds[i] = -1;
        pp->open = 1;
        s->npipes++;
        s->refs++;
    }
    return 0;
}

/* ---- connection_made ---- */

static void close_pipes(cio_subprocess_transport *s)
{
    for (int i = 0; i < 3; i++)
        if (s->pipe[i].t)
            cio_transport_close(s->pipe[i].t);
}

static int made_cb(void *arg)
{
    cio_subprocess_transport *s = arg;
    if (s->failed) {
        sp_unref(s);
        return 0;
    }
    s->made = 1;
    if (s->proto->connection_made) {
        int rc = s->proto->connection_made(s, s->ctx);
        if (rc < 0) { /* reported; the transport is closed, the events go on */
            cio__loop_report(s->loop, "subprocess protocol: connection_made "
                             "failed", rc, NULL, NULL, NULL);
            close_pipes(s);
            cio__process_kill_unless_kept(s->p);
        }
    }
    sp_unref(s); /* the queued callback's reference */
    return 0;
}

/* ---- creation ---- */

static int sp_create(cio_loop *loop, cio_subprocess_protocol_factory factory,
                     void *arg, const char *file, char *const argv[],
                     int search, const cio_process_opts *opts,
                     cio_subprocess_transport **out)
{
    if (out)
        *out = NULL;
    if (!loop)
        loop = cio_get_running_loop();
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (!out || !factory || !argv || !argv[0] || !file)
        return -EINVAL;
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    if (opts) {
        o = *opts;
    } else { /* asyncio's subprocess_exec defaults: stdin, stdout and
              * stderr are pipes */
        o.stdin_mode = o.stdout_mode = o.stderr_mode = CIO_PROCESS_PIPE;
    }
    const cio_subprocess_protocol *proto = NULL;
    void *ctx = NULL;
    r = factory(arg, &proto, &ctx);
    if (r >= 0 && !proto)
        r = -EINVAL;
    if (r < 0)
        return r;
    cio_subprocess_transport *s = cio__calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->loop = loop;
    s->proto = proto;
    s->ctx = ctx;
    s->refs = 3; /* the caller's, until connection_lost, made_cb's */
    cio__list_init(&s->waiters);
    for (int i = 0; i < 3; i++) {
        s->pipe[i].sp = s;
        s->pipe[i].fd = i;
    }
    /* connection_made first on the FIFO ready queue: before any run of
     * the pipe transports made below. */
    cio_handle h;
    r = cio_loop_call_soon(loop, made_cb, s, &h);
    if (r < 0) {
        cio__free(s);
        return r;
    }
    wrap_arg wa = {s, &o.conn};
    cio_process *p;
    r = cio__process_spawn(loop, file, argv, search, &o, wrap_pipes, &wa, &p);
    if (r < 0) {
        /* No callback of the caller's runs: made_cb drops its reference,
         * the pipe transports made end with their connection_lost. */
        s->failed = 1;
        s->refs -= 2; /* the caller's and the finish reference */
        for (int i = 0; i < 3; i++)
            if (s->pipe[i].t)
                cio_transport_abort(s->pipe[i].t);
        (void)h; /* made_cb stays queued: it drops its reference */
        return r;
    }
    s->p = p;
    p->on_exit = on_exit_hook;
    p->exit_arg = s;
    if (p->reaped) /* reaped inside the spawn (SIGCHLD fallback) */
        on_exit_hook(p, s);
    *out = s;
    return 0;
}

int cio_subprocess_exec(cio_loop *loop, cio_subprocess_protocol_factory factory,
                        void *arg, char *const argv[],
                        const cio_process_opts *opts,
                        cio_subprocess_transport **out)
{
    const char *file = argv ? argv[0] : NULL;
    return sp_create(loop, factory, arg, file, argv,
                     file && !strchr(file, '/'), opts, out);
}

int cio_subprocess_shell(cio_loop *loop, cio_subprocess_protocol_factory factory,
                         void *arg, const char *cmd,
                         const cio_process_opts *opts,
                         cio_subprocess_transport **out)
{
    if (!cmd) {
        if (out)
            *out = NULL;
        return -EINVAL;
    }
    char *const argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL};
    return sp_create(loop, factory, arg, "/bin/sh", argv, 0, opts, out);
}

/* ---- the transport's calls ---- */

static int sp_check(const cio_subprocess_transport *s)
{
    if (!s || s->closed)
        return -EINVAL;
    return cio__loop_check(s->loop);
}

pid_t cio_subprocess_transport_pid(const cio_subprocess_transport *s)
{
    return s && s->p ? s->p->pid : -EINVAL;
}

int cio_subprocess_transport_returncode(const cio_subprocess_transport *s,
                                        int *rc)
{
    if (!s)
        return -EINVAL;
    if (!s->exited)
        return 0;
    if (rc)
        *rc = s->returncode;
    return 1;
}

cio_transport *
cio_subprocess_transport_pipe_transport(const cio_subprocess_transport *s,
                                        int fd)
{
    if (!s || fd < 0 || fd > 2)
        return NULL;
    return s->pipe[fd].t;
}

int cio_subprocess_transport_send_signal(cio_subprocess_transport *s,
                                         int signo)
{
    int r = sp_check(s);
    if (r < 0)
        return r;
    return cio_process_send_signal(s->p, signo);
}

int cio_subprocess_transport_terminate(cio_subprocess_transport *s)
{
    return cio_subprocess_transport_send_signal(s, SIGTERM);
}

int cio_subprocess_transport_kill(cio_subprocess_transport *s)
{
    return cio_subprocess_transport_send_signal(s, SIGKILL);
}

int cio_subprocess_transport_is_closing(const cio_subprocess_transport *s)
{
    if (!s)
        return -EINVAL;
    return s->closed;
}

static int spw_cancel(cio__task *t)
{
    sp_wait *w = cio__park_arg(t);
    cio__list_remove(&w->link);
    cio__unpark(t, -ECANCELED);
    return 1;
}

int cio_subprocess_transport_wait(cio_subprocess_transport *s, int *rc)
{
    int r = sp_check(s);
    if (r < 0)
        return r;
    cio__task *t = cio__tls_task;
    if (!t || t->f.loop != s->loop)
        return CIO_MISUSE("called outside a task of the transport's loop");
    if (s->lost) {
        if (rc)
            *rc = s->returncode;
        return 0;
    }
    sp_wait w;
    w.t = t;
    w.rc = 0;
    cio__list_insert_tail(&s->waiters, &w.link);
    r = cio__park(t, spw_cancel, &w, "subprocess transport");
    if (w.link.next != &w.link) /* resumed by a late cancellation */
        cio__list_remove(&w.link);
    if (r < 0)
        return r; /* the child is left running, as asyncio's wait() */
    if (rc)
        *rc = w.rc;
    return 0;
}

int cio_subprocess_transport_close(cio_subprocess_transport *s)
{
    int r = sp_check(s);
    if (r < 0)
        return r;
    s->closed = 1;
    close_pipes(s);
    if (!s->exited)
        cio__process_kill_unless_kept(s->p);
    sp_unref(s); /* the caller's */
    return 0;
}
