/*
 * dns.c - asynchronous DNS on the loop with c-ares: cio_getaddrinfo's and
 * cio_getnameinfo's default path, cio_resolver_configure.
 *
 * How: each loop has one c-ares channel, made on first use and destroyed
 * by cio_loop_close (loop->resolver_close). c-ares tells us which sockets
 * to watch through its socket-state callback; each becomes a
 * level-triggered cio__io on the loop, whose events call ares_process_fd.
 * After every call into c-ares one loop timer is re-armed at
 * ares_timeout(), and its expiry calls ares_process_fd with no socket, so
 * c-ares retries and times out queries itself. No thread, no blocking
 * call: /etc/hosts (or $CARES_HOSTS), resolv.conf's servers, search
 * domains, ndots and timeouts are read by c-ares ("fb": files, then DNS).
 *
 * A lookup is a heap record (c-ares calls back after the waiting task may
 * have gone): the task parks on it; the callback fills it and unparks the
 * task. Cancelling the task detaches it from the record at once; the record
 * is freed by c-ares's callback. c-ares 1.18 cancels only whole channels
 * (ares_cancel), so when the last waiting lookup of the loop is cancelled
 * the channel's remaining queries are cancelled and freed at once; while
 * other lookups still wait, a cancelled one's query runs out (answer or
 * timeout, bounded by timeout x tries) and is freed then. Rejected: one
 * channel per lookup (exact cancellation, but every lookup would re-read
 * resolv.conf and open its own sockets), and a thread per lookup (what the
 * getaddrinfo fallback in resolve.c does).
 */
#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "net/addr.h"
#include "net/dns.h"
#include "task/task.h"

typedef struct dns dns;

typedef struct dns_watch {
    cio__io io;
    dns *d;
    struct dns_watch *next;
} dns_watch;

struct dns {
    cio_loop *loop;
    ares_channel ch; /* NULL until the first lookup (or configure) */
    int use_ares;
    dns_watch *watches;
    cio__handle *timer;
    size_t active;  /* lookups whose task still waits */
    size_t pending; /* lookups c-ares still holds (orphans included) */
    int in_ares;    /* inside a call into c-ares */
    int cancel_due; /* ares_cancel once out of c-ares */
    char *servers, *resolv_conf;
    int timeout_ms, tries;
};

enum { REQ_ADDR = 0, REQ_NAME = 1 };

typedef struct dns_req {
    dns *d;
    cio__task *t; /* the waiting task; NULL once it let go */
    int parked, done, status, kind;
    int *gone; /* the waiter's flag: set when the cancel detached it */
    struct ares_addrinfo *ai;
    char *host, *serv; /* nameinfo answers (heap copies) */
} dns_req;

static void dns_rearm(dns *d);

/* ---- errors ---- */

static int ares_to_err(int status)
{
    switch (status) {
    case ARES_SUCCESS:
        return 0;
    case ARES_ENODATA:
        return CIO_EDNS_NODATA;
    case ARES_ENOTFOUND:
    case ARES_ENONAME:
        return CIO_EDNS_NOTFOUND;
    case ARES_ETIMEOUT:
        return CIO_EDNS_TIMEOUT;
    case ARES_ESERVFAIL:
        return CIO_EDNS_SERVFAIL;
    case ARES_EREFUSED:
        return CIO_EDNS_REFUSED;
    case ARES_EFORMERR:
    case ARES_ENOTIMP:
        return CIO_EDNS_FORMERR;
    case ARES_EBADRESP:
    case ARES_EOF:
        return CIO_EDNS_BADRESP;
    case ARES_ECONNREFUSED:
        return CIO_EDNS_CONNREFUSED;
    case ARES_EBADNAME:
    case ARES_EBADQUERY:
    case ARES_EBADSTR:
        return CIO_EDNS_BADNAME;
    case ARES_ESERVICE:
        return CIO_EDNS_SERVICE;
    case ARES_EFILE:
        return CIO_EDNS_CONFIG;
    case ARES_ENOMEM:
        return -ENOMEM;
    case ARES_EBADFAMILY:
        return -EAFNOSUPPORT;
    case ARES_EBADFLAGS:
    case ARES_EBADHINTS:
        return -EINVAL;
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
        return -ECANCELED;
    default:
        return CIO_EDNS_FAIL;
    }
}

int cio__dns_eai_to_err(int eai, int sys_errno)
{
    switch (eai) {
    case 0:
        return 0;
    case EAI_NONAME:
        return CIO_EDNS_NOTFOUND;
#ifdef EAI_NODATA
    case EAI_NODATA:
        return CIO_EDNS_NODATA;
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
        return CIO_EDNS_NODATA;
#endif
    case EAI_AGAIN:
        return CIO_EDNS_TIMEOUT;
    case EAI_FAIL:
        return CIO_EDNS_SERVFAIL;
    case EAI_SERVICE:
        return CIO_EDNS_SERVICE;
    case EAI_FAMILY:
        return -EAFNOSUPPORT;
    case EAI_SOCKTYPE:
    case EAI_BADFLAGS:
        return -EINVAL;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_SYSTEM:
        return sys_errno > 0 ? -sys_errno : CIO_EDNS_FAIL;
    default:
        return CIO_EDNS_FAIL;
    }
}

/* ---- driving c-ares from the loop ---- */

/* Every call into c-ares goes through enter/leave: leave re-arms the
 * timer and runs a channel-wide cancel requested meanwhile (a cancel
 * function must not re-enter c-ares from inside one of its callbacks). */
static void enter(dns *d)
{
    d->in_ares++;
}

static void leave(dns *d)
{
    if (--d->in_ares)
        return;
    if (d->cancel_due) {
        d->cancel_due = 0;
        if (!d->active && d->pending && d->ch) {
            d->in_ares++;
            ares_cancel(d->ch);
            d->in_ares--;
        }
    }
    dns_rearm(d);
}

static void watch_event(cio__io *io, unsigned rev)
{
    dns_watch *w = cio__container_of(io, dns_watch, io);
    dns *d = w->d;
    int fd = io->fd;
    ares_socket_t r = (rev & (CIO__EV_READ | CIO__EV_ERROR)) ? fd
                                                              : ARES_SOCKET_BAD;
    ares_socket_t wr = (rev & CIO__EV_WRITE) ? fd : ARES_SOCKET_BAD;
    enter(d);
    ares_process_fd(d->ch, r, wr); /* may close fd and free w */
    leave(d);
}

static void watch_free(dns *d, dns_watch *w)
{
    cio__io_close(d->loop, &w->io);
    cio__free(w);
}

/* c-ares's socket-state callback: start, change or stop watching fd. */
static void sock_state(void *data, ares_socket_t fd, int readable,
                       int writable)
{
    dns *d = data;
    dns_watch **pp = &d->watches, *w;
    while ((w = *pp) && w->io.fd != fd)
        pp = &w->next;
    unsigned ev = (readable ? CIO__EV_READ : 0) | (writable ? CIO__EV_WRITE : 0);
    if (!ev) {
        if (w) {
            *pp = w->next;
            watch_free(d, w);
        }
        return;
    }
    if (w) {
        if (w->io.events != ev)
            (void)cio__io_modify(d->loop, &w->io, ev);
        return;
    }
    /* A socket we cannot watch makes its query time out (the timer still
     * runs): there is no caller here to report to. */
    w = cio__calloc(1, sizeof(*w));
    if (!w)
        return;
    w->io.fd = fd;
    w->io.cb = watch_event;
    w->d = d;
    if (cio__loop_fd_claim(d->loop, fd, CIO__FD_IO, w) < 0) {
        cio__free(w);
        return;
    }
    if (cio__io_start(d->loop, &w->io, ev) < 0) {
        cio__loop_fd_release(d->loop, fd);
        cio__free(w);
        return;
    }
    w->next = d->watches;
    d->watches = w;
}

static void timer_fire(cio__handle *h)
{
    dns *d = h->arg;
    d->timer = NULL;
    if (!d->ch)
        return;
    enter(d);
    ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    leave(d);
}

static void dns_rearm(dns *d)
{
    if (d->timer) {
        cio__handle_cancel(d->loop, d->timer);
        d->timer = NULL;
    }
    if (!d->ch || !d->pending || d->loop->closed)
        return;
    struct timeval tv;
    if (!ares_timeout(d->ch, NULL, &tv))
        return;
    cio__handle *h = cio__handle_get(d->loop);
    if (!h)
        return; /* out of memory: the next socket event re-arms */
    h->icb = timer_fire;
    h->arg = d;
    int64_t when = cio_loop_time(d->loop) + (int64_t)tv.tv_sec * CIO_SEC +
                   (int64_t)tv.tv_usec * 1000;
    if (cio__handle_at(d->loop, h, when) == 0)
        d->timer = h;
}

/* ---- the loop's resolver ---- */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status;

static void lib_init(void)
{
    lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

static void channel_destroy(dns *d)
{
    if (!d->ch)
        return;
    /* Orphaned lookups get ARES_EDESTRUCTION and free themselves; c-ares
     * reports each of its sockets closed through sock_state. */
    enter(d);
    ares_destroy(d->ch);
    d->ch = NULL;
    d->in_ares--;
    while (d->watches) {
        dns_watch *w = d->watches;
        d->watches = w->next;
        watch_free(d, w);
    }
    if (d->timer) {
        cio__handle_cancel(d->loop, d->timer);
        d->timer = NULL;
    }
}

static void dns_close(cio_loop *loop)
{
    dns *d = loop->resolver;
    if (!d)
        return;
    channel_destroy(d);
    cio__free(d->servers);
    cio__free(d->resolv_conf);
    cio__free(d);
}

static dns *dns_get(cio_loop *loop)
{
    dns *d = loop->resolver;
    if (d)
        return d;
    d = cio__calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->loop = loop;
    const char *env = getenv("CIO_RESOLVER");
    d->use_ares = !(env && strcmp(env, "getaddrinfo") == 0);
    loop->resolver = d;
    loop->resolver_close = dns_close;
    return d;
}

static int channel_make(dns *d)
{
    if (d->ch)
        return 0;
    pthread_once(&lib_once, lib_init);
    if (lib_status != ARES_SUCCESS)
        return ares_to_err(lib_status);
    struct ares_options o;
    memset(&o, 0, sizeof(o));
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS;
    o.sock_state_cb = sock_state;
    o.sock_state_cb_data = d;
    o.lookups = (char *)"fb";
    if (d->timeout_ms > 0) {
        o.timeout = d->timeout_ms;
        mask |= ARES_OPT_TIMEOUTMS;
    }
    if (d->tries > 0) {
        o.tries = d->tries;
        mask |= ARES_OPT_TRIES;
    }
    if (d->resolv_conf) {
        o.resolvconf_path = d->resolv_conf;
        mask |= ARES_OPT_RESOLVCONF;
    }
    ares_channel ch;
    int st = ares_init_options(&ch, &o, mask);
    if (st != ARES_SUCCESS)
        return st == ARES_ENOMEM ? -ENOMEM : CIO_EDNS_CONFIG;
    if (d->servers) {
        st = ares_set_servers_ports_csv(ch, d->servers);
        if (st != ARES_SUCCESS) {
            ares_destroy(ch);
            return st == ARES_ENOMEM ? -ENOMEM : CIO_EDNS_CONFIG;
        }
    }
    d->ch = ch;
    return 0;
}

int cio__dns_use_ares(cio_loop *loop)
{
    dns *d = loop->resolver;
    if (d)
        return d->use_ares;
    const char *env = getenv("CIO_RESOLVER");
    return !(env && strcmp(env, "getaddrinfo") == 0);
}

int cio_resolver_configure(cio_loop *loop, const cio_resolver_opts *opts)
{
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    cio_resolver_opts def = CIO_RESOLVER_OPTS_INIT;
    if (!opts)
        opts = &def;
    if ((opts->kind != CIO_RESOLVER_ARES &&
         opts->kind != CIO_RESOLVER_GETADDRINFO) ||
        opts->timeout_ms < 0 || opts->tries < 0)
        return -EINVAL;
    dns *d = dns_get(loop);
    if (!d)
        return -ENOMEM;
    if (d->active)
        return -EBUSY;
    int failed = 0;
    char *servers = opts->servers ? cio__strdup(opts->servers) : NULL;
    char *conf = opts->resolv_conf ? cio__strdup(opts->resolv_conf) : NULL;
    failed = (opts->servers && !servers) || (opts->resolv_conf && !conf);
    if (failed) {
        cio__free(servers);
        cio__free(conf);
        return -ENOMEM;
    }
    channel_destroy(d);
    cio__free(d->servers);
    cio__free(d->resolv_conf);
    d->servers = servers;
    d->resolv_conf = conf;
    d->timeout_ms = opts->timeout_ms;
    d->tries = opts->tries;
    d->use_ares = opts->kind == CIO_RESOLVER_ARES;
    /* Made now so that a bad server list or file is reported here. */
    return d->use_ares ? channel_make(d) : 0;
}

/* ---- lookups ---- */

static void req_free(dns_req *q)
{
    if (q->ai)
        ares_freeaddrinfo(q->ai);
    cio__free(q->host);
    cio__free(q->serv);
    cio__free(q);
}

/* The lookup ended in c-ares (answer, error, cancel, destruction). */
static void req_end(dns_req *q, int status)
{
    dns *d = q->d;
    d->pending--;
    if (!q->t) { /* orphan: its task was cancelled */
        req_free(q);
        return;
    }
    q->status = status;
    q->done = 1;
    if (q->parked)
        cio__unpark(q->t, 0);
}

static void gai_cb(void *arg, int status, int timeouts,
                   struct ares_addrinfo *res)
{
    (void)timeouts;
    dns_req *q = arg;
    q->ai = res;
    req_end(q, status);
}

static void gni_cb(void *arg, int status, int timeouts, char *node,
                   char *service)
{
    (void)timeouts;
    dns_req *q = arg;
    if (status == ARES_SUCCESS && q->t) {
        if (node && !(q->host = cio__strdup(node)))
            status = ARES_ENOMEM;
        if (service && !(q->serv = cio__strdup(service)))
            status = ARES_ENOMEM;
    }
    req_end(q, status);
}

/* The waiting task is being cancelled: let go of the record. */
static void req_detach(dns_req *q)
{
    dns *d = q->d;
    q->t = NULL;
    d->active--;
    if (!d->active && d->pending) {
        d->cancel_due = 1;
        if (!d->in_ares) {
            enter(d);
            leave(d);
        }
    }
}

static int req_cancel(cio__task *t)
{
    dns_req *q = cio__park_arg(t);
    *q->gone = 1;
    req_detach(q); /* may free q */
    cio__unpark(t, -ECANCELED);
    return 1;
}

/* Parks the calling task t until q is done. Returns 0 with q done and
 * handed back (the caller frees it), or -ECANCELED (q then belongs to
 * c-ares's callback). */
static int req_wait(dns_req *q, cio__task *t)
{
    int r = 0;
    if (q->done) {
        /* Answered inside the call (hosts file, bad name): still yield
         * once, so every lookup is a suspension point where cancellation
         * is delivered, as on the getaddrinfo path. */
        q->t = NULL;
        q->d->active--;
        r = cio_sleep(0);
        if (r < 0)
            req_free(q);
        return r;
    }
    int gone = 0;
    q->gone = &gone;
    q->parked = 1;
    r = cio__park(t, req_cancel, q, "DNS lookup");
    if (gone)
        return -ECANCELED; /* q is c-ares's (or already freed) */
    q->parked = 0;
    if (!q->done) {
        if (q->t) /* resumed by a late cancellation, not through us */
            req_detach(q);
        return r < 0 ? r : -ECANCELED;
    }
    q->t = NULL;
    q->d->active--;
    if (r < 0) {
        req_free(q);
        return r;
    }
    return 0;
}

/* Starts a lookup record for the calling task. */
static int req_new(cio_loop *loop, int kind, dns **dp, dns_req **qp)
{
    cio__task *t = cio__tls_task;
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (!t || t->f.loop != loop)
        return -EINVAL;
    dns *d = dns_get(loop);
    if (!d)
        return -ENOMEM;
    r = channel_make(d);
    if (r < 0)
        return r;
    dns_req *q = cio__calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->d = d;
    q->t = t;
    q->kind = kind;
    d->active++;
    d->pending++;
    *dp = d;
    *qp = q;
    return 0;
}

static int map_ai_flags(int flags, int *out)
{
    static const int map[][2] = {
        {AI_PASSIVE, ARES_AI_PASSIVE},       {AI_CANONNAME, ARES_AI_CANONNAME},
        {AI_NUMERICHOST, ARES_AI_NUMERICHOST}, {AI_NUMERICSERV, ARES_AI_NUMERICSERV},
        {AI_V4MAPPED, ARES_AI_V4MAPPED},     {AI_ALL, ARES_AI_ALL},
        {AI_ADDRCONFIG, ARES_AI_ADDRCONFIG},
    };
    /* $CARES_HOSTS may point c-ares at another hosts file (tests). */
    int f = ARES_AI_ENVHOSTS;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (flags & map[i][0]) {
            f |= map[i][1];
            flags &= ~map[i][0];
        }
    *out = f;
    return flags ? -EINVAL : 0;
}

/* c-ares's answer in getaddrinfo's layout: each node one malloc(3) block
 * (struct addrinfo, then its address) and the canonical name its own, as
 * glibc lays them out, so the caller's freeaddrinfo(3) frees them. */
static int to_addrinfo(const struct ares_addrinfo *ai, int canon, int port,
                       struct addrinfo **out)
{
    struct addrinfo *head = NULL, **tail = &head;
    for (const struct ares_addrinfo_node *n = ai->nodes; n; n = n->ai_next) {
        struct addrinfo *a = malloc(sizeof(*a) + n->ai_addrlen);
        if (!a)
            goto nomem;
        memset(a, 0, sizeof(*a));
        a->ai_flags = n->ai_flags;
        a->ai_family = n->ai_family;
        a->ai_socktype = n->ai_socktype;
        a->ai_protocol = n->ai_protocol;
        a->ai_addrlen = n->ai_addrlen;
        a->ai_addr = (struct sockaddr *)(void *)(a + 1);
        memcpy(a->ai_addr, n->ai_addr, n->ai_addrlen);
        if (port >= 0 && a->ai_family == AF_INET)
            ((struct sockaddr_in *)(void *)a->ai_addr)->sin_port =
                htons((uint16_t)port);
        else if (port >= 0 && a->ai_family == AF_INET6)
            ((struct sockaddr_in6 *)(void *)a->ai_addr)->sin6_port =
                htons((uint16_t)port);
        *tail = a;
        tail = &a->ai_next;
    }
    if (!head)
        return CIO_EDNS_NODATA;
    if (canon) {
        const char *name = ai->name;
        for (const struct ares_addrinfo_cname *c = ai->cnames; c; c = c->next)
            if (c->name)
                name = c->name; /* the end of the CNAME chain */
        if (name && !(head->ai_canonname = strdup(name)))
            goto nomem;
    }
    *out = head;
    return 0;
nomem:
    freeaddrinfo(head);
    return -ENOMEM;
}

int cio__dns_getaddrinfo(cio_loop *loop, const char *host, const char *port,
                         const struct addrinfo *hints, struct addrinfo **out)
{
    *out = NULL;
    struct ares_addrinfo_hints h;
    memset(&h, 0, sizeof(h));
    int r = map_ai_flags(hints->ai_flags, &h.ai_flags);
    if (r < 0)
        return r;
    h.ai_family = hints->ai_family;
    /* IPv4 only: no RFC 6724 sort. Among IPv4 addresses it would apply
     * only rule 9 (longest matching prefix), which defeats DNS
     * round-robin, and c-ares 1.18 pays for it with a socket and a
     * connect(2) per answer even when there is one address (glibc skips
     * the sort for one). Mixed families keep the sort: it decides IPv6
     * against IPv4. */
    if (h.ai_family == AF_INET)
        h.ai_flags |= ARES_AI_NOSORT;
    h.ai_socktype = hints->ai_socktype;
    h.ai_protocol = hints->ai_protocol;
    dns *d;
    dns_req *q;
    r = req_new(loop, REQ_ADDR, &d, &q);
    if (r < 0)
        return r;
    cio__task *t = q->t;
    /* A numeric port is set on the answer by us: c-ares 1.18 refuses
     * port 0 (ARES_ESERVICE), which servers bind to. */
    int nport = -1;
    if (port && cio__is_numeric_port(port)) {
        nport = atoi(port);
        port = NULL;
    }
    enter(d);
    ares_getaddrinfo(d->ch, host, port, &h, gai_cb, q);
    leave(d);
    r = req_wait(q, t);
    if (r < 0)
        return r;
    r = ares_to_err(q->status);
    if (r == 0)
        r = to_addrinfo(q->ai, (hints->ai_flags & AI_CANONNAME) != 0, nport,
                        out);
    req_free(q);
    return r;
}

static int copy_out(char *dst, size_t cap, const char *src)
{
    if (!dst)
        return 0;
    size_t n = strlen(src);
    if (n >= cap)
        return -ENOSPC;
    memcpy(dst, src, n + 1);
    return 0;
}

int cio_getnameinfo(const cio_sockaddr *addr, int flags, char *host,
                    size_t hostlen, char *serv, size_t servlen)
{
    if (!addr || !addr->len || (!host && !serv) || (host && !hostlen) ||
        (serv && !servlen))
        return -EINVAL;
    int fam = addr->ss.ss_family;
    if (fam != AF_INET && fam != AF_INET6)
        return -EAFNOSUPPORT;
    if (flags & ~(NI_NUMERICHOST | NI_NUMERICSERV | NI_NOFQDN | NI_NAMEREQD |
                  NI_DGRAM))
        return -EINVAL;
    if ((!host || flags & NI_NUMERICHOST) && (!serv || flags & NI_NUMERICSERV)) {
        /* Numeric both ways: getnameinfo(3) only formats. */
        int eai = getnameinfo((const struct sockaddr *)&addr->ss, addr->len,
                              host, host ? (socklen_t)hostlen : 0, serv,
                              serv ? (socklen_t)servlen : 0, flags);
        return eai == EAI_OVERFLOW ? -ENOSPC : cio__dns_eai_to_err(eai, errno);
    }
    cio__task *t = cio__tls_task;
    if (!t)
        return -EINVAL;
    int af = 0;
    if (flags & NI_NUMERICHOST)
        af |= ARES_NI_NUMERICHOST;
    if (flags & NI_NUMERICSERV)
        af |= ARES_NI_NUMERICSERV;
    if (flags & NI_NOFQDN)
        af |= ARES_NI_NOFQDN;
    if (flags & NI_NAMEREQD)
        af |= ARES_NI_NAMEREQD;
    if (flags & NI_DGRAM)
        af |= ARES_NI_DGRAM;
    if (host)
        af |= ARES_NI_LOOKUPHOST;
    if (serv)
        af |= ARES_NI_LOOKUPSERVICE;
    dns *d;
    dns_req *q;
    int r = req_new(t->f.loop, REQ_NAME, &d, &q);
    if (r < 0)
        return r;
    enter(d);
    ares_getnameinfo(d->ch, (const struct sockaddr *)&addr->ss,
                     (ares_socklen_t)addr->len, af, gni_cb, q);
    leave(d);
    r = req_wait(q, t);
    if (r < 0)
        return r;
    r = ares_to_err(q->status);
    if (r == 0 && host)
        r = q->host ? copy_out(host, hostlen, q->host) : CIO_EDNS_NOTFOUND;
    if (r == 0 && serv)
        r = q->serv ? copy_out(serv, servlen, q->serv) : CIO_EDNS_SERVICE;
    req_free(q);
    return r;
}
