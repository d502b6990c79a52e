/*
 * ws.c - the WebSocket object (receive, send, ping, heartbeat, close) and
 * the server's upgrade (cio_http_websocket, cio_http_websocket_upgrade).
 * Framing is ws_codec.c's; this file does the I/O on the connection's
 * socket, which the HTTP server hands over through its upgrade hook
 * (conn->upgraded, conn->msg_end in http_int.h).
 */
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http_int.h"
#include "ws_int.h"

#define DEF_MAX_MESSAGE ((size_t)16 << 20)
#define READ_CHUNK 16384

int cio__ws_has_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok), i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t st = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > st && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - st == tl && cio__http_ieq(v + st, tl, tok))
            return 1;
    }
    return 0;
}

int cio__ws_new(cio_ws **out, cio_socket *sock, int own_sock, int server,
                const cio_ws_options *opt, const void *early, size_t n)
{
    cio_ws *ws = calloc(1, sizeof(*ws));
    if (!ws)
        return -ENOMEM;
    if (opt)
        ws->opt = *opt;
    ws->opt.protocol = NULL;
    if (!ws->opt.max_message)
        ws->opt.max_message = DEF_MAX_MESSAGE;
    if (ws->opt.close_timeout <= 0)
        ws->opt.close_timeout = 5 * CIO_SEC;
    if (ws->opt.handshake_timeout <= 0)
        ws->opt.handshake_timeout = 10 * CIO_SEC;
    ws->sock = sock;
    ws->own_sock = own_sock;
    ws->server = server;
    cio__ws_rx_init(&ws->rx, server, ws->opt.max_message);
    cio_lock_init(&ws->wlock);
    ws->rnd_pos = sizeof(ws->rnd);
    ws->in_cap = n > READ_CHUNK ? n : READ_CHUNK;
    ws->in = malloc(ws->in_cap);
    if (!ws->in) {
        free(ws);
        return -ENOMEM;
    }
    if (n)
        memcpy(ws->in, early, n);
    ws->in_len = n;
    ws->last_rx = cio_loop_time(cio_get_running_loop());
    *out = ws;
    return 0;
}

int cio__ws_set_deflate(cio_ws *ws, int our_bits, int our_no_ctx,
                        int peer_no_ctx)
{
    if (our_bits < 9)
        our_bits = 9;
    if (deflateInit2(&ws->dz, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -our_bits, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    ws->dz_init = 1;
    ws->deflate = 1;
    ws->deflate_bits = our_bits;
    ws->deflate_no_ctx = our_no_ctx;
    ws->rx.deflate = 1;
    ws->rx.inflate_no_ctx = peer_no_ctx;
    return 0;
}

int cio_ws_free(cio_ws *ws)
{
    if (!ws)
        return 0;
    if (ws->own_sock && ws->sock)
        cio_socket_close(ws->sock);
    cio__ws_rx_free(&ws->rx);
    if (ws->dz_init)
        deflateEnd(&ws->dz);
    cio_lock_destroy(&ws->wlock);
    free(ws->in);
    free(ws->out);
    free(ws->zout);
    free(ws);
    return 0;
}

int cio_ws_close_code(const cio_ws *ws)
{
    return ws ? ws->close_code : 0;
}

const char *cio_ws_close_reason(const cio_ws *ws)
{
    return ws ? ws->close_reason : "";
}

const char *cio_ws_protocol(const cio_ws *ws)
{
    return ws ? ws->protocol : "";
}

int cio_ws_compressed(const cio_ws *ws)
{
    return ws ? ws->deflate : 0;
}

/* ---- sending ------------------------------------------------------------ */

static int mask_key(cio_ws *ws, unsigned char key[4])
{
    if (ws->rnd_pos + 4 > sizeof(ws->rnd)) {
        if (RAND_bytes(ws->rnd, (int)sizeof(ws->rnd)) != 1)
            return -EIO;
        ws->rnd_pos = 0;
    }
    memcpy(key, ws->rnd + ws->rnd_pos, 4);
    ws->rnd_pos += 4;
    return 0;
}

/* Drops the connection after an unrecoverable error (err sticky). */
static void drop(cio_ws *ws, int err)
{
    if (!ws->err)
        ws->err = err;
    if (!ws->close_code)
        ws->close_code = 1006;
    if (ws->sock)
        cio_socket_shutdown(ws->sock, SHUT_RDWR);
}

/* Writes iov[0..n) whole: one sendmsg, then waiting for the rest. */
static int write_all(cio_ws *ws, struct iovec *iov, int n)
{
    if (cio_socket_tls(ws->sock)) { /* wss: plaintext through TLS */
        for (int i = 0; i < n; i++) {
            int r = cio_socket_sendall(ws->sock, iov[i].iov_base,
                                       iov[i].iov_len, 0);
            if (r < 0)
                return r;
        }
        return 0;
    }
    int fd = cio_socket_fileno(ws->sock);
    if (fd < 0)
        return fd;
    struct msghdr mh;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = iov;
    mh.msg_iovlen = (size_t)n;
    ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -errno;
        w = 0;
    }
    size_t done = (size_t)w;
    for (int i = 0; i < n; i++) {
        if (done >= iov[i].iov_len) {
            done -= iov[i].iov_len;
            continue;
        }
        int r = cio_socket_sendall(ws->sock, (char *)iov[i].iov_base + done,
                                   iov[i].iov_len - done, MSG_NOSIGNAL);
        if (r < 0)
            return r;
        done = 0;
    }
    return 0;
}

/* Sends one frame under the write lock. compress: deflate the payload. */
static int send_frame(cio_ws *ws, int fin, int opcode, const void *data,
                      size_t len, int compress)
{
    if (ws->err)
        return ws->err;
    int r = cio_lock_acquire(&ws->wlock);
    if (r < 0)
        return r;
    if (ws->err) {
        r = ws->err;
        goto out;
    }
    int rsv1 = 0;
    if (compress) {
        size_t zl = 0;
        r = cio__ws_deflate(&ws->dz, data, len, &ws->zout, &zl, &ws->zcap);
        if (r < 0)
            goto out;
        if (ws->deflate_no_ctx)
            deflateReset(&ws->dz);
        if (zl == 0) { /* an empty message compresses to one 0 byte */
            ws->zout[0] = 0;
            zl = 1;
        }
        data = ws->zout;
        len = zl;
        rsv1 = 1;
    }
    unsigned char head[14];
    struct iovec iov[2];
    int niov;
    if (ws->server) {
        iov[0].iov_base = head;
        iov[0].iov_len = cio__ws_frame_head(head, fin, rsv1, opcode, len, NULL);
        iov[1].iov_base = (void *)data;
        iov[1].iov_len = len;
        niov = len ? 2 : 1;
    } else {
        unsigned char key[4];
        r = mask_key(ws, key);
        if (r < 0)
            goto out;
        if (ws->out_cap < len + 14) {
            unsigned char *b = realloc(ws->out, len + 14);
            if (!b) {
                r = -ENOMEM;
                goto out;
            }
            ws->out = b;
            ws->out_cap = len + 14;
        }
        size_t h = cio__ws_frame_head(ws->out, fin, rsv1, opcode, len, key);
        if (len)
            memcpy(ws->out + h, data, len);
        cio__ws_mask(ws->out + h, len, key, 0);
        iov[0].iov_base = ws->out;
        iov[0].iov_len = h + len;
        niov = 1;
    }
    r = write_all(ws, iov, niov);
    if (r < 0) {
        /* Part of a frame may have left: nothing can follow it. */
        drop(ws, r == -ECANCELED                     ? CIO_EWS_BROKEN
                 : (r == -EPIPE || r == -ECONNRESET) ? CIO_EWS_ABNORMAL
                                                     : CIO_EWS_BROKEN);
    }
out:
    cio_lock_release(&ws->wlock);
    return r;
}

int cio_ws_send(cio_ws *ws, int type, const void *data, size_t len)
{
    if (!ws || (type != CIO_WS_TEXT && type != CIO_WS_BINARY) ||
        (!data && len) || ws->frag_op)
        return -EINVAL;
    if (type == CIO_WS_TEXT && !cio__utf8_valid(data, len))
        return -EINVAL;
    if (ws->err)
        return ws->err;
    if (ws->close_sent)
        return CIO_EWS_CLOSED;
    return send_frame(ws, 1, type, data, len, ws->deflate);
}

int cio_ws_send_text(cio_ws *ws, const char *text)
{
    if (!text)
        return -EINVAL;
    return cio_ws_send(ws, CIO_WS_TEXT, text, strlen(text));
}

int cio_ws_send_fragment(cio_ws *ws, int type, const void *data, size_t len,
                         int last)
{
    if (!ws || (!data && len))
        return -EINVAL;
    if (!ws->frag_op && type != CIO_WS_TEXT && type != CIO_WS_BINARY)
        return -EINVAL;
    if (ws->err)
        return ws->err;
    if (ws->close_sent)
        return CIO_EWS_CLOSED;
    int op = ws->frag_op ? CIO__WS_CONT : type;
    int r = send_frame(ws, last != 0, op, data, len, 0);
    if (r == 0)
        ws->frag_op = last ? 0 : op == CIO__WS_CONT ? ws->frag_op : type;
    return r;
}

int cio_ws_ping(cio_ws *ws, const void *data, size_t len)
{
    if (!ws || len > 125 || (!data && len))
        return -EINVAL;
    if (ws->err)
        return ws->err;
    if (ws->close_sent)
        return CIO_EWS_CLOSED;
    return send_frame(ws, 1, CIO__WS_PING, data, len, 0);
}

static int send_close(cio_ws *ws, int code, const char *reason, size_t rl)
{
    if (ws->close_sent)
        return 0;
    ws->close_sent = 1;
    unsigned char p[125];
    size_t n = 0;
    if (code && code != 1005) {
        p[0] = (unsigned char)(code >> 8);
        p[1] = (unsigned char)code;
        n = 2;
        if (rl) {
            memcpy(p + 2, reason, rl);
            n += rl;
        }
    }
    return send_frame(ws, 1, CIO__WS_CLOSE, p, n, 0);
}

/* ---- receiving ---------------------------------------------------------- */

/* The connection failed on our side of the protocol: the close frame
 * with the code, then drop. */
static int fail(cio_ws *ws, int code)
{
    int err = code == 1007   ? CIO_EWS_UTF8
              : code == 1009 ? CIO_EWS_TOOBIG
              : code == 1002 ? CIO_EWS_PROTO
                             : -ENOMEM;
    if (!ws->close_sent && !ws->err)
        send_close(ws, code, NULL, 0);
    drop(ws, err);
    ws->close_code = 1006;
    return err;
}

/* Reads more bytes into ws->in (at least `need` in all when known), with
 * the heartbeat's deadline. Returns > 0, or an error. */
static int read_more(cio_ws *ws, size_t need)
{
    /* Compact, then grow for what the frame needs. */
    if (ws->in_off) {
        memmove(ws->in, ws->in + ws->in_off, ws->in_len - ws->in_off);
        ws->in_len -= ws->in_off;
        ws->in_off = 0;
    }
    size_t want =
        need > ws->in_len + READ_CHUNK ? need : ws->in_len + READ_CHUNK;
    if (want > ws->in_cap) {
        size_t cap = ws->in_cap * 2 > want ? ws->in_cap * 2 : want;
        unsigned char *b = realloc(ws->in, cap);
        if (!b)
            return -ENOMEM;
        ws->in = b;
        ws->in_cap = cap;
    }
    cio_loop *loop = cio_get_running_loop();
    for (;;) {
        int64_t deadline = INT64_MAX;
        /* No pings after our close frame (close_timeout governs). */
        if (ws->opt.heartbeat > 0 && !ws->close_sent)
            deadline =
                (ws->ping_out ? ws->ping_at : ws->last_rx) + ws->opt.heartbeat;
        cio_timeout t;
        int r = cio_timeout_begin_at(&t, deadline);
        if (r < 0)
            return r;
        ssize_t n = cio_socket_recv(ws->sock, ws->in + ws->in_len,
                                    ws->in_cap - ws->in_len, 0);
        n = cio_timeout_end(&t, (int)n);
        if (n > 0) {
            ws->in_len += (size_t)n;
            ws->last_rx = cio_loop_time(loop);
            return (int)n;
        }
        if (n == -ECANCELED)
            return (int)n;
        if (n == -ETIMEDOUT && deadline != INT64_MAX) {
            if (ws->ping_out) {
                drop(ws, CIO_EWS_TIMEOUT);
                return CIO_EWS_TIMEOUT;
            }
            ws->ping_out = 1;
            ws->ping_at = cio_loop_time(loop);
            r = send_frame(ws, 1, CIO__WS_PING, "hb", 2, 0);
            if (r < 0 && r != -ECANCELED)
                return ws->err ? ws->err : r;
            if (r == -ECANCELED)
                return r;
            continue;
        }
        /* EOF, reset, or another error: the connection is gone. */
        int err = ws->close_sent && n == 0 ? CIO_EWS_CLOSED : CIO_EWS_ABNORMAL;
        drop(ws, err);
        return ws->err; /* a sender may have failed first */
    }
}

int cio_ws_receive(cio_ws *ws, cio_ws_msg *msg)
{
    if (!ws || !msg)
        return -EINVAL;
    if (ws->close_rcvd)
        return CIO_EWS_CLOSED;
    if (ws->err)
        return ws->err;
    if (ws->receiving)
        return -EBUSY;
    ws->receiving = 1;
    ws->in_off += ws->drop;
    ws->drop = 0;
    int r;
    for (;;) {
        size_t need;
        cio__ws_ev ev;
        long n = cio__ws_rx_frame(&ws->rx, ws->in + ws->in_off,
                                  ws->in_len - ws->in_off, &need, &ev);
        if (n < 0) {
            r = fail(ws, n == -ENOMEM ? 1011 : (int)-n);
            break;
        }
        if (n == 0) {
            r = read_more(ws, need);
            if (r < 0)
                break;
            continue;
        }
        if (ev.type == CIO__WS_TEXT || ev.type == CIO__WS_BINARY) {
            ws->drop = (size_t)n;
            msg->type = ev.type;
            msg->data = ev.data;
            msg->len = ev.len;
            r = 0;
            break;
        }
        if (ev.type == CIO__WS_PING && !ws->close_sent) {
            /* The frame is consumed first (it was unmasked in place and
             * cannot be parsed again): a pong cancelled while waiting
             * for the write lock is not sent, which a peer's heartbeat
             * tolerates as one lost pong. */
            ws->in_off += (size_t)n;
            r = send_frame(ws, 1, CIO__WS_PONG, ev.data, ev.len, 0);
            if (r < 0)
                break;
            continue;
        } else if (ev.type == CIO__WS_PONG) {
            ws->ping_out = 0;
        } else if (ev.type == CIO__WS_CLOSE) {
            ws->close_rcvd = 1;
            ws->close_code = ev.close_code;
            size_t rl = ev.len < sizeof(ws->close_reason) - 1
                            ? ev.len
                            : sizeof(ws->close_reason) - 1;
            memcpy(ws->close_reason, ev.data, rl);
            ws->close_reason[rl] = 0;
            ws->in_off += (size_t)n;
            /* Echo the code (RFC 6455 5.5.1). */
            if (!ws->close_sent && !ws->err)
                send_close(ws, ev.close_code, NULL, 0);
            if (ws->server && ws->sock)
                cio_socket_shutdown(ws->sock, SHUT_WR);
            r = CIO_EWS_CLOSED;
            break;
        }
        ws->in_off += (size_t)n;
    }
    ws->receiving = 0;
    return r;
}

int cio_ws_close(cio_ws *ws, int code, const char *reason)
{
    if (!ws)
        return -EINVAL;
    if (code == 0)
        code = 1000;
    size_t rl = reason ? strlen(reason) : 0;
    if (!cio__ws_close_code_ok(code) || rl > 123 ||
        (rl && !cio__utf8_valid((const unsigned char *)reason, rl)))
        return -EINVAL;
    if (ws->err)
        return ws->err == CIO_EWS_BROKEN ? ws->err : 0;
    int r = send_close(ws, code, reason, rl);
    if (r == -ECANCELED)
        return r;
    if (ws->err || ws->receiving)
        return ws->err == CIO_EWS_BROKEN ? ws->err : 0;
    if (!ws->close_rcvd) {
        cio_timeout t;
        r = cio_timeout_begin(&t, ws->opt.close_timeout);
        if (r < 0)
            return r;
        cio_ws_msg m;
        do
            r = cio_ws_receive(ws, &m);
        while (r == 0);
        r = cio_timeout_end(&t, r);
        if (r == -ECANCELED)
            return r;
    }
    if (ws->server && ws->sock && !ws->err)
        cio_socket_shutdown(ws->sock, SHUT_WR);
    return 0;
}

/* ---- the server's upgrade ----------------------------------------------- */

typedef struct ws_route {
    cio_ws_handler fn;
    void *arg;
    cio_ws_options opt;
    char *protocol;
    struct ws_route *next;
} ws_route;

void cio__ws_routes_free(cio_http_app *app)
{
    while (app->ws_routes) {
        ws_route *n = app->ws_routes->next;
        free(app->ws_routes->protocol);
        free(app->ws_routes);
        app->ws_routes = n;
    }
}

static int refuse(cio_http_response *res, int status, const char *why)
{
    cio_http_response_text(res, status, why);
    if (status == 426) {
        cio_http_response_header(res, "Upgrade", "websocket");
        cio_http_response_header(res, "Sec-WebSocket-Version", "13");
    }
    return CIO_EWS_HANDSHAKE;
}

int cio_http_websocket_upgrade(cio_http_request *req, cio_http_response *res,
                               const cio_ws_options *opts, cio_ws **out)
{
    if (!req || !res || !out || !req->conn || !req->conn->keep_alive)
        return -EINVAL;
    *out = NULL;
    conn *c = req->conn;
    if (c->upgraded || res->streaming)
        return -EINVAL;
    size_t ul = 0, cl = 0, vl = 0, kl = 0;
    const char *up = cio_http_request_header(req, "upgrade", 0, &ul);
    const char *cn = cio_http_request_header(req, "connection", 0, &cl);
    if (!up || !cio__ws_has_token(up, ul, "websocket"))
        return refuse(res, 426, "426 Upgrade Required: WebSocket only\n");
    int conn_ok = 0;
    for (size_t i = 0;
         (cn = cio_http_request_header(req, "connection", i, &cl)); i++)
        conn_ok |= cio__ws_has_token(cn, cl, "upgrade");
    const char *ver =
        cio_http_request_header(req, "sec-websocket-version", 0, &vl);
    const char *key = cio_http_request_header(req, "sec-websocket-key", 0, &kl);
    size_t ml;
    const char *method = cio_http_request_method(req, &ml);
    if (!cio__http_ieq(method, ml, "get") || req->msg.minor != 1 || !conn_ok)
        return refuse(res, 400, "400 Bad Request: not a WebSocket upgrade\n");
    if (!ver || vl != 2 || memcmp(ver, "13", 2) != 0)
        return refuse(res, 426, "426 Upgrade Required: version 13\n");
    /* The key: base64 of 16 bytes, so 22 characters and "==". */
    int key_ok = key && kl == 24 && key[22] == '=' && key[23] == '=';
    for (size_t i = 0; key_ok && i < 22; i++) {
        char ch = key[i];
        key_ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                 (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
    }
    if (!key_ok)
        return refuse(res, 400, "400 Bad Request: bad Sec-WebSocket-Key\n");

    char accept[29];
    cio__ws_accept_key(key, kl, accept);
    char ext[160] = "";
    int sno = 0, cno = 0, sbits = 15, cbits = 15, pmd = 0;
    if (opts && opts->compress) {
        const char *e;
        size_t el;
        for (size_t i = 0;
             !pmd && (e = cio_http_request_header(
                          req, "sec-websocket-extensions", i, &el));
             i++)
            pmd = cio__ws_pmd_parse(e, el, 1, ext, sizeof(ext), &sno, &cno,
                                    &sbits, &cbits) == 1;
        if (pmd && opts->no_context_takeover && (!sno || !cno)) {
            /* Ask the client not to keep its context either (RFC 7692
             * 7.1.1: a server may add both parameters). */
            sno = cno = 1;
            int o = snprintf(ext, sizeof(ext),
                             "permessage-deflate; server_no_context_takeover"
                             "; client_no_context_takeover");
            if (sbits != 15)
                snprintf(ext + o, sizeof(ext) - (size_t)o,
                         "; server_max_window_bits=%d", sbits);
        }
    }
    char proto[64] = "";
    if (opts && opts->protocol && *opts->protocol) {
        const char *p;
        size_t pl;
        for (size_t i = 0;
             !proto[0] && (p = cio_http_request_header(
                               req, "sec-websocket-protocol", i, &pl));
             i++)
            if (cio__ws_has_token(p, pl, opts->protocol))
                snprintf(proto, sizeof(proto), "%s", opts->protocol);
    }

    cio_ws *ws;
    int r = cio__ws_new(&ws, c->io.sock, 0, 1, opts, c->in.p + c->msg_end,
                        c->in.len - c->msg_end);
    if (r < 0)
        return r;
    if (pmd && (r = cio__ws_set_deflate(ws, sbits, sno, cno)) < 0) {
        cio_ws_free(ws);
        return r;
    }
    snprintf(ws->protocol, sizeof(ws->protocol), "%s", proto);
    char head[512];
    int hl =
        snprintf(head, sizeof(head),
                 "HTTP/1.1 101 Switching Protocols\r\n"
                 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n%s%s%s%s%s%s\r\n",
                 accept, pmd ? "Sec-WebSocket-Extensions: " : "", ext,
                 pmd ? "\r\n" : "", proto[0] ? "Sec-WebSocket-Protocol: " : "",
                 proto, proto[0] ? "\r\n" : "");
    /* Earlier pipelined responses still queued go first. */
    r = cio__hbuf_append(&c->out, head, (size_t)hl);
    if (r == 0) {
        struct iovec iov = {c->out.p, c->out.len};
        r = cio__http_io_writev_rest(&c->io, &iov, 1, 0);
    }
    c->out.len = 0;
    c->upgraded = 1; /* from here on the connection is the ws's */
    /* A WebSocket is long-lived: at a graceful server close it is
     * cancelled at once, like an idle keep-alive connection, rather than
     * after shutdown_timeout (the route then says 1001 to the peer). */
    c->idle = 1;
    c->in.len = c->msg_end;
    if (r < 0) {
        cio_ws_free(ws);
        return r;
    }
    res->set = 1;
    *out = ws;
    return 0;
}

static int ws_route_handler(cio_http_request *req, cio_http_response *res,
                            void *arg)
{
    ws_route *wr = arg;
    cio_ws_options opt = wr->opt;
    opt.protocol = wr->protocol;
    cio_ws *ws;
    int r = cio_http_websocket_upgrade(req, res, &opt, &ws);
    if (r == CIO_EWS_HANDSHAKE)
        return 0; /* res holds the 426 / 400 */
    if (r < 0)
        return r;
    int hr = wr->fn(ws, req, wr->arg);
    conn *c = req->conn;
    if (c->srv->closing && !ws->close_sent && !ws->err) {
        /* The server is closing: tell the peer (1001), without waiting
         * for its answer, within a second. */
        cio_timeout t;
        if (cio_timeout_begin(&t, CIO_SEC) == 0)
            cio_timeout_end(&t,
                            send_close(ws, 1001, "server shutting down", 20));
    } else if (hr != -ECANCELED && !ws->close_sent && !ws->err)
        cio_ws_close(ws, hr < 0 ? 1011 : 1000, NULL);
    else if (hr != -ECANCELED && ws->close_sent && !ws->close_rcvd &&
             !ws->err && !ws->receiving) {
        /* The handler sent its close while another task received: give
         * the peer close_timeout to answer. */
        cio_ws_close(ws, 1000, NULL);
    }
    cio_ws_free(ws);
    return hr == -ECANCELED ? hr : 0;
}

int cio_http_websocket(cio_http_app *app, const char *pattern,
                       cio_ws_handler handler, void *arg,
                       const cio_ws_options *opts)
{
    if (!app || !pattern || !handler)
        return -EINVAL;
    ws_route *wr = calloc(1, sizeof(*wr));
    if (!wr)
        return -ENOMEM;
    wr->fn = handler;
    wr->arg = arg;
    if (opts) {
        wr->opt = *opts;
        if (opts->protocol && !(wr->protocol = strdup(opts->protocol))) {
            free(wr);
            return -ENOMEM;
        }
    }
    wr->opt.protocol = NULL;
    int r = cio_http_route(app, pattern, ws_route_handler, wr, CIO_HTTP_GET);
    if (r < 0) {
        free(wr->protocol);
        free(wr);
        return r;
    }
    wr->next = app->ws_routes;
    app->ws_routes = wr;
    return 0;
}
