/*
 * child_watch.c - reaping the children cio starts: pidfd first, SIGCHLD
 * as the fallback, and the loop-close sweep that leaves no zombie.
 *
 * pidfd (Linux 5.3+): pidfd_open right after the spawn; the pidfd is
 * registered on the loop as an awaitable descriptor in callback mode, and
 * its edge (readable = the child exited) runs waitpid(pid, WNOHANG) for
 * exactly that pid. It works the same in any thread and on any number of
 * loops, and signals sent through it cannot reach a recycled pid.
 *
 * SIGCHLD fallback (pidfd_open fails, or CIO_PIDFD=0 in the environment
 * when the loop's watcher is created, which the tests use): the loop
 * claims SIGCHLD through cio_loop_add_signal_handler before the spawn, and
 * on each (coalesced) SIGCHLD calls waitpid(pid, WNOHANG) for every child
 * of this loop that is still running. Never waitpid(-1): the process
 * pool's fork server and children started by other code are not ours to
 * reap. Limits, inherent to a process-wide signal: one loop at a time may
 * own SIGCHLD (another loop gets -EBUSY from create); a SIGCHLD handler of
 * the application's on that loop is replaced while cio has children;
 * SIGCHLD must not be blocked in every thread. The handler is dropped
 * when the last fallback child is reaped.
 *
 * Loop close: the watcher is a holder of the loop's bridge context
 * (exec/exec.h), so cio_loop_close calls back here on the loop thread
 * before the backend goes: a child still running is killed and reaped
 * synchronously (SIGKILL cannot be ignored, so the wait is short), and a
 * keep_running child is forgotten (documented in cio/process.h).
 * Rejected: a reaper thread blocked in waitpid per child (Python's
 * ThreadedChildWatcher: a thread per child), and waitpid(-1) loops
 * (Python's old SafeChildWatcher breaks other libraries' children).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/exec.h"
#include "proc/proc.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

struct cio__chw {
    cio__xhold hold; /* in the loop's bridge context: close hook */
    cio__xloop *x;
    cio_loop *loop;
    cio__chw *next; /* g_watchers */
    cio__list live; /* children not reaped yet */
    int use_pidfd;  /* 0: SIGCHLD mode for every child of this loop */
    int nsig;       /* live children watched through SIGCHLD */
    int sig_owned;  /* SIGCHLD handler installed on the loop */
};

/* Loops with a watcher. Each entry is touched only by its loop's thread;
 * the lock protects the list itself. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static cio__chw *g_watchers;

/* ---- reaping ---- */

/* One non-blocking reap attempt. Returns 1 if p was reaped. */
static int try_reap(cio_process *p)
{
    int st = 0;
    pid_t r;
    do {
        r = waitpid(p->pid, &st, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0)
        return 0;
    if (r < 0) /* ECHILD: reaped behind our back (SIGCHLD ignored?) */
        st = 255 << 8;
    cio__process_reaped(p, st);
    return 1;
}

static void unwatch(cio_process *p)
{
    cio__chw *w = p->chw;
    if (p->afd_open) {
        cio__afd_close(&p->afd);
        p->afd_open = 0;
    }
    if (p->pidfd >= 0) {
        close(p->pidfd);
        p->pidfd = -1;
    } else if (p->watched && w) {
        w->nsig--;
        if (w->nsig == 0 && w->sig_owned) {
            cio_loop_remove_signal_handler(w->loop, SIGCHLD);
            w->sig_owned = 0;
        }
    }
    if (p->watched) {
        cio__list_remove(&p->link);
        p->watched = 0;
    }
}

static void pidfd_event(cio__afd *a, unsigned revents)
{
    if (!(revents & CIO__EV_READ))
        return;
    cio_process *p = cio__container_of(a, cio_process, afd);
    try_reap(p); /* may free p */
}

static int on_sigchld(void *arg)
{
    cio__chw *w = arg;
    /* Reaping unlinks (and may free) the entry: step with a saved next. */
    cio__list *n = w->live.next;
    while (n != &w->live) {
        cio__list *next = n->next;
        cio_process *p = cio__container_of(n, cio_process, link);
        if (p->pidfd < 0)
            try_reap(p);
        n = next;
    }
    return 0;
}

/* ---- the watcher ---- */

static void chw_close(cio__xhold *h)
{
    cio__chw *w = cio__container_of(h, cio__chw, hold);
    while (!cio__list_empty(&w->live)) {
        cio_process *p = cio__container_of(w->live.next, cio_process, link);
        if (p->keep_running) {
            /* Forgotten: see cio_process_opts.keep_running. */
            unwatch(p);
            p->chw = NULL;
            if (p->freed)
                cio__process_destroy(p);
            continue;
        }
        if (p->kill_group) /* not reaped yet: the group is still its own */
            killpg(p->pid, SIGKILL);
        if (p->pidfd >= 0)
            syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
        else
            kill(p->pid, SIGKILL);
        int st = 0;
        pid_t r;
        do {
            r = waitpid(p->pid, &st, 0);
        } while (r < 0 && errno == EINTR);
        if (r < 0)
            st = 255 << 8;
        cio__process_reaped(p, st); /* unlinks; frees p if freed */
    }
    if (w->sig_owned)
        cio_loop_remove_signal_handler(w->loop, SIGCHLD);
    pthread_mutex_lock(&g_lock);
    for (cio__chw **pp = &g_watchers; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    }
    pthread_mutex_unlock(&g_lock);
    cio__xloop_release(w->x);
    cio__free(w);
}

cio__chw *cio__chw_get(cio_loop *loop)
{
    pthread_mutex_lock(&g_lock);
    cio__chw *w = g_watchers;
    while (w && w->loop != loop)
        w = w->next;
    pthread_mutex_unlock(&g_lock);
    if (w)
        return w;
    cio__xloop *x = cio__xloop_get(loop);
    if (!x)
        return NULL;
    w = cio__calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    cio__xloop_retain(x);
    w->x = x;
    w->loop = loop;
    w->hold.close = chw_close;
    cio__list_init(&w->live);
    const char *env = getenv("CIO_PIDFD");
    w->use_pidfd = !(env && strcmp(env, "0") == 0);
    cio__xloop_hold(x, &w->hold);
    pthread_mutex_lock(&g_lock);
    w->next = g_watchers;
    g_watchers = w;
    pthread_mutex_unlock(&g_lock);
    return w;
}

static int claim_sigchld(cio__chw *w)
{
    if (w->sig_owned)
        return 0;
    int r = cio_loop_add_signal_handler(w->loop, SIGCHLD, on_sigchld, w);
    if (r < 0)
        return r;
    w->sig_owned = 1;
    return 0;
}

int cio__chw_prepare(cio__chw *w)
{
    return w->use_pidfd ? 0 : claim_sigchld(w);
}

void cio__chw_unprepare(cio__chw *w)
{
    if (w->sig_owned && w->nsig == 0) {
        cio_loop_remove_signal_handler(w->loop, SIGCHLD);
        w->sig_owned = 0;
    }
}

/* The child could not be watched: kill and reap it now, so that a failed
 * create leaves nothing behind. */
static void reap_now(cio_process *p)
{
    kill(p->pid, SIGKILL);
    int st = 0;
    pid_t r;
    do {
        r = waitpid(p->pid, &st, 0);
    } while (r < 0 && errno == EINTR);
    p->status = r < 0 ? 255 << 8 : st;
    p->reaped = 1;
}

int cio__chw_watch(cio__chw *w, cio_process *p)
{
    p->chw = w;
    p->pidfd = -1;
    if (w->use_pidfd) {
        int fd = (int)syscall(SYS_pidfd_open, p->pid, 0);
        if (fd >= 0) {
            int r = cio__afd_open(&p->afd, w->loop, fd);
            if (r < 0) {
                close(fd);
                reap_now(p);
                return r;
            }
            p->afd.on_event = pidfd_event;
            p->afd_open = 1;
            p->pidfd = fd;
            cio__list_insert_tail(&w->live, &p->link);
            p->watched = 1;
            /* An exit before the registration is reported by the
             * registration itself (epoll checks readiness on ADD). */
            return 0;
        }
        if (errno == ENOSYS || errno == EPERM)
            w->use_pidfd = 0; /* pre-5.3 kernel or a seccomp filter */
        /* Any other failure (EMFILE...): this child uses SIGCHLD. */
    }
    int r = claim_sigchld(w);
    if (r < 0) {
        reap_now(p);
        return r;
    }
    cio__list_insert_tail(&w->live, &p->link);
    p->watched = 1;
    w->nsig++;
    /* The child may have exited before SIGCHLD was ours. */
    try_reap(p);
    return 0;
}

void cio__chw_unwatch(cio_process *p)
{
    unwatch(p);
}
