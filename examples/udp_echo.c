/*
 * udp_echo.c - issue 11: a UDP echo server and client in one program
 * (asyncio's create_datagram_endpoint with a DatagramProtocol on each
 * side).
 *
 *     class EchoServer(asyncio.DatagramProtocol):
 *         def datagram_received(self, data, addr):
 *             self.transport.sendto(data, addr)
 *
 * The server listens on 127.0.0.1 on a port the kernel picks; the client
 * is connected to it (remote_addr), sends five messages and checks each
 * echo. Both close; the program ends by itself, with status 1 if an echo
 * was missing or wrong (it runs as a test).
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic udp_echo.c -o udp_echo \
 *         $(pkg-config --cflags --libs cio)
 */
#include <stdio.h>
#include <string.h>

#include "cio.h"

#define N 5

/* The server: send every datagram back where it came from. */
static void server_received(cio_datagram_transport *t, const void *data,
                            size_t len, const cio_sockaddr *addr, void *ctx)
{
    (void)ctx;
    cio_datagram_transport_sendto(t, data, len, addr);
}

static const cio_datagram_protocol SERVER = {NULL, server_received, NULL,
                                             NULL};

/* The client: count the echoes; the main task waits on the event. */
typedef struct client {
    int got, bad;
    cio_event all_back;
} client;

static void client_received(cio_datagram_transport *t, const void *data,
                            size_t len, const cio_sockaddr *addr, void *ctx)
{
    (void)t;
    (void)addr;
    client *c = ctx;
    char want[32];
    int n = snprintf(want, sizeof(want), "message %d", c->got);
    if (len != (size_t)n || memcmp(data, want, len) != 0)
        c->bad++;
    printf("client got: %.*s\n", (int)len, (const char *)data);
    if (++c->got == N)
        cio_event_set(&c->all_back);
}

static void client_error(cio_datagram_transport *t, int err, void *ctx)
{
    (void)t;
    (void)ctx;
    printf("client error: %s\n", cio_strerror(err));
}

static const cio_datagram_protocol CLIENT = {NULL, client_received,
                                             client_error, NULL};

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_datagram_opts so = CIO_DATAGRAM_OPTS_INIT;
    so.local_host = "127.0.0.1";
    cio_datagram_transport *server;
    int r = cio_create_datagram_endpoint(&SERVER, NULL, &so, &server);
    if (r < 0)
        return r;
    cio_sockaddr addr;
    cio_datagram_transport_sockname(server, &addr);
    char text[CIO_ADDRSTRLEN];
    cio_sockaddr_format(&addr, text, sizeof(text));
    printf("server on %s\n", text);

    client c = {0};
    cio_event_init(&c.all_back);
    cio_datagram_opts co = CIO_DATAGRAM_OPTS_INIT;
    co.remote_host = "127.0.0.1";
    co.remote_port = cio_sockaddr_port(&addr);
    cio_datagram_transport *cl;
    r = cio_create_datagram_endpoint(&CLIENT, &c, &co, &cl);
    if (r == 0) {
        for (int i = 0; i < N; i++) {
            char m[32];
            int n = snprintf(m, sizeof(m), "message %d", i);
            cio_datagram_transport_sendto(cl, m, (size_t)n, NULL);
        }
        /* UDP may drop; on loopback it does not, but never hang. */
        cio_timeout scope;
        cio_timeout_begin(&scope, CIO_SEC);
        r = cio_event_wait(&c.all_back);
        r = cio_timeout_end(&scope, r);
        cio_datagram_transport_close(cl);
    }
    cio_datagram_transport_close(server);
    cio_sleep(0); /* connection_lost runs from the loop */
    cio_event_destroy(&c.all_back);
    if (r < 0 || c.bad) {
        printf("FAILED: %d of %d echoes, %d wrong (%s)\n", c.got, N, c.bad,
               cio_strerror(r));
        return -1;
    }
    printf("all %d echoes back\n", N);
    return 0;
}

int main(void)
{
    return cio_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
