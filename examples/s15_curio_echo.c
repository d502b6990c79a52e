/*
 * s15_curio_echo.c - MISSION S15: the note's curio echo server, line for
 * line, on cio's awaitable sockets.
 *
 *     async def echo_server(address):
 *         sock = socket(AF_INET, SOCK_STREAM)
 *         sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
 *         sock.bind(address)
 *         sock.listen(5)
 *         print('Server listening at', address)
 *         async with sock:
 *             while True:
 *                 client, addr = await sock.accept()
 *                 await spawn(echo_client, client, addr)
 *
 *     async def echo_client(client, addr):
 *         print('Connection from', addr)
 *         async with client:
 *             while True:
 *                 data = await client.recv(100000)
 *                 if not data:
 *                     break
 *                 await client.sendall(data)
 *         print('Connection closed')
 *
 *     run(echo_server, ('', 25000))
 *
 * `async with sock:` is cio_socket_close_on_exit: the socket is closed
 * when the task ends, however it ends. So that the demo ends by itself,
 * main() also runs three scripted clients (the note's `nc` sessions),
 * then cancels the server, as Ctrl-C would. The note listens on port
 * 25000 of every interface; the demo listens on 127.0.0.1 and, unless a
 * port is given as argv[1], on a free port, so it never collides.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s15_curio_echo.c -o s15_curio_echo \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cio.h"

typedef struct client_args {
    cio_socket *client;
    cio_sockaddr addr;
} client_args;

static cio_future *g_listening; /* result: the cio_sockaddr listened on */
static int g_open;              /* connections being served */

static int echo_client(void *arg, void **result)
{
    (void)result;
    client_args a = *(client_args *)arg;
    free(arg);
    cio_socket *client = a.client;
    char addr[CIO_ADDRSTRLEN];
    cio_sockaddr_format(&a.addr, addr, sizeof(addr));
    printf("Connection from %s\n", addr);
    cio_socket_close_on_exit(client); /* async with client: */
    char data[100000]; /* on the task's own stack */
    int r;
    for (;;) {
        ssize_t n = cio_socket_recv(client, data, sizeof(data), 0);
        if (n <= 0) { /* if not data: break */
            r = (int)n;
            break;
        }
        if ((r = cio_socket_sendall(client, data, (size_t)n, 0)) < 0)
            break;
    }
    printf("Connection closed\n");
    g_open--;
    return r;
}

static int echo_server(void *arg, void **result)
{
    (void)result;
    const cio_sockaddr *address = arg;
    cio_loop *loop = cio_get_running_loop();
    cio_socket *sock;
    int r = cio_socket_open(&sock, loop, AF_INET, SOCK_STREAM, 0);
    if (r < 0)
        return r;
    cio_socket_close_on_exit(sock); /* async with sock: */
    cio_socket_setsockopt_int(sock, SOL_SOCKET, SO_REUSEADDR, 1);
    if ((r = cio_socket_bind(sock, address)) < 0 ||
        (r = cio_socket_listen(sock, 5)) < 0)
        return r;
    static cio_sockaddr bound;
    cio_socket_sockname(sock, &bound);
    char text[CIO_ADDRSTRLEN];
    cio_sockaddr_format(&bound, text, sizeof(text));
    printf("Server listening at %s\n", text);
    cio_future_set_result(g_listening, &bound);
    for (;;) {
        client_args *a = malloc(sizeof(*a));
        if (!a)
            return -ENOMEM;
        if ((r = cio_socket_accept(sock, &a->client, &a->addr)) < 0) {
            free(a);
            return r; /* -ECANCELED when main stops the server */
        }
        g_open++;
        cio_task_create(loop, CIO_CORO(echo_client, a), NULL, NULL); /* spawn */
    }
}

/* One scripted client: like `nc localhost 25000`, typing two lines. */
static int nc_session(void *arg, void **result)
{
    (void)result;
    int id = (int)(intptr_t)arg;
    void *bound;
    cio_await(g_listening, &bound);
    cio_socket *s;
    int r = cio_socket_open(&s, cio_get_running_loop(), AF_INET, SOCK_STREAM,
                            0);
    if (r < 0)
        return r;
    cio_socket_close_on_exit(s);
    if ((r = cio_socket_connect(s, bound)) < 0)
        return r;
    for (int i = 0; i < 2; i++) {
        char line[64], back[64];
        int n = snprintf(line, sizeof(line), "hello world %d from client %d\n",
                         i, id);
        if ((r = cio_socket_sendall(s, line, (size_t)n, 0)) < 0)
            return r;
        int got = 0;
        while (got < n) {
            ssize_t k = cio_socket_recv(s, back + got, (size_t)(n - got), 0);
            if (k <= 0)
                return k < 0 ? (int)k : -EPIPE;
            got += (int)k;
        }
        printf("client %d got back: %.*s", id, n, back);
    }
    return 0;
}

static int demo(void *arg, void **result)
{
    (void)result;
    cio_loop *loop = cio_get_running_loop();
    cio_future_new(loop, &g_listening);
    cio_task *server;
    cio_task_create(loop, CIO_CORO(echo_server, arg), NULL, &server);
    cio_task *clients[3];
    for (int i = 0; i < 3; i++)
        cio_task_create(loop, CIO_CORO(nc_session, (intptr_t)(i + 1)), NULL,
                        &clients[i]);
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        int r = cio_await(clients[i], NULL);
        if (r < 0) {
            fprintf(stderr, "client %d: %s\n", i + 1, cio_strerror(r));
            rc = r;
        }
        cio_future_release(clients[i]);
    }
    while (g_open > 0) /* let the server print its last "closed" */
        cio_sleep(CIO_MS);
    printf("stopping the server (Ctrl-C)\n");
    cio_task_cancel(server, NULL);
    int r = cio_await(server, NULL);
    cio_future_release(server);
    cio_future_release(g_listening);
    return rc < 0 ? rc : r == -ECANCELED ? 0 : r;
}

int main(int argc, char **argv)
{
    cio_sockaddr address;
    int port = argc > 1 ? atoi(argv[1]) : 0;
    cio_sockaddr_from_ip(&address, "127.0.0.1", port);
    int r = cio_run(demo, &address, NULL);
    if (r < 0) {
        fprintf(stderr, "s15_curio_echo: %s\n", cio_strerror(r));
        return 1;
    }
    return 0;
}
