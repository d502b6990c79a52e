/*
 * ws_client.c - cio_ws_connect: the WebSocket opening handshake over a
 * connected socket (plain, or TLS for wss:// through cio_socket_start_tls):
 * send the Upgrade request, read the head, check 101 and
 * Sec-WebSocket-Accept. The response head goes through the server's parser
 * (parse.c, CIO__HTTP_PARSE_RESPONSE). The session's ws_connect
 * (client.c, cio_http_session_ws_connect) makes its connection with the
 * session's connector and calls cio__ws_client_handshake with its own
 * header lines (cookies, auth, user agent).
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"
#include "ws_int.h"

#define MAX_RESPONSE_HEAD 16384

static const char *find_header(const cio__http_msg *m, const char *name,
                               size_t idx, size_t *len)
{
    for (size_t i = 0; i < m->nheaders; i++) {
        const cio__http_header *h = &m->headers[i];
        if (cio__http_ieq(h->name, h->name_len, name) && idx-- == 0) {
            *len = h->value_len;
            return h->value;
        }
    }
    return NULL;
}

/* Sends the request and checks the answer; on success *out is the ws. */
int cio__ws_client_handshake(cio_socket *s, const char *host, int port,
                             const char *path, const cio_ws_options *opt,
                             const cio__ws_hs *hs, cio_ws **out)
{
    unsigned char raw[16];
    char key[32];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -EIO;
    EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
    int ipv6 = strchr(host, ':') != NULL;
    const char *extra = hs && hs->extra ? hs->extra : "";
    size_t cap = strlen(host) + strlen(path) + 512 + strlen(extra) +
                 (opt->protocol ? strlen(opt->protocol) : 0);
    char *req = malloc(cap);
    if (!req)
        return -ENOMEM;
    size_t n = (size_t)snprintf(
        req, cap,
        "GET %s HTTP/1.1\r\nHost: %s%s%s:%d\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
        "Sec-WebSocket-Version: 13\r\n",
        path, ipv6 ? "[" : "", host, ipv6 ? "]" : "", port, key);
    if (opt->compress)
        n += (size_t)snprintf(req + n, cap - n,
                              "Sec-WebSocket-Extensions: permessage-deflate; "
                              "client_max_window_bits%s\r\n",
                              opt->no_context_takeover
                                  ? "; server_no_context_takeover; "
                                    "client_no_context_takeover"
                                  : "");
    if (opt->protocol)
        n += (size_t)snprintf(req + n, cap - n,
                              "Sec-WebSocket-Protocol: %s\r\n", opt->protocol);
    n += (size_t)snprintf(req + n, cap - n, "%s\r\n", extra);
    int r = cio_socket_sendall(s, req, n, cio_socket_tls(s) ? 0 : MSG_NOSIGNAL);
    free(req);
    if (r < 0)
        return r;

    /* Read the head only: bytes after it are frames, kept for the ws. */
    char *buf = malloc(MAX_RESPONSE_HEAD);
    if (!buf)
        return -ENOMEM;
    size_t len = 0, he = 0;
    while (!(he = cio__http_head_end(buf, len, 0))) {
        if (len == MAX_RESPONSE_HEAD) {
            free(buf);
            return CIO_EWS_HANDSHAKE;
        }
        ssize_t got = cio_socket_recv(s, buf + len, MAX_RESPONSE_HEAD - len, 0);
        if (got <= 0) {
            free(buf);
            return got == 0 ? CIO_EWS_HANDSHAKE : (int)got;
        }
        len += (size_t)got;
    }
    cio__http_header hdrs[64];
    cio__http_msg m;
    memset(&m, 0, sizeof(m));
    m.headers = hdrs;
    m.headers_cap = 64;
    cio__http_limits lim = CIO__HTTP_LIMITS_INIT;
    int hl = cio__http_parse_head(buf, he, CIO__HTTP_PARSE_RESPONSE, &lim, &m);
    r = CIO_EWS_HANDSHAKE;
    size_t vl;
    const char *v;
    if (hl > 0 && hs && hs->on_header)
        for (size_t i = 0; i < m.nheaders; i++)
            hs->on_header(hs->arg, m.status, m.headers[i].name,
                          m.headers[i].name_len, m.headers[i].value,
                          m.headers[i].value_len);
    if (hl > 0 && hs && hs->status)
        *hs->status = m.status;
    if (hl <= 0 || m.status != 101)
        goto out;
    if (!(v = find_header(&m, "upgrade", 0, &vl)) ||
        !cio__ws_has_token(v, vl, "websocket"))
        goto out;
    int conn_ok = 0;
    for (size_t i = 0; (v = find_header(&m, "connection", i, &vl)); i++)
        conn_ok |= cio__ws_has_token(v, vl, "upgrade");
    if (!conn_ok)
        goto out;
    char want[29];
    cio__ws_accept_key(key, strlen(key), want);
    if (!(v = find_header(&m, "sec-websocket-accept", 0, &vl)) || vl != 28 ||
        memcmp(v, want, 28) != 0)
        goto out;
    int pmd = 0, sno = 0, cno = 0, sb = 15, cb = 15;
    for (size_t i = 0;
         (v = find_header(&m, "sec-websocket-extensions", i, &vl)); i++) {
        int e = cio__ws_pmd_parse(v, vl, 0, NULL, 0, &sno, &cno, &sb, &cb);
        if (e < 0 || (e == 1 && (pmd || !opt->compress)))
            goto out; /* malformed, twice, or never offered */
        if (e == 0)
            goto out; /* an extension we did not offer */
        pmd = 1;
    }
    const char *proto = find_header(&m, "sec-websocket-protocol", 0, &vl);
    if (proto && (!opt->protocol || strlen(opt->protocol) != vl ||
                  memcmp(proto, opt->protocol, vl) != 0))
        goto out;
    cio_ws *ws;
    r = cio__ws_new(&ws, s, 1, 0, opt, buf + he, len - he);
    if (r < 0)
        goto out;
    if (pmd && (r = cio__ws_set_deflate(ws, cb, cno, sno)) < 0) {
        ws->own_sock = 0;
        cio_ws_free(ws);
        goto out;
    }
    if (proto)
        snprintf(ws->protocol, sizeof(ws->protocol), "%.*s", (int)vl, proto);
    *out = ws;
    r = 0;
out:
    free(buf);
    return r;
}

int cio_ws_connect(cio_ws **out, const char *host, int port, const char *path,
                   const cio_ws_options *opts)
{
    if (out)
        *out = NULL;
    if (!out || !host || port <= 0 || port > 65535 || !cio_get_running_loop())
        return -EINVAL;
    if (!path || !*path)
        path = "/";
    if (path[0] != '/' || strpbrk(path, " \r\n"))
        return -EINVAL;
    cio_ws_options opt = CIO_WS_OPTIONS_INIT;
    if (opts)
        opt = *opts;
    if (opt.protocol && strpbrk(opt.protocol, "\r\n"))
        return -EINVAL;
    if (opt.handshake_timeout <= 0)
        opt.handshake_timeout = 10 * CIO_SEC;
    cio_timeout t;
    int r = cio_timeout_begin(&t, opt.handshake_timeout);
    if (r < 0)
        return r;
    cio_socket *s = NULL;
    r = cio_socket_create_connection(&s, host, port);
    if (r == 0 && opt.tls)
        r = cio_socket_start_tls(s, opt.tls,
                                 opt.server_name ? opt.server_name : host);
    if (r == 0)
        r = cio__ws_client_handshake(s, host, port, path, &opt, NULL, out);
    r = cio_timeout_end(&t, r);
    if (r < 0) {
        if (*out) {
            cio_ws_free(*out);
            *out = NULL;
            s = NULL;
        }
        if (s)
            cio_socket_close(s);
    }
    return r;
}

int cio_ws_connect_url(cio_ws **out, const char *url,
                       const cio_ws_options *opts)
{
    if (out)
        *out = NULL;
    if (!out || !url)
        return -EINVAL;
    int tls = !strncmp(url, "wss://", 6);
    if (!tls && strncmp(url, "ws://", 5) != 0)
        return -EINVAL;
    const char *h = url + (tls ? 6 : 5), *hend, *p;
    char host[256];
    if (*h == '[') {
        hend = strchr(h, ']');
        if (!hend)
            return -EINVAL;
        h++;
        p = hend + 1;
    } else {
        hend = h + strcspn(h, ":/?");
        p = hend;
    }
    if (hend == h || (size_t)(hend - h) >= sizeof(host))
        return -EINVAL;
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = 0;
    int port = tls ? 443 : 80;
    if (*p == ':') {
        char *e;
        long v = strtol(p + 1, &e, 10);
        if (e == p + 1 || v <= 0 || v > 65535)
            return -EINVAL;
        port = (int)v;
        p = e;
    }
    char path[2048];
    if (*p == '?')
        snprintf(path, sizeof(path), "/%s", p);
    else if (*p == '/' || !*p)
        snprintf(path, sizeof(path), "%s", *p ? p : "/");
    else
        return -EINVAL;
    if (!tls || (opts && opts->tls))
        return cio_ws_connect(out, host, port, path, opts);
    /* wss:// without a context: a default one, verifying (retained by the
     * connection, so ours is dropped at once) */
    cio_ws_options o = CIO_WS_OPTIONS_INIT;
    if (opts)
        o = *opts;
    int r = cio_tls_ctx_new(&o.tls, CIO_TLS_CLIENT);
    if (r < 0)
        return r;
    r = cio_ws_connect(out, host, port, path, &o);
    cio_tls_ctx_free(o.tls);
    return r;
}
