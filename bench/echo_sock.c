/*
 * echo_sock.c - echo server on awaitable sockets, for the peer harness
 * (/work/shared/bench/run-peers --echo-target cio-sock='.../echo_sock
 * --port {port}').
 *
 * One task per connection: recv into a 64 KiB buffer on the task's stack,
 * sendall what came, until EOF. That is the curio shape (S15/S20) with
 * nothing added, so the number measures cio's hot path: per message one
 * recv, one send, one recv that says EAGAIN, and the epoll_wait that
 * brings the next edge; no allocation, no epoll_ctl.
 *
 * Listens on 127.0.0.1:<port> (--port N, else $PORT, else 25000) and runs
 * until SIGTERM or SIGINT, which cancel the server task; cio_run then
 * cancels the connections and closes the loop. Prints one line when
 * listening.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cio.h"

static cio_task *g_server;

static int echo_client(void *arg, void **result)
{
    (void)result;
    cio_socket *c = arg;
    cio_socket_close_on_exit(c);
    char buf[65536];
    for (;;) {
        ssize_t n = cio_socket_recv(c, buf, sizeof(buf), 0);
        if (n <= 0)
            return n < 0 && n != -ECONNRESET ? (int)n : 0;
        int r = cio_socket_sendall(c, buf, (size_t)n, 0);
        if (r < 0)
            return r == -EPIPE || r == -ECONNRESET ? 0 : r;
    }
}

static int on_signal(void *arg)
{
    (void)arg;
    cio_task_cancel(g_server, "signal");
    return 0;
}

static int echo_server(void *arg, void **result)
{
    (void)result;
    int port = *(int *)arg;
    cio_loop *loop = cio_get_running_loop();
    g_server = cio_current_task();
    cio_loop_add_signal_handler(loop, SIGTERM, on_signal, NULL);
    cio_loop_add_signal_handler(loop, SIGINT, on_signal, NULL);
    cio_socket *sock;
    int r = cio_socket_open(&sock, loop, AF_INET, SOCK_STREAM, 0);
    if (r < 0)
        return r;
    cio_socket_close_on_exit(sock);
    cio_socket_setsockopt_int(sock, SOL_SOCKET, SO_REUSEADDR, 1);
    if ((r = cio_socket_bind_ip(sock, "127.0.0.1", port)) < 0 ||
        (r = cio_socket_listen(sock, -1)) < 0) {
        fprintf(stderr, "echo_sock: 127.0.0.1:%d: %s\n", port,
                cio_strerror(r));
        return r;
    }
    printf("echo_sock: listening on 127.0.0.1:%d\n", port);
    fflush(stdout);
    for (;;) {
        cio_socket *client;
        r = cio_socket_accept(sock, &client, NULL);
        if (r == -ECANCELED)
            return 0;
        if (r < 0)
            continue; /* aborted connection and the like */
        r = cio_task_create(loop, CIO_CORO(echo_client, client), NULL, NULL);
        if (r < 0)
            cio_socket_close(client);
    }
}

int main(int argc, char **argv)
{
    int port = 25000;
    const char *env = getenv("PORT");
    if (env)
        port = atoi(env);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (!strncmp(argv[i], "--port=", 7))
            port = atoi(argv[i] + 7);
    }
    int r = cio_run(echo_server, &port, NULL);
    if (r < 0 && r != -ECANCELED) {
        fprintf(stderr, "echo_sock: %s\n", cio_strerror(r));
        return 1;
    }
    return 0;
}
