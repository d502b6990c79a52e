/*
 * https.c - HTTPS on the server side of cio::http (docs/design.md section
 * 38): the app's TLS context, ALPN ("h2" / "http/1.1"), and the handshake
 * that runs at the start of each connection's task, before the first
 * byte of HTTP is read.
 *
 * The handshake is cio_socket_start_tls on the accepted socket: from then
 * on every read and write of the connection (io.c, h2.c, ws.c) goes
 * through the socket's TLS byte stream, so the HTTP/1.1 server, HTTP/2
 * and WebSocket code are the same for both. It runs in the connection's
 * task (never in the acceptor, so a slow or stalled client cannot hold up
 * the others), bounded by the app's head_timeout (and by the context's
 * own handshake timeout), and counts as idle for a graceful close: a
 * server closing does not wait for a handshake to finish.
 *
 * A failed handshake (a plain-HTTP client on the TLS port, a scanner, a
 * client that gives up or stalls) ends that connection only, with a line
 * on stderr - at most one per second per server, the rest counted in the
 * next line, so a flood of bad clients cannot flood the log.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "http_int.h"

/* The ALPN list the app's context offers: "h2" first when HTTP/2 is on. */
int cio__https_set_alpn(cio_http_app *app)
{
    if (!app->tls)
        return 0;
    static const char *const both[] = {"h2", "http/1.1"};
    static const char *const h1[] = {"http/1.1"};
    return app->h2_on ? cio_tls_ctx_set_alpn(app->tls, both, 2)
                      : cio_tls_ctx_set_alpn(app->tls, h1, 1);
}

int cio_http_app_tls(cio_http_app *app, cio_tls_ctx *ctx)
{
    if (!app)
        return -EINVAL;
    if (atomic_load(&app->running))
        return -EBUSY;
    cio_tls_ctx *old = app->tls;
    app->tls = cio_tls_ctx_ref(ctx);
    int r = cio__https_set_alpn(app);
    if (r < 0) {
        cio_tls_ctx_free(app->tls);
        app->tls = old;
        return r;
    }
    cio_tls_ctx_free(old);
    return 0;
}

void cio__https_free(cio_http_app *app)
{
    cio_tls_ctx_free(app->tls);
    app->tls = NULL;
}

cio_tls_conn *cio_http_request_tls(const cio_http_request *req)
{
    if (!req || !req->conn || !req->conn->io.sock)
        return NULL;
    return cio_socket_tls(req->conn->io.sock);
}

/* One line per failed handshake, at most one a second per server. */
static void log_failure(conn *c, int r)
{
    cio_http_server *srv = c->srv;
    int64_t now = cio_loop_time(srv->loop);
    if (srv->tls_log_at && now - srv->tls_log_at < CIO_SEC) {
        srv->tls_log_skipped++;
        return;
    }
    srv->tls_log_at = now;
    char addr[64] = "?";
    cio_sockaddr_format(&c->req.peer, addr, sizeof(addr));
    char why[160] = "";
    cio_tls_conn *t = cio_socket_tls(c->io.sock);
    if (t)
        cio_tls_conn_error(t, why, sizeof(why));
    fprintf(stderr, "cio-http: %s: TLS handshake with %s failed: %s%s%s",
            c->app->name ? c->app->name : "app", addr, cio_strerror(r),
            why[0] ? ": " : "", why);
    if (srv->tls_log_skipped)
        fprintf(stderr, " (%lu more failures not shown)", srv->tls_log_skipped);
    fputc('\n', stderr);
    srv->tls_log_skipped = 0;
}

int cio__https_handshake(conn *c)
{
    /* Idle for the server's close: nothing is in flight yet. */
    c->idle = 1;
    cio_timeout t;
    int r = cio_timeout_begin(&t, c->app->cfg.head_timeout);
    if (r == 0)
        r = cio_timeout_end(
            &t, cio_socket_start_tls(c->io.sock, c->app->tls, NULL));
    c->idle = 0;
    if (r == -ECANCELED)
        return r;
    if (r < 0) {
        log_failure(c, r == -ETIMEDOUT ? CIO_ETLS_TIMEOUT : r);
        return r;
    }
    const char *alpn = cio_tls_alpn(cio_socket_tls(c->io.sock));
    return alpn && c->app->h2_on && strcmp(alpn, "h2") == 0 ? 1 : 0;
}
