/*
 * dns_lookup.c - 10,000 host-name lookups answered by a local DNS server:
 * cio's c-ares resolver on the loop against getaddrinfo(3) on cio's thread
 * pool (the fallback path), same workload, same server, same resolv.conf.
 *
 *     dns_lookup ares   prints "dns_lookup_ns <ns per lookup>"
 *     dns_lookup gai    prints "gai_pool_dns_lookup_ns <ns per lookup>"
 *
 * glibc's resolver only talks to port 53, so the program first moves into
 * a network and mount namespace of its own (root needed; it exits 77
 * otherwise): loopback up, a DNS server thread on 127.0.0.1:53 answering
 * every A query with 10.0.0.1, and a resolv.conf naming it bind-mounted
 * over /etc/resolv.conf (visible to this process only). The names are
 * h<i>.bench.test (distinct, so nothing can be cached), looked up by 64
 * tasks at a time, AF_INET, SOCK_STREAM. A warm-up of 1,000 lookups runs
 * first. The server is a plain blocking loop in its own thread for both.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cio.h"

#define TOTAL 10000
#define WARM 1000
#define CONC 64

static int setup_namespace(void)
{
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
        return -errno;
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -errno;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return -errno;
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        return -errno;
    close(s);
    char path[] = "/tmp/cio_bench_resolv_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -errno;
    const char conf[] = "nameserver 127.0.0.1\n";
    if (write(fd, conf, sizeof(conf) - 1) < 0)
        return -errno;
    close(fd);
    int r = mount(path, "/etc/resolv.conf", NULL, MS_BIND, NULL);
    unlink(path); /* the bind mount keeps the file */
    return r < 0 ? -errno : 0;
}

static int g_srv_fd;

static void *dns_server(void *arg)
{
    (void)arg;
    unsigned char q[512], out[600];
    for (;;) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(g_srv_fd, q, sizeof(q), 0,
                             (struct sockaddr *)&from, &fl);
        if (n < 12)
            continue;
        int o = 12;
        while (o < n && q[o])
            o += q[o] + 1;
        o += 5; /* the name's end, type, class */
        if (o > n)
            continue;
        int qtype = q[o - 4] << 8 | q[o - 3];
        memcpy(out, q, (size_t)o);
        out[2] = 0x81 | (q[2] & 1);
        out[3] = 0x80;
        memset(out + 6, 0, 6);
        int m = o;
        if (qtype == 1) {
            const unsigned char rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60,
                                        0,    4,  10, 0, 0, 1};
            memcpy(out + m, rr, sizeof(rr));
            m += (int)sizeof(rr);
            out[7] = 1;
        }
        sendto(g_srv_fd, out, (size_t)m, 0, (struct sockaddr *)&from, fl);
    }
    return NULL;
}

static int g_next, g_end, g_errors;

static int worker(void *arg, void **result)
{
    (void)arg;
    (void)result;
    char name[64];
    while (g_next < g_end) {
        snprintf(name, sizeof(name), "h%d.bench.test", g_next++);
        struct addrinfo *res;
        int r = cio_getaddrinfo(name, "80", AF_INET, SOCK_STREAM, 0, &res);
        if (r < 0) {
            if (g_errors++ < 3)
                fprintf(stderr, "%s: %s\n", name, cio_strerror(r));
            continue;
        }
        freeaddrinfo(res);
    }
    return 0;
}

static int run_batch(int n)
{
    g_end = g_next + n;
    cio_task *t[CONC];
    for (int i = 0; i < CONC; i++)
        if (cio_task_create(cio_get_running_loop(), CIO_CORO(worker, NULL),
                            NULL, &t[i]) < 0)
            return -1;
    for (int i = 0; i < CONC; i++) {
        cio_await(t[i], NULL);
        cio_future_release(t[i]);
    }
    return 0;
}

static int g_gai;

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_resolver_opts o = CIO_RESOLVER_OPTS_INIT;
    o.kind = g_gai ? CIO_RESOLVER_GETADDRINFO : CIO_RESOLVER_ARES;
    int r = cio_resolver_configure(cio_get_running_loop(), &o);
    if (r < 0)
        return r;
    if (run_batch(WARM) < 0)
        return -1;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (run_batch(TOTAL) < 0)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 +
                (double)(b.tv_nsec - a.tv_nsec);
    if (g_errors) {
        fprintf(stderr, "%d lookups failed\n", g_errors);
        return -1;
    }
    printf("%s %.0f\n", g_gai ? "gai_pool_dns_lookup_ns" : "dns_lookup_ns",
           ns / TOTAL);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "ares") && strcmp(argv[1], "gai"))) {
        fprintf(stderr, "usage: %s ares|gai\n", argv[0]);
        return 2;
    }
    g_gai = !strcmp(argv[1], "gai");
    int r = setup_namespace();
    if (r < 0) {
        fprintf(stderr, "dns_lookup: no private network namespace (%s): "
                        "needs root; skipped\n",
                strerror(-r));
        return 77;
    }
    g_srv_fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int big = 4 << 20;
    setsockopt(g_srv_fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    if (bind(g_srv_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("bind 127.0.0.1:53");
        return 1;
    }
    pthread_t th;
    pthread_create(&th, NULL, dns_server, NULL);
    pthread_detach(th);
    r = cio_run(main_task, NULL, NULL);
    if (r < 0) {
        fprintf(stderr, "dns_lookup: %s\n", cio_strerror(r));
        return 1;
    }
    return 0;
}
