/*
 * https_client.c - issue 11: an HTTPS-like client that verifies the
 * server (asyncio's open_connection with ssl= and server_hostname=),
 * against a local TLS server the example starts itself.
 *
 *     ctx = ssl.create_default_context(cafile="ca.pem")
 *     ctx.set_alpn_protocols(["http/1.1"])
 *     r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
 *                                          server_hostname="localhost")
 *     w.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n...")
 *
 * Self-contained: it makes a small CA and a server certificate for
 * localhost signed by it (openssl command line tool, temporary
 * directory, removed at the end). The client trusts only that CA, checks
 * the host name, offers ALPN http/1.1, sends a GET and prints the
 * response with what TLS negotiated. Then it shows what a client gets
 * when verification fails (a name the certificate does not carry).
 * Ends by itself, with status 1 if anything was wrong (it runs as a
 * test).
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic https_client.c -o https_client \
 *         $(pkg-config --cflags --libs cio)
 */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cio.h"

static char dir[] = "/tmp/cio-https-XXXXXX";

/* The server: one HTTP/1.1 response per connection. */
static int serve(cio_stream_reader *r, cio_stream_writer *w, void *arg)
{
    (void)arg;
    const char *head;
    size_t len;
    if (cio_stream_reader_readuntil(r, "\r\n\r\n", 4, &head, &len) < 0)
        return 0;
    static const char resp[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: text/plain\r\n"
                               "Content-Length: 20\r\n"
                               "Connection: close\r\n\r\n"
                               "hello over HTTPS :)\n";
    cio_stream_writer_write(w, resp, sizeof(resp) - 1);
    return 0; /* returning closes: close_notify, then FIN */
}

static int make_certs(void)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "cd %s && K='-newkey ec -pkeyopt ec_paramgen_curve:P-256 "
             "-nodes' && "
             "openssl req -x509 $K -keyout ca.key -out ca.pem -days 1 "
             "-subj /CN=example-CA && "
             "openssl req $K -keyout key.pem -out srv.csr -subj /CN=localhost "
             "&& printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext "
             "&& openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key "
             "-CAcreateserial -out cert.pem -days 1 -extfile ext",
             dir);
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_DEVNULL;
    o.stderr_mode = CIO_PROCESS_DEVNULL;
    cio_process *p;
    int rc = cio_create_subprocess_shell(NULL, cmd, &o, &p);
    if (rc < 0)
        return rc;
    int status = -1;
    rc = cio_process_wait(p, &status);
    cio_process_free(p);
    return rc < 0 ? rc : status;
}

static int fetch(int port, cio_tls_ctx *ctx, const char *name)
{
    cio_conn_opts o = CIO_CONN_OPTS_INIT;
    o.tls = ctx;
    o.server_hostname = name;
    cio_stream_reader *r;
    cio_stream_writer *w;
    int rc = cio_open_connection("127.0.0.1", port, &o, &r, &w);
    if (rc < 0) {
        char why[256];
        cio_tls_last_error(why, sizeof(why));
        printf("connect as %s: %s\n  (%s)\n", name, cio_strerror(rc), why);
        return rc;
    }
    cio_tls_conn *t = cio_stream_writer_tls(w);
    char subject[256];
    cio_tls_peer_subject(t, subject, sizeof(subject));
    printf("connected as %s: %s, %s, ALPN %s, server %s\n", name,
           cio_tls_version(t), cio_tls_cipher(t), cio_tls_alpn(t), subject);
    static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\n"
                              "Connection: close\r\n\r\n";
    rc = cio_stream_writer_write(w, req, sizeof(req) - 1);
    const char *line;
    ssize_t n;
    int status_ok = 0, body_ok = 0;
    while (rc == 0 && (n = cio_stream_reader_readline(r, &line)) > 0) {
        printf("  < %.*s", (int)n, line);
        if (!strncmp(line, "HTTP/1.1 200 ", 13))
            status_ok = 1;
        if (!strncmp(line, "hello over HTTPS", 16))
            body_ok = 1;
    }
    /* The server closed with close_notify: a clean end of file. */
    printf("  (end of response: %s)\n",
           cio_stream_reader_at_eof(r) ? "clean close_notify" : "error");
    cio_stream_writer_close(w);
    cio_stream_writer_wait_closed(w);
    cio_stream_reader_free(r);
    cio_stream_writer_free(w);
    return status_ok && body_ok ? 0 : -1;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    if (make_certs() != 0) {
        fprintf(stderr, "could not make certificates: is openssl "
                        "installed?\n");
        return -1;
    }
    char ca[64], cert[64], key[64];
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);

    /* The server side. */
    cio_tls_ctx *sctx;
    int rc = cio_tls_ctx_new(&sctx, CIO_TLS_SERVER);
    const char *alpn[] = {"h2", "http/1.1"};
    if (rc == 0)
        rc = cio_tls_ctx_use_cert_file(sctx, cert, key);
    if (rc == 0)
        rc = cio_tls_ctx_set_alpn(sctx, alpn, 2);
    cio_server_opts so = CIO_SERVER_OPTS_INIT;
    so.conn.tls = sctx;
    cio_server *srv = NULL;
    if (rc == 0)
        rc = cio_start_server(cio_get_running_loop(), serve, NULL, "127.0.0.1",
                              0, &so, &srv);
    cio_tls_ctx_free(sctx);
    if (rc < 0) {
        fprintf(stderr, "server: %s\n", cio_strerror(rc));
        return -1;
    }
    int port = cio_server_port(srv);

    /* The client side: trusts only the example's CA, checks the name. */
    cio_tls_ctx *cctx;
    rc = cio_tls_ctx_new(&cctx, CIO_TLS_CLIENT);
    if (rc == 0)
        rc = cio_tls_ctx_load_verify(cctx, ca, NULL);
    const char *offer[] = {"http/1.1"};
    if (rc == 0)
        rc = cio_tls_ctx_set_alpn(cctx, offer, 1);
    int ok = 0;
    if (rc == 0) {
        ok = fetch(port, cctx, "localhost") == 0;
        /* The certificate does not name www.example.com: refused. */
        ok = ok && fetch(port, cctx, "www.example.com") == CIO_ETLS_VERIFY;
    }
    cio_tls_ctx_free(cctx);
    cio_server_close(srv);
    cio_server_wait_closed(srv);
    cio_server_free(srv);
    printf("%s\n", ok ? "https client: ok" : "https client: WRONG");
    return ok ? 0 : -1;
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    int rc = cio_run(main_task, NULL, NULL);
    char rm[128];
    snprintf(rm, sizeof(rm), "rm -rf %s", dir);
    if (system(rm) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return rc == 0 ? 0 : 1;
}
