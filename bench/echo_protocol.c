/*
 * echo_protocol.c - echo server on cio transports and protocols
 * (loop.create_server with an asyncio.Protocol), for the peer harness
 * (--echo-target cio-protocol='.../echo_protocol --port {port}').
 *
 * data_received writes the bytes straight back (the transport sends them
 * at once and buffers only what the kernel refuses). --buffered uses the
 * BufferedProtocol variant instead: get_buffer hands out one 64 KiB
 * buffer (one thread, and buffer_updated writes it out before returning,
 * so one buffer serves every connection) and buffer_updated echoes it.
 * --backend uring|epoll picks the loop's backend (default: CIO_BACKEND,
 * else epoll); on io_uring the transports run in completion mode.
 * Listens on 127.0.0.1:<port> (--port N, else $PORT, else 25002) until
 * SIGTERM or SIGINT. Prints one line when listening.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cio.h"

static int data_received(cio_transport *t, const void *data, size_t len,
                         void *ctx)
{
    (void)ctx;
    cio_transport_write(t, data, len);
    return 0;
}

static char g_buf[65536];

static void *get_buffer(cio_transport *t, size_t hint, size_t *len, void *ctx)
{
    (void)t;
    (void)hint;
    (void)ctx;
    *len = sizeof(g_buf);
    return g_buf;
}

static int buffer_updated(cio_transport *t, size_t n, void *ctx)
{
    (void)ctx;
    cio_transport_write(t, g_buf, n);
    return 0;
}

static const cio_protocol plain = {.data_received = data_received};
static const cio_protocol buffered = {.get_buffer = get_buffer,
                                      .buffer_updated = buffer_updated};

static int factory(void *arg, const cio_protocol **proto, void **ctx)
{
    *proto = arg;
    *ctx = NULL;
    return 0;
}

static int stop_cb(void *arg)
{
    cio_loop_stop(arg);
    return 0;
}

int main(int argc, char **argv)
{
    int port = getenv("PORT") ? atoi(getenv("PORT")) : 25002;
    const cio_protocol *proto = &plain;
    cio_loop_opts o = CIO_LOOP_OPTS_INIT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--buffered") == 0) {
            proto = &buffered;
        } else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc) {
            i++;
            if (strcmp(argv[i], "uring") == 0) {
                o.backend = CIO_BACKEND_URING;
            } else if (strcmp(argv[i], "epoll") == 0) {
                o.backend = CIO_BACKEND_EPOLL;
            } else {
                fprintf(stderr, "echo_protocol: --backend uring|epoll\n");
                return 2;
            }
        }
    }
    cio_loop *loop;
    int r = cio_loop_new(&loop, &o);
    if (r < 0) {
        fprintf(stderr, "echo_protocol: loop: %s\n", cio_strerror(r));
        return 1;
    }
    cio_loop_add_signal_handler(loop, SIGTERM, stop_cb, loop);
    cio_loop_add_signal_handler(loop, SIGINT, stop_cb, loop);
    cio_server *srv;
    r = cio_create_server(loop, factory, (void *)proto, "127.0.0.1", port,
                              NULL, &srv);
    if (r < 0) {
        fprintf(stderr, "echo_protocol: listen: %s\n", cio_strerror(r));
        return 1;
    }
    printf("echo_protocol%s (%s) listening on 127.0.0.1:%d\n",
           proto == &buffered ? " (buffered)" : "",
           cio_loop_backend_name(loop), cio_server_port(srv));
    fflush(stdout);
    cio_loop_run_forever(loop);
    cio_server_abort_clients(srv);
    cio_server_free(srv);
    /* Let the aborted connections deliver connection_lost. */
    cio_loop_stop(loop);
    cio_loop_run_forever(loop);
    cio_loop_free(loop);
    return 0;
}
