/*
 * server.c - asyncio's Server, shared by cio_start_server (streams, a task
 * per connection) and cio_create_server (a protocol per connection).
 *
 * How: each listening socket is an awaitable descriptor in callback mode.
 * Its read edge queues one accept run (a pooled handle) on the ready
 * queue; the run accepts until EAGAIN or 64 connections, then re-queues
 * itself if more are waiting, so a connection storm cannot starve the
 * connections already up. EMFILE/ENFILE (and the kernel's ENOBUFS/ENOMEM)
 * pause accepting for 100 ms, as asyncio does for one second, instead of
 * spinning on a listen queue that cannot shrink. The shortage is reported
 * once per episode, not on every retry (asyncio logs each one, ten lines
 * a second here): the episode ends when the listen queue has been drained
 * (EAGAIN), not at the first accept that works again, because a server
 * at its limit with connections churning succeeds and fails by turns and
 * would otherwise still report on most retries.
 * Sockets are bound at creation and listen from start_serving on (asyncio
 * calls listen() in _start_serving), so start_serving=False refuses
 * clients until serving begins.
 *
 * Connections of either kind are linked into the server through a
 * cio__srvlink and hold a reference on it, so close_clients/abort_clients
 * and wait_closed (closed and no connection left, asyncio 3.12) need not
 * know which kind they hold, and the handler's argument stays valid while
 * any connection lives.
 *
 * Rejected: an accept task per listener (curio's shape): a task per
 * listening socket costs a stack and a context switch per wake-up for
 * what is a loop of accept4 calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/conn.h"
#include "net/tls.h"

#define ACCEPT_BUDGET 64
#define EMFILE_PAUSE (100 * CIO_MS)

static void accept_run(cio__handle *h);

static void srv_unref(cio_server *s)
{
    if (--s->refs)
        return;
    cio_tls_ctx_free(s->conn.tls);
    cio__free(s->unix_path);
    cio__free(s->ls);
    cio__free(s);
}

static void check_closed(cio_server *s)
{
    if (s->closed && s->nconns == 0)
        cio__waitq_wake_all(&s->closed_wq, CIO__W_GRANTED, 0);
}

void cio__server_link(cio_server *s, cio__srvlink *l)
{
    l->srv = s;
    cio__list_insert_tail(&s->conns, &l->link);
    s->nconns++;
    s->refs++;
}

void cio__server_unlink(cio__srvlink *l)
{
    cio_server *s = l->srv;
    cio__list_remove(&l->link);
    s->nconns--;
    check_closed(s);
    srv_unref(s);
}

static void queue_accept(cio__listener *l, int64_t delay)
{
    cio_server *s = l->srv;
    if (l->h)
        return;
    cio__handle *h = cio__handle_get(s->loop);
    if (!h)
        return; /* the next edge tries again */
    h->icb = accept_run;
    h->arg = l;
    l->h = h;
    s->refs++;
    if (delay <= 0) {
        cio__handle_soon(s->loop, h);
    } else if (cio__handle_at(s->loop, h, cio_loop_time(s->loop) + delay) <
               0) {
        l->h = NULL; /* the handle was released */
        srv_unref(s);
    }
}

static void accept_run(cio__handle *h)
{
    cio__listener *l = h->arg;
    cio_server *s = l->srv;
    l->h = NULL;
    if (s->loop->discarding || !s->serving || l->fd < 0) {
        srv_unref(s);
        return;
    }
    int n = 0;
    for (; n < ACCEPT_BUDGET && s->serving && l->fd >= 0; n++) {
        int fd = cio__sys_accept4(l->fd, NULL, NULL,
                                  SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            if (e == EINTR || e == ECONNABORTED || e == EPROTO)
                continue;
            if (e == EAGAIN || e == EWOULDBLOCK) {
                cio__afd_clear(&l->afd, CIO__EV_READ);
                l->starved = 0; /* caught up: the episode is over */
                break;
            }
            if (!l->starved)
                cio__loop_report(s->loop, "server: accept failed, pausing",
                                 -e, NULL, NULL, NULL);
            l->starved = 1;
            queue_accept(l, EMFILE_PAUSE);
            srv_unref(s);
            return;
        }
        cio__sock_nodelay(fd, l->family);
        int r = s->kind == CIO__SRV_STREAMS ? cio__stream_accepted(s, fd)
                                            : cio__transport_accepted(s, fd);
        if (r < 0) {
            close(fd);
            cio__loop_report(s->loop, "server: connection setup failed", r,
                             NULL, NULL, NULL);
        }
    }
    if (n == ACCEPT_BUDGET && s->serving && l->fd >= 0 &&
        (l->afd.ready & CIO__EV_READ))
        queue_accept(l, 0);
    srv_unref(s);
}

static void listener_event(cio__afd *a, unsigned rev)
{
    cio__listener *l = cio__container_of(a, cio__listener, afd);
    if ((rev & CIO__EV_READ) && l->srv->serving)
        queue_accept(l, 0);
}

static int set_opts(int fd, int family, const cio_server_opts *o)
{
    int one = 1;
    if (o->reuse_address >= 0 &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        return CIO__ERRNO();
    if (o->reuse_port > 0 &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
        return CIO__ERRNO();
    if (family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
        return CIO__ERRNO();
    return 0;
}

/* Binds one socket per resolved address. Returns the count or an error. */
static int bind_all(cio_server *s, const char *host, int port,
                    const cio_server_opts *o)
{
    char svc[8];
    snprintf(svc, sizeof(svc), "%d", port);
    struct addrinfo *res = NULL;
    int r = cio__resolve(s->loop, host, svc, AF_UNSPEC, SOCK_STREAM,
                         AI_PASSIVE, &res);
    if (r < 0)
        return r;
    size_t n = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        n++;
    s->ls = cio__calloc(n ? n : 1, sizeof(*s->ls));
    if (!s->ls) {
        freeaddrinfo(res);
        return -ENOMEM;
    }
    r = 0;
    int skipped = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = cio__sock_fd(ai->ai_family, SOCK_STREAM, ai->ai_protocol);
        if (fd == -EAFNOSUPPORT) {
            /* No IPv6 in this kernel: the wildcard, or a name such as
             * "localhost" that also resolves to ::1, is served on the
             * families there are (asyncio skips them too). */
            skipped = 1;
            continue;
        }
        if (fd < 0) {
            r = fd;
            break;
        }
        r = set_opts(fd, ai->ai_family, o);
        if (r == 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
            r = CIO__ERRNO();
        if (r < 0) {
            close(fd);
            break;
        }
        cio__listener *l = &s->ls[s->nls++];
        l->fd = fd;
        l->family = ai->ai_family;
    }
    freeaddrinfo(res);
    if (r == 0 && s->nls == 0)
        r = skipped ? -EAFNOSUPPORT : CIO_ERESOLVE;
    return r;
}

static void close_listeners(cio_server *s)
{
    for (size_t i = 0; i < s->nls; i++) {
        cio__listener *l = &s->ls[i];
        if (l->fd < 0)
            continue;
        if (l->h && l->h->state == CIO__H_TIMER) {
            cio__handle_cancel(s->loop, l->h);
            l->h = NULL;
            srv_unref(s); /* s->refs > 1 here: the caller holds one */
        }
        if (l->registered)
            cio__afd_close(&l->afd);
        close(l->fd);
        l->fd = -1;
    }
}

int cio__server_open(cio_loop *loop, int kind, void *fn, void *arg,
                     const char *host, int port, const cio_server_opts *opts,
                     cio_server **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    cio_server_opts o = CIO_SERVER_OPTS_INIT;
    if (opts)
        o = *opts;
    if (!fn || (!o.use_sock && (port < 0 || port > 65535)) ||
        (o.use_sock && o.sock < 0) || o.backlog < 0)
        return -EINVAL;
    cio_server *s = cio__calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    r = cio__conn_opts_fix(&o.conn, &s->conn);
    s->conn.tls = NULL; /* retained below, once the server exists */
    s->conn.server_hostname = NULL;
    if (r == 0 && o.conn.tls && cio__tls_ctx_role(o.conn.tls) != CIO_TLS_SERVER)
        r = -EINVAL;
    if (r < 0) {
        cio__free(s);
        return r;
    }
    s->loop = loop;
    s->refs = 1;
    s->kind = kind;
    if (kind == CIO__SRV_STREAMS)
        s->handler = (cio_stream_handler)fn;
    else
        s->factory = (cio_protocol_factory)fn;
    s->arg = arg;
    s->backlog = o.backlog ? o.backlog : 100;
    cio__list_init(&s->conns);
    cio__waitq_init(&s->closed_wq);
    cio__waitq_init(&s->forever_wq);
    if (o.use_sock) {
        s->ls = cio__calloc(1, sizeof(*s->ls));
        if (!s->ls) {
            cio__free(s);
            return -ENOMEM;
        }
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fl = fcntl(o.sock, F_GETFL);
        if (fl < 0 || getsockname(o.sock, (struct sockaddr *)&ss, &len) < 0 ||
            fcntl(o.sock, F_SETFL, fl | O_NONBLOCK) < 0 ||
            fcntl(o.sock, F_SETFD, FD_CLOEXEC) < 0) {
            r = fl < 0 ? -EBADF : CIO__ERRNO();
            cio__free(s->ls);
            cio__free(s);
            return r;
        }
        s->ls[0].fd = o.sock;
        s->ls[0].family = ss.ss_family;
        s->nls = 1;
    } else {
        r = bind_all(s, host, port, &o);
        if (r < 0) {
            close_listeners(s);
            srv_unref(s);
            return r;
        }
    }
    for (size_t i = 0; i < s->nls; i++) {
        cio__listener *l = &s->ls[i];
        l->srv = s;
        r = cio__afd_open(&l->afd, loop, l->fd);
        if (r < 0) {
            if (o.use_sock)
                l->fd = -1; /* stays the caller's */
            close_listeners(s);
            srv_unref(s);
            return r;
        }
        l->registered = 1;
        l->afd.on_event = listener_event;
    }
    if (!o.no_start) {
        r = cio_server_start_serving(s);
        if (r < 0) {
            if (o.use_sock)
                s->ls[0].fd = -1, cio__afd_close(&s->ls[0].afd),
                s->ls[0].registered = 0;
            close_listeners(s);
            srv_unref(s);
            return r;
        }
    }
    if (o.conn.tls) {
        cio__tls_ctx_retain(o.conn.tls);
        s->conn.tls = o.conn.tls;
    }
    *out = s;
    return 0;
}

int cio_start_server(cio_loop *loop, cio_stream_handler handler, void *arg,
                     const char *host, int port, const cio_server_opts *opts,
                     cio_server **out)
{
    return cio__server_open(loop, CIO__SRV_STREAMS, (void *)handler, arg,
                            host, port, opts, out);
}

int cio_create_server(cio_loop *loop, cio_protocol_factory factory, void *arg,
                      const char *host, int port, const cio_server_opts *opts,
                      cio_server **out)
{
    return cio__server_open(loop, CIO__SRV_PROTOCOL, (void *)factory, arg,
                            host, port, opts, out);
}

static int s_check(const cio_server *s)
{
    if (!s || s->freed)
        return -EINVAL;
    return cio__loop_check(s->loop);
}

int cio_server_start_serving(cio_server *s)
{
    int r = s_check(s);
    if (r < 0)
        return r;
    if (s->closed)
        return -EINVAL;
    if (s->serving)
        return 0;
    for (size_t i = 0; i < s->nls; i++)
        if (listen(s->ls[i].fd, s->backlog) < 0)
            return CIO__ERRNO();
    s->serving = 1;
    for (size_t i = 0; i < s->nls; i++) {
        s->ls[i].afd.ready |= CIO__EV_READ; /* try first */
        queue_accept(&s->ls[i], 0);
    }
    return 0;
}

int cio_server_is_serving(const cio_server *s)
{
    return s && !s->freed && s->serving;
}

int cio_server_close(cio_server *s)
{
    int r = s_check(s);
    if (r < 0)
        return r;
    if (s->closed)
        return 0;
    s->closed = 1;
    s->serving = 0;
    close_listeners(s);
    if (s->unix_path) {
        /* asyncio 3.13's cleanup_socket: only the file this server
         * bound, not one another process put there since. */
        struct stat st;
        if (lstat(s->unix_path, &st) == 0 && S_ISSOCK(st.st_mode) &&
            st.st_dev == s->unix_dev && st.st_ino == s->unix_ino)
            unlink(s->unix_path);
        cio__free(s->unix_path);
        s->unix_path = NULL;
    }
    cio__waitq_wake_all(&s->forever_wq, CIO__W_GRANTED, 0);
    check_closed(s);
    return 0;
}

static int close_all(cio_server *s, int abort)
{
    int r = s_check(s);
    if (r < 0)
        return r;
    int n = 0;
    s->refs++; /* a close may end the last connection */
    cio__list *it = s->conns.next;
    while (it != &s->conns) {
        cio__list *next = it->next;
        cio__srvlink *l = cio__container_of(it, cio__srvlink, link);
        l->close(l, abort);
        n++;
        it = next;
    }
    srv_unref(s);
    return n;
}

int cio_server_close_clients(cio_server *s) { return close_all(s, 0); }

int cio_server_abort_clients(cio_server *s) { return close_all(s, 1); }

static int task_of(const cio_server *s, cio__task **out)
{
    cio__task *t = cio__tls_task;
    if (!s || s->freed || !t || t->f.loop != s->loop)
        return -EINVAL;
    *out = t;
    return 0;
}

int cio_server_wait_closed(cio_server *s)
{
    cio__task *t;
    int r = task_of(s, &t);
    if (r < 0)
        return r;
    if (s->closed && s->nconns == 0)
        return 0;
    cio__waiter w;
    r = cio__waitq_wait(&s->closed_wq, &w, t, "server closed");
    return r < 0 ? r : 0;
}

int cio_server_serve_forever(cio_server *s)
{
    cio__task *t;
    int r = task_of(s, &t);
    if (r < 0)
        return r;
    if (s->forever_wq.n)
        return -EINVAL; /* asyncio: "server is already being awaited" */
    if (s->closed)
        return 0;
    r = cio_server_start_serving(s);
    if (r < 0)
        return r;
    cio__waiter w;
    r = cio__waitq_wait(&s->forever_wq, &w, t, "serve_forever");
    if (r == -ECANCELED) {
        cio_server_close(s);
        return -ECANCELED;
    }
    return r;
}

int cio_server_sockets(const cio_server *s, int *fds, size_t cap)
{
    if (!s || s->freed || (!fds && cap))
        return -EINVAL;
    int n = 0;
    for (size_t i = 0; i < s->nls; i++) {
        if (s->ls[i].fd < 0)
            continue;
        if ((size_t)n < cap)
            fds[n] = s->ls[i].fd;
        n++;
    }
    return n;
}

int cio_server_sockname(const cio_server *s, size_t i, cio_sockaddr *out)
{
    if (!s || s->freed || !out)
        return -EINVAL;
    size_t k = 0;
    for (size_t j = 0; j < s->nls; j++) {
        if (s->ls[j].fd < 0)
            continue;
        if (k++ == i) {
            out->len = sizeof(out->ss);
            if (getsockname(s->ls[j].fd, (struct sockaddr *)&out->ss,
                            &out->len) < 0) {
                out->len = 0;
                return CIO__ERRNO();
            }
            return 0;
        }
    }
    return -ENOENT;
}

int cio_server_port(const cio_server *s)
{
    cio_sockaddr a;
    int r = cio_server_sockname(s, 0, &a);
    if (r < 0)
        return r;
    return cio_sockaddr_port(&a);
}

int cio_server_connections(const cio_server *s)
{
    if (!s || s->freed)
        return -EINVAL;
    return (int)s->nconns;
}

int cio_server_free(cio_server *s)
{
    if (!s)
        return 0;
    int r = s_check(s);
    if (r < 0)
        return r;
    if (cio__waitq_busy(&s->closed_wq) || cio__waitq_busy(&s->forever_wq))
        return -EBUSY;
    cio_server_close(s);
    s->freed = 1;
    srv_unref(s);
    return 0;
}
