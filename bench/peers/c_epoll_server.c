/*
 * (Copied from the shared peer harness, ../shared/bench/peers/c-epoll/, for
 * bench/sections/http_client.sh: the HTTP server every client figure is
 * measured against.)
 *
 * epoll_server.c - hand-written single-threaded epoll (edge-triggered)
 * callback server, used as the "physical limit" proxy: about the least work a
 * single-threaded user-space server can do per message on Linux (one recv and
 * one send per message; a short read is taken to mean "drained", since an
 * edge-triggered epoll reports any later arrival again).
 *
 * Modes:
 *   echo  - echo every byte back (with backpressure: stops reading while it
 *           has unsent bytes).
 *   http  - minimal HTTP/1.1 keep-alive server: GET /json -> {"hello":"world"},
 *           anything else -> 200 "Hello, World!" text/plain. Pipelining works.
 *           It is NOT a real HTTP parser: it only looks for the end of headers
 *           (no request bodies, no chunked uploads).
 *
 * Build: gcc -O2 -o epoll_server epoll_server.c
 * Usage: epoll_server echo|http [port]    (port also from $PORT; binds 127.0.0.1)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SZ (64 * 1024)

struct conn {
    int fd;
    size_t in_len;            /* http: bytes of unparsed request data in `in` */
    size_t out_off, out_len;  /* pending output in `out` */
    char *in, *out;
    size_t out_cap;
    int want_out;             /* EPOLLOUT currently requested */
};

static int http_mode, ep;

/* EPOLLOUT is requested only while output is pending (edge-triggered EPOLLOUT
 * left on would report every ACK that frees send-buffer space) */
static void want_out(struct conn *c, int on) {
    if (c->want_out == on) return;
    c->want_out = on;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (on ? EPOLLOUT : 0),
                             .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}
static char date_hdr[64];
static time_t date_sec;

static void update_date(void) {
    time_t t = time(NULL);
    if (t == date_sec) return;
    date_sec = t;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date_hdr, sizeof date_hdr, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void conn_close(struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

/* try to write pending output; returns -1 on error, 0 if all sent, 1 if blocked */
static int flush_pending(struct conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w > 0) { c->out_off += (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { want_out(c, 1); return 1; }
        return -1;
    }
    c->out_off = c->out_len = 0;
    want_out(c, 0);
    return 0;
}

static int queue_out(struct conn *c, const char *p, size_t n) {
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n) cap *= 2;
        char *o = realloc(c->out, cap);
        if (!o) return -1;
        c->out = o;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

/* send directly when nothing is pending; keep the rest */
static int send_or_queue(struct conn *c, const char *p, size_t n) {
    if (c->out_len == 0) {
        while (n) {
            ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
            if (w > 0) { p += w; n -= (size_t)w; continue; }
            if (w < 0 && errno == EINTR) continue;
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            return -1;
        }
        if (!n) return 0;
        want_out(c, 1);
    }
    return queue_out(c, p, n);
}

static char rbuf[BUF_SZ];

/* echo: read until EAGAIN or until output blocks; returns -1 to close */
static int echo_readable(struct conn *c) {
    while (c->out_len == 0) {
        ssize_t r = recv(c->fd, rbuf, sizeof rbuf, 0);
        if (r > 0) {
            if (send_or_queue(c, rbuf, (size_t)r) < 0) return -1;
            if ((size_t)r < sizeof rbuf) return 0; /* short read: drained (ET re-arms on new data) */
            continue;
        }
        if (r == 0) return -1;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return -1;
    }
    return 0; /* blocked on output: resume reading after EPOLLOUT drains it */
}

static const char *find_hdr_end(const char *p, size_t n) {
    return memmem(p, n, "\r\n\r\n", 4);
}

static int http_respond(struct conn *c, const char *req, size_t len) {
    static const char hello[] = "Hello, World!";
    static const char json[] = "{\"hello\":\"world\"}";
    int is_json = len > 10 && memcmp(req, "GET /json", 9) == 0 &&
                  (req[9] == ' ' || req[9] == '?');
    const char *body = is_json ? json : hello;
    size_t blen = is_json ? sizeof json - 1 : sizeof hello - 1;
    char buf[256];
    update_date();
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 200 OK\r\nServer: epoll\r\nDate: %s\r\n"
                     "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
                     date_hdr, is_json ? "application/json" : "text/plain", blen, body);
    return queue_out(c, buf, (size_t)n);
}

static int http_readable(struct conn *c) {
    for (;;) {
        if (c->in_len == BUF_SZ) return -1; /* header too large */
        ssize_t r = recv(c->fd, c->in + c->in_len, BUF_SZ - c->in_len, 0);
        if (r == 0) return -1;
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return -1;
        }
        int drained = (size_t)r < BUF_SZ - c->in_len; /* short read: drained */
        c->in_len += (size_t)r;
        /* answer every complete request in the buffer (pipelining) */
        size_t off = 0;
        const char *e;
        while ((e = find_hdr_end(c->in + off, c->in_len - off)) != NULL) {
            size_t rl = (size_t)(e - (c->in + off)) + 4;
            if (http_respond(c, c->in + off, rl) < 0) return -1;
            off += rl;
        }
        if (off) {
            memmove(c->in, c->in + off, c->in_len - off);
            c->in_len -= off;
        }
        if (drained) break;
    }
    if (c->out_len && flush_pending(c) < 0) return -1;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "echo") && strcmp(argv[1], "http"))) {
        fprintf(stderr, "usage: %s echo|http [port]   (or PORT env)\n", argv[0]);
        return 2;
    }
    http_mode = strcmp(argv[1], "http") == 0;
    const char *ps = argc > 2 ? argv[2] : getenv("PORT");
    int port = ps ? atoi(ps) : 0;
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "epoll_server: need a port\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 4096) < 0) {
        perror("epoll_server: bind/listen");
        return 1;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) { /* listener */
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = calloc(1, sizeof *nc);
                    if (!nc) { close(fd); continue; }
                    nc->fd = fd;
                    if (http_mode && !(nc->in = malloc(BUF_SZ))) { close(fd); free(nc); continue; }
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET,
                                              .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            int rc = 0;
            if (evs[i].events & (EPOLLERR)) rc = -1;
            if (!rc && (evs[i].events & EPOLLOUT) && c->out_len) {
                rc = flush_pending(c);
                if (rc > 0) rc = 0;
                /* echo: output drained -> resume reading what was left unread */
                if (!rc && !http_mode && c->out_len == 0) rc = echo_readable(c);
            }
            if (!rc && (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)))
                rc = http_mode ? http_readable(c) : echo_readable(c);
            if (rc < 0) conn_close(c);
        }
    }
}
