/*
 * process_pool.c - the process pool executor (ProcessPoolExecutor) for
 * registered C functions, its fork server and the function registry.
 *
 * fork() in a process that runs threads copies only the forking thread,
 * with every lock other threads held frozen in the child (stdio, the
 * allocator hooks, user mutexes). So workers are never forked from the
 * program: the first pool (or cio_process_pool_prepare) forks a fork
 * server while the program is still single-threaded (checked through
 * /proc/self/task, -EBUSY otherwise), and every worker is a fork of that
 * single-threaded server. Both are forks of the program image, so the
 * function registry filled before the server started is the same table
 * in every worker; a job names its function by index.
 *
 * Channels: the program talks to the server over a SOCK_SEQPACKET pair.
 * Each pool opens its own session on it (a second pair, passed with
 * SCM_RIGHTS), through which the pool's coordinator thread asks for
 * workers (passing one end of a fresh stream socketpair, the job channel)
 * and learns their pids and, once the server has reaped them, their wait
 * status. Jobs and results travel over the job channel as a fixed header
 * plus bytes, one job per worker at a time, so a dead worker held exactly
 * one future. Its death shows as EOF on the channel; the coordinator
 * fails that future with CIO_ECHILD_DIED and a message built from the status the
 * server reports ("worker process 1234 died: signal 11 (SEGV)"), and
 * starts a replacement when work is queued. The server reaps every worker
 * (no zombies), lives in its own process group (a terminal's Ctrl-C goes
 * to the program only) and exits when the program's end of the control
 * socket closes; workers die with it (PR_SET_PDEATHSIG).
 *
 * Rejected: fork from the coordinator (unsound once threads exist);
 * posix_spawn of /proc/self/exe (the new image would not have the
 * registry, since the program's main would run again); shared-memory
 * queues (pipes cost a copy, which is nothing beside a CPU-bound job).
 */
#include <errno.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec/exec.h"

/* ---- the registry ---- */

#define MAX_FNS 256

static struct {
    const char *name;
    cio_process_fn fn;
} g_fns[MAX_FNS];
static int g_nfns;

static pthread_mutex_t g_srv_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_srv_fd = -1; /* program end of the control socket */
static pid_t g_srv_pid;
static int g_srv_started;

int cio_process_pool_register(const char *name, cio_process_fn fn)
{
    if (!name || !fn)
        return -EINVAL;
    pthread_mutex_lock(&g_srv_lock);
    int r;
    for (r = 0; r < g_nfns && g_fns[r].fn != fn; r++)
        ;
    if (r == g_nfns) {
        if (g_srv_started) {
            r = -EBUSY;
        } else if (g_nfns == MAX_FNS) {
            r = -ENOSPC;
        } else {
            g_fns[r].name = name;
            g_fns[r].fn = fn;
            g_nfns++;
        }
    }
    pthread_mutex_unlock(&g_srv_lock);
    return r;
}

/* Index of fn, or -ENOENT. The table is frozen once the server runs. */
static int fn_index(cio_process_fn fn)
{
    for (int i = 0; i < g_nfns; i++)
        if (g_fns[i].fn == fn)
            return i;
    return -ENOENT;
}

pid_t cio__process_server_pid(void);
pid_t cio__process_server_pid(void)
{
    pthread_mutex_lock(&g_srv_lock);
    pid_t p = g_srv_started ? g_srv_pid : 0;
    pthread_mutex_unlock(&g_srv_lock);
    return p;
}

/* ---- messages ---- */

enum { SM_SESSION = 1, SM_SPAWN, SM_SPAWNED, SM_SPAWN_FAILED, SM_DIED };

typedef struct smsg {
    int32_t type;
    int32_t slot;
    uint32_t gen;
    int32_t val; /* errno, wait status */
    int64_t pid;
} smsg;

typedef struct job_hdr {
    uint32_t fn;
    uint32_t pad;
    uint64_t len;
    uint64_t max_out;
} job_hdr;

typedef struct res_hdr {
    int32_t rc;
    uint32_t pad;
    uint64_t len;
} res_hdr;

static int send_msg(int sock, const smsg *m, int fd)
{
    struct iovec iov = {(void *)m, sizeof(*m)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (fd >= 0) {
        memset(&u, 0, sizeof(u));
        mh.msg_control = u.buf;
        mh.msg_controllen = sizeof(u.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t n;
    do
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof(*m) ? 0 : -EPIPE;
}

/* Returns 1 with *m (and *fd or -1), 0 at EOF, -errno on error. */
static int recv_msg(int sock, smsg *m, int *fd)
{
    struct iovec iov = {m, sizeof(*m)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = u.buf;
    mh.msg_controllen = sizeof(u.buf);
    ssize_t n;
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return CIO__ERRNO();
    if (fd)
        *fd = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int got;
            memcpy(&got, CMSG_DATA(c), sizeof(int));
            if (fd)
                *fd = got;
            else
                close(got);
        }
    if (n == 0)
        return 0;
    return n == (ssize_t)sizeof(*m) ? 1 : -EPROTO;
}

/* Full read: 1 done, 0 EOF before anything, -errno (or -EPIPE at EOF
 * mid-way). */
static int read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return CIO__ERRNO();
        }
        if (n == 0)
            return got ? -EPIPE : 0;
        got += (size_t)n;
    }
    return 1;
}

static int write_full(int fd, const void *buf, size_t len)
{
    size_t put = 0;
    while (put < len) {
        ssize_t n = send(fd, (const char *)buf + put, len - put,
                         MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return CIO__ERRNO();
        }
        put += (size_t)n;
    }
    return 0;
}

/* ---- the worker (a fork of the server) ---- */

static _Noreturn void worker_main(int fd)
{
    void *in = NULL, *out = NULL;
    size_t incap = 0, outcap = 0;
    for (;;) {
        job_hdr h;
        if (read_full(fd, &h, sizeof(h)) != 1)
            _exit(0);
        if (h.len > CIO_PROCESS_MAX_INPUT)
            _exit(3);
        if (h.len > incap) {
            free(in);
            incap = h.len;
            if (!(in = malloc(incap)))
                _exit(4);
        }
        if (h.len && read_full(fd, in, h.len) != 1)
            _exit(0);
        if (h.max_out > outcap) {
            free(out);
            outcap = h.max_out;
            if (!(out = malloc(outcap)))
                _exit(4);
        }
        size_t olen = h.max_out;
        int rc;
        if (h.fn >= (uint32_t)g_nfns)
            rc = -ENOENT;
        else
            rc = g_fns[h.fn].fn(in, h.len, out, &olen);
        if (rc > 0)
            rc = 0;
        if (rc == 0 && olen > h.max_out)
            rc = -EMSGSIZE;
        if (rc < 0)
            olen = 0;
        fflush(NULL); /* a job's printf shows up when it ends */
        res_hdr r = {rc, 0, olen};
        if (write_full(fd, &r, sizeof(r)) < 0 ||
            (olen && write_full(fd, out, olen) < 0))
            _exit(0);
    }
}

/* ---- the fork server ---- */

typedef struct srv_child {
    pid_t pid;
    int sess; /* session fd, -1 once that session closed */
} srv_child;

static _Noreturn void server_main(int ctl)
{
    setpgid(0, 0);
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL); /* inherited handlers are the program's */
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC);
    if (sfd < 0)
        _exit(1);
    pid_t self = getpid();
    struct pollfd *pf = NULL;
    int *sess = NULL;
    size_t nsess = 0, capsess = 0;
    srv_child *kids = NULL;
    size_t nkids = 0, capkids = 0;
    for (;;) {
        size_t npf = 2 + nsess;
        struct pollfd *npfv = realloc(pf, npf * sizeof(*pf));
        if (!npfv)
            _exit(4);
        pf = npfv;
        pf[0] = (struct pollfd){ctl, POLLIN, 0};
        pf[1] = (struct pollfd){sfd, POLLIN, 0};
        for (size_t i = 0; i < nsess; i++)
            pf[2 + i] = (struct pollfd){sess[i], POLLIN, 0};
        if (poll(pf, npf, -1) < 0) {
            if (errno == EINTR)
                continue;
            _exit(1);
        }
        if (pf[0].revents) {
            smsg m;
            int fd;
            int r = recv_msg(ctl, &m, &fd);
            if (r <= 0 && r != -EAGAIN)
                _exit(0); /* the program is gone */
            if (r == 1 && m.type == SM_SESSION && fd >= 0) {
                if (nsess == capsess) {
                    capsess = capsess ? capsess * 2 : 4;
                    int *ns = realloc(sess, capsess * sizeof(*sess));
                    if (!ns)
                        _exit(4);
                    sess = ns;
                }
                sess[nsess++] = fd;
            } else if (fd >= 0) {
                close(fd);
            }
        }
        if (pf[1].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) < 0 && errno == EINTR)
                ;
            int st;
            pid_t pid;
            while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
                for (size_t i = 0; i < nkids; i++) {
                    if (kids[i].pid != pid)
                        continue;
                    if (kids[i].sess >= 0) {
                        smsg d = {SM_DIED, -1, 0, st, pid};
                        send_msg(kids[i].sess, &d, -1);
                    }
                    kids[i] = kids[--nkids];
                    break;
                }
            }
        }
        /* Only the sessions that were polled (one may have been added
         * above; it is polled next time). */
        for (size_t i = 0; i < npf - 2 && i < nsess; i++) {
            if (!pf[2 + i].revents)
                continue;
            smsg m;
            int fd;
            int r = recv_msg(sess[i], &m, &fd);
            if (r <= 0) {
                if (r == -EAGAIN || r == -EINTR)
                    continue;
                for (size_t k = 0; k < nkids; k++)
                    if (kids[k].sess == sess[i])
                        kids[k].sess = -1;
                close(sess[i]);
                /* Removing shifts pf; the remaining entries are handled
                 * on the next poll. */
                sess[i] = sess[--nsess];
                break;
            }
            if (m.type != SM_SPAWN || fd < 0) {
                if (fd >= 0)
                    close(fd);
                continue;
            }
            if (nkids == capkids) {
                capkids = capkids ? capkids * 2 : 8;
                srv_child *nk = realloc(kids, capkids * sizeof(*kids));
                if (!nk)
                    _exit(4);
                kids = nk;
            }
            pid_t pid = fork();
            if (pid == 0) {
                close(ctl);
                close(sfd);
                for (size_t k = 0; k < nsess; k++)
                    close(sess[k]);
                /* The server's tables are not the worker's (and a job
                 * that calls exit() under LeakSanitizer must not see them
                 * as leaks). */
                free(sess);
                free(kids);
                free(pf);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != self)
                    _exit(0);
                /* Default dispositions: a handler inherited from the
                 * program (a test framework's SIGSEGV handler, say) would
                 * otherwise run the program's code in the worker. */
                for (int sig = 1; sig < NSIG; sig++)
                    signal(sig, SIG_DFL);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                worker_main(fd);
            }
            close(fd);
            smsg rep = {pid > 0 ? SM_SPAWNED : SM_SPAWN_FAILED, m.slot, m.gen,
                        pid > 0 ? 0 : CIO__ERRNO(), pid > 0 ? pid : 0};
            if (pid > 0)
                kids[nkids++] = (srv_child){pid, sess[i]};
            send_msg(sess[i], &rep, -1);
        }
    }
}

/* Threads of this process, from /proc/self/task. */
static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

int cio_process_pool_prepare(void)
{
    pthread_mutex_lock(&g_srv_lock);
    int r = 0;
    if (g_srv_started)
        goto out;
    /* A thread that was just joined can linger in /proc for a moment. */
    int nt = thread_count();
    for (int i = 0; nt > 1 && i < 20; i++) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
        nt = thread_count();
    }
    if (nt != 1) {
        fprintf(stderr, "cio: the process pool's fork server must start "
                        "before any thread (call cio_process_pool_prepare "
                        "early in main)\n");
        r = -EBUSY;
        goto out;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        r = CIO__ERRNO();
        goto out;
    }
    fflush(NULL); /* or buffered output would be printed twice */
    pid_t pid = fork();
    if (pid < 0) {
        r = CIO__ERRNO();
        close(sv[0]);
        close(sv[1]);
        goto out;
    }
    if (pid == 0) {
        close(sv[0]);
        server_main(sv[1]);
    }
    close(sv[1]);
    g_srv_fd = sv[0];
    g_srv_pid = pid;
    g_srv_started = 1;
out:
    pthread_mutex_unlock(&g_srv_lock);
    return r;
}

/* Opens a session with the server. Returns the pool's end or -errno. */
static int open_session(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return CIO__ERRNO();
    smsg m = {SM_SESSION, 0, 0, 0, 0};
    pthread_mutex_lock(&g_srv_lock);
    int r = g_srv_fd >= 0 ? send_msg(g_srv_fd, &m, sv[1]) : -EPIPE;
    pthread_mutex_unlock(&g_srv_lock);
    close(sv[1]);
    if (r < 0) {
        close(sv[0]);
        return r;
    }
    return sv[0];
}

/* ---- the pool and its coordinator ---- */

enum { W_FREE = 0, W_IDLE, W_BUSY, W_DEAD };

typedef struct worker {
    int state;
    int fd;
    pid_t pid;
    uint32_t gen;
    unsigned ntasks;
    cio_cfuture *job;
    int status, status_known;
    int64_t died_at;
} worker;

typedef struct pjob {
    uint32_t fn;
    size_t len;
    unsigned char data[];
} pjob;

struct cio_process_pool {
    pthread_mutex_t lock;
    cio_cfuture *qhead, *qtail; /* under lock */
    int shutdown;               /* under lock */
    int broken;                 /* under lock: the server died */
    int wake_fd;
    int sess_fd;
    unsigned max, max_tasks;
    size_t max_result;
    uint32_t gen;
    unsigned unreaped; /* coordinator only: spawns asked for, not yet
                        * reported failed or dead by the server */
    worker *w;
    pthread_t coord;
    pthread_mutex_t join_lock;
    int joined;
};

static void wake(cio_process_pool *p)
{
    uint64_t one = 1;
    while (write(p->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

static void fail_job(cio_cfuture *cf, int err, const char *msg)
{
    cio__cfuture_finish(cf, err, NULL, msg ? cio__strdup(msg) : NULL);
    cio_cfuture_release(cf);
}

static void describe_death(char *buf, size_t n, pid_t pid, int known,
                           int st)
{
    if (!known)
        snprintf(buf, n, "worker process %d died", (int)pid);
    else if (WIFSIGNALED(st)) {
        const char *abbr = sigabbrev_np(WTERMSIG(st));
        snprintf(buf, n, "worker process %d died: signal %d (SIG%s)",
                 (int)pid, WTERMSIG(st), abbr ? abbr : "?");
    } else
        snprintf(buf, n, "worker process %d died: exit status %d", (int)pid,
                 WEXITSTATUS(st));
}

static void worker_dead_done(worker *w)
{
    if (w->job) {
        char msg[96];
        describe_death(msg, sizeof(msg), w->pid, w->status_known,
                       w->status);
        fail_job(w->job, CIO_ECHILD_DIED, msg);
        w->job = NULL;
    }
    w->state = W_FREE;
}

/* The worker's channel closed (or broke). */
static void worker_lost(worker *w)
{
    close(w->fd);
    w->fd = -1;
    if (!w->job || w->status_known) {
        worker_dead_done(w);
        return;
    }
    w->state = W_DEAD; /* wait a little for the server's wait status */
    w->died_at = cio__mono_ns();
}

static void spawn_worker(cio_process_pool *p, int slot)
{
    worker *w = &p->w[slot];
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return;
    smsg m = {SM_SPAWN, slot, ++p->gen, 0, 0};
    if (send_msg(p->sess_fd, &m, sv[1]) < 0) {
        close(sv[0]);
        close(sv[1]);
        return;
    }
    close(sv[1]);
    p->unreaped++;
    *w = (worker){W_IDLE, sv[0], 0, m.gen, 0, NULL, 0, 0, 0};
}

static int send_job(cio_process_pool *p, worker *w, cio_cfuture *cf)
{
    pjob *j = cf->job;
    job_hdr h = {j->fn, 0, j->len, p->max_result};
    int r = write_full(w->fd, &h, sizeof(h));
    if (r == 0 && j->len)
        r = write_full(w->fd, j->data, j->len);
    cf->xfree(j); /* the worker has its copy */
    cf->job = NULL;
    cf->xfree = NULL;
    w->job = cf;
    w->state = W_BUSY;
    return r;
}

static void read_result(cio_process_pool *p, worker *w)
{
    res_hdr h;
    int r = read_full(w->fd, &h, sizeof(h));
    if (r != 1 || h.len > p->max_result) {
        worker_lost(w);
        return;
    }
    void *buf = NULL;
    if (h.len) {
        buf = cio__malloc(h.len);
        if (!buf) { /* drain it, fail the job */
            char tmp[4096];
            size_t left = h.len;
            while (left) {
                size_t k = left < sizeof(tmp) ? left : sizeof(tmp);
                if (read_full(w->fd, tmp, k) != 1) {
                    worker_lost(w);
                    return;
                }
                left -= k;
            }
            h.rc = -ENOMEM;
        } else if (read_full(w->fd, buf, h.len) != 1) {
            cio__free(buf);
            worker_lost(w);
            return;
        }
    }
    cio_cfuture *cf = w->job;
    w->job = NULL;
    w->ntasks++;
    w->state = W_IDLE;
    if (h.rc < 0) {
        cio__free(buf);
        cio__cfuture_finish(cf, h.rc, NULL, NULL);
    } else {
        cf->out = (cio_bytes){buf, h.len};
        cio__cfuture_finish(cf, 0, &cf->out, NULL);
    }
    cio_cfuture_release(cf);
    if (p->max_tasks && w->ntasks >= p->max_tasks) {
        close(w->fd); /* it exits on EOF; the server reaps it */
        w->fd = -1;
        w->state = W_FREE;
    }
}

static void handle_server_msg(cio_process_pool *p, const smsg *m)
{
    /* The server reports a death only to the session that spawned the
     * child, after reaping it. */
    if ((m->type == SM_SPAWN_FAILED || m->type == SM_DIED) && p->unreaped)
        p->unreaped--;
    if (m->type == SM_SPAWNED || m->type == SM_SPAWN_FAILED) {
        if (m->slot < 0 || (unsigned)m->slot >= p->max)
            return;
        worker *w = &p->w[m->slot];
        if (w->gen != m->gen || w->state == W_FREE)
            return;
        if (m->type == SM_SPAWNED) {
            w->pid = (pid_t)m->pid;
        } else {
            w->status_known = 0;
            worker_lost(w);
            if (w->state == W_DEAD)
                worker_dead_done(w);
        }
        return;
    }
    if (m->type != SM_DIED)
        return;
    for (unsigned i = 0; i < p->max; i++) {
        worker *w = &p->w[i];
        if (w->state == W_FREE || w->pid != (pid_t)m->pid)
            continue;
        w->status = m->val;
        w->status_known = 1;
        if (w->state == W_DEAD)
            worker_dead_done(w);
        return;
    }
}

/* Fails everything: the fork server is gone. */
static void pool_broken(cio_process_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->broken = 1;
    cio_cfuture *q = p->qhead;
    p->qhead = p->qtail = NULL;
    pthread_mutex_unlock(&p->lock);
    while (q) {
        cio_cfuture *next = q->qnext;
        if (cio_cfuture_set_running_or_notify_cancel(q) == 1)
            fail_job(q, CIO_ECHILD_DIED, "process pool fork server died");
        else
            cio_cfuture_release(q);
        q = next;
    }
    for (unsigned i = 0; i < p->max; i++) {
        worker *w = &p->w[i];
        if (w->fd >= 0) {
            close(w->fd);
            w->fd = -1;
        }
        if (w->job) {
            fail_job(w->job, CIO_ECHILD_DIED, "process pool fork server died");
            w->job = NULL;
        }
        w->state = W_FREE;
    }
    int st;
    pthread_mutex_lock(&g_srv_lock);
    if (g_srv_started && waitpid(g_srv_pid, &st, WNOHANG) == g_srv_pid) {
        close(g_srv_fd);
        g_srv_fd = -1;
    }
    pthread_mutex_unlock(&g_srv_lock);
}

/* shutdown(wait) returns once every worker has exited and been reaped,
 * as Python's does: idle workers exit at the EOF of their channel, which
 * the caller closed. Bounded, so a wedged job cannot hang the program's
 * exit forever; the server still reaps such a worker later. */
static void await_workers_exit(cio_process_pool *p)
{
    int64_t deadline = cio__mono_ns() + 10 * CIO_SEC;
    while (p->unreaped && p->sess_fd >= 0) {
        int64_t left = (deadline - cio__mono_ns()) / 1000000;
        if (left <= 0)
            break;
        struct pollfd pf = {p->sess_fd, POLLIN, 0};
        int r = poll(&pf, 1, (int)left);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        smsg m;
        int rr = recv_msg(p->sess_fd, &m, NULL);
        if (rr == 1)
            handle_server_msg(p, &m);
        else if (rr != -EAGAIN && rr != -EINTR)
            break; /* the server is gone: nobody is left to wait for */
    }
}

static void *coord_main(void *arg)
{
    cio_process_pool *p = arg;
    struct pollfd *pf = cio__calloc(p->max + 2, sizeof(*pf));
    int *slot_of = cio__calloc(p->max + 2, sizeof(*slot_of));
    if (!pf || !slot_of) {
        cio__free(pf);
        cio__free(slot_of);
        pool_broken(p);
        return NULL;
    }
    for (;;) {
        /* Hand queued jobs to idle workers; start workers for the rest. */
        for (;;) {
            worker *idle = NULL;
            unsigned live = 0;
            int free_slot = -1;
            for (unsigned i = 0; i < p->max; i++) {
                if (p->w[i].state == W_IDLE && !idle)
                    idle = &p->w[i];
                if (p->w[i].state != W_FREE)
                    live++;
                else if (free_slot < 0)
                    free_slot = (int)i;
            }
            pthread_mutex_lock(&p->lock);
            cio_cfuture *cf = p->qhead;
            if (cf && idle) {
                p->qhead = cf->qnext;
                if (!p->qhead)
                    p->qtail = NULL;
            }
            pthread_mutex_unlock(&p->lock);
            if (!cf)
                break;
            if (!idle) {
                if (free_slot < 0)
                    break; /* all busy: the job waits its turn */
                spawn_worker(p, free_slot);
                if (p->w[free_slot].state != W_FREE)
                    continue;
                if (live)
                    break; /* a running worker will take it */
                /* No worker at all and none can start: fail the job
                 * rather than let it wait forever. */
                pthread_mutex_lock(&p->lock);
                cf = p->qhead;
                if (cf) {
                    p->qhead = cf->qnext;
                    if (!p->qhead)
                        p->qtail = NULL;
                }
                pthread_mutex_unlock(&p->lock);
                if (cf && cio_cfuture_set_running_or_notify_cancel(cf) == 1)
                    fail_job(cf, -EAGAIN, "could not start a worker process");
                else if (cf)
                    cio_cfuture_release(cf);
                continue;
            }
            if (cio_cfuture_set_running_or_notify_cancel(cf) != 1) {
                cio_cfuture_release(cf);
                continue;
            }
            if (send_job(p, idle, cf) < 0)
                worker_lost(idle);
        }
        pthread_mutex_lock(&p->lock);
        int stop = p->shutdown && !p->qhead;
        pthread_mutex_unlock(&p->lock);
        int busy = 0, dead = 0;
        for (unsigned i = 0; i < p->max; i++) {
            busy |= p->w[i].state == W_BUSY;
            dead |= p->w[i].state == W_DEAD;
        }
        if (stop && !busy && !dead)
            break;
        nfds_t n = 0;
        pf[n++] = (struct pollfd){p->wake_fd, POLLIN, 0};
        pf[n++] = (struct pollfd){p->sess_fd, POLLIN, 0};
        for (unsigned i = 0; i < p->max; i++)
            if (p->w[i].fd >= 0 && p->w[i].state != W_FREE) {
                slot_of[n] = (int)i;
                pf[n++] = (struct pollfd){p->w[i].fd, POLLIN, 0};
            }
        int r = poll(pf, n, dead ? 50 : -1);
        if (r < 0 && errno != EINTR)
            break;
        if (pf[0].revents) {
            uint64_t v;
            while (read(p->wake_fd, &v, sizeof(v)) < 0 && errno == EINTR)
                ;
        }
        if (pf[1].revents) {
            smsg m;
            int rr = recv_msg(p->sess_fd, &m, NULL);
            if (rr <= 0 && rr != -EAGAIN && rr != -EINTR) {
                pool_broken(p);
                break;
            }
            if (rr == 1)
                handle_server_msg(p, &m);
        }
        for (nfds_t i = 2; i < n; i++) {
            if (!pf[i].revents)
                continue;
            worker *w = &p->w[slot_of[i]];
            if (w->state == W_BUSY && (pf[i].revents & POLLIN))
                read_result(p, w);
            else if (w->state != W_FREE && w->fd >= 0)
                worker_lost(w); /* hang-up while idle */
        }
        int64_t now = cio__mono_ns();
        for (unsigned i = 0; i < p->max; i++)
            if (p->w[i].state == W_DEAD &&
                now - p->w[i].died_at > 2 * CIO_SEC)
                worker_dead_done(&p->w[i]); /* status never came */
    }
    for (unsigned i = 0; i < p->max; i++)
        if (p->w[i].fd >= 0) {
            close(p->w[i].fd);
            p->w[i].fd = -1;
        }
    await_workers_exit(p);
    cio__free(pf);
    cio__free(slot_of);
    return NULL;
}

int cio_process_pool_new(cio_process_pool **out,
                         const cio_process_pool_opts *opts)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    cio_process_pool_opts o = CIO_PROCESS_POOL_OPTS_INIT;
    if (opts)
        o = *opts;
    if (o.max_workers == 0)
        o.max_workers = cio__cpu_count();
    if (o.max_result == 0)
        o.max_result = 64 * 1024;
    if (o.max_workers > 1024 || o.max_result > ((size_t)64 << 20))
        return -EINVAL;
    int r = cio_process_pool_prepare();
    if (r < 0)
        return r;
    cio_process_pool *p = cio__calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->w = cio__calloc(o.max_workers, sizeof(*p->w));
    if (!p->w) {
        cio__free(p);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < o.max_workers; i++)
        p->w[i].fd = -1;
    p->max = o.max_workers;
    p->max_tasks = o.max_tasks_per_child;
    p->max_result = o.max_result;
    p->wake_fd = eventfd(0, EFD_CLOEXEC);
    p->sess_fd = p->wake_fd < 0 ? -EMFILE : open_session();
    if (p->wake_fd < 0 || p->sess_fd < 0) {
        r = p->wake_fd < 0 ? -EMFILE : p->sess_fd;
        if (p->wake_fd >= 0)
            close(p->wake_fd);
        cio__free(p->w);
        cio__free(p);
        return r;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->join_lock, NULL);
    r = cio__thread_start(&p->coord, coord_main, p, "cio-ppool");
    if (r < 0) {
        close(p->wake_fd);
        close(p->sess_fd);
        pthread_mutex_destroy(&p->lock);
        pthread_mutex_destroy(&p->join_lock);
        cio__free(p->w);
        cio__free(p);
        return r;
    }
    *out = p;
    return 0;
}

int cio_process_pool_submit(cio_process_pool *p, cio_process_fn fn,
                            const void *in, size_t len, cio_cfuture **out)
{
    if (out)
        *out = NULL;
    if (!p || !fn || (len && !in))
        return -EINVAL;
    if (len > CIO_PROCESS_MAX_INPUT)
        return -EMSGSIZE;
    int idx = fn_index(fn);
    if (idx < 0)
        return idx;
    pjob *j = cio__malloc(sizeof(*j) + len);
    if (!j)
        return -ENOMEM;
    j->fn = (uint32_t)idx;
    j->len = len;
    if (len)
        memcpy(j->data, in, len);
    cio_cfuture *cf;
    int r = cio__cfuture_alloc(&cf);
    if (r < 0) {
        cio__free(j);
        return r;
    }
    cf->job = j;
    cf->xfree = cio__free;
    if (out)
        cio_cfuture_retain(cf);
    pthread_mutex_lock(&p->lock);
    r = p->broken ? -EPIPE : p->shutdown ? -ESHUTDOWN : 0;
    if (r == 0) {
        if (p->qtail)
            p->qtail->qnext = cf;
        else
            p->qhead = cf;
        p->qtail = cf;
    }
    pthread_mutex_unlock(&p->lock);
    if (r < 0) {
        if (out)
            cio_cfuture_release(cf);
        cio_cfuture_release(cf);
        return r;
    }
    wake(p);
    if (out)
        *out = cf;
    return 0;
}

int cio_process_pool_shutdown(cio_process_pool *p, int wait,
                              int cancel_futures)
{
    if (!p)
        return -EINVAL;
    if (wait && pthread_equal(pthread_self(), p->coord))
        return -EDEADLK;
    pthread_mutex_lock(&p->lock);
    p->shutdown = 1;
    cio_cfuture *q = NULL;
    if (cancel_futures) {
        q = p->qhead;
        p->qhead = p->qtail = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    while (q) {
        cio_cfuture *next = q->qnext;
        cio_cfuture_cancel(q);
        cio_cfuture_set_running_or_notify_cancel(q);
        cio_cfuture_release(q);
        q = next;
    }
    wake(p);
    if (wait) {
        pthread_mutex_lock(&p->join_lock);
        if (!p->joined) {
            pthread_join(p->coord, NULL);
            p->joined = 1;
        }
        pthread_mutex_unlock(&p->join_lock);
    }
    return 0;
}

void cio_process_pool_free(cio_process_pool *p)
{
    if (!p || cio_process_pool_shutdown(p, 1, 0) < 0)
        return;
    /* A coordinator that stopped early (broken) leaves jobs queued. */
    cio_cfuture *q = p->qhead;
    while (q) {
        cio_cfuture *next = q->qnext;
        cio_cfuture_cancel(q);
        cio_cfuture_release(q);
        q = next;
    }
    close(p->wake_fd);
    close(p->sess_fd);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->join_lock);
    cio__free(p->w);
    cio__free(p);
}

int cio_process_pool_map(cio_process_pool *p, cio_process_fn fn,
                         const void *ins, size_t in_size, size_t n,
                         void *outs, size_t out_size, int64_t timeout,
                         int *errors)
{
    if (!p || !fn || (n && ((!ins && in_size) || (!outs && out_size))))
        return -EINVAL;
    int64_t deadline = cio__deadline(timeout);
    cio_cfuture **fs = cio__calloc(n ? n : 1, sizeof(*fs));
    if (!fs)
        return -ENOMEM;
    int r = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        r = cio_process_pool_submit(
            p, fn, in_size ? (const char *)ins + i * in_size : NULL, in_size,
            &fs[i]);
        if (r < 0)
            break;
    }
    if (r < 0) {
        for (size_t j = 0; j < i; j++) {
            cio_cfuture_cancel(fs[j]);
            cio_cfuture_release(fs[j]);
        }
        cio__free(fs);
        return r;
    }
    int first = 0, timed_out = 0;
    for (i = 0; i < n; i++) {
        int64_t left = deadline == INT64_MAX ? -1 : deadline - cio__mono_ns();
        if (timed_out || (left < 0 && deadline != INT64_MAX))
            left = 0;
        if (timed_out)
            cio_cfuture_cancel(fs[i]);
        void *res;
        int e = cio_cfuture_result(fs[i], left, &res);
        if (e == -ETIMEDOUT && !timed_out) {
            timed_out = 1;
            cio_cfuture_cancel(fs[i]);
            e = cio_cfuture_result(fs[i], 0, &res);
        }
        if (e == 0)
            e = cio__bytes_copy_fixed(res, (char *)outs + i * out_size,
                                      out_size);
        if (errors)
            errors[i] = e;
        if (e < 0 && !first)
            first = e;
        cio_cfuture_release(fs[i]);
    }
    cio__free(fs);
    return timed_out ? -ETIMEDOUT : first;
}

int cio_process_pool_map_iter(cio_process_pool *p, cio_process_fn fn,
                              const void *ins, size_t in_size, size_t n,
                              int64_t timeout, cio_cfuture_iter **out)
{
    if (out)
        *out = NULL;
    if (!p || !fn || !out || (n && !ins && in_size))
        return -EINVAL;
    cio_cfuture_iter *it;
    int r = cio__cfuture_map_iter_new(n, timeout, &it);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        cio_cfuture *cf;
        r = cio_process_pool_submit(
            p, fn, in_size ? (const char *)ins + i * in_size : NULL, in_size,
            &cf);
        if (r < 0) {
            cio_cfuture_as_completed_free(it); /* cancels what was queued */
            return r;
        }
        cio__cfuture_map_iter_push(it, cf);
    }
    *out = it;
    return 0;
}

int cio__bytes_copy_fixed(const void *res, void *dst, size_t size)
{
    const cio_bytes *b = res;
    if (b->len != size)
        return -EMSGSIZE;
    if (size)
        memcpy(dst, b->data, size);
    return 0;
}
