/*
 * tls_echo.c - the cio side of the TLS echo figures (bench/sections/tls.sh):
 * a TLS echo server on cio's streams, one task per connection.
 *
 * Usage: tls_echo PORT CERT KEY
 * Serves on 127.0.0.1:PORT until killed, TLS 1.3 only with
 * TLS_AES_128_GCM_SHA256, ECDHE on P-256, the same settings as the peers
 * (bench/peers/tls_echo_*). Prints "listening" once it accepts.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cio.h"

static int echo(cio_stream_reader *r, cio_stream_writer *w, void *arg)
{
    (void)arg;
    char buf[16384];
    ssize_t n;
    while ((n = cio_stream_reader_read(r, buf, sizeof(buf))) > 0)
        if (cio_stream_writer_write(w, buf, (size_t)n) < 0 ||
            cio_stream_writer_drain(w) < 0)
            break;
    return 0;
}

static const char *cert, *key;
static int port;

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_tls_ctx *ctx;
    int rc = cio_tls_ctx_new(&ctx, CIO_TLS_SERVER);
    if (rc == 0)
        rc = cio_tls_ctx_use_cert_file(ctx, cert, key);
    if (rc == 0)
        rc = cio_tls_ctx_set_min_version(ctx, CIO_TLS_V1_3);
    if (rc == 0)
        rc = cio_tls_ctx_set_ciphers(ctx, NULL, "TLS_AES_128_GCM_SHA256");
    cio_server_opts so = CIO_SERVER_OPTS_INIT;
    so.conn.tls = ctx;
    so.backlog = 1024;
    cio_server *srv;
    if (rc == 0)
        rc = cio_start_server(cio_get_running_loop(), echo, NULL, "127.0.0.1",
                              port, &so, &srv);
    cio_tls_ctx_free(ctx);
    if (rc < 0) {
        char why[256];
        cio_tls_last_error(why, sizeof(why));
        fprintf(stderr, "tls_echo: %s (%s)\n", cio_strerror(rc), why);
        return rc;
    }
    printf("listening\n");
    fflush(stdout);
    return cio_server_serve_forever(srv);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: tls_echo PORT CERT KEY\n");
        return 2;
    }
    port = atoi(argv[1]);
    cert = argv[2];
    key = argv[3];
    return cio_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
