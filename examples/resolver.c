/*
 * resolver.c - issue 11: name resolution on the loop with c-ares
 * (asyncio's loop.getaddrinfo), no thread per lookup.
 *
 *     infos = await loop.getaddrinfo("localhost", 80,
 *                                    type=socket.SOCK_STREAM)
 *
 * Looks up `localhost` (the system's /etc/hosts), then writes a hosts
 * file of its own (in /tmp, removed at the end), points c-ares at it with
 * $CARES_HOSTS and looks up the names it lists, IPv4 and IPv6, three
 * lookups in three tasks on the one loop thread.
 * Last, with the loop's resolver told to ask a name server on a local
 * port where nobody answers (so nothing leaves the machine), a name that
 * no hosts file knows fails with a CIO_EDNS_* code and its message.
 * Ends by itself, with status 1 if an answer was wrong (it runs as a
 * test).
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic resolver.c -o resolver \
 *         $(pkg-config --cflags --libs cio)
 */
#define _DEFAULT_SOURCE /* mkstemp, setenv */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cio.h"

/* Resolves host for family into "addr:port, addr:port..." (out, cap). */
static int lookup(const char *host, int family, char *out, size_t cap)
{
    struct addrinfo *res;
    int r = cio_getaddrinfo(host, "80", family, SOCK_STREAM, 0, &res);
    if (r < 0)
        return r;
    out[0] = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        cio_sockaddr a;
        char text[CIO_ADDRSTRLEN];
        if (cio_sockaddr_set(&a, ai->ai_addr, ai->ai_addrlen) < 0 ||
            cio_sockaddr_format(&a, text, sizeof(text)) < 0)
            continue;
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s%s", n ? ", " : "", text);
    }
    freeaddrinfo(res);
    return 0;
}

typedef struct query {
    const char *host;
    int family;
    const char *want;
    int ok;
} query;

/* One lookup, printed and checked. */
static int lookup_task(void *arg, void **result)
{
    (void)result;
    query *q = arg;
    char got[256];
    int r = lookup(q->host, q->family, got, sizeof(got));
    if (r < 0) {
        printf("%-20s %s\n", q->host, cio_strerror(r));
        return r;
    }
    printf("%-20s %s\n", q->host, got);
    q->ok = strcmp(got, q->want) == 0;
    if (!q->ok)
        printf("  expected %s\n", q->want);
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int bad = 0;

    /* 1. localhost, from the system's hosts file. */
    query lh = {"localhost", AF_INET, "127.0.0.1:80", 0};
    lookup_task(&lh, NULL);
    bad += !lh.ok;

    /* 2. A hosts file of our own, three lookups in three tasks. */
    char path[] = "/tmp/cio_resolver_hosts_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    const char hosts[] = "192.0.2.10  db.internal.test db\n"
                         "2001:db8::10 db.internal.test\n"
                         "192.0.2.20  cache.internal.test\n";
    int w = (int)write(fd, hosts, sizeof(hosts) - 1);
    close(fd);
    if (w != (int)sizeof(hosts) - 1) {
        unlink(path);
        return -1;
    }
    setenv("CARES_HOSTS", path, 1);
    query q[3] = {
        {"db.internal.test", AF_INET, "192.0.2.10:80", 0},
        {"db.internal.test", AF_INET6, "[2001:db8::10]:80", 0},
        {"cache.internal.test", AF_INET, "192.0.2.20:80", 0},
    };
    cio_task *t[3];
    int made = 0;
    for (int i = 0; i < 3; i++)
        if (cio_task_create(cio_get_running_loop(),
                            CIO_CORO(lookup_task, &q[i]), NULL, &t[i]) == 0)
            made++;
        else
            t[i] = NULL;
    for (int i = 0; i < 3; i++) {
        if (t[i]) {
            cio_await(t[i], NULL);
            cio_future_release(t[i]);
        }
        bad += !q[i].ok;
    }
    bad += made != 3;

    /* 3. A name no hosts file knows, asking a name server that is not
     * there (a closed port on 127.0.0.1: nothing leaves the machine). */
    cio_resolver_opts ro = CIO_RESOLVER_OPTS_INIT;
    ro.servers = "127.0.0.1:9";
    ro.timeout_ms = 200;
    ro.tries = 1;
    if (cio_resolver_configure(cio_get_running_loop(), &ro) == 0) {
        char got[256];
        int r = lookup("nowhere.internal.test", AF_INET, got, sizeof(got));
        printf("%-20s %s (%d)\n", "nowhere.internal...", cio_strerror(r), r);
        bad += r >= 0; /* must fail, whichever CIO_EDNS_* code */
    } else {
        bad++;
    }
    unsetenv("CARES_HOSTS");
    unlink(path);
    printf(bad ? "FAILED\n" : "all answers as expected\n");
    return bad ? -1 : 0;
}

int main(void)
{
    return cio_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
