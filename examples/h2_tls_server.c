/*
 * h2_tls_server.c - HTTPS and HTTP/2 over TLS on cio::http, queried by
 * curl.
 *
 * An ordinary cio::http app (routes, a handler that tells what TLS it
 * came over, a streamed response) made HTTPS by one call,
 * cio_http_app_tls(app, ctx), with a server TLS context (cio/tls.h)
 * holding a certificate. With cio_http_app_http2 on, the server offers
 * "h2" and "http/1.1" by ALPN: curl --http2 agrees on h2 and is served
 * HTTP/2, curl --http1.1 gets HTTP/1.1, with the same handlers.
 *
 * The certificate is made at run time in a temporary directory with the
 * openssl command line tool (a self-signed one for localhost, which curl
 * is told to trust with --cacert); nothing is kept afterwards.
 *
 * So that the demo ends by itself, it listens on 127.0.0.1 and a free
 * port (or argv[1]); its after_server_start listener runs curl against
 * it, shows the answers, then stops the server as Ctrl-C would. Without
 * openssl or curl it says so and stops.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic h2_tls_server.c -o h2_tls_server \
 *         $(pkg-config --cflags --libs cio-http)
 */
#define _DEFAULT_SOURCE /* popen, mkdtemp under -std=c11 */
#include <stdio.h>
#include <stdlib.h>

#include "cio/http.h"
#include "cio/http2.h"

static char dir[64] = "/tmp/cio-h2tls-XXXXXX";

static int index_page(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)arg;
    cio_tls_conn *t = cio_http_request_tls(req);
    int v = cio_http_request_version(req);
    char out[160];
    snprintf(out, sizeof(out), "Hello over HTTP/%d.%d, %s, ALPN \"%s\"\n",
             v / 10, v % 10, t ? cio_tls_version(t) : "no TLS",
             t ? cio_tls_alpn(t) : "");
    return cio_http_response_text(res, 200, out);
}

/* A streamed response: three lines, 50 ms apart. */
static int countdown(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)req, (void)arg;
    int r = cio_http_response_stream(res, 200, NULL);
    for (int i = 3; r == 0 && i > 0; i--) {
        char line[16];
        int n = snprintf(line, sizeof(line), "%d...\n", i);
        r = cio_http_response_write(res, line, (size_t)n);
        if (r == 0)
            r = cio_sleep(50 * CIO_MS);
    }
    return r;
}

static int query(int port, const char *opts, const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "curl -sS -w '[HTTP/%%{http_version} %%{http_code}]\\n' "
             "--cacert %s/cert.pem --resolve localhost:%d:127.0.0.1 %s "
             "https://localhost:%d%s",
             dir, port, opts, port, path);
    printf("$ curl %s https://localhost:%d%s\n", opts, port, path);
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[512];
    while (fgets(line, sizeof(line), p))
        printf("  %s", line);
    return pclose(p) == 0 ? 0 : -1;
}

static int failed;

static void after_start(cio_http_app *app, int port, void *arg)
{
    (void)arg;
    printf("HTTPS server (h2 and http/1.1 by ALPN) on https://localhost:%d\n",
           port);
    if (system("command -v curl >/dev/null 2>&1") != 0) {
        printf("curl is not installed: nothing to query it with, "
               "stopping\n");
    } else {
        failed |= query(port, "--http2", "/");
        failed |= query(port, "--http2", "/countdown");
        failed |= query(port, "--http1.1", "/");
    }
    printf("stopping the server (Ctrl-C)\n");
    cio_http_app_stop(app);
}

/* A self-signed certificate for localhost in dir, by the openssl CLI. */
static int make_cert(void)
{
    if (!mkdtemp(dir))
        return -1;
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
             "-nodes -days 1 -subj /CN=localhost "
             "-addext subjectAltName=DNS:localhost -keyout %s/key.pem "
             "-out %s/cert.pem >/dev/null 2>&1",
             dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (system("command -v openssl >/dev/null 2>&1") != 0) {
        printf("the openssl command is not installed: no certificate to "
               "serve, stopping\n");
        return 0;
    }
    if (make_cert() < 0) {
        fprintf(stderr, "h2_tls_server: could not make a certificate\n");
        return 1;
    }
    char cert[96], key[96];
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    cio_tls_ctx *tls = NULL;
    int r = cio_tls_ctx_new(&tls, CIO_TLS_SERVER);
    if (r == 0)
        r = cio_tls_ctx_use_cert_file(tls, cert, key);
    cio_http_app *app = NULL;
    if (r == 0)
        r = cio_http_app_new(&app, "h2tls");
    if (r == 0)
        r = cio_http_route(app, "/", index_page, NULL, CIO_HTTP_GET);
    if (r == 0)
        r = cio_http_route(app, "/countdown", countdown, NULL, 0);
    if (r == 0)
        r = cio_http_app_http2(app, NULL); /* offer "h2" by ALPN */
    if (r == 0)
        r = cio_http_app_tls(app, tls); /* the app keeps a reference */
    cio_tls_ctx_free(tls);
    if (r == 0) {
        cio_http_app_on_start(app, after_start, NULL);
        r = cio_http_run(app, "127.0.0.1", argc > 1 ? atoi(argv[1]) : 0, 1);
    }
    cio_http_app_free(app);
    char rm[128];
    snprintf(rm, sizeof(rm), "rm -rf %s", dir);
    if (system(rm) != 0)
        fprintf(stderr, "h2_tls_server: could not remove %s\n", dir);
    if (r < 0) {
        fprintf(stderr, "h2_tls_server: %s\n", cio_strerror(r));
        return 1;
    }
    return failed ? 1 : 0;
}
