/*
 * datagram.c - UDP datagram endpoints (asyncio's create_datagram_endpoint,
 * DatagramProtocol, DatagramTransport).
 *
 * How: the socket is one edge-triggered cio__afd in callback mode, like
 * the stream transports. A read edge drains the socket with recvmmsg in
 * batches of recv_batch datagrams, each into its own recv_size slot (the
 * slots are allocated at the first read), until EAGAIN. A send is tried
 * at once with sendto; on EAGAIN/ENOBUFS it is copied into a FIFO queue
 * (bounded by max_queue bytes) that the write edge flushes with sendmmsg.
 * Errors of the network come back from recv/send on a connected socket
 * (the kernel turns an ICMP port unreachable into ECONNREFUSED on the
 * next call): they go to error_received and the endpoint lives on.
 *
 * connection_lost always runs from the loop (a queued handle), never from
 * inside close or a callback, and the memory goes after it, so a protocol
 * may close its transport from datagram_received.
 *
 * Rejected: IP_RECVERR's error queue (it reports errors of unconnected
 * sockets too, but needs a MSG_ERRQUEUE read per error; asyncio relies on
 * the plain errno as well), and a receive buffer shared by all endpoints
 * of a thread (the slots would have to be sized for the largest).
 * UDP GSO/GRO are not used (not measured yet).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/addr.h"
#include "net/afd.h"

#define MAX_UDP 65536
#define SEND_BATCH 32

typedef struct qdgram {
    struct qdgram *next;
    cio_sockaddr to; /* len 0: connected */
    size_t len;
    char data[];
} qdgram;

struct cio_datagram_transport {
    cio__afd afd;
    cio_loop *loop;
    int fd;
    int connected;
    int closing, closed, lost_queued;
    int lost_err;
    cio__handle *lost_h; /* taken at creation: finishing cannot fail */
    const cio_datagram_protocol *proto;
    void *ctx;
    size_t recv_size;
    unsigned recv_batch;
    size_t max_queue;
    char *slots; /* recv_batch x recv_size, at the first read */
    struct mmsghdr *msgs;
    struct iovec *iovs;
    struct sockaddr_storage *froms;
    qdgram *qhead, *qtail;
    size_t qbytes;
};

static void report(cio_datagram_transport *t, int err)
{
    if (t->proto->error_received && !t->closed)
        t->proto->error_received(t, err, t->ctx);
}

static void lost_run(cio__handle *h)
{
    cio_datagram_transport *t = h->arg;
    if (t->proto->connection_lost && !t->loop->discarding)
        t->proto->connection_lost(t, t->lost_err, t->ctx);
    cio__free(t->slots);
    cio__free(t->msgs);
    cio__free(t->iovs);
    cio__free(t->froms);
    cio__free(t);
}

static void queue_drop(cio_datagram_transport *t)
{
    while (t->qhead) {
        qdgram *q = t->qhead;
        t->qhead = q->next;
        cio__free(q);
    }
    t->qtail = NULL;
    t->qbytes = 0;
}

/* Ends the endpoint: closes the descriptor now and queues connection_lost. */
static void finish(cio_datagram_transport *t, int err)
{
    if (t->closed)
        return;
    t->closed = 1;
    t->closing = 1;
    queue_drop(t);
    cio__afd_close(&t->afd);
    close(t->fd);
    t->fd = -1;
    t->lost_err = err;
    cio__handle *h = t->lost_h;
    t->lost_h = NULL;
    h->icb = lost_run;
    h->arg = t;
    cio__handle_soon(t->loop, h);
}

/* An errno from recv/send that is the network's, not the socket's. */
static int transient(int err)
{
    switch (err) {
    case -ECONNREFUSED:
    case -EHOSTUNREACH:
    case -ENETUNREACH:
    case -EHOSTDOWN:
    case -ENETDOWN:
    case -EMSGSIZE:
    case -ENOBUFS:
    case -ENOMEM:
    case -EPERM:    /* a firewall's verdict */
    case -EACCES:   /* broadcast without SO_BROADCAST */
    case -EADDRNOTAVAIL:
    case -EINVAL:   /* address of the wrong family */
    case -ENOPROTOOPT:
    case -EPROTO:
    case -ETIMEDOUT:
    case -ECONNRESET:
        return 1;
    default:
        return 0;
    }
}

static int slots_alloc(cio_datagram_transport *t)
{
    if (t->slots)
        return 0;
    unsigned n = t->recv_batch;
    t->slots = cio__malloc((size_t)n * t->recv_size);
    t->msgs = cio__calloc(n, sizeof(*t->msgs));
    t->iovs = cio__calloc(n, sizeof(*t->iovs));
    t->froms = cio__calloc(n, sizeof(*t->froms));
    if (!t->slots || !t->msgs || !t->iovs || !t->froms) {
        cio__free(t->slots);
        cio__free(t->msgs);
        cio__free(t->iovs);
        cio__free(t->froms);
        t->slots = NULL;
        t->msgs = NULL;
        t->iovs = NULL;
        t->froms = NULL;
        return -ENOMEM;
    }
    return 0;
}

static void do_read(cio_datagram_transport *t)
{
    if (slots_alloc(t) < 0) {
        report(t, -ENOMEM);
        return; /* the next edge tries again */
    }
    while (!t->closing) {
        unsigned n = t->recv_batch;
        for (unsigned i = 0; i < n; i++) {
            t->iovs[i].iov_base = t->slots + (size_t)i * t->recv_size;
            t->iovs[i].iov_len = t->recv_size;
            memset(&t->msgs[i].msg_hdr, 0, sizeof(t->msgs[i].msg_hdr));
            t->msgs[i].msg_hdr.msg_iov = &t->iovs[i];
            t->msgs[i].msg_hdr.msg_iovlen = 1;
            t->msgs[i].msg_hdr.msg_name = &t->froms[i];
            t->msgs[i].msg_hdr.msg_namelen = sizeof(t->froms[i]);
        }
        int got = recvmmsg(t->fd, t->msgs, n, MSG_DONTWAIT, NULL);
        if (got < 0) {
            int e = -errno;
            if (e == -EAGAIN || e == -EWOULDBLOCK) {
                cio__afd_clear(&t->afd, CIO__EV_READ);
                return;
            }
            if (e == -EINTR)
                continue;
            if (transient(e)) {
                report(t, e);
                continue; /* the error was consumed: read on */
            }
            finish(t, e);
            return;
        }
        for (int i = 0; i < got && !t->closing; i++) {
            struct msghdr *m = &t->msgs[i].msg_hdr;
            size_t len = t->msgs[i].msg_len;
            cio_sockaddr from = {.len = 0};
            if (m->msg_namelen > 0 &&
                m->msg_namelen <= sizeof(struct sockaddr_storage))
                cio_sockaddr_set(&from, (struct sockaddr *)m->msg_name,
                                 m->msg_namelen);
            if (t->proto->datagram_received)
                t->proto->datagram_received(t, m->msg_iov->iov_base,
                                            len > t->recv_size ? t->recv_size
                                                               : len,
                                            &from, t->ctx);
            if (m->msg_flags & MSG_TRUNC)
                report(t, -EMSGSIZE);
        }
        if ((unsigned)got < n) {
            /* A short batch: the queue is empty unless more arrived
             * meanwhile, which raises a new edge. */
            cio__afd_clear(&t->afd, CIO__EV_READ);
            return;
        }
    }
}

static ssize_t send_one(cio_datagram_transport *t, const void *p, size_t n,
                        const cio_sockaddr *to)
{
    ssize_t r = to && to->len
                    ? sendto(t->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL,
                             (const struct sockaddr *)&to->ss, to->len)
                    : send(t->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    return r >= 0 ? r : -errno;
}

/* Sends queued datagrams with sendmmsg until empty or EAGAIN. */
static void flush(cio_datagram_transport *t)
{
    while (t->qhead && !t->closed) {
        struct mmsghdr mm[SEND_BATCH];
        struct iovec iov[SEND_BATCH];
        unsigned n = 0;
        for (qdgram *q = t->qhead; q && n < SEND_BATCH; q = q->next, n++) {
            iov[n].iov_base = q->data;
            iov[n].iov_len = q->len;
            memset(&mm[n], 0, sizeof(mm[n]));
            mm[n].msg_hdr.msg_iov = &iov[n];
            mm[n].msg_hdr.msg_iovlen = 1;
            if (q->to.len) {
                mm[n].msg_hdr.msg_name = &q->to.ss;
                mm[n].msg_hdr.msg_namelen = q->to.len;
            }
        }
        int sent = sendmmsg(t->fd, mm, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0) {
            int e = -errno;
            if (e == -EAGAIN || e == -EWOULDBLOCK || e == -ENOBUFS) {
                cio__afd_clear(&t->afd, CIO__EV_WRITE);
                return;
            }
            if (e == -EINTR)
                continue;
            if (!transient(e)) {
                finish(t, e);
                return;
            }
            /* The first datagram failed for the network's reason: drop it,
             * report, go on with the rest. */
            sent = 1;
            report(t, e);
            if (t->closed)
                return;
        }
        for (int i = 0; i < sent; i++) {
            qdgram *q = t->qhead;
            t->qhead = q->next;
            t->qbytes -= q->len;
            cio__free(q);
        }
        if (!t->qhead)
            t->qtail = NULL;
    }
    if (!t->qhead && t->closing && !t->closed)
        finish(t, 0);
}

static void on_event(cio__afd *a, unsigned rev)
{
    cio_datagram_transport *t =
        cio__container_of(a, cio_datagram_transport, afd);
    if (t->closed)
        return;
    if ((rev & CIO__EV_WRITE) && t->qhead)
        flush(t);
    if ((rev & CIO__EV_READ) && !t->closing)
        do_read(t);
}

int cio_datagram_transport_sendto(cio_datagram_transport *t, const void *data,
                                  size_t len, const cio_sockaddr *addr)
{
    if (!t || (!data && len))
        return -EINVAL;
    if (t->closing)
        return -EBADF;
    if (t->connected ? addr && addr->len : !addr || !addr->len)
        return -EINVAL;
    if (len > MAX_UDP - 8 - 20)
        return -EMSGSIZE;
    if (!t->qhead) {
        for (;;) {
            ssize_t r = send_one(t, data, len, addr);
            if (r >= 0)
                return 0;
            if (r == -EINTR)
                continue;
            if (r == -EAGAIN || r == -EWOULDBLOCK || r == -ENOBUFS)
                break;
            if (r == -EMSGSIZE || r == -EINVAL)
                return (int)r; /* this datagram's fault: tell the caller */
            if (transient((int)r)) {
                report(t, (int)r);
                return 0;
            }
            finish(t, (int)r);
            return (int)r;
        }
        cio__afd_clear(&t->afd, CIO__EV_WRITE);
    }
    if (t->qbytes + len > t->max_queue)
        return -ENOBUFS;
    qdgram *q = cio__malloc(sizeof(*q) + (len ? len : 1));
    if (!q)
        return -ENOMEM;
    q->next = NULL;
    q->len = len;
    q->to = addr ? *addr : (cio_sockaddr){.len = 0};
    if (len)
        memcpy(q->data, data, len);
    if (t->qtail)
        t->qtail->next = q;
    else
        t->qhead = q;
    t->qtail = q;
    t->qbytes += len;
    /* The kernel may have drained between the failed send and now, with
     * the edge already consumed: if so, flush at once. */
    if (t->afd.ready & CIO__EV_WRITE)
        flush(t);
    return 0;
}

void cio_datagram_transport_close(cio_datagram_transport *t)
{
    if (!t || t->closing)
        return;
    t->closing = 1;
    if (!t->qhead)
        finish(t, 0);
}

void cio_datagram_transport_abort(cio_datagram_transport *t)
{
    if (!t || t->closed)
        return;
    finish(t, 0);
}

int cio_datagram_transport_is_closing(const cio_datagram_transport *t)
{
    return t ? t->closing : 0;
}

size_t cio_datagram_transport_buffer_size(const cio_datagram_transport *t)
{
    return t ? t->qbytes : 0;
}

int cio_datagram_transport_fileno(const cio_datagram_transport *t)
{
    if (!t)
        return -EINVAL;
    return t->closed ? -EBADF : t->fd;
}

int cio_datagram_transport_sockname(cio_datagram_transport *t,
                                    cio_sockaddr *out)
{
    if (!t || !out)
        return -EINVAL;
    if (t->closed)
        return -EBADF;
    return cio__sockaddr_of(t->fd, 0, out);
}

int cio_datagram_transport_peername(cio_datagram_transport *t,
                                    cio_sockaddr *out)
{
    if (!t || !out)
        return -EINVAL;
    if (t->closed)
        return -EBADF;
    return cio__sockaddr_of(t->fd, 1, out);
}

int cio_datagram_transport_multicast(cio_datagram_transport *t,
                                     const char *group_ip,
                                     const char *iface_ip, int ifindex,
                                     int join)
{
    if (!t || !group_ip)
        return -EINVAL;
    if (t->closed)
        return -EBADF;
    cio_sockaddr g, me;
    if (cio_sockaddr_from_ip(&g, group_ip, 0) < 0 ||
        cio__sockaddr_of(t->fd, 0, &me) < 0 ||
        g.ss.ss_family != me.ss.ss_family)
        return -EINVAL;
    int r;
    if (g.ss.ss_family == AF_INET) {
        struct ip_mreq m;
        memset(&m, 0, sizeof(m));
        m.imr_multiaddr = ((struct sockaddr_in *)(void *)&g.ss)->sin_addr;
        if (iface_ip) {
            cio_sockaddr i;
            if (cio_sockaddr_from_ip(&i, iface_ip, 0) < 0 ||
                i.ss.ss_family != AF_INET)
                return -EINVAL;
            m.imr_interface = ((struct sockaddr_in *)(void *)&i.ss)->sin_addr;
        }
        r = setsockopt(t->fd, IPPROTO_IP,
                       join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m,
                       sizeof(m));
    } else {
        struct ipv6_mreq m;
        memset(&m, 0, sizeof(m));
        m.ipv6mr_multiaddr = ((struct sockaddr_in6 *)(void *)&g.ss)->sin6_addr;
        m.ipv6mr_interface = (unsigned)ifindex;
        r = setsockopt(t->fd, IPPROTO_IPV6,
                       join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &m,
                       sizeof(m));
    }
    return r < 0 ? -errno : 0;
}

/* ---- creation ---- */

static void nop_run(cio__handle *h)
{
    (void)h;
}

static int wrap(cio_loop *loop, int fd, int connected,
                const cio_datagram_protocol *proto, void *ctx,
                const cio_datagram_opts *opts, cio_datagram_transport **out);

static int resolve_one(cio_loop *loop, const char *host, int port, int family,
                       int passive, cio_sockaddr *out)
{
    char svc[8];
    snprintf(svc, sizeof(svc), "%d", port);
    struct addrinfo *res = NULL;
    int r = cio__resolve(loop, host, svc, family, SOCK_DGRAM,
                         passive ? AI_PASSIVE : 0, &res);
    if (r < 0)
        return r;
    r = res ? cio_sockaddr_set(out, res->ai_addr, res->ai_addrlen)
            : CIO_ERESOLVE;
    freeaddrinfo(res);
    return r;
}

int cio_create_datagram_endpoint(const cio_datagram_protocol *proto,
                                 void *ctx, const cio_datagram_opts *opts,
                                 cio_datagram_transport **out)
{
    if (out)
        *out = NULL;
    cio_datagram_opts def = CIO_DATAGRAM_OPTS_INIT;
    if (!opts)
        opts = &def;
    cio__task *task = cio__tls_task;
    if (!proto || !out || !task || opts->local_port < 0 ||
        opts->local_port > 65535 || opts->remote_port < 0 ||
        opts->remote_port > 65535 || opts->recv_size > MAX_UDP ||
        (opts->family != AF_UNSPEC && opts->family != AF_INET &&
         opts->family != AF_INET6))
        return -EINVAL;
    cio_loop *loop = task->f.loop;
    int family = opts->family;
    cio_sockaddr remote = {.len = 0}, local = {.len = 0};
    int r;
    if (opts->remote_host) {
        r = resolve_one(loop, opts->remote_host, opts->remote_port, family, 0,
                        &remote);
        if (r < 0)
            return r;
        family = remote.ss.ss_family;
    }
    int want_bind = opts->local_host || opts->local_port > 0 ||
                    !opts->remote_host;
    if (want_bind) {
        r = resolve_one(loop, opts->local_host, opts->local_port, family, 1,
                        &local);
        if (r < 0)
            return r;
        family = local.ss.ss_family;
    }
    int fd = cio__sock_fd(family, SOCK_DGRAM, 0);
    if (fd < 0)
        return fd;
    int one = 1;
    r = 0;
    if (opts->reuse_port &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
        r = -errno;
    if (!r && opts->allow_broadcast &&
        setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0)
        r = -errno;
    if (!r && want_bind &&
        bind(fd, (struct sockaddr *)&local.ss, local.len) < 0)
        r = -errno;
    if (!r && remote.len &&
        connect(fd, (struct sockaddr *)&remote.ss, remote.len) < 0)
        r = -errno;
    if (r < 0) {
        close(fd);
        return r;
    }
    r = wrap(loop, fd, remote.len > 0, proto, ctx, opts, out);
    if (r < 0)
        close(fd);
    return r;
}

/* Makes the transport around fd (not closed on failure). */
static int wrap(cio_loop *loop, int fd, int connected,
                const cio_datagram_protocol *proto, void *ctx,
                const cio_datagram_opts *opts, cio_datagram_transport **out)
{
    int r = 0;
    cio_datagram_transport *t = cio__calloc(1, sizeof(*t));
    if (!t || !(t->lost_h = cio__handle_get(loop)))
        r = -ENOMEM;
    if (!r)
        r = cio__afd_open(&t->afd, loop, fd);
    if (r < 0) {
        if (t && t->lost_h) { /* give the unused handle back */
            t->lost_h->icb = nop_run;
            cio__handle_soon(loop, t->lost_h);
        }
        cio__free(t);
        return r;
    }
    t->afd.on_event = on_event;
    t->afd.ready |= CIO__EV_WRITE; /* try the system call first */
    t->loop = loop;
    t->fd = fd;
    t->connected = connected;
    t->proto = proto;
    t->ctx = ctx;
    t->recv_size = opts->recv_size ? opts->recv_size : MAX_UDP;
    t->recv_batch = opts->recv_batch ? opts->recv_batch : 8;
    if (t->recv_batch > 1024)
        t->recv_batch = 1024;
    t->max_queue = opts->max_queue ? opts->max_queue : (size_t)1 << 20;
    if (proto->connection_made)
        proto->connection_made(t, ctx);
    *out = t;
    return 0;
}

int cio_create_datagram_endpoint_from_fd(const cio_datagram_protocol *proto,
                                         void *ctx, int fd,
                                         const cio_datagram_opts *opts,
                                         cio_datagram_transport **out)
{
    if (out)
        *out = NULL;
    cio_datagram_opts def = CIO_DATAGRAM_OPTS_INIT;
    if (!opts)
        opts = &def;
    cio__task *task = cio__tls_task;
    if (!proto || !out || !task || fd < 0 || opts->recv_size > MAX_UDP)
        return -EINVAL;
    int type;
    socklen_t tl = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
        return -errno;
    if (type != SOCK_DGRAM)
        return -EINVAL;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int connected = getpeername(fd, (struct sockaddr *)&ss, &sl) == 0;
    return wrap(task->f.loop, fd, connected, proto, ctx, opts, out);
}
