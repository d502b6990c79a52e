/*
 * tls_echo.c - issue 11: a TLS echo server (asyncio's start_server with
 * ssl=), checked by a real TLS client, `openssl s_client`.
 *
 *     ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
 *     ctx.load_cert_chain("cert.pem", "key.pem")
 *     server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=ctx)
 *
 * Self-contained: it makes a self-signed certificate for localhost at run
 * time with the openssl command line tool (in a temporary directory,
 * removed at the end), serves TLS on 127.0.0.1 on a port the kernel
 * picks, runs `openssl s_client` against it (verifying the certificate),
 * feeds it three lines and checks they come back. Ends by itself, with
 * status 1 if anything was wrong (it runs as a test).
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic tls_echo.c -o tls_echo \
 *         $(pkg-config --cflags --libs cio)
 */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cio.h"

/* One task per connection: lines back until the client is done. */
static int echo(cio_stream_reader *r, cio_stream_writer *w, void *arg)
{
    (void)arg;
    cio_tls_conn *t = cio_stream_writer_tls(w);
    printf("server: %s, %s\n", cio_tls_version(t), cio_tls_cipher(t));
    const char *line;
    ssize_t n;
    while ((n = cio_stream_reader_readline(r, &line)) > 0) {
        if (n == 5 && !memcmp(line, "quit\n", 5))
            break; /* the handler returns: close_notify, then FIN */
        if (cio_stream_writer_write(w, line, (size_t)n) < 0 ||
            cio_stream_writer_drain(w) < 0)
            break;
    }
    return 0;
}

/* Runs a shell command in a child process; returns its exit status and
 * its standard output (owned by *p, freed by the caller). */
static int sh(const char *cmd, cio_process **p, const char **out)
{
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_PIPE;
    o.stderr_mode = CIO_PROCESS_DEVNULL;
    int rc = cio_create_subprocess_shell(NULL, cmd, &o, p);
    if (rc < 0)
        return rc;
    size_t len;
    rc = cio_process_communicate(*p, NULL, 0, out, &len, NULL, NULL);
    int status = -1;
    if (rc == 0)
        cio_process_returncode(*p, &status);
    return rc < 0 ? rc : status;
}

static int main_task(void *arg, void **result)
{
    (void)result;
    const char *dir = arg;
    char cmd[1024];
    cio_process *p;
    const char *out;

    /* 1. A certificate for localhost (and 127.0.0.1), made now. */
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl req -x509 -newkey ec -pkeyopt "
             "ec_paramgen_curve:P-256 -nodes -keyout key.pem -out cert.pem "
             "-days 1 -subj /CN=localhost "
             "-addext subjectAltName=DNS:localhost,IP:127.0.0.1",
             dir);
    int rc = sh(cmd, &p, &out);
    cio_process_free(p);
    if (rc != 0) {
        fprintf(stderr, "openssl req failed (%d): is openssl installed?\n", rc);
        return -1;
    }

    /* 2. The TLS server. */
    char cert[256], key[256];
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    cio_tls_ctx *ctx;
    rc = cio_tls_ctx_new(&ctx, CIO_TLS_SERVER);
    if (rc == 0)
        rc = cio_tls_ctx_use_cert_file(ctx, cert, key);
    if (rc < 0) {
        char why[256];
        cio_tls_last_error(why, sizeof(why));
        fprintf(stderr, "TLS context: %s (%s)\n", cio_strerror(rc), why);
        return -1;
    }
    cio_server_opts so = CIO_SERVER_OPTS_INIT;
    so.conn.tls = ctx;
    cio_server *srv;
    rc = cio_start_server(cio_get_running_loop(), echo, NULL, "127.0.0.1", 0,
                          &so, &srv);
    cio_tls_ctx_free(ctx); /* the server keeps its own reference */
    if (rc < 0) {
        fprintf(stderr, "start_server: %s\n", cio_strerror(rc));
        return -1;
    }
    int port = cio_server_port(srv);
    printf("TLS echo server on 127.0.0.1:%d\n", port);

    /* 3. openssl s_client, verifying our certificate, sends three lines
     * (bounded in time: `timeout`). */
    snprintf(cmd, sizeof(cmd),
             "printf 'one\\ntwo\\nthree\\nquit\\n' | timeout 20 openssl "
             "s_client -connect 127.0.0.1:%d -CAfile %s -verify_return_error "
             "-servername localhost -quiet",
             port, cert);
    rc = sh(cmd, &p, &out);
    int ok = rc == 0 && !strcmp(out, "one\ntwo\nthree\n");
    printf("s_client exited with %d and echoed back:\n%s", rc, out);
    cio_process_free(p);

    cio_server_close(srv);
    cio_server_wait_closed(srv);
    cio_server_free(srv);
    printf("%s\n", ok ? "echo checked: ok" : "echo WRONG");
    return ok ? 0 : -1;
}

int main(void)
{
    char dir[] = "/tmp/cio-tls-echo-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    int rc = cio_run(main_task, dir, NULL);
    char rm[128];
    snprintf(rm, sizeof(rm), "rm -rf %s", dir);
    if (system(rm) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return rc == 0 ? 0 : 1;
}
