/*
 * s15b_streams_echo.c - asyncio streams echo: a server from
 * cio_start_server (one task per client, `async for line in reader`,
 * write + drain), and three clients from cio_open_connection that send a
 * few lines, read the echoes, and close. The program ends by itself once
 * every client is done: main closes the server and waits for it.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s15b_streams_echo.c -o s15b_streams_echo \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <stdio.h>
#include <string.h>

#include "cio.h"

static int handle_echo(cio_stream_reader *r, cio_stream_writer *w, void *arg)
{
    (void)arg;
    cio_sockaddr peer;
    char name[CIO_ADDRSTRLEN] = "?";
    if (cio_stream_writer_peername(w, &peer) == 0)
        cio_sockaddr_format(&peer, name, sizeof(name));
    const char *line;
    ssize_t n;
    while ((n = cio_stream_reader_readline(r, &line)) > 0) {
        printf("server: %.*s from client\n", (int)n - 1, line);
        cio_stream_writer_write(w, line, (size_t)n);
        int rc = cio_stream_writer_drain(w);
        if (rc < 0)
            return rc;
    }
    printf("server: client closed\n");
    return n < 0 ? (int)n : 0;
}

typedef struct client_arg {
    int port, id;
} client_arg;

static int client(void *arg, void **result)
{
    (void)result;
    client_arg *a = arg;
    cio_stream_reader *r;
    cio_stream_writer *w;
    int rc = cio_open_connection("127.0.0.1", a->port, NULL, &r, &w);
    if (rc < 0)
        return rc;
    for (int i = 0; i < 2 && rc >= 0; i++) {
        char msg[64];
        int len = snprintf(msg, sizeof(msg), "hello %d.%d\n", a->id, i);
        cio_stream_writer_write(w, msg, (size_t)len);
        rc = cio_stream_writer_drain(w);
        char back[64];
        size_t got;
        if (rc >= 0)
            rc = cio_stream_reader_readexactly(r, back, (size_t)len, &got);
        if (rc >= 0)
            printf("client %d: received %.*s\n", a->id, len - 1, back);
    }
    cio_stream_writer_close(w);
    cio_stream_writer_wait_closed(w);
    cio_stream_reader_free(r);
    cio_stream_writer_free(w);
    return rc < 0 ? rc : 0;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_server *srv;
    int rc = cio_start_server(cio_get_running_loop(), handle_echo, NULL,
                              "127.0.0.1", 0, NULL, &srv);
    if (rc < 0)
        return rc;
    client_arg args[3];
    cio_awaitable items[3];
    for (int i = 0; i < 3; i++) {
        args[i] = (client_arg){cio_server_port(srv), i};
        items[i] = CIO_AW_CORO(client, &args[i]);
    }
    cio_future *g;
    rc = cio_gather(cio_get_running_loop(), items, 3, 0, &g);
    if (rc == 0) {
        rc = cio_await(g, NULL);
        cio_future_release(g);
    }
    cio_server_close(srv);
    cio_server_wait_closed(srv);
    cio_server_free(srv);
    printf("all clients done: %s\n", rc == 0 ? "ok" : cio_strerror(rc));
    return rc;
}

int main(void)
{
    return cio_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
