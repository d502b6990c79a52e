/*
 * s16_selector_echo.c - MISSION S16: "an event-driven echo server in a few
 * dozen lines" on the poller alone (Python's selectors), with no loop, no
 * task and no cio socket: plain non-blocking descriptors and a selector.
 *
 *     sel = selectors.DefaultSelector()
 *     def accept(sock, mask):
 *         conn, addr = sock.accept()
 *         conn.setblocking(False)
 *         sel.register(conn, selectors.EVENT_READ, read)
 *     def read(conn, mask):
 *         data = conn.recv(1000)
 *         if data:
 *             conn.send(data)
 *         else:
 *             sel.unregister(conn)
 *             conn.close()
 *     sock = socket.socket(); sock.bind(('localhost', 8081)); sock.listen(100)
 *     sock.setblocking(False)
 *     sel.register(sock, selectors.EVENT_READ, accept)
 *     while True:
 *         for key, mask in sel.select():
 *             key.data(key.fileobj, mask)
 *
 * The note checks it with two `nc localhost 8081` terminals typing "hello
 * world". Here a forked child plays both terminals, and the server ends
 * after both have hung up. It listens on 127.0.0.1 and, unless a port is
 * given as argv[1], on a free port.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s16_selector_echo.c -o s16_selector_echo \
 *         $(pkg-config --cflags --libs cio)
 */
#define _GNU_SOURCE 1 /* accept4 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cio.h"

typedef void (*callback)(cio_selector *sel, int fd);
typedef struct handler {
    callback fn;
} handler; /* what key.data holds */

static int closed_conns;

static void read_cb(cio_selector *sel, int conn)
{
    char data[1000];
    ssize_t n = recv(conn, data, sizeof(data), 0);
    if (n > 0) {
        printf("echoing %zd bytes to fd %d: %.*s", n, conn, (int)n, data);
        send(conn, data, (size_t)n, MSG_NOSIGNAL);
    } else {
        printf("closing fd %d\n", conn);
        cio_selector_unregister(sel, conn);
        close(conn);
        closed_conns++;
    }
}
static handler h_read = {read_cb};

static void accept_cb(cio_selector *sel, int sock)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    int conn = accept4(sock, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK);
    if (conn < 0)
        return;
    printf("accepted fd %d from %s:%d\n", conn, inet_ntoa(addr.sin_addr),
           ntohs(addr.sin_port));
    cio_selector_register(sel, conn, CIO_EVENT_READ, &h_read);
}
static handler h_accept = {accept_cb};

/* The two `nc` terminals, one after the other, in a child process. */
static int nc_terminals(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int t = 1; t <= 2; t++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
            return 1;
        const char *line = "hello world\n";
        char back[32] = {0};
        send(fd, line, strlen(line), 0);
        size_t got = 0;
        while (got < strlen(line)) {
            ssize_t n = recv(fd, back + got, sizeof(back) - 1 - got, 0);
            if (n <= 0)
                return 1;
            got += (size_t)n;
        }
        if (strcmp(back, line) != 0)
            return 1;
        close(fd);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int sock = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(argc > 1 ? atoi(argv[1]) : 0);
    socklen_t alen = sizeof(a);
    if (bind(sock, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(sock, 100) < 0 ||
        getsockname(sock, (struct sockaddr *)&a, &alen) < 0) {
        perror("s16_selector_echo");
        return 1;
    }
    int port = ntohs(a.sin_port);
    printf("listening on 127.0.0.1:%d\n", port);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0)
        _exit(nc_terminals(port));

    cio_selector *sel;
    if (cio_selector_new(&sel) < 0)
        return 1;
    cio_selector_register(sel, sock, CIO_EVENT_READ, &h_accept);
    while (closed_conns < 2) {
        cio_selector_key keys[16];
        int n = cio_selector_select(sel, 10 * CIO_SEC, keys, 16);
        if (n <= 0)
            break; /* nothing for 10 s: give up */
        for (int i = 0; i < n; i++)
            ((handler *)keys[i].data)->fn(sel, keys[i].fd);
        fflush(stdout);
    }
    cio_selector_unregister(sel, sock);
    close(sock);
    cio_selector_free(sel);
    int status;
    waitpid(child, &status, 0);
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && closed_conns == 2;
    printf("both clients served: %s\n", ok ? "yes" : "no");
    return ok ? 0 : 1;
}
