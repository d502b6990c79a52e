/*
 * s14_protocol.c - MISSION S14: the note's Twisted-like asyncio Protocol.
 *
 *     class Protocol(asyncio.Protocol):
 *         def connection_made(self, transport): self.transport = transport
 *         def data_received(self, data):
 *             self.transport.write(b'HTTP/1.1 200 OK\r\n...Hello xxx')
 *             self.transport.close()
 *         def eof_received(self):
 *             if self.transport.can_write_eof(): self.transport.write_eof()
 *         def connection_lost(self, exc): ...
 *
 * The server runs on a loop in a background thread; the main thread asks
 * it three times with `curl -s -i http://127.0.0.1:<port>/` and prints
 * the body curl got, then stops the loop. Without curl, a few lines of
 * plain blocking socket code play the client (and say so). Either way the
 * answer must be byte for byte what the server sent (status line, headers
 * and body), or the program exits with status 1: it is run as a test.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s14_protocol.c -o s14_protocol \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cio.h"

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: text/html\r\n\r\n"
                               "Hello xxx";

static int connection_made(cio_transport *t, void *ctx)
{
    (void)t;
    (void)ctx;
    return 0;
}

static int data_received(cio_transport *t, const void *data, size_t len,
                         void *ctx)
{
    (void)data;
    (void)len;
    (void)ctx;
    cio_transport_write(t, RESPONSE, sizeof(RESPONSE) - 1);
    cio_transport_close(t); /* flushes the response first */
    return 0;
}

static int eof_received(cio_transport *t, void *ctx)
{
    (void)ctx;
    if (cio_transport_can_write_eof(t))
        cio_transport_write_eof(t);
    return 0; /* then close */
}

static void connection_lost(cio_transport *t, int err, void *ctx)
{
    (void)t;
    (void)ctx;
    if (err)
        fprintf(stderr, "connection lost: %s\n", cio_strerror(err));
}

static const cio_protocol PROTOCOL = {
    .connection_made = connection_made,
    .data_received = data_received,
    .eof_received = eof_received,
    .connection_lost = connection_lost,
};

static int factory(void *arg, const cio_protocol **proto, void **ctx)
{
    (void)arg;
    *proto = &PROTOCOL;
    *ctx = NULL;
    return 0;
}

static cio_server *g_srv;

/* Runs on the loop thread: start the server, hand back its port. */
static int start(void *arg, void **result)
{
    (void)arg;
    int r = cio_create_server(cio_get_running_loop(), factory, NULL,
                              "127.0.0.1", 0, NULL, &g_srv);
    if (r < 0)
        return r;
    *result = (void *)(intptr_t)cio_server_port(g_srv);
    return 0;
}

static int stop(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_server_close(g_srv);
    int r = cio_server_wait_closed(g_srv);
    cio_server_free(g_srv);
    return r;
}

static int on_loop(cio_loop *loop, cio_coro_fn fn, void **result)
{
    cio_cfuture *cf;
    int r = cio_run_coroutine_threadsafe(loop, CIO_CORO(fn, NULL), &cf);
    if (r < 0)
        return r;
    r = cio_cfuture_result(cf, 10 * CIO_SEC, result);
    cio_cfuture_release(cf);
    return r;
}

/* The fallback client: GET / and keep the whole answer in out (cap
 * bytes, NUL-terminated). Returns 0, or -1 if the exchange failed. */
static int builtin_get(int port, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("connect");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    int r = 0;
    if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
        perror("write");
        r = -1;
    }
    ssize_t n;
    size_t off = 0;
    while (off < cap - 1 && (n = read(fd, out + off, cap - 1 - off)) > 0)
        off += (size_t)n;
    out[off] = '\0';
    close(fd);
    return r;
}

/* curl -s -i: the raw answer (curl writes the headers as received). The
 * time limit keeps the demo ending by itself if the server never answers.
 * Returns 0, or -1 if curl could not run or failed. */
static int curl_get(int port, char *out, size_t cap)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd),
             "curl -s -i --max-time 5 http://127.0.0.1:%d/", port);
    FILE *p = popen(cmd, "r");
    if (!p) {
        perror("popen");
        out[0] = '\0';
        return -1;
    }
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    if (st != 0) {
        fprintf(stderr, "curl failed (exit status %d)\n",
                WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return -1;
    }
    return 0;
}

int main(void)
{
    cio_loop_thread *lt;
    if (cio_loop_thread_start(&lt, NULL) < 0)
        return 1;
    cio_loop *loop = cio_loop_thread_loop(lt);
    void *res = NULL;
    int r = on_loop(loop, start, &res);
    if (r < 0) {
        fprintf(stderr, "create_server: %s\n", cio_strerror(r));
        cio_loop_thread_stop_join(lt);
        return 1;
    }
    int port = (int)(intptr_t)res;
    printf("serving on 127.0.0.1:%d\n", port);
    int have_curl = system("command -v curl >/dev/null 2>&1") == 0;
    if (!have_curl)
        printf("curl not found: using the built-in client\n");
    int bad = 0;
    for (int i = 1; i <= 3; i++) {
        char out[512];
        int got = have_curl ? curl_get(port, out, sizeof(out))
                            : builtin_get(port, out, sizeof(out));
        const char *body = strstr(out, "\r\n\r\n");
        printf("request %d: %s\n", i, body ? body + 4 : out);
        /* The whole answer, not just the body: a wrong status line or
         * header is a failure too. */
        if (got < 0 || strcmp(out, RESPONSE) != 0) {
            fprintf(stderr, "request %d: unexpected answer\n", i);
            bad = 1;
        }
    }
    r = on_loop(loop, stop, NULL);
    cio_loop_thread_stop_join(lt);
    printf("server closed\n");
    return r < 0 || bad ? 1 : 0;
}
