/*
 * unix_echo.c - issue 11: a Unix domain socket echo with descriptor
 * passing. The server listens on a socket file in /tmp (a stale file left
 * by an earlier run is removed, a live one never), permissions 0600. The
 * client connects, sends "ping" together with the write end of a pipe
 * (SCM_RIGHTS); the server checks who the client is (SO_PEERCRED), writes
 * a greeting into the pipe it was handed, and echoes the message. The
 * client reads both, and everything is closed. Then the same echo with
 * the stream forms (asyncio's start_unix_server / open_unix_connection)
 * on an abstract-namespace name (no file at all). The program ends by
 * itself, with status 1 if anything was missing (it runs as a test).
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic unix_echo.c -o unix_echo \
 *         $(pkg-config --cflags --libs cio)
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio.h"

static char g_path[64];

static int server(void *arg, void **result)
{
    (void)result;
    cio_socket *ls = arg, *s;
    int r = cio_socket_accept(ls, &s, NULL);
    if (r < 0)
        return r;
    char buf[64];
    int fds[1], nfds = 1;
    ssize_t n = cio_socket_recv_fds(s, buf, sizeof(buf), fds, &nfds);
    pid_t pid;
    uid_t uid;
    cio_socket_peercred(s, &pid, &uid, NULL);
    printf("server: %zd bytes and %d descriptor(s) from pid %d uid %d\n", n,
           nfds, (int)pid, (int)uid);
    if (n > 0 && nfds == 1) {
        const char hello[] = "hello through the passed pipe";
        if (write(fds[0], hello, sizeof(hello) - 1) < 0)
            n = -1;
        close(fds[0]);
        if (n > 0)
            cio_socket_sendall(s, buf, (size_t)n, 0);
    }
    cio_socket_close(s);
    return n > 0 && nfds == 1 ? 0 : -1;
}

/* The stream form's handler: echo lines until the client is done. */
static int line_echo(cio_stream_reader *r, cio_stream_writer *w, void *arg)
{
    (void)arg;
    const char *line;
    ssize_t n;
    while ((n = cio_stream_reader_readline(r, &line)) > 0)
        if (cio_stream_writer_write(w, line, (size_t)n) < 0)
            break;
    return 0;
}

/* start_unix_server + open_unix_connection on "@cio_unix_echo_<pid>". */
static int streams_part(cio_loop *loop)
{
    char name[64];
    snprintf(name, sizeof(name), "@cio_unix_echo_%d", (int)getpid());
    cio_server *srv;
    int r = cio_start_unix_server(loop, line_echo, NULL, name, 0, 0, NULL,
                                  &srv);
    if (r < 0)
        return r;
    cio_stream_reader *rd;
    cio_stream_writer *wr;
    int ok = 0;
    if (cio_open_unix_connection(name, NULL, &rd, &wr) == 0) {
        const char *line;
        ssize_t n = -1;
        if (cio_stream_writer_write(wr, "hello, streams\n", 15) == 0)
            n = cio_stream_reader_readline(rd, &line);
        if (n == 15) {
            printf("streams: %s echoed \"%.*s\"\n", name, 14, line);
            ok = !memcmp(line, "hello, streams\n", 15);
        }
        cio_stream_reader_free(rd);
        cio_stream_writer_free(wr);
    }
    cio_server_close(srv);
    cio_server_wait_closed(srv);
    cio_server_free(srv);
    return ok ? 0 : -1;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_loop *loop = cio_get_running_loop();
    snprintf(g_path, sizeof(g_path), "/tmp/cio_unix_echo_%d.sock",
             (int)getpid());
    cio_socket *ls;
    int r = cio_unix_listen(&ls, loop, g_path, SOCK_STREAM, 0600, -1,
                            CIO_UNIX_REMOVE_STALE);
    if (r < 0)
        return r;
    printf("listening on %s\n", g_path);
    cio_task *st;
    cio_task_create(loop, CIO_CORO(server, ls), NULL, &st);

    int ok = 0, p[2];
    cio_sockaddr a;
    cio_socket *c = NULL;
    if (pipe(p) == 0 && cio_sockaddr_from_unix(&a, g_path) == 0 &&
        cio_socket_open(&c, loop, AF_UNIX, SOCK_STREAM, 0) == 0 &&
        cio_socket_connect(c, &a) == 0 &&
        cio_socket_send_fds(c, "ping", 4, &p[1], 1) == 4) {
        close(p[1]);
        char echo[16] = {0}, greet[64] = {0};
        ssize_t n = cio_socket_recv(c, echo, sizeof(echo) - 1, 0);
        ssize_t g = read(p[0], greet, sizeof(greet) - 1);
        printf("client: echo \"%s\", pipe says \"%s\"\n", echo, greet);
        ok = n == 4 && !strcmp(echo, "ping") && g > 0;
        close(p[0]);
    }
    cio_socket_close(c);
    if (!ok)
        cio_task_cancel(st, NULL); /* never wait for a client that failed */
    r = cio_await(st, NULL);
    cio_future_release(st);
    cio_socket_close(ls);
    unlink(g_path);
    if (!ok || r != 0)
        return -1;
    return streams_part(loop);
}

int main(void)
{
    return cio_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
