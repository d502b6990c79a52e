/*
 * procs.c - process mode (sanic's workers=N): cio_http_run_processes
 * forks N worker processes, each running cio_http_run with one loop and
 * its own SO_REUSEPORT listener on the same port; the kernel spreads new
 * connections over them. The parent serves nothing: it waits for the
 * workers to listen (each writes one byte to a pipe from its on_start),
 * reports the port once, then waits for SIGINT/SIGTERM (or
 * cio_http_app_stop, or a worker's death) and stops them all with SIGTERM,
 * which each worker handles as cio_http_run does (graceful close up to
 * shutdown_timeout); a worker still there 5 s after that is killed.
 *
 * Port 0: the parent binds a placeholder socket (SO_REUSEPORT, never
 * listening, so it receives no connections) to learn a free port and to
 * hold it while the workers bind it; it is closed at the end.
 *
 * Rejected: the parent accepting and passing descriptors (one process in
 * every connection's path), one listener shared by inheritance (the
 * thundering herd and uneven spreading that SO_REUSEPORT fixes), and
 * restarting dead workers (sanic does not either; a supervisor's job).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http_int.h"

static int ready_fd = -1; /* in a worker: the pipe to the parent */

static void worker_listening(cio_http_app *app, int port, void *arg)
{
    (void)app, (void)port, (void)arg;
    if (ready_fd >= 0) {
        char b = 1;
        while (write(ready_fd, &b, 1) < 0 && errno == EINTR)
            ;
        close(ready_fd);
        ready_fd = -1;
    }
}

/* Runs in the child; never returns. */
static void worker_main(cio_http_app *app, const char *host, int port, int wfd)
{
    /* A worker outlives no parent: SIGTERM if it dies. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1)
        _exit(1);
    ready_fd = wfd;
    atomic_store(&app->running, 0); /* the parent's count, copied */
    atomic_store(&app->stop, 0);
    app->on_start = worker_listening;
    app->on_start_arg = NULL;
    cio__http_alog_after_fork(app);
    int r = cio_http_run(app, host, port, 1);
    cio__http_alog_stop(app); /* what this worker logged, written */
    _exit(r == 0 ? 0 : 1);
}

static int placeholder(const char *host, int *port)
{
    cio_sockaddr a;
    int r = cio_sockaddr_from_ip(&a, host ? host : "127.0.0.1", *port);
    if (r < 0)
        return r;
    int fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    cio_sockaddr b = {0};
    b.len = sizeof(b.ss);
    if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0 ||
        getsockname(fd, (struct sockaddr *)&b.ss, &b.len) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    *port = cio_sockaddr_port(&b);
    return fd;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reaps children that ended; returns how many are left. Sets *failed when
 * one ended other than with status 0. */
static int reap(pid_t *pids, int n, int hang, int *failed)
{
    int left = 0;
    for (int i = 0; i < n; i++) {
        if (pids[i] <= 0)
            continue;
        int st;
        pid_t p = waitpid(pids[i], &st, hang ? 0 : WNOHANG);
        if (p == pids[i] || (p < 0 && errno == ECHILD)) {
            if (p < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                *failed = 1;
            pids[i] = 0;
        } else {
            left++;
        }
    }
    return left;
}

int cio_http_run_processes(cio_http_app *app, const char *host, int port,
                           int processes)
{
    if (!app || port < 0 || port > 65535)
        return -EINVAL;
    if (processes < 1)
        processes = 1;
    if (atomic_load(&app->running))
        return -EBUSY;
    atomic_store(&app->stop, 0);
    int hold = placeholder(host, &port);
    if (hold < 0)
        return hold;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        int e = -errno;
        close(hold);
        return e;
    }
    pid_t *pids = calloc((size_t)processes, sizeof(*pids));
    if (!pids) {
        close(hold);
        close(pfd[0]);
        close(pfd[1]);
        return -ENOMEM;
    }
    sigset_t stopsigs, old;
    sigemptyset(&stopsigs);
    sigaddset(&stopsigs, SIGINT);
    sigaddset(&stopsigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stopsigs, &old);
    atomic_fetch_add(&app->running, 1);
    int rc = 0, failed = 0, started = 0;
    for (; started < processes; started++) {
        pid_t p = fork();
        if (p < 0) {
            rc = -errno;
            break;
        }
        if (p == 0) {
            close(pfd[0]);
            close(hold);
            worker_main(app, host, port, pfd[1]);
        }
        pids[started] = p;
    }
    close(pfd[1]);
    /* Every worker listening (or one failing) within 15 s. */
    int listening = 0;
    int64_t until = now_ms() + 15000;
    while (rc == 0 && listening < started) {
        struct pollfd pf = {pfd[0], POLLIN, 0};
        int64_t left = until - now_ms();
        if (left <= 0) {
            rc = -ETIMEDOUT;
            break;
        }
        int k = poll(&pf, 1, (int)(left > 100 ? 100 : left));
        if (k > 0) {
            char b[64];
            ssize_t g = read(pfd[0], b, sizeof(b));
            if (g > 0)
                listening += (int)g;
            else if (g == 0 && listening < started)
                rc = CIO_ECHILD_DIED; /* all write ends closed */
        }
        if (reap(pids, started, 0, &failed) < started)
            rc = CIO_ECHILD_DIED;
    }
    close(pfd[0]);
    if (rc == 0) {
        atomic_store(&app->port, port);
        if (app->on_start)
            app->on_start(app, port, app->on_start_arg);
        struct timespec tick = {0, 100 * 1000 * 1000};
        while (!atomic_load(&app->stop)) {
            int s = sigtimedwait(&stopsigs, NULL, &tick);
            if (s == SIGINT || s == SIGTERM)
                break;
            if (reap(pids, started, 0, &failed) < started) {
                rc = CIO_ECHILD_DIED; /* one ended by itself */
                break;
            }
        }
    }
    /* Stop them all, gracefully, then for good. */
    for (int i = 0; i < started; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    int64_t grace = app->cfg.shutdown_timeout / CIO_MS + 5000;
    int64_t deadline = now_ms() + grace;
    while (reap(pids, started, 0, &failed) && now_ms() < deadline)
        usleep(10000);
    for (int i = 0; i < started; i++)
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
            failed = 1;
        }
    reap(pids, started, 1, &failed);
    free(pids);
    close(hold);
    atomic_store(&app->port, -EAGAIN);
    atomic_fetch_sub(&app->running, 1);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0 && failed)
        rc = CIO_ECHILD_DIED;
    return rc;
}
