/*
 * ws_load.c - the WebSocket load generator of the ws_echo figure: plain C
 * and epoll (no cio, so every server meets the same client), N
 * connections each keeping one message in flight: send a masked binary
 * message of --size bytes, wait for its echo, send the next. After
 * --warmup seconds it counts the echoes for --secs seconds and reads the
 * server's CPU time (utime + stime of /proc/<--pid>/stat) at both ends.
 *
 * Prints: ws_echo_msgs_per_sec <v> and ws_echo_srv_ns_per_msg <v> (server
 * CPU nanoseconds per echoed message).
 *
 * Usage: ws_load --port P --pid PID [--conns 50] [--size 1024]
 *                [--warmup 1] [--secs 3] [--path /]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct lconn {
    int fd;
    size_t got; /* bytes of the current echo received */
} lconn;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double proc_cpu(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long ut = 0, st = 0;
    /* fields after the name: state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int dial(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     path, port);
    if (write(fd, req, (size_t)n) != n)
        return -1;
    /* Read the 101 head byte by byte (nothing follows it yet). */
    char head[2048];
    size_t len = 0;
    while (len < 4 || memcmp(head + len - 4, "\r\n\r\n", 4) != 0) {
        if (len == sizeof(head) || read(fd, head + len, 1) != 1)
            return -1;
        len++;
    }
    if (len < 12 || memcmp(head + 9, "101", 3) != 0)
        return -1;
    return fd;
}

int main(int argc, char **argv)
{
    int port = 0, pid = 0, conns = 50;
    size_t size = 1024;
    double warmup = 1, secs = 3;
    const char *path = "/";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--pid"))
            pid = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--conns"))
            conns = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--size"))
            size = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--warmup"))
            warmup = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--secs"))
            secs = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--path"))
            path = argv[i + 1];
    }
    if (!port || !pid || conns < 1 || size < 126 || size > 65535) {
        fprintf(stderr, "usage: ws_load --port P --pid PID [--conns N] "
                        "[--size 126..65535] [--warmup S] [--secs S]\n");
        return 2;
    }
    /* One masked binary frame, sent again and again. */
    size_t flen = 8 + size, echo_len = 4 + size;
    unsigned char *frame = malloc(flen), *rbuf = malloc(65536);
    frame[0] = 0x82;
    frame[1] = 0x80 | 126;
    frame[2] = (unsigned char)(size >> 8);
    frame[3] = (unsigned char)size;
    memcpy(frame + 4, "\x12\x34\x56\x78", 4);
    for (size_t i = 0; i < size; i++)
        frame[8 + i] = (unsigned char)('a' + i % 26) ^ frame[4 + (i & 3)];
    int ep = epoll_create1(0);
    lconn *c = calloc((size_t)conns, sizeof(*c));
    for (int i = 0; i < conns; i++) {
        c[i].fd = dial(port, path);
        if (c[i].fd < 0) {
            fprintf(stderr, "ws_load: connection %d failed: %s\n", i,
                    strerror(errno));
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
        if (write(c[i].fd, frame, flen) != (ssize_t)flen)
            return 1;
    }
    double t0 = now(), start = t0 + warmup, end = start + secs;
    double cpu0 = -1;
    long msgs = 0;
    struct epoll_event evs[64];
    for (;;) {
        double t = now();
        if (cpu0 < 0 && t >= start) {
            cpu0 = proc_cpu(pid);
            msgs = 0;
        }
        if (t >= end)
            break;
        int n = epoll_wait(ep, evs, 64, 100);
        for (int k = 0; k < n; k++) {
            lconn *l = &c[evs[k].data.u32];
            ssize_t r = read(l->fd, rbuf, 65536);
            if (r <= 0) {
                fprintf(stderr, "ws_load: the server closed a connection\n");
                return 1;
            }
            l->got += (size_t)r;
            while (l->got >= echo_len) { /* one message in flight: exact */
                l->got -= echo_len;
                msgs++;
                if (write(l->fd, frame, flen) != (ssize_t)flen) {
                    fprintf(stderr, "ws_load: short write\n");
                    return 1;
                }
            }
        }
    }
    double cpu1 = proc_cpu(pid);
    if (cpu0 < 0 || cpu1 < 0 || msgs == 0) {
        fprintf(stderr, "ws_load: no measurement (pid %d, %ld messages)\n", pid,
                msgs);
        return 1;
    }
    printf("ws_echo_msgs_per_sec %.0f\n", (double)msgs / secs);
    printf("ws_echo_srv_ns_per_msg %.1f\n", (cpu1 - cpu0) * 1e9 / (double)msgs);
    for (int i = 0; i < conns; i++)
        close(c[i].fd);
    free(c);
    free(frame);
    free(rbuf);
    return 0;
}
