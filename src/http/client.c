/*
 * client.c - cio::http's client session (aiohttp's ClientSession): the
 * keep-alive pool with its limits, the connectors (TCP through cio's
 * resolver, Unix sockets, HTTP CONNECT proxies, and the wrap seam for
 * TLS), building and sending requests (bytes, JSON, urlencoded and
 * multipart forms, streamed and file bodies, Expect: 100-continue),
 * redirects, cookies, basic auth, timeouts and the one retry of an
 * idempotent request on a stale pooled connection.
 *
 * Everything runs in the calling task: the request suspends in connect,
 * send and recv, and cancellation at any of them unwinds through the
 * same error paths (the connection is closed, never pooled).
 */

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "ws_int.h"

#define HC_DEF_LIMIT 100
#define HC_DEF_KEEPALIVE (15 * CIO_SEC)
#define HC_DEF_TOTAL (300 * CIO_SEC)
#define HC_DEF_REDIRECTS 10
#define HC_DEF_MAX_BODY ((size_t)32 << 20)
#define HC_DEF_MAX_HEAD 65536
#define HC_DEF_MAX_HEADERS 128
#define HC_DEF_MAX_LINE 65536
#define HC_DEF_EXPECT ((size_t)1 << 20)
#define HC_CONN_BUF 16384
#define HC_SMALL_BODY 65536
#define HC_EXPECT_WAIT (1 * CIO_SEC) /* curl waits 1 s for 100 too */

/* ---- plain socket transport ---------------------------------------------- */

static ssize_t sock_recv(void *ctx, void *buf, size_t n)
{
    return cio_socket_recv(ctx, buf, n, 0);
}

static int sock_send(void *ctx, const void *buf, size_t n)
{
    return cio_socket_sendall(ctx, buf, n, 0);
}

static void sock_close(void *ctx)
{
    cio_socket_close(ctx);
}

/* ---- session ---------------------------------------------------------------
 */

static char *dupz(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void headers_free(char **h)
{
    if (!h)
        return;
    for (size_t i = 0; h[i]; i++)
        free(h[i]);
    free(h);
}

/* A proxy URL: "http://[user:pass@]host[:port]" or "host[:port]" (http
 * assumed, as curl does). Returns: 0. Errors: -EINVAL, -ENOMEM. */
static int proxy_parse(const char *spec, struct hc_proxy *p)
{
    hc_buf b = {0};
    if (!strstr(spec, "://"))
        cio__hc_buf_str(&b, "http://");
    cio__hc_buf_str(&b, spec);
    if (b.oom) {
        free(b.p);
        return -ENOMEM;
    }
    hc_url u;
    int err = cio__hc_url_parse(&u, b.p);
    free(b.p);
    if (err < 0)
        return err == -ENOMEM ? err : -EINVAL;
    if (strcmp(u.scheme, "http") != 0) {
        cio__hc_url_free(&u);
        return -EINVAL;
    }
    p->host = u.host;
    u.host = NULL;
    p->port = u.port;
    if (u.user) {
        hc_buf a = {0};
        cio__hc_buf_str(&a, "Basic ");
        hc_buf cred = {0};
        cio__hc_buf_fmt(&cred, "%s:%s", u.user, u.pass ? u.pass : "");
        cio__hc_buf_base64(&a, cred.p, cred.len);
        free(cred.p);
        if (a.oom) {
            free(a.p);
            cio__hc_url_free(&u);
            return -ENOMEM;
        }
        p->auth = a.p;
    }
    cio__hc_url_free(&u);
    return 0;
}

static void proxies_free(cio_http_session *s)
{
    for (int i = 0; i < 2; i++) {
        free(s->px[i].host);
        free(s->px[i].auth);
    }
    free(s->no_proxy);
}

/* The lower-case variable, else the upper-case one (non-empty), or NULL. */
static const char *env2(const char *lower, const char *upper)
{
    const char *v = getenv(lower);
    if (!v || !*v)
        v = getenv(upper);
    return v && *v ? v : NULL;
}

/* Whether host:port is in a no_proxy list (curl's rules: "*" for every
 * host; "name" or ".name" for the name and its subdomains; an IP address
 * only as written; ":port" limits an entry to that port; no CIDR
 * ranges). */
static int no_proxy_match(const char *list, const hc_url *u)
{
    /* an IP address host matches only as written, never as a suffix */
    int ip = u->ipv6 || strspn(u->host, "0123456789.") == strlen(u->host);
    const char *p = list;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        size_t n = strcspn(p, ", \t");
        if (!n)
            break;
        const char *e = p;
        size_t el = n;
        p += n;
        if (el == 1 && e[0] == '*')
            return 1;
        int port = -1;
        const char *colon = NULL;
        if (e[0] == '[') { /* [v6]:port */
            const char *rb = memchr(e, ']', el);
            if (rb && (size_t)(rb - e) + 1 < el && rb[1] == ':')
                colon = rb + 1;
            if (rb) {
                if (colon)
                    port = atoi(colon + 1);
                el = (size_t)(rb - e) - 1;
                e++;
            }
        } else if ((colon = memchr(e, ':', el)) &&
                   !memchr(colon + 1, ':', el - (size_t)(colon + 1 - e))) {
            port = atoi(colon + 1); /* host:port (not a bare v6 address) */
            el = (size_t)(colon - e);
        }
        if (port >= 0 && port != u->port)
            continue;
        if (el >= 2 && e[0] == '*' && e[1] == '.')
            e++, el--;
        if (el && e[0] == '.')
            e++, el--;
        size_t hl = strlen(u->host);
        if (!el)
            continue;
        if (hl == el && !strncasecmp(u->host, e, el))
            return 1;
        if (hl > el && !ip && u->host[hl - el - 1] == '.' &&
            !strncasecmp(u->host + hl - el, e, el))
            return 1;
    }
    return 0;
}

/* The proxy a connection to u goes through, or NULL. */
static const struct hc_proxy *proxy_for(const cio_http_session *s,
                                        const hc_url *u)
{
    if (s->unix_path)
        return NULL;
    const struct hc_proxy *p = &s->px[strcmp(u->scheme, "https") == 0];
    if (!p->host || (s->no_proxy && no_proxy_match(s->no_proxy, u)))
        return NULL;
    return p;
}

/* The session's default fields, checked and copied. Returns: 0. Errors:
 * -EINVAL (a name or value refused), -ENOMEM. */
static int headers_copy(const char *const *in, char ***out)
{
    *out = NULL;
    if (!in)
        return 0;
    size_t n = 0;
    while (in[n] && in[n + 1])
        n += 2;
    for (size_t i = 0; i < n; i += 2)
        if (!in[i][0] || strpbrk(in[i], "\r\n: \t") ||
            strpbrk(in[i + 1], "\r\n") ||
            !strcasecmp(in[i], "content-length") ||
            !strcasecmp(in[i], "transfer-encoding"))
            return -EINVAL;
    char **h = calloc(n + 1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!(h[i] = strdup(in[i]))) {
            headers_free(h);
            return -ENOMEM;
        }
    *out = h;
    return 0;
}

int cio_http_session_new(cio_http_session **out, cio_loop *loop,
                         const cio_http_session_opts *opts)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    cio_http_session_opts o = CIO_HTTP_SESSION_OPTS_INIT;
    if (opts)
        o = *opts;
    if (!loop || o.limit < 0 || o.limit_per_host < 0 || o.max_redirects < 0 ||
        o.timeout.connect < 0 || o.timeout.sock_read < 0)
        return -EINVAL;
    cio_http_session *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    if (!o.limit)
        o.limit = HC_DEF_LIMIT;
    if (!o.keepalive_timeout)
        o.keepalive_timeout = HC_DEF_KEEPALIVE;
    if (!o.timeout.total)
        o.timeout.total = HC_DEF_TOTAL; /* < 0 stays: no total timeout */
    if (!o.max_redirects)
        o.max_redirects = HC_DEF_REDIRECTS;
    if (!o.max_body)
        o.max_body = HC_DEF_MAX_BODY;
    if (!o.max_head)
        o.max_head = HC_DEF_MAX_HEAD;
    if (!o.max_headers)
        o.max_headers = HC_DEF_MAX_HEADERS;
    if (!o.max_line)
        o.max_line = HC_DEF_MAX_LINE;
    if (!o.max_field || o.max_field > o.max_head)
        o.max_field = o.max_head;
    if (!o.expect_continue_min)
        o.expect_continue_min = HC_DEF_EXPECT;
    s->loop = loop;
    s->user_agent = strdup(o.user_agent ? o.user_agent : "cio-http");
    s->unix_path = dupz(o.unix_path);
    int err = -ENOMEM;
    if (!s->user_agent || (o.unix_path && !s->unix_path))
        goto fail;
    if ((err = headers_copy(o.headers, &s->headers)) < 0)
        goto fail;
    if (o.base_url) {
        err = -ENOMEM;
        if (!(s->base = calloc(1, sizeof(*s->base))))
            goto fail;
        if (cio__hc_url_parse(s->base, o.base_url) < 0) {
            free(s->base);
            s->base = NULL;
            err = -EINVAL;
            goto fail;
        }
    }
    if (o.proxy) {
        if ((err = proxy_parse(o.proxy, &s->px[0])) < 0 ||
            (err = proxy_parse(o.proxy, &s->px[1])) < 0)
            goto fail;
    } else if (o.trust_env) { /* aiohttp's trust_env: curl's variables */
        const char *hp = getenv("http_proxy");
        /* HTTP_PROXY is not trusted in a CGI program (httpoxy) */
        if ((!hp || !*hp) && !getenv("REQUEST_METHOD"))
            hp = getenv("HTTP_PROXY");
        const char *sp = env2("https_proxy", "HTTPS_PROXY");
        const char *np = env2("no_proxy", "NO_PROXY");
        if ((hp && *hp && (err = proxy_parse(hp, &s->px[0])) < 0) ||
            (sp && (err = proxy_parse(sp, &s->px[1])) < 0))
            goto fail;
        err = -ENOMEM;
        if (np && !(s->no_proxy = strdup(np)))
            goto fail;
    }
    o.user_agent = s->user_agent;
    o.unix_path = s->unix_path;
    o.proxy = NULL;
    o.headers = (const char *const *)s->headers;
    o.base_url = NULL; /* s->base */
    s->o = o;
    cio_event_init(&s->slot);
    *out = s;
    return 0;
fail:
    free(s->user_agent);
    free(s->unix_path);
    proxies_free(s);
    headers_free(s->headers);
    if (s->base) {
        cio__hc_url_free(s->base);
        free(s->base);
    }
    free(s);
    return err;
}

void cio__hc_conn_close(hc_conn *c)
{
    if (c->io.close)
        c->io.close(c->io.ctx);
    free(c->buf);
    free(c);
}

int cio_http_session_close(cio_http_session *s)
{
    if (!s)
        return 0;
    if (s->busy || s->nwaiting)
        return -EBUSY;
    hc_host *h = s->hosts;
    while (h) {
        hc_host *n = h->next;
        if (h->h2) /* its reader task ends it */
            cio__hc_h2_detach(h->h2);
        hc_conn *c = h->idle;
        while (c) {
            hc_conn *cn = c->next;
            cio__hc_conn_close(c);
            c = cn;
        }
        free(h->key);
        free(h);
        h = n;
    }
    cio_event_destroy(&s->slot);
    cio__hc_jar_free(s);
    cio_tls_ctx_free(s->tls_default);
    cio_tls_ctx_free(s->tls_h2);
    free(s->user_agent);
    free(s->unix_path);
    proxies_free(s);
    headers_free(s->headers);
    if (s->base) {
        cio__hc_url_free(s->base);
        free(s->base);
    }
    free(s);
    return 0;
}

int cio_http_session_stats(const cio_http_session *s, long *opened, long *idle)
{
    if (!s)
        return -EINVAL;
    long n = 0;
    for (hc_host *h = s->hosts; h; h = h->next)
        n += h->nidle;
    if (opened)
        *opened = s->opened;
    if (idle)
        *idle = n;
    return 0;
}

/* ---- pool ---------------------------------------------------------------- */

static hc_host *host_get(cio_http_session *s, const char *key)
{
    for (hc_host *h = s->hosts; h; h = h->next)
        if (!strcmp(h->key, key))
            return h;
    hc_host *h = calloc(1, sizeof(*h));
    if (!h || !(h->key = strdup(key))) {
        free(h);
        return NULL;
    }
    h->next = s->hosts;
    s->hosts = h;
    return h;
}

static void slot_freed(cio_http_session *s)
{
    if (s->nwaiting)
        cio_event_set(&s->slot);
}

void cio__hc_slot_freed(cio_http_session *s)
{
    slot_freed(s);
}

void cio__hc_release_conn(cio_http_session *s, hc_conn *c, int reusable)
{
    hc_host *h = c->host;
    if (reusable && h && s->o.keepalive_timeout > 0 && c->off == c->len) {
        c->off = c->len = 0;
        c->idle_since = cio_loop_time(s->loop);
        c->reused++;
        c->next = h->idle;
        h->idle = c;
        h->nidle++;
        slot_freed(s);
        return;
    }
    if (h) {
        h->nopen--;
        s->nopen--;
    }
    cio__hc_conn_close(c);
    slot_freed(s);
}

/* Closes one idle connection of another host to make room under the total
 * limit. Returns 1 if one was closed. */
static int evict_idle(cio_http_session *s, hc_host *except)
{
    for (hc_host *h = s->hosts; h; h = h->next) {
        if (h == except || !h->idle)
            continue;
        hc_conn *c = h->idle;
        h->idle = c->next;
        h->nidle--;
        h->nopen--;
        s->nopen--;
        cio__hc_conn_close(c);
        return 1;
    }
    return 0;
}

/* The connection to a host, as the session's connector makes it. */
static int tcp_or_unix(cio_http_session *s, const hc_url *u, cio_socket **out)
{
    if (s->unix_path) {
        cio_sockaddr a;
        int r = cio_sockaddr_from_unix(&a, s->unix_path);
        if (r < 0)
            return r;
        r = cio_socket_open(out, s->loop, AF_UNIX, SOCK_STREAM, 0);
        if (r < 0)
            return r;
        r = cio_socket_connect(*out, &a);
        if (r < 0) {
            cio_socket_close(*out);
            *out = NULL;
        }
        return r;
    }
    const struct hc_proxy *px = proxy_for(s, u);
    if (px)
        return cio_socket_create_connection(out, px->host, px->port);
    return cio_socket_create_connection(out, u->host, u->port);
}

static void host_port(hc_buf *b, const hc_url *u, int always_port)
{
    if (u->ipv6)
        cio__hc_buf_fmt(b, "[%s]", u->host);
    else
        cio__hc_buf_str(b, u->host);
    int def = strcmp(u->scheme, "https") == 0 ? 443 : 80;
    if (always_port || u->port != def)
        cio__hc_buf_fmt(b, ":%d", u->port);
}

/* CONNECT host:port through the proxy on c. */
static int proxy_tunnel(cio_http_session *s, hc_conn *c, const hc_url *u,
                        int64_t deadline)
{
    hc_buf b = {0};
    cio__hc_buf_str(&b, "CONNECT ");
    host_port(&b, u, 1);
    cio__hc_buf_str(&b, " HTTP/1.1\r\nHost: ");
    host_port(&b, u, 1);
    cio__hc_buf_str(&b, "\r\n");
    const struct hc_proxy *px = proxy_for(s, u);
    if (px && px->auth)
        cio__hc_buf_fmt(&b, "Proxy-Authorization: %s\r\n", px->auth);
    cio__hc_buf_str(&b, "\r\n");
    if (b.oom) {
        free(b.p);
        return -ENOMEM;
    }
    int r = c->io.send(c->io.ctx, b.p, b.len);
    free(b.p);
    if (r < 0)
        return r;
    cio_http_client_response pr;
    memset(&pr, 0, sizeof(pr));
    cio__http_limits pl = CIO__HTTP_LIMITS_INIT;
    pl.max_body = UINT64_MAX;
    pr.lim.p = pl;
    pr.head_req = 1; /* a 2xx answer to CONNECT has no body */
    pr.deadline = deadline;
    pr.s = s;
    int got = 0;
    r = cio__hc_read_head(&pr, c, 0, &got);
    int st = pr.status;
    pr.conn = NULL;
    cio__hc_response_clear(&pr);
    if (r < 0)
        return r == -ECANCELED || r == CIO_EHTTPC_TIMEOUT ||
                       r == CIO_EHTTPC_READ_TIMEOUT
                   ? r
                   : CIO_EHTTPC_PROXY;
    if (st < 200 || st > 299 || c->off != c->len)
        return CIO_EHTTPC_PROXY;
    return 0;
}

/* Gets a pooled or new connection for u. *reused: from the pool. When
 * the origin speaks HTTP/2 (ALPN h2, or prior knowledge on http://),
 * *h2 is its one connection instead and *out stays NULL. */
static int acquire(cio_http_session *s, const hc_url *u, const char *key,
                   int fresh, int64_t deadline, hc_conn **out, int *reused,
                   hc_h2 **h2)
{
    *out = NULL;
    *reused = 0;
    *h2 = NULL;
    hc_host *h = host_get(s, key);
    if (!h)
        return -ENOMEM;
    int https = !strcmp(u->scheme, "https");
    int want_h2 = s->o.http_version != CIO_HTTP_CLIENT_HTTP1 && !s->o.wrap &&
                  (https ? !h->h1_only
                         : s->o.http_version == CIO_HTTP_CLIENT_H2_PRIOR);
    for (;;) {
        if (want_h2 && (https ? !h->h1_only : 1)) {
            if (cio__hc_h2_usable(h->h2)) {
                *h2 = h->h2;
                return 0;
            }
            if (h->h2_connecting) { /* one connection per origin: wait */
                s->nwaiting++;
                cio_event_clear(&s->slot);
                int r = cio_event_wait(&s->slot);
                s->nwaiting--;
                if (r < 0)
                    return r;
                continue;
            }
        } else {
            want_h2 = 0;
        }
        int64_t now = cio_loop_time(s->loop);
        while (!fresh && h->idle) {
            hc_conn *c = h->idle;
            h->idle = c->next;
            h->nidle--;
            if (now - c->idle_since > s->o.keepalive_timeout) {
                h->nopen--;
                s->nopen--;
                cio__hc_conn_close(c); /* expired */
                continue;
            }
            *out = c;
            *reused = 1;
            return 0;
        }
        if (s->nopen >= s->o.limit && evict_idle(s, h))
            continue;
        if (s->nopen < s->o.limit &&
            (!s->o.limit_per_host || h->nopen < s->o.limit_per_host))
            break;
        if (fresh && h->idle) { /* make room from our own idle ones */
            hc_conn *c = h->idle;
            h->idle = c->next;
            h->nidle--;
            h->nopen--;
            s->nopen--;
            cio__hc_conn_close(c);
            continue;
        }
        s->nwaiting++;
        cio_event_clear(&s->slot);
        int r = cio_event_wait(&s->slot);
        s->nwaiting--;
        if (r < 0)
            return r;
    }
    h->nopen++;
    s->nopen++;
    if (want_h2)
        h->h2_connecting = 1;
    hc_conn *c = calloc(1, sizeof(*c));
    int r = -ENOMEM;
    if (!c || !(c->buf = malloc(HC_CONN_BUF)))
        goto fail;
    c->cap = HC_CONN_BUF;
    cio_socket *sock = NULL;
    r = tcp_or_unix(s, u, &sock);
    if (r < 0)
        goto fail;
    c->io = (cio_http_transport){sock, sock_recv, sock_send, sock_close};
    s->opened++;
    if (proxy_for(s, u)) {
        r = proxy_tunnel(s, c, u, deadline);
        if (r < 0)
            goto fail;
    }
    if (!strcmp(u->scheme, "https")) {
        if (s->o.wrap) {
            cio_http_transport t;
            r = s->o.wrap(s->o.wrap_arg, sock, u->host, &t);
            if (r < 0)
                goto fail;
            c->io = t;
        } else {
            cio_tls_ctx *tc = s->o.tls;
            cio_tls_ctx **def = want_h2 ? &s->tls_h2 : &s->tls_default;
            if (!tc && !(tc = *def)) {
                static const char *const alpn[] = {"h2", "http/1.1"};
                r = cio_tls_ctx_new(def, CIO_TLS_CLIENT);
                if (r < 0)
                    goto fail;
                /* HTTP/1.1 only: the h2 entry left out */
                cio_tls_ctx_set_alpn(*def, want_h2 ? alpn : alpn + 1,
                                     want_h2 ? 2 : 1);
                tc = *def;
            }
            /* the socket's recv/send carry plaintext through TLS from
             * here on; verification and host name check by the context */
            r = cio_socket_start_tls(sock, tc, u->host);
            if (r < 0)
                goto fail;
            const char *alpn = cio_tls_alpn(cio_socket_tls(sock));
            if (want_h2 && (!alpn || strcmp(alpn, "h2") != 0)) {
                h->h1_only = 1; /* the server chose HTTP/1.1 */
                want_h2 = 0;
            }
        }
    }
    if (want_h2) { /* the socket becomes the origin's HTTP/2 connection */
        c->io.close = NULL;
        free(c->buf);
        free(c);
        c = NULL;
        r = cio__hc_h2_open(s, h, sock); /* takes sock */
        h->h2_connecting = 0;
        slot_freed(s);
        if (r < 0)
            goto fail;
        *h2 = h->h2;
        return 0;
    }
    if (h->h2_connecting) {
        h->h2_connecting = 0;
        slot_freed(s);
    }
    c->host = h;
    *out = c;
    return 0;
fail:
    if (want_h2 && h->h2_connecting) {
        h->h2_connecting = 0;
        slot_freed(s);
    }
    h->nopen--;
    s->nopen--;
    if (c) {
        if (c->io.close)
            c->io.close(c->io.ctx);
        free(c->buf);
        free(c);
    }
    slot_freed(s);
    return r;
}

/* ---- request bodies --------------------------------------------------------
 */

typedef struct hc_req {
    cio_http_session *s;
    const cio_http_request_opts *o;
    const char *method;
    hc_buf body; /* prepared body (json, form, multipart) */
    const char *bp;
    size_t blen;
    int has_body;     /* any body kind */
    int replayable;   /* not a source */
    int64_t file_len; /* -1: no file */
    const char *ctype;
    int drop_creds;
    char boundary[48];
} hc_req;

static int prepare_body(hc_req *q)
{
    const cio_http_request_opts *o = q->o;
    int kinds = !!o->body + !!o->json + !!o->form + !!o->parts + !!o->source +
                !!o->file;
    if (kinds > 1)
        return -EINVAL;
    q->file_len = -1;
    q->replayable = 1;
    if (o->body) {
        q->bp = o->body;
        q->blen = o->body_len;
        q->ctype =
            o->content_type ? o->content_type : "application/octet-stream";
        q->has_body = 1;
    } else if (o->json) {
        char *t = cJSON_PrintUnformatted(o->json);
        if (!t)
            return -ENOMEM;
        cio__hc_buf_str(&q->body, t);
        cJSON_free(t);
        q->ctype = "application/json";
        q->has_body = 1;
    } else if (o->form) {
        for (size_t i = 0; o->form[i] && o->form[i + 1]; i += 2) {
            if (i)
                cio__hc_buf_add(&q->body, "&", 1);
            cio__hc_buf_quote(&q->body, o->form[i], 1);
            cio__hc_buf_add(&q->body, "=", 1);
            cio__hc_buf_quote(&q->body, o->form[i + 1], 1);
        }
        if (!q->body.p)
            cio__hc_buf_add(&q->body, "", 0);
        q->ctype = "application/x-www-form-urlencoded";
        q->has_body = 1;
    } else if (o->parts) {
        static _Thread_local unsigned long seq;
        snprintf(q->boundary, sizeof(q->boundary), "cio-%lx-%lx-%lx",
                 (unsigned long)time(NULL), (unsigned long)getpid(), ++seq);
        for (size_t i = 0; i < o->nparts; i++) {
            const cio_http_form_part *p = &o->parts[i];
            if (!p->name || strpbrk(p->name, "\"\r\n") ||
                (p->filename && strpbrk(p->filename, "\"\r\n")))
                return -EINVAL;
            cio__hc_buf_fmt(&q->body,
                            "--%s\r\nContent-Disposition: form-data; "
                            "name=\"%s\"",
                            q->boundary, p->name);
            if (p->filename)
                cio__hc_buf_fmt(&q->body, "; filename=\"%s\"", p->filename);
            cio__hc_buf_str(&q->body, "\r\n");
            const char *ct =
                p->content_type
                    ? p->content_type
                    : (p->filename ? "application/octet-stream" : NULL);
            if (ct)
                cio__hc_buf_fmt(&q->body, "Content-Type: %s\r\n", ct);
            cio__hc_buf_str(&q->body, "\r\n");
            cio__hc_buf_add(&q->body, p->data, p->len);
            cio__hc_buf_str(&q->body, "\r\n");
        }
        cio__hc_buf_fmt(&q->body, "--%s--\r\n", q->boundary);
        q->ctype = NULL; /* with the boundary, below */
        q->has_body = 1;
    } else if (o->source) {
        q->replayable = 0;
        q->ctype =
            o->content_type ? o->content_type : "application/octet-stream";
        q->has_body = 1;
    } else if (o->file) {
        struct stat st;
        if (stat(o->file, &st) < 0)
            return -errno;
        if (!S_ISREG(st.st_mode))
            return -EINVAL;
        q->file_len = st.st_size;
        q->ctype =
            o->content_type ? o->content_type : "application/octet-stream";
        q->has_body = 1;
    }
    if (q->body.oom)
        return -ENOMEM;
    if (q->body.p) {
        q->bp = q->body.p;
        q->blen = q->body.len;
    }
    return 0;
}

static int64_t body_length(const hc_req *q)
{
    if (q->o->source)
        return q->o->source_len;
    if (q->o->file)
        return q->file_len;
    return (int64_t)q->blen;
}

static int user_has(const cio_http_request_opts *o, const char *name)
{
    if (!o->headers)
        return 0;
    for (size_t i = 0; o->headers[i] && o->headers[i + 1]; i += 2)
        if (!strcasecmp(o->headers[i], name))
            return 1;
    return 0;
}

/* Whether the request's fields or the session's defaults give name. */
static int has_field(const cio_http_session *s, const cio_http_request_opts *o,
                     const char *name)
{
    if (user_has(o, name))
        return 1;
    if (s->headers)
        for (size_t i = 0; s->headers[i]; i += 2)
            if (!strcasecmp(s->headers[i], name))
                return 1;
    return 0;
}

/* A field of the request head; a Cookie field takes the jar's cookies
 * (*jar: "Cookie: ...\r\n" not sent yet) into the same line: one Cookie
 * field, as RFC 6265 5.4 asks. */
static void put_field(hc_buf *b, const char *n, const char *v, hc_buf *jar)
{
    if (jar->len > 10 && !strcasecmp(n, "cookie")) {
        cio__hc_buf_fmt(b, "%s: %s; ", n, v);
        cio__hc_buf_add(b, jar->p + 8, jar->len - 8); /* after "Cookie: " */
        jar->len = 0;
        return;
    }
    cio__hc_buf_fmt(b, "%s: %s\r\n", n, v);
}

/* The request head. */
static int build_head(hc_req *q, const hc_url *u, hc_buf *b, int expect)
{
    cio_http_session *s = q->s;
    const cio_http_request_opts *o = q->o;
    cio__hc_buf_fmt(b, "%s ", q->method);
    cio__hc_buf_str(b, u->target);
    if (o->params && o->params[0] && o->params[1]) {
        cio__hc_buf_add(b, strchr(u->target, '?') ? "&" : "?", 1);
        for (size_t i = 0; o->params[i] && o->params[i + 1]; i += 2) {
            if (i)
                cio__hc_buf_add(b, "&", 1);
            cio__hc_buf_quote(b, o->params[i], 1);
            cio__hc_buf_add(b, "=", 1);
            cio__hc_buf_quote(b, o->params[i + 1], 1);
        }
    }
    cio__hc_buf_str(b, " HTTP/1.1\r\n");
    if (!has_field(s, o, "host")) {
        cio__hc_buf_str(b, "Host: ");
        host_port(b, u, 0);
        cio__hc_buf_str(b, "\r\n");
    }
    if (!has_field(s, o, "user-agent"))
        cio__hc_buf_fmt(b, "User-Agent: %s\r\n", s->user_agent);
    if (!has_field(s, o, "accept"))
        cio__hc_buf_str(b, "Accept: */*\r\n");
    if (!s->o.no_decompress && !has_field(s, o, "accept-encoding"))
        cio__hc_buf_str(b, "Accept-Encoding: gzip, deflate\r\n");
    const char *user = u->user ? u->user : o->user;
    const char *pass = u->user ? u->pass : o->password;
    if (user && !q->drop_creds) {
        hc_buf cred = {0};
        cio__hc_buf_fmt(&cred, "%s:%s", user, pass ? pass : "");
        cio__hc_buf_str(b, "Authorization: Basic ");
        cio__hc_buf_base64(b, cred.p, cred.len);
        cio__hc_buf_str(b, "\r\n");
        free(cred.p);
    }
    hc_buf jar = {0};
    if (!s->o.no_cookies)
        cio__hc_jar_header(s, &jar, u->host, u->target,
                           !strcmp(u->scheme, "https"));
    if (jar.len && (q->drop_creds || !has_field(s, o, "cookie"))) {
        cio__hc_buf_add(b, jar.p, jar.len); /* no Cookie field to join */
        jar.len = 0;
    }
    if (s->headers) /* the session's defaults the request does not give */
        for (size_t i = 0; s->headers[i]; i += 2) {
            const char *n = s->headers[i], *v = s->headers[i + 1];
            if (user_has(o, n))
                continue;
            if (q->drop_creds &&
                (!strcasecmp(n, "authorization") || !strcasecmp(n, "cookie")))
                continue;
            if (!q->has_body && !strcasecmp(n, "content-type"))
                continue;
            if (user && !q->drop_creds && !strcasecmp(n, "authorization"))
                continue; /* the request's user:pass wins */
            put_field(b, n, v, &jar);
        }
    if (o->headers)
        for (size_t i = 0; o->headers[i] && o->headers[i + 1]; i += 2) {
            const char *n = o->headers[i], *v = o->headers[i + 1];
            if (strpbrk(n, "\r\n:") || strpbrk(v, "\r\n")) {
                free(jar.p);
                return -EINVAL; /* no header injection */
            }
            if (q->drop_creds &&
                (!strcasecmp(n, "authorization") || !strcasecmp(n, "cookie")))
                continue;
            if (!q->has_body && (!strcasecmp(n, "content-type") ||
                                 !strcasecmp(n, "content-length")))
                continue;
            put_field(b, n, v, &jar);
        }
    if (jar.len) /* (only when no Cookie field was sent after all) */
        cio__hc_buf_add(b, jar.p, jar.len);
    free(jar.p);
    if (jar.oom)
        b->oom = 1;
    if (q->has_body) {
        if (!has_field(s, o, "content-type")) {
            if (q->ctype)
                cio__hc_buf_fmt(b, "Content-Type: %s\r\n", q->ctype);
            else
                cio__hc_buf_fmt(b,
                                "Content-Type: multipart/form-data; "
                                "boundary=%s\r\n",
                                q->boundary);
        }
        int64_t len = body_length(q);
        if (len >= 0)
            cio__hc_buf_fmt(b, "Content-Length: %lld\r\n", (long long)len);
        else
            cio__hc_buf_str(b, "Transfer-Encoding: chunked\r\n");
        if (expect)
            cio__hc_buf_str(b, "Expect: 100-continue\r\n");
    } else if (!strcmp(q->method, "POST") || !strcmp(q->method, "PUT") ||
               !strcmp(q->method, "PATCH")) {
        cio__hc_buf_str(b, "Content-Length: 0\r\n");
    }
    cio__hc_buf_str(b, "\r\n");
    return b->oom ? -ENOMEM : 0;
}

/* Sends the body (after the head) that was not sent with it. */
static int send_body(hc_req *q, hc_conn *c)
{
    const cio_http_request_opts *o = q->o;
    if (o->source) {
        enum {
            CAP = 65536
        };
        char *buf = malloc(CAP + 16);
        if (!buf)
            return -ENOMEM;
        int64_t sent = 0;
        int chunked = o->source_len < 0;
        int r = 0;
        for (;;) {
            ssize_t n = o->source(o->source_arg, buf + 10, CAP);
            if (n < 0) {
                r = (int)n;
                break;
            }
            if (n == 0) {
                if (chunked)
                    r = c->io.send(c->io.ctx, "0\r\n\r\n", 5);
                else if (sent != o->source_len)
                    r = -EINVAL; /* shorter than its Content-Length */
                break;
            }
            if (!chunked && sent + n > o->source_len) {
                r = -EINVAL; /* longer than its Content-Length */
                break;
            }
            sent += n;
            if (chunked) {
                char hx[12];
                int hl = snprintf(hx, sizeof(hx), "%zx\r\n", (size_t)n);
                memcpy(buf + 10 - hl, hx, (size_t)hl);
                memcpy(buf + 10 + n, "\r\n", 2);
                r = c->io.send(c->io.ctx, buf + 10 - hl, (size_t)(hl + n + 2));
            } else {
                r = c->io.send(c->io.ctx, buf + 10, (size_t)n);
            }
            if (r < 0)
                break;
        }
        free(buf);
        return r;
    }
    if (o->file) {
        int fd = open(o->file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        enum {
            CAP = 65536
        };
        char *buf = malloc(CAP);
        int r = buf ? 0 : -ENOMEM;
        int64_t left = q->file_len;
        while (r == 0 && left > 0) {
            ssize_t n = read(fd, buf, left < CAP ? (size_t)left : CAP);
            if (n <= 0) {
                r = n < 0 ? -errno : -EIO; /* the file shrank */
                break;
            }
            left -= n;
            r = c->io.send(c->io.ctx, buf, (size_t)n);
        }
        free(buf);
        close(fd);
        return r;
    }
    if (q->blen)
        return c->io.send(c->io.ctx, q->bp, q->blen);
    return 0;
}

static int idempotent(const char *m)
{
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "OPTIONS") ||
           !strcmp(m, "TRACE") || !strcmp(m, "PUT") || !strcmp(m, "DELETE");
}

static void store_cookies(cio_http_session *s, cio_http_client_response *r,
                          const hc_url *u)
{
    if (s->o.no_cookies)
        return;
    const char *v;
    size_t n;
    for (size_t i = 0;
         (v = cio_http_client_response_header(r, "set-cookie", i, &n)); i++)
        cio__hc_jar_store(s, u->host, u->target, v, n);
}

/* One exchange on one connection: head, body, response head. */
static int exchange(hc_req *q, const hc_url *u, hc_conn *c,
                    cio_http_client_response *r, int *got)
{
    int64_t blen = body_length(q);
    int expect = q->has_body &&
                 (blen < 0 || (uint64_t)blen >= q->s->o.expect_continue_min) &&
                 q->s->o.expect_continue_min != SIZE_MAX;
    hc_buf h = {0};
    int e = build_head(q, u, &h, expect);
    if (e < 0) {
        free(h.p);
        return e;
    }
    int inline_body = !expect && q->bp && !q->o->source && !q->o->file &&
                      q->blen <= HC_SMALL_BODY;
    if (inline_body)
        cio__hc_buf_add(&h, q->bp, q->blen);
    if (h.oom) {
        free(h.p);
        return -ENOMEM;
    }
    e = c->io.send(c->io.ctx, h.p, h.len);
    free(h.p);
    if (e < 0)
        return e;
    if (expect) {
        cio_timeout to;
        e = cio_timeout_begin(&to, HC_EXPECT_WAIT);
        if (e < 0)
            return e;
        e = cio__hc_read_head(r, c, 1, got);
        e = cio_timeout_end(&to, e);
        if (e == -ETIMEDOUT && cio_timeout_expired(&to))
            e = 0, r->status = 100; /* no answer: send anyway */
        if (e < 0)
            return e;
        if (r->status != 100) {
            r->keep_alive = 0; /* the body we announced was never sent */
            return 0;
        }
        r->conn = NULL;
    }
    if (!inline_body) {
        e = send_body(q, c);
        if (e < 0)
            return e;
    }
    return cio__hc_read_head(r, c, 0, got);
}

static int same_origin(const hc_url *a, const hc_url *b)
{
    return !strcmp(a->scheme, b->scheme) && !strcasecmp(a->host, b->host) &&
           a->port == b->port;
}

static int request_inner(cio_http_session *s, const char *method,
                         const char *url, const cio_http_request_opts *opts,
                         int64_t deadline, cio_http_client_response **out)
{
    static const cio_http_request_opts none;
    const cio_http_request_opts *o = opts ? opts : &none;
    hc_req q;
    memset(&q, 0, sizeof(q));
    q.s = s;
    q.o = o;
    q.method = method;
    int e = prepare_body(&q);
    if (e < 0) {
        free(q.body.p);
        return e;
    }
    hc_url orig, u;
    e = cio__hc_url_parse(&u, url);
    if (e < 0) {
        free(q.body.p);
        return e;
    }
    cio__hc_url_parse(&orig, url);
    char *cur_method = strdup(method);
    cio_http_client_response *r = calloc(1, sizeof(*r));
    if (!r || !cur_method) {
        e = -ENOMEM;
        goto out;
    }
    int max_redirects =
        o->max_redirects ? o->max_redirects : s->o.max_redirects;
    int64_t sock_read =
        o->timeout.sock_read ? o->timeout.sock_read : s->o.timeout.sock_read;
    int64_t connect_to =
        o->timeout.connect ? o->timeout.connect : s->o.timeout.connect;
    for (int redirects = 0;; redirects++) {
        q.method = cur_method;
        char key[300];
        snprintf(key, sizeof(key), "%s://%s:%d", u.scheme, u.host, u.port);
        int fresh = 0;
        for (int attempt = 0;; attempt++) {
            hc_conn *c;
            hc_h2 *h2c;
            int reused;
            cio_timeout cto;
            int64_t cdl = connect_to > 0 ? cio_loop_time(s->loop) + connect_to
                                         : INT64_MAX;
            if (connect_to > 0) {
                e = cio_timeout_begin_at(&cto, cdl);
                if (e < 0)
                    goto out;
            }
            e = acquire(s, &u, key, fresh, deadline, &c, &reused, &h2c);
            if (connect_to > 0) {
                e = cio_timeout_end(&cto, e);
                if (e == -ETIMEDOUT && cio_timeout_expired(&cto))
                    e = CIO_EHTTPC_CONNECT_TIMEOUT;
            }
            if (e < 0)
                goto out;
            cio__hc_response_clear(r);
            memset(r, 0, sizeof(*r));
            r->s = s;
            cio__http_limits pl = CIO__HTTP_LIMITS_INIT;
            pl.max_head = s->o.max_head;
            pl.max_header_line = s->o.max_field;
            pl.max_request_line = s->o.max_field;
            pl.max_headers = s->o.max_headers;
            pl.max_trailers = s->o.max_head; /* trailers: as the head */
            pl.max_body = UINT64_MAX;
            r->lim.p = pl;
            r->lim.max_body = s->o.max_body;
            r->lim.max_line = s->o.max_line;
            r->head_req = !strcmp(cur_method, "HEAD");
            r->deadline = deadline;
            r->sock_read = sock_read;
            r->redirects = redirects;
            if (h2c) {
                hc_buf hb = {0};
                int refused = 0;
                e = build_head(&q, &u, &hb, 0);
                if (e == 0) {
                    hc_h2_req hq = {hb.p,        hb.len,        u.scheme,
                                    q.bp,        q.blen,        q.o->file,
                                    q.file_len,  q.o->source,   q.o->source_arg,
                                    q.has_body};
                    e = cio__hc_h2_exchange(h2c, &hq, r, &refused);
                }
                free(hb.p);
                if (e == 0)
                    break;
                cio__hc_h2_release(r);
                if (attempt == 0 && refused && q.replayable &&
                    idempotent(cur_method)) {
                    fresh = 1; /* GOAWAY before it was processed: again */
                    continue;
                }
                goto out;
            }
            int got = 0;
            e = exchange(&q, &u, c, r, &got);
            if (e == 0)
                break;
            r->conn = NULL;
            cio__hc_release_conn(s, c, 0);
            if (attempt == 0 && reused && !got && q.replayable &&
                idempotent(cur_method) &&
                (e == CIO_EHTTPC_DISCONNECTED || e == -ECONNRESET ||
                 e == -EPIPE)) {
                fresh = 1; /* the pooled connection was dead: once more */
                continue;
            }
            goto out;
        }
        store_cookies(s, r, &u);
        int st = r->status;
        size_t ll;
        const char *loc =
            cio_http_client_response_header(r, "location", 0, &ll);
        int is_redirect =
            (st == 301 || st == 302 || st == 303 || st == 307 || st == 308) &&
            loc && !o->no_redirects;
        if (is_redirect && (st == 307 || st == 308) && !q.replayable)
            is_redirect = 0; /* the streamed body cannot be sent again */
        if (!is_redirect)
            break;
        if (redirects >= max_redirects) {
            e = CIO_EHTTPC_TOO_MANY_REDIRECTS;
            goto out;
        }
        char *next = cio__hc_url_join(&u, loc, ll);
        if (!next) {
            e = -ENOMEM;
            goto out;
        }
        /* the redirect's own body: read off so the connection is reused */
        int d = cio__hc_drain(r, 65536);
        if (r->conn) {
            cio__hc_release_conn(s, r->conn, d == 0 && r->keep_alive);
            r->conn = NULL;
        }
        cio__hc_h2_release(r);
        hc_url nu;
        e = cio__hc_url_parse(&nu, next);
        free(next);
        if (e < 0)
            goto out;
        cio__hc_url_free(&u);
        u = nu;
        if (!same_origin(&orig, &u))
            q.drop_creds = 1; /* RFC 9110 15.4: no credentials elsewhere */
        if (st == 303
                ? strcmp(cur_method, "HEAD") != 0
                : ((st == 301 || st == 302) && !strcmp(cur_method, "POST"))) {
            free(cur_method);
            cur_method = strdup("GET");
            if (!cur_method) {
                e = -ENOMEM;
                goto out;
            }
            q.has_body = 0;
            q.bp = NULL;
            q.blen = 0;
            q.file_len = -1;
            static const cio_http_request_opts nobody;
            cio_http_request_opts *copy = malloc(sizeof(*copy));
            if (!copy) {
                e = -ENOMEM;
                goto out;
            }
            *copy = nobody;
            copy->headers = o->headers;
            copy->user = o->user;
            copy->password = o->password;
            if (q.o != o)
                free((void *)q.o);
            q.o = copy;
        }
    }
    e = cio__hc_setup_decoding(r, !s->o.no_decompress);
    if (e == 0) {
        hc_buf ub = {0};
        cio__hc_buf_fmt(&ub, "%s://", u.scheme);
        host_port(&ub, &u, 0);
        cio__hc_buf_str(&ub, u.target);
        r->url = ub.p;
        s->busy++;
        *out = r;
        r = NULL;
    }
out:
    if (r) {
        if (r->conn)
            cio__hc_release_conn(s, r->conn, 0);
        cio__hc_h2_release(r);
        cio__hc_response_clear(r);
        free(r);
    }
    if (q.o != o)
        free((void *)q.o);
    free(cur_method);
    free(q.body.p);
    cio__hc_url_free(&u);
    cio__hc_url_free(&orig);
    return e;
}

int cio_http_session_request(cio_http_session *s, const char *method,
                             const char *url, const cio_http_request_opts *opts,
                             cio_http_client_response **out)
{
    if (out)
        *out = NULL;
    if (!s || !method || !url || !out || !method[0] ||
        strpbrk(method, " \r\n\t"))
        return -EINVAL;
    if (!cio_current_task())
        return -EINVAL;
    char *joined = NULL;
    if (s->base && !strstr(url, "://")) { /* relative to base_url */
        if (!(joined = cio__hc_url_join(s->base, url, strlen(url))))
            return -ENOMEM;
        url = joined;
    }
    int64_t total =
        opts && opts->timeout.total ? opts->timeout.total : s->o.timeout.total;
    int64_t deadline = total > 0 ? cio_loop_time(s->loop) + total : INT64_MAX;
    s->busy++;
    int e;
    if (total > 0) {
        cio_timeout to;
        e = cio_timeout_begin_at(&to, deadline);
        if (e == 0) {
            e = request_inner(s, method, url, opts, deadline, out);
            e = cio_timeout_end(&to, e);
            if (e == -ETIMEDOUT && cio_timeout_expired(&to))
                e = CIO_EHTTPC_TIMEOUT;
        }
    } else {
        e = request_inner(s, method, url, opts, deadline, out);
    }
    s->busy--;
    free(joined);
    if (e == 0 && s->o.raise_for_status && (*out)->status >= 400) {
        cio_http_client_response *r = *out;
        /* its body read off (bounded) so the connection is pooled */
        if (r->conn && r->keep_alive &&
            (r->content_length < 0 || r->content_length <= 65536)) {
            int d = cio__hc_drain(r, 65536);
            if (r->conn) /* (a failed drain released it already) */
                cio__hc_release_conn(s, r->conn, d == 0 && r->keep_alive);
            r->conn = NULL;
        }
        e = CIO_EHTTPC_STATUS;
    }
    if (e < 0 && *out) {
        cio_http_client_response_free(*out);
        *out = NULL;
    }
    return e;
}

int cio_http_session_get(cio_http_session *s, const char *url,
                         cio_http_client_response **out)
{
    return cio_http_session_request(s, "GET", url, NULL, out);
}

int cio_http_client_response_free(cio_http_client_response *r)
{
    if (!r)
        return 0;
    cio_http_session *s = r->s;
    if (r->conn) {
        int reusable = r->keep_alive && r->raw_done && !r->err;
        cio__hc_release_conn(s, r->conn, reusable);
        r->conn = NULL;
    }
    cio__hc_h2_release(r);
    cio__hc_response_clear(r);
    free(r);
    if (s)
        s->busy--;
    return 0;
}

/* ---- WebSocket on the session (aiohttp's session.ws_connect) ------------ */

typedef struct ws_cookie_ctx {
    cio_http_session *s;
    const hc_url *u;
} ws_cookie_ctx;

static void ws_on_header(void *arg, int status, const char *name, size_t nl,
                         const char *value, size_t vl)
{
    (void)status;
    ws_cookie_ctx *k = arg;
    if (!k->s->o.no_cookies && cio__http_ieq(name, nl, "set-cookie"))
        cio__hc_jar_store(k->s, k->u->host, k->u->target, value, vl);
}

/* The connection and handshake, inside the total timeout. */
static int ws_connect_inner(cio_http_session *s, hc_url *u,
                            const cio_http_request_opts *o,
                            const cio_ws_options *wo, int64_t deadline,
                            cio_ws **out)
{
    int tls = !strcmp(u->scheme, "https");
    int64_t connect_to =
        o->timeout.connect ? o->timeout.connect : s->o.timeout.connect;
    cio_socket *sock = NULL;
    cio_timeout cto;
    int e = 0;
    if (connect_to > 0 && (e = cio_timeout_begin(&cto, connect_to)) < 0)
        return e;
    e = tcp_or_unix(s, u, &sock);
    if (e == 0) {
        s->opened++;
        if (proxy_for(s, u)) {
            hc_conn c;
            memset(&c, 0, sizeof(c));
            c.io = (cio_http_transport){sock, sock_recv, sock_send, NULL};
            c.buf = malloc(HC_CONN_BUF);
            c.cap = HC_CONN_BUF;
            e = c.buf ? proxy_tunnel(s, &c, u, deadline) : -ENOMEM;
            free(c.buf);
        }
    }
    if (e == 0 && tls) {
        cio_tls_ctx *tc = wo->tls ? wo->tls : s->o.tls;
        if (!tc && !(tc = s->tls_default)) {
            static const char *const alpn[] = {"http/1.1"};
            e = cio_tls_ctx_new(&s->tls_default, CIO_TLS_CLIENT);
            if (e == 0)
                cio_tls_ctx_set_alpn(s->tls_default, alpn, 1);
            tc = s->tls_default;
        }
        if (e == 0)
            e = cio_socket_start_tls(sock, tc,
                                     wo->server_name ? wo->server_name
                                                     : u->host);
    }
    if (connect_to > 0) {
        e = cio_timeout_end(&cto, e);
        if (e == -ETIMEDOUT && cio_timeout_expired(&cto))
            e = CIO_EHTTPC_CONNECT_TIMEOUT;
    }
    if (e < 0) {
        if (sock)
            cio_socket_close(sock);
        return e;
    }
    /* the request's extra fields: user agent, auth, cookies, the caller's */
    hc_buf b = {0};
    if (!has_field(s, o, "user-agent"))
        cio__hc_buf_fmt(&b, "User-Agent: %s\r\n", s->user_agent);
    const char *user = u->user ? u->user : o->user;
    const char *pass = u->user ? u->pass : o->password;
    hc_buf jar = {0};
    if (!s->o.no_cookies)
        cio__hc_jar_header(s, &jar, u->host, u->target, tls);
    if (jar.len && !has_field(s, o, "cookie")) {
        cio__hc_buf_add(&b, jar.p, jar.len);
        jar.len = 0;
    }
    if (s->headers) /* the session's defaults, but not the handshake's own */
        for (size_t i = 0; s->headers[i]; i += 2) {
            const char *n = s->headers[i], *v = s->headers[i + 1];
            if (user_has(o, n) || !strcasecmp(n, "host") ||
                !strcasecmp(n, "connection") || !strcasecmp(n, "upgrade") ||
                !strncasecmp(n, "sec-websocket-", 14) ||
                (user && !strcasecmp(n, "authorization")))
                continue;
            put_field(&b, n, v, &jar);
        }
    if (user && !user_has(o, "authorization")) {
        hc_buf cred = {0};
        cio__hc_buf_fmt(&cred, "%s:%s", user, pass ? pass : "");
        cio__hc_buf_str(&b, "Authorization: Basic ");
        cio__hc_buf_base64(&b, cred.p, cred.len);
        cio__hc_buf_str(&b, "\r\n");
        free(cred.p);
    }
    if (o->headers)
        for (size_t i = 0; o->headers[i] && o->headers[i + 1]; i += 2) {
            const char *n = o->headers[i], *v = o->headers[i + 1];
            if (strpbrk(n, "\r\n:") || strpbrk(v, "\r\n"))
                e = -EINVAL; /* no header injection */
            else if (strcasecmp(n, "host"))
                put_field(&b, n, v, &jar);
        }
    if (jar.len) /* (no Cookie field after all) */
        cio__hc_buf_add(&b, jar.p, jar.len);
    if (jar.oom)
        b.oom = 1;
    free(jar.p);
    hc_buf path = {0};
    cio__hc_buf_str(&path, u->target);
    if (o->params && o->params[0] && o->params[1]) {
        cio__hc_buf_add(&path, strchr(u->target, '?') ? "&" : "?", 1);
        for (size_t i = 0; o->params[i] && o->params[i + 1]; i += 2) {
            if (i)
                cio__hc_buf_add(&path, "&", 1);
            cio__hc_buf_quote(&path, o->params[i], 1);
            cio__hc_buf_add(&path, "=", 1);
            cio__hc_buf_quote(&path, o->params[i + 1], 1);
        }
    }
    cio__hc_buf_add(&b, "", 0);
    cio__hc_buf_add(&b, "\0", 1);
    cio__hc_buf_add(&path, "\0", 1);
    if (e == 0 && (b.oom || path.oom))
        e = -ENOMEM;
    if (e == 0) {
        ws_cookie_ctx k = {s, u};
        cio__ws_hs hs = {b.p, ws_on_header, &k, NULL};
        e = cio__ws_client_handshake(sock, u->host, u->port, path.p, wo, &hs,
                                     out);
    }
    free(b.p);
    free(path.p);
    if (e < 0)
        cio_socket_close(sock);
    return e;
}

int cio_http_session_ws_connect(cio_http_session *s, const char *url,
                                const cio_http_request_opts *opts,
                                const cio_ws_options *ws_opts, cio_ws **out)
{
    if (out)
        *out = NULL;
    if (!s || !url || !out || !cio_current_task())
        return -EINVAL;
    static const cio_http_request_opts none;
    const cio_http_request_opts *o = opts ? opts : &none;
    cio_ws_options wo = CIO_WS_OPTIONS_INIT;
    if (ws_opts)
        wo = *ws_opts;
    if (wo.protocol && strpbrk(wo.protocol, "\r\n"))
        return -EINVAL;
    char *joined = NULL;
    if (s->base && !strstr(url, "://")) { /* relative to base_url */
        if (!(joined = cio__hc_url_join(s->base, url, strlen(url))))
            return -ENOMEM;
        url = joined;
    }
    /* ws:// and wss:// are http:// and https:// for the connector */
    hc_buf ub = {0};
    if (!strncasecmp(url, "ws://", 5) || !strncasecmp(url, "wss://", 6)) {
        cio__hc_buf_str(&ub, url[2] == ':' ? "http" : "https");
        cio__hc_buf_str(&ub, strstr(url, "://"));
    } else {
        cio__hc_buf_str(&ub, url);
    }
    free(joined);
    if (ub.oom) {
        free(ub.p);
        return -ENOMEM;
    }
    hc_url u;
    int e = cio__hc_url_parse(&u, ub.p);
    free(ub.p);
    if (e < 0)
        return e;
    int64_t total =
        o->timeout.total ? o->timeout.total : s->o.timeout.total;
    if (wo.handshake_timeout > 0 && (total <= 0 || wo.handshake_timeout < total))
        total = wo.handshake_timeout;
    int64_t deadline = total > 0 ? cio_loop_time(s->loop) + total : INT64_MAX;
    s->busy++;
    if (total > 0) {
        cio_timeout to;
        e = cio_timeout_begin_at(&to, deadline);
        if (e == 0) {
            e = ws_connect_inner(s, &u, o, &wo, deadline, out);
            e = cio_timeout_end(&to, e);
            if (e == -ETIMEDOUT && cio_timeout_expired(&to))
                e = CIO_EHTTPC_TIMEOUT;
        }
    } else {
        e = ws_connect_inner(s, &u, o, &wo, deadline, out);
    }
    s->busy--;
    if (e < 0 && *out) {
        cio_ws_free(*out);
        *out = NULL;
    }
    cio__hc_url_free(&u);
    return e;
}
