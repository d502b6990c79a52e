/*
 * udp_echo.c - UDP echo of 64-byte datagrams on 127.0.0.1: server CPU per
 * echoed datagram, cio's datagram endpoint against a hand-written
 * recvmmsg/sendmmsg epoll server (the practical limit).
 *
 *     udp_echo cio     prints "udp_echo_ns <server CPU ns per datagram>"
 *     udp_echo limit   prints "limit_udp_echo_ns <...>"
 *     udp_echo cio-nogso  prints "udp_echo_nogso_ns <...>": cio with the
 *                      UDP offloads off (replies still batched, sendmmsg)
 *     udp_echo serve   cio's echo server alone: prints "port N", echoes
 *                      until a 1-byte datagram arrives
 *     udp_echo serve-limit  the limit server alone, the same way
 *     udp_echo load PORT PID  the same client against any echo server on
 *                      127.0.0.1:PORT (bench/sections/udp_one.sh starts
 *                      cio's, uvloop's and Node's): prints
 *                      "udp_echo_srv_ns <ns of CPU per echo>", the CPU of
 *                      every thread of process PID (the sum of
 *                      /proc/PID/task/ * /schedstat, ns resolution) over
 *                      the same 200,000 echoes
 *     udp_echo load-batched PORT PID  a batched load instead (load_client:
 *                      sendmmsg, recvmmsg, 64 in flight), 400,000 echoes
 *                      after 20,000 of warm-up: prints
 *                      "udp_echo_batched_srv_ns <...>"
 *
 * The server runs in the main thread and measures its own thread's CPU
 * time (CLOCK_THREAD_CPUTIME_ID) from the first datagram to the last; a
 * client thread with a blocking connected socket keeps 64 datagrams in
 * flight (send one per echo received) for 200,000 echoes after 20,000 of
 * warm-up, then sends a 1-byte datagram that stops the server. Both
 * servers read in batches of 32 (cio: recv_batch 32, recv_size 2048).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cio.h"

#define WARM 20000
#define TOTAL 200000
#define LOAD_TOTAL 400000 /* udp_echo load-batched: echoes measured */
#define WINDOW 64
#define BATCH 32

static int g_port;
static long g_count;
static int64_t g_t0;
static int g_pid;                /* load mode: the server process */
static int64_t g_srv0, g_srv1;   /* its CPU ns at warm-up end, at the end */

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CPU ns of every thread of process pid so far, or -1. */
static int64_t proc_cpu_ns(int pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int64_t sum = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[320];
        snprintf(p, sizeof(p), "/proc/%d/task/%s/schedstat", pid, e->d_name);
        FILE *f = fopen(p, "r");
        if (!f)
            continue;
        long long run = 0;
        if (fscanf(f, "%lld", &run) == 1)
            sum += run;
        fclose(f);
    }
    closedir(d);
    return sum;
}

/* Counts echoes; starts the CPU clock after the warm-up. 1 = stop. */
static int seen(size_t len)
{
    if (len == 1)
        return 1;
    if (++g_count == WARM)
        g_t0 = cpu_ns();
    return 0;
}

static void *client(void *arg)
{
    (void)arg;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)g_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return NULL;
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char m[64] = {0}, buf[128];
    long sent = 0, got = 0, total = WARM + TOTAL;
    if (g_pid) {
        /* An external server: probe until it answers (it may still be
         * starting), 10 s at most. */
        struct timeval probe = {0, 100000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &probe, sizeof(probe));
        int up = 0;
        for (int i = 0; i < 100 && !up; i++) {
            send(fd, m, sizeof(m), 0);
            up = recv(fd, buf, sizeof(buf), 0) > 0;
        }
        if (!up) {
            close(fd);
            return NULL;
        }
        /* Drain late answers to earlier probes. */
        while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
            ;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    for (; sent < WINDOW; sent++)
        send(fd, m, sizeof(m), 0);
    while (got < total) {
        if (recv(fd, buf, sizeof(buf), 0) < 0) {
            /* A datagram was lost (loopback under load): refill. */
            if (sent < total) {
                send(fd, m, sizeof(m), 0);
                sent++;
            } else {
                break;
            }
            continue;
        }
        got++;
        if (g_pid && got == WARM)
            g_srv0 = proc_cpu_ns(g_pid);
        if (sent < total) {
            send(fd, m, sizeof(m), 0);
            sent++;
        }
    }
    if (g_pid) {
        g_srv1 = proc_cpu_ns(g_pid);
        g_count = got;
    }
    send(fd, "x", 1, 0);
    close(fd);
    return NULL;
}

/* The load of `udp_echo load-batched` against a server in another
 * process: the
 * same 64-byte datagrams and 64 in flight, but sent and received in
 * batches (sendmmsg; recvmmsg with MSG_WAITFORONE takes whatever has come
 * back), each batch of replies answered by as many new datagrams in one
 * sendmmsg. The load then costs about two system calls per batch instead
 * of two per datagram, and the new datagrams reach the server together:
 * a server that wakes finds a batch waiting. Tried to steady the
 * figure; in two 5-round runs it was no steadier than the one-send load
 * and favours servers that batch their own system calls, so it is not
 * the target's load (bench/README.md). The server's
 * CPU is read when the warm-up ends (the first batch that reaches WARM
 * echoes) and after the last echo; g_mark is the echo count at the
 * first reading. */
static long g_mark;

static void *load_client(void *arg)
{
    (void)arg;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)g_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return NULL;
    static char m[64], bufs[WINDOW][128];
    /* Probe until the server answers (it may still be starting), 10 s
     * at most; then drain late answers to earlier probes. */
    struct timeval probe = {0, 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &probe, sizeof(probe));
    int up = 0;
    for (int i = 0; i < 100 && !up; i++) {
        send(fd, m, sizeof(m), 0);
        up = recv(fd, bufs[0], sizeof(bufs[0]), 0) > 0;
    }
    if (!up) {
        close(fd);
        return NULL;
    }
    while (recv(fd, bufs[0], sizeof(bufs[0]), MSG_DONTWAIT) > 0)
        ;
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct mmsghdr out[WINDOW], in[WINDOW];
    struct iovec oiov = {m, sizeof(m)}, iiov[WINDOW];
    memset(out, 0, sizeof(out));
    memset(in, 0, sizeof(in));
    for (int i = 0; i < WINDOW; i++) {
        out[i].msg_hdr.msg_iov = &oiov;
        out[i].msg_hdr.msg_iovlen = 1;
        iiov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
        in[i].msg_hdr.msg_iov = &iiov[i];
        in[i].msg_hdr.msg_iovlen = 1;
    }
    long sent = 0, got = 0, total = WARM + LOAD_TOTAL;
    /* Sends k more datagrams (fewer if total is reached). */
#define LOAD_SEND(k)                                                          \
    do {                                                                      \
        long want_ = (k) < total - sent ? (k) : total - sent;                 \
        while (want_ > 0) {                                                   \
            int n_ = sendmmsg(fd, out, (unsigned)want_, 0);                   \
            if (n_ <= 0)                                                      \
                break;                                                        \
            sent += n_;                                                       \
            want_ -= n_;                                                      \
        }                                                                     \
    } while (0)
    LOAD_SEND(WINDOW);
    while (got < total) {
        int n = recvmmsg(fd, in, WINDOW, MSG_WAITFORONE, NULL);
        if (n <= 0) {
            /* A datagram was lost (loopback under load): refill. */
            if (sent >= total)
                break;
            LOAD_SEND(1);
            continue;
        }
        got += n;
        if (!g_mark && got >= WARM) {
            g_srv0 = proc_cpu_ns(g_pid);
            g_mark = got;
        }
        LOAD_SEND(n);
    }
#undef LOAD_SEND
    g_srv1 = proc_cpu_ns(g_pid);
    g_count = got;
    send(fd, "x", 1, 0);
    close(fd);
    return NULL;
}

static int bind_server(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof(a);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) < 0)
        return -1;
    g_port = ntohs(a.sin_port);
    return fd;
}

/* ---- the limit: epoll + recvmmsg + sendmmsg ---- */

static int run_limit(int alone)
{
    int fd = bind_server();
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    pthread_t th;
    if (alone) {
        printf("port %d\n", g_port);
        fflush(stdout);
    } else {
        pthread_create(&th, NULL, client, NULL);
    }
    static char bufs[BATCH][2048];
    struct mmsghdr mm[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_storage from[BATCH];
    int stop = 0;
    while (!stop) {
        epoll_wait(ep, &ev, 1, -1);
        for (;;) {
            for (int i = 0; i < BATCH; i++) {
                iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
                memset(&mm[i], 0, sizeof(mm[i]));
                mm[i].msg_hdr.msg_iov = &iov[i];
                mm[i].msg_hdr.msg_iovlen = 1;
                mm[i].msg_hdr.msg_name = &from[i];
                mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
            }
            int n = recvmmsg(fd, mm, BATCH, MSG_DONTWAIT, NULL);
            if (n <= 0)
                break;
            int k = 0;
            for (int i = 0; i < n; i++) {
                if (seen(mm[i].msg_len)) {
                    stop = 1;
                    break;
                }
                iov[i].iov_len = mm[i].msg_len;
                k++;
            }
            if (k)
                sendmmsg(fd, mm, (unsigned)k, MSG_DONTWAIT);
        }
    }
    if (alone) {
        close(ep);
        close(fd);
        return 0;
    }
    int64_t ns = cpu_ns() - g_t0;
    pthread_join(th, NULL);
    printf("limit_udp_echo_ns %.1f\n", (double)ns / (double)(g_count - WARM));
    close(ep);
    close(fd);
    return 0;
}

/* ---- cio ---- */

static cio_event g_done;

static void echo(cio_datagram_transport *t, const void *data, size_t len,
                 const cio_sockaddr *addr, void *ctx)
{
    (void)ctx;
    if (seen(len)) {
        cio_event_set(&g_done);
        return;
    }
    cio_datagram_transport_sendto(t, data, len, addr);
}

static const cio_datagram_protocol ECHO = {NULL, echo, NULL, NULL};

/* udp_echo load PORT PID, udp_echo load-batched PORT PID */
static int run_load(const char *port, const char *pid, int batched)
{
    g_port = atoi(port);
    g_pid = atoi(pid);
    if (g_port <= 0 || g_pid <= 0 || proc_cpu_ns(g_pid) < 0) {
        fprintf(stderr, "udp_echo load: bad port or no process %s\n", pid);
        return 2;
    }
    if (batched) {
        load_client(NULL);
    } else {
        client(NULL);
        g_mark = WARM;
    }
    long want = WARM + (batched ? LOAD_TOTAL : TOTAL);
    if (g_count < want - (want - WARM) / 2 || !g_mark || g_srv0 < 0 ||
        g_srv1 < g_srv0) {
        fprintf(stderr, "udp_echo load: %ld echoes of %ld (server down?)\n",
                g_count, want);
        return 1;
    }
    printf("%s %.1f\n", batched ? "udp_echo_batched_srv_ns" : "udp_echo_srv_ns",
           (double)(g_srv1 - g_srv0) / (double)(g_count - g_mark));
    return 0;
}

/* udp_echo serve: cio's endpoint alone, for the load above. */
static int serve_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_event_init(&g_done);
    cio_datagram_opts o = CIO_DATAGRAM_OPTS_INIT;
    o.local_host = "127.0.0.1";
    o.recv_size = 2048;
    o.recv_batch = BATCH;
    cio_datagram_transport *t;
    int r = cio_create_datagram_endpoint(&ECHO, NULL, &o, &t);
    if (r < 0)
        return r;
    cio_sockaddr a;
    cio_datagram_transport_sockname(t, &a);
    printf("port %d\n", cio_sockaddr_port(&a));
    fflush(stdout);
    cio_event_wait(&g_done);
    cio_datagram_transport_close(t);
    cio_sleep(0);
    cio_event_destroy(&g_done);
    return 0;
}

static int cio_main(void *arg, void **result)
{
    (void)result;
    int no_offload = arg != NULL;
    cio_event_init(&g_done);
    cio_datagram_opts o = CIO_DATAGRAM_OPTS_INIT;
    o.local_host = "127.0.0.1";
    o.recv_size = 2048;
    o.recv_batch = BATCH;
    o.offload = no_offload ? -1 : 0;
    cio_datagram_transport *t;
    int r = cio_create_datagram_endpoint(&ECHO, NULL, &o, &t);
    if (r < 0)
        return r;
    cio_sockaddr a;
    cio_datagram_transport_sockname(t, &a);
    g_port = cio_sockaddr_port(&a);
    pthread_t th;
    pthread_create(&th, NULL, client, NULL);
    cio_event_wait(&g_done);
    int64_t ns = cpu_ns() - g_t0;
    pthread_join(th, NULL);
    uint64_t gso = 0;
    unsigned off = cio_datagram_transport_offloads(t, &gso, NULL);
    printf("%s %.1f\n", no_offload ? "udp_echo_nogso_ns" : "udp_echo_ns",
           (double)ns / (double)(g_count - WARM));
    fprintf(stderr, "# udp_echo: offloads %s, %llu segmented sends\n",
            off & CIO_DGRAM_GSO ? "GSO" : "none", (unsigned long long)gso);
    cio_datagram_transport_close(t);
    cio_sleep(0);
    cio_event_destroy(&g_done);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "load"))
        return run_load(argv[2], argv[3], 0);
    if (argc == 4 && !strcmp(argv[1], "load-batched"))
        return run_load(argv[2], argv[3], 1);
    if (argc != 2 || (strcmp(argv[1], "cio") && strcmp(argv[1], "limit") &&
                      strcmp(argv[1], "cio-nogso") && strcmp(argv[1], "serve") &&
                      strcmp(argv[1], "serve-limit"))) {
        fprintf(stderr,
                "usage: %s cio|cio-nogso|limit|serve|serve-limit|load PORT PID|"
                "load-batched PORT PID\n",
                argv[0]);
        return 2;
    }
    if (!strcmp(argv[1], "limit") || !strcmp(argv[1], "serve-limit"))
        return run_limit(!strcmp(argv[1], "serve-limit"));
    int r;
    if (!strcmp(argv[1], "serve"))
        r = cio_run(serve_main, NULL, NULL);
    else
        r = cio_run(cio_main, strcmp(argv[1], "cio") ? (void *)argv : NULL,
                    NULL);
    if (r < 0) {
        fprintf(stderr, "udp_echo: %s\n", cio_strerror(r));
        return 1;
    }
    return 0;
}
