/*
 * tls_load.c - the one TLS load generator of bench/sections/tls.sh, the
 * same for cio and every peer server: C, OpenSSL, one epoll thread, no
 * cio. TLS 1.3, TLS_AES_128_GCM_SHA256, ECDHE on P-256.
 *
 * Usage: tls_load echo PORT PID [CONNS SIZE SECONDS]
 *   CONNS connections (default 50) each send SIZE bytes (default 1024)
 *   and wait for them back, over and over. All handshakes and a 1 s
 *   warm-up come first; then for SECONDS (default 5) it counts messages
 *   and reads the server's CPU time (utime + stime of /proc/PID/stat).
 *   Prints "tls_echo_srv_ns <server CPU ns per message>".
 * Usage: tls_load handshake PORT PID [CONNS SECONDS]
 *   CONNS (default 16) at a time: connect, a full handshake (no
 *   resumption), one byte there and back, close. Prints
 *   "tls_handshake_srv_ns <server CPU ns per handshake>".
 * The server's certificate is not verified (a benchmark, on loopback).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

enum {
    HS,
    WR,
    RD,
    DONE
};

typedef struct conn {
    int fd, state;
    SSL *ssl;
    size_t off;
} conn;

static SSL_CTX *ctx;
static int port, epfd;
static size_t size = 1024;
static char *msg, *back;
static long long count;
static int hs_mode;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double server_cpu(int pid)
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
    unsigned long ut = 0, st = 0;
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void open_conn(conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
        errno != EINPROGRESS) {
        perror("connect");
        exit(1);
    }
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_connect_state(c->ssl);
    c->state = HS;
    c->off = 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET,
                             .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

static void close_conn(conn *c)
{
    SSL_free(c->ssl);
    close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
}

static void fail(conn *c, int r)
{
    int e = SSL_get_error(c->ssl, r);
    fprintf(stderr, "tls_load: state %d: SSL error %d (%s), errno %d\n",
            c->state, e, ERR_error_string(ERR_get_error(), NULL), errno);
    exit(1);
}

/* Moves c on as far as it can. */
static void step(conn *c)
{
    for (;;) {
        int r;
        size_t k;
        switch (c->state) {
        case HS:
            r = SSL_do_handshake(c->ssl);
            if (r != 1) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                    return;
                fail(c, r);
            }
            c->state = WR;
            c->off = 0;
            break;
        case WR: {
            size_t want = hs_mode ? 1 : size;
            r = SSL_write_ex(c->ssl, msg + c->off, want - c->off, &k);
            if (r != 1) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                    return;
                fail(c, r);
            }
            c->off += k;
            if (c->off == want) {
                c->state = RD;
                c->off = 0;
            }
            break;
        }
        case RD: {
            size_t want = hs_mode ? 1 : size;
            r = SSL_read_ex(c->ssl, back + c->off, want - c->off, &k);
            if (r != 1) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                    return;
                fail(c, r);
            }
            c->off += k;
            if (c->off < want)
                break;
            count++;
            if (hs_mode) {
                close_conn(c);
                open_conn(c);
            } else {
                c->state = WR;
                c->off = 0;
            }
            break;
        }
        }
    }
}

static void run_for(double secs)
{
    double end = now() + secs;
    struct epoll_event evs[64];
    while (now() < end) {
        int n = epoll_wait(epfd, evs, 64, 100);
        for (int i = 0; i < n; i++)
            step(evs[i].data.ptr);
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: tls_load echo|handshake PORT PID [...]\n");
        return 2;
    }
    hs_mode = !strcmp(argv[1], "handshake");
    port = atoi(argv[2]);
    int pid = atoi(argv[3]);
    int conns = hs_mode ? 16 : 50;
    double secs = 5;
    if (hs_mode) {
        if (argc > 4)
            conns = atoi(argv[4]);
        if (argc > 5)
            secs = atof(argv[5]);
    } else {
        if (argc > 4)
            conns = atoi(argv[4]);
        if (argc > 5)
            size = (size_t)atol(argv[5]);
        if (argc > 6)
            secs = atof(argv[6]);
    }
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256");
    SSL_CTX_set1_groups_list(ctx, "P-256");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
    msg = malloc(size);
    back = malloc(size);
    memset(msg, 'x', size);
    epfd = epoll_create1(0);
    conn *cs = calloc((size_t)conns, sizeof(*cs));
    for (int i = 0; i < conns; i++) {
        open_conn(&cs[i]);
        step(&cs[i]);
    }
    run_for(1.0); /* handshakes and warm-up */
    long long c0 = count;
    double cpu0 = server_cpu(pid);
    run_for(secs);
    double cpu1 = server_cpu(pid);
    long long msgs = count - c0;
    if (cpu0 < 0 || cpu1 < 0 || msgs <= 0) {
        fprintf(stderr, "tls_load: no measurement (cpu %f %f, %lld)\n", cpu0,
                cpu1, msgs);
        return 1;
    }
    fprintf(stderr, "tls_load: %lld %s in %.1f s, server CPU %.2f s\n", msgs,
            hs_mode ? "handshakes" : "messages", secs, cpu1 - cpu0);
    printf("%s %.0f\n", hs_mode ? "tls_handshake_srv_ns" : "tls_echo_srv_ns",
           (cpu1 - cpu0) * 1e9 / (double)msgs);
    return 0;
}
