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
 * Send batching and offloads (issue 11): datagrams sent from the
 * callbacks of one read batch are copied into a pending batch and sent
 * together when the batch's callbacks are done (an echo server's replies
 * leave in one system call instead of one each). A run of them to the
 * same peer, all of one size but the last, goes as one sendmsg with
 * UDP_SEGMENT (GSO: the kernel cuts it into datagrams) where the kernel
 * has it; the rest with sendmmsg. UDP_GRO is turned on for UDP endpoints
 * whose recv_size is the 64 KiB maximum (a coalesced buffer must fit a
 * slot whole): the kernel may then hand over several datagrams of one
 * flow in one buffer with their size in a UDP_GRO control message, and
 * they are delivered one by one. Both are probed per socket at creation
 * and can be turned off (cio_datagram_opts.offload = -1).
 *
 * Rejected: IP_RECVERR's error queue (it reports errors of unconnected
 * sockets too, but needs a MSG_ERRQUEUE read per error; asyncio relies on
 * the plain errno as well), and a receive buffer shared by all endpoints
 * of a thread (the slots would have to be sized for the largest).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/addr.h"
#include "net/afd.h"

#define MAX_UDP 65536
#define SEND_BATCH 32
#define PB_MAX 64             /* datagrams in a pending batch (GSO's limit) */
#define PB_ARENA 65536        /* their bytes */
#define GSO_MAX (65535 - 8 - 40) /* bytes of one UDP_SEGMENT send */
#define CTRL_SPACE CMSG_SPACE(sizeof(int))

typedef struct pbent {
    size_t off, len;
    cio_sockaddr to; /* len 0: connected */
} pbent;

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
    /* send batching and offloads */
    int corked;         /* inside the callbacks of a read batch */
    int gso, gro;       /* in use on this socket */
    size_t gso_seg_max; /* larger segments were refused (path MTU) */
    uint64_t gso_sends, gro_reads;
    char *pb;           /* pending batch: PB_ARENA bytes */
    pbent *pbe;         /* PB_MAX entries */
    unsigned npb;
    size_t pb_used;
    char *ctrl;         /* recv_batch x CTRL_SPACE (GRO) */
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
    cio__free(t->pb);
    cio__free(t->pbe);
    cio__free(t->ctrl);
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
    t->npb = 0;
    t->pb_used = 0;
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
    if (t->gro)
        t->ctrl = cio__calloc(n, CTRL_SPACE);
    if (!t->slots || !t->msgs || !t->iovs || !t->froms ||
        (t->gro && !t->ctrl)) {
        cio__free(t->ctrl);
        t->ctrl = NULL;
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

static void pb_flush(cio_datagram_transport *t);

/* The UDP_GRO segment size of a received buffer, or 0. */
static int gro_size(struct msghdr *m)
{
    if (!m->msg_control)
        return 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
            int v;
            memcpy(&v, CMSG_DATA(c), sizeof(v));
            return v;
        }
    return 0;
}

/* Hands one received buffer to the protocol: one datagram, or the
 * datagrams of a GRO buffer one by one. */
static void deliver(cio_datagram_transport *t, struct msghdr *m, size_t len,
                    const cio_sockaddr *from)
{
    const char *p = m->msg_iov->iov_base;
    if (len > t->recv_size)
        len = t->recv_size;
    int seg = t->gro ? gro_size(m) : 0;
    if (seg > 0 && len > (size_t)seg) {
        t->gro_reads++;
        for (size_t off = 0; off < len && !t->closing; off += (size_t)seg) {
            size_t n = len - off < (size_t)seg ? len - off : (size_t)seg;
            if (t->proto->datagram_received)
                t->proto->datagram_received(t, p + off, n, from, t->ctx);
        }
    } else if (t->proto->datagram_received) {
        t->proto->datagram_received(t, p, len, from, t->ctx);
    }
    if (m->msg_flags & MSG_TRUNC)
        report(t, -EMSGSIZE);
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
            if (t->ctrl) {
                t->msgs[i].msg_hdr.msg_control = t->ctrl + i * CTRL_SPACE;
                t->msgs[i].msg_hdr.msg_controllen = CTRL_SPACE;
            }
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
        t->corked = 1; /* sends from the callbacks leave together */
        for (int i = 0; i < got && !t->closing; i++) {
            struct msghdr *m = &t->msgs[i].msg_hdr;
            cio_sockaddr from = {.len = 0};
            if (m->msg_namelen > 0 &&
                m->msg_namelen <= sizeof(struct sockaddr_storage))
                cio_sockaddr_set(&from, (struct sockaddr *)m->msg_name,
                                 m->msg_namelen);
            deliver(t, m, t->msgs[i].msg_len, &from);
        }
        t->corked = 0;
        if (t->npb && !t->closed)
            pb_flush(t);
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

/* Queues a copy of one datagram (the kernel is full). Returns 0,
 * -ENOBUFS (max_queue reached) or -ENOMEM. */
static int enqueue(cio_datagram_transport *t, const void *data, size_t len,
                   const cio_sockaddr *to)
{
    if (t->qbytes + len > t->max_queue)
        return -ENOBUFS;
    qdgram *q = cio__malloc(sizeof(*q) + (len ? len : 1));
    if (!q)
        return -ENOMEM;
    q->next = NULL;
    q->len = len;
    q->to = to ? *to : (cio_sockaddr){.len = 0};
    if (len)
        memcpy(q->data, data, len);
    if (t->qtail)
        t->qtail->next = q;
    else
        t->qhead = q;
    t->qtail = q;
    t->qbytes += len;
    return 0;
}

static int same_peer(const cio_sockaddr *a, const cio_sockaddr *b)
{
    return a->len == b->len && (!a->len || !memcmp(&a->ss, &b->ss, a->len));
}

/* How many entries from i form one GSO send: same peer, all of the first
 * one's size but the last (which may be shorter), within GSO_MAX. */
static unsigned gso_run(const cio_datagram_transport *t, unsigned i)
{
    const pbent *e = t->pbe;
    size_t seg = e[i].len, total = seg;
    unsigned k = 1;
    if (!seg || seg > t->gso_seg_max)
        return 1;
    while (i + k < t->npb && e[i + k - 1].len == seg && e[i + k].len &&
           e[i + k].len <= seg && total + e[i + k].len <= GSO_MAX &&
           same_peer(&e[i].to, &e[i + k].to)) {
        total += e[i + k].len;
        k++;
    }
    return k;
}

/* Sends entries i..i+k of the pending batch as one UDP_SEGMENT sendmsg.
 * Returns the bytes sent or -errno. */
static ssize_t gso_send(cio_datagram_transport *t, unsigned i, unsigned k)
{
    const pbent *e = t->pbe;
    size_t total = 0;
    for (unsigned j = 0; j < k; j++)
        total += e[i + j].len;
    struct iovec iov = {t->pb + e[i].off, total};
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (e[i].to.len) {
        m.msg_name = (void *)&e[i].to.ss;
        m.msg_namelen = e[i].to.len;
    }
    m.msg_control = u.buf;
    m.msg_controllen = sizeof(u.buf);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t seg = (uint16_t)e[i].len;
    memcpy(CMSG_DATA(c), &seg, sizeof(seg));
    ssize_t r;
    do
        r = sendmsg(t->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

/* Sends up to SEND_BATCH entries from i with sendmmsg. Returns how many
 * went, or -errno. */
static int mm_send(cio_datagram_transport *t, unsigned i)
{
    struct mmsghdr mm[SEND_BATCH];
    struct iovec iov[SEND_BATCH];
    unsigned n = 0;
    for (; i + n < t->npb && n < SEND_BATCH; n++) {
        const pbent *e = &t->pbe[i + n];
        iov[n].iov_base = t->pb + e->off;
        iov[n].iov_len = e->len;
        memset(&mm[n], 0, sizeof(mm[n]));
        mm[n].msg_hdr.msg_iov = &iov[n];
        mm[n].msg_hdr.msg_iovlen = 1;
        if (e->to.len) {
            mm[n].msg_hdr.msg_name = (void *)&e->to.ss;
            mm[n].msg_hdr.msg_namelen = e->to.len;
        }
    }
    int r;
    do
        r = sendmmsg(t->fd, mm, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

/* Sends the pending batch: GSO runs where possible, sendmmsg for the
 * rest; what the kernel refuses goes to the queue, in order. */
static void pb_flush(cio_datagram_transport *t)
{
    unsigned i = 0;
    int retried = 0;
    while (i < t->npb && !t->closed) {
        unsigned k = t->gso ? gso_run(t, i) : 1;
        int r;
        if (k > 1) {
            ssize_t s = gso_send(t, i, k);
            if (s >= 0) {
                t->gso_sends++;
                i += k;
                retried = 0;
                continue;
            }
            r = (int)s;
            if (r == -EIO || r == -EOPNOTSUPP || r == -ENOPROTOOPT) {
                t->gso = 0; /* the socket cannot segment: plain sends */
                continue;
            }
            if (r == -EINVAL) {
                /* A segment larger than the path's MTU allows: runs of
                 * this size and above go as plain datagrams from now on. */
                t->gso_seg_max = t->pbe[i].len - 1;
                continue;
            }
        } else {
            r = mm_send(t, i);
            if (r > 0) {
                i += (unsigned)r;
                retried = 0;
                continue;
            }
        }
        if (r == -EAGAIN || r == -EWOULDBLOCK || r == -ENOBUFS)
            break; /* the rest waits in the queue */
        if (!transient(r)) {
            finish(t, r);
            return;
        }
        /* The network's error (often an earlier datagram's ICMP): report
         * it; try the same datagrams once more, then drop the first. */
        report(t, r);
        if (retried)
            i++, retried = 0;
        else
            retried = 1;
    }
    if (!t->closed && i < t->npb) {
        cio__afd_clear(&t->afd, CIO__EV_WRITE);
        for (; i < t->npb; i++) {
            const pbent *e = &t->pbe[i];
            int r = enqueue(t, t->pb + e->off, e->len,
                            e->to.len ? &e->to : NULL);
            if (r < 0)
                report(t, r); /* dropped */
        }
    }
    t->npb = 0;
    t->pb_used = 0;
    if (!t->closed && !t->qhead && t->closing)
        finish(t, 0);
    else if (!t->closed && t->qhead && (t->afd.ready & CIO__EV_WRITE))
        flush(t);
}

/* Adds a copy of one datagram to the pending batch. Returns 0, 1 if it
 * must go the plain way instead (the batch was flushed into a queue, or
 * no memory for the batch). */
static int pb_add(cio_datagram_transport *t, const void *data, size_t len,
                  const cio_sockaddr *to)
{
    if (!t->pb) {
        t->pb = cio__malloc(PB_ARENA);
        t->pbe = cio__malloc(PB_MAX * sizeof(*t->pbe));
        if (!t->pb || !t->pbe) {
            cio__free(t->pb);
            cio__free(t->pbe);
            t->pb = NULL;
            t->pbe = NULL;
            return 1;
        }
    }
    if (t->npb == PB_MAX || t->pb_used + len > PB_ARENA) {
        pb_flush(t);
        if (t->qhead || t->closed)
            return 1;
    }
    pbent *e = &t->pbe[t->npb++];
    e->off = t->pb_used;
    e->len = len;
    e->to = to && to->len ? *to : (cio_sockaddr){.len = 0};
    if (len)
        memcpy(t->pb + t->pb_used, data, len);
    t->pb_used += len;
    return 0;
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
    if (t->corked && !t->qhead && pb_add(t, data, len, addr) == 0)
        return 0;
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
    int qr = enqueue(t, data, len, addr);
    if (qr < 0)
        return qr;
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
    if (!t->qhead && !t->npb)
        finish(t, 0); /* else the flush of the queue or batch finishes */
}

void cio_datagram_transport_abort(cio_datagram_transport *t)
{
    if (!t || t->closed)
        return;
    finish(t, 0);
}

unsigned cio_datagram_transport_offloads(const cio_datagram_transport *t,
                                         uint64_t *gso_sends,
                                         uint64_t *gro_reads)
{
    if (gso_sends)
        *gso_sends = t ? t->gso_sends : 0;
    if (gro_reads)
        *gro_reads = t ? t->gro_reads : 0;
    if (!t)
        return 0;
    return (t->gso ? CIO_DGRAM_GSO : 0u) | (t->gro ? CIO_DGRAM_GRO : 0u);
}

int cio_datagram_transport_is_closing(const cio_datagram_transport *t)
{
    return t ? t->closing : 0;
}

size_t cio_datagram_transport_write_buffer_size(const cio_datagram_transport *t)
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
    struct sockaddr_storage me;
    socklen_t ml = sizeof(me);
    if (opts->offload >= 0 &&
        getsockname(fd, (struct sockaddr *)&me, &ml) == 0 &&
        (me.ss_family == AF_INET || me.ss_family == AF_INET6)) {
        /* Probed per socket: a kernel without them refuses the option. */
        int v = 0;
        socklen_t vl = sizeof(v);
        t->gso = getsockopt(fd, SOL_UDP, UDP_SEGMENT, &v, &vl) == 0;
        t->gso_seg_max = MAX_UDP;
        int one = 1;
        t->gro = t->recv_size >= MAX_UDP &&
                 setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
    }
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
