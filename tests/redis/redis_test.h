/*
 * redis_test.h - what the cio::redis test files share: a server per case
 * (skipping with 77 where redis-server is missing), commands written as
 * string lists, and reply checks.
 */
#ifndef CIO_REDIS_TEST_H
#define CIO_REDIS_TEST_H

#include <errno.h>
#include <signal.h>

#include "cio/redis.h"
#include "cio_testutil_net.h"
#include "redis_server.h"

static tu_redis g_srv;

static inline void srv_start(const tu_redis_opts *o)
{
    int r = tu_redis_start(&g_srv, o);
    if (r == -ENOENT) {
        fprintf(stderr, "redis-server not installed: skipped\n");
        exit(77);
    }
    assert_int_equal(r, 0);
}

/* Up to 8 NUL-terminated arguments, NULL-terminated list. */
#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

static inline int argc_of(const char *const *av)
{
    int n = 0;
    while (av[n])
        n++;
    return n;
}

static inline int conn_cmd(cio_redis_conn *c, const char *const *av,
                           cio_redis_reply **rep)
{
    return cio_redis_conn_command(c, argc_of(av), av, NULL, rep);
}

static inline int cli_cmd(cio_redis *c, const char *const *av,
                          cio_redis_reply **rep)
{
    return cio_redis_command(c, argc_of(av), av, NULL, rep);
}

static inline void expect_str(cio_redis_reply *r, int type, const char *s)
{
    assert_non_null(r);
    assert_int_equal(cio_redis_reply_type_of(r), type);
    size_t len;
    const char *p = cio_redis_reply_str(r, &len);
    assert_non_null(p);
    assert_int_equal(len, strlen(s));
    assert_memory_equal(p, s, len);
}

static inline cio_redis_conn *conn_open(const cio_redis_opts *o)
{
    cio_redis_conn *c = NULL;
    assert_int_equal(cio_redis_conn_open("127.0.0.1", g_srv.port, o, &c), 0);
    assert_non_null(c);
    return c;
}

#endif
