/*
 * redis_server.h - a real redis-server for a test: started on 127.0.0.1
 * with a free port and a fresh temporary directory, stopped with SIGTERM
 * (SIGKILL after 5 s) and waited for, the directory removed. Usable from
 * any test (cmocka or not): no loop involved, plain blocking calls.
 *
 *     tu_redis srv;
 *     tu_redis_opts o = TU_REDIS_OPTS_INIT;
 *     o.aof = 1;
 *     assert_int_equal(tu_redis_start(&srv, &o), 0);
 *     ... connect to 127.0.0.1:srv.port ...
 *     tu_redis_stop(&srv);
 *
 * The child gets PR_SET_PDEATHSIG(SIGKILL), so a crashed test leaves no
 * server behind. The Debian system redis on 6379 is never used.
 *
 * Shared with bench/ (the redis_* benchmarks compile this file too), so
 * there is one way to start a server: unpin lets the server run on every
 * CPU even when the caller is pinned with taskset (the bench pins the
 * client it measures, not the engine).
 */
#ifndef TU_REDIS_SERVER_H
#define TU_REDIS_SERVER_H

#include <sys/types.h>

typedef struct tu_redis_opts {
    int aof;              /* appendonly yes, appendfsync always */
    const char *password; /* requirepass (NULL: none) */
    int port;             /* 0: a free port */
    int unpin;            /* the server may run on every CPU (not the
                           * caller's affinity) */
    int tls;              /* also listen with TLS on tls_port: a CA and a
                           * server certificate for localhost / 127.0.0.1
                           * are made with the openssl CLI in the temp dir
                           * (ca.pem, srv.pem, srv.key), plus an unrelated
                           * CA (other-ca.pem) for verification failures;
                           * clients need no certificate. The plain port
                           * stays (tu_redis_inline, readiness). */
    const char *bind_also; /* a second address to listen on besides
                            * 127.0.0.1 (a veth's, for the network
                            * namespace test; NULL: none) */
} tu_redis_opts;

#define TU_REDIS_OPTS_INIT                                                     \
    {                                                                          \
        0, NULL, 0, 0, 0, NULL                                                 \
    }

typedef struct tu_redis {
    pid_t pid; /* 0 when not running */
    int port;
    int tls_port; /* 0 unless o.tls */
    char dir[256]; /* the temporary directory ("" once removed) */
    tu_redis_opts o;
    char pass[128];
} tu_redis;

/* Starts a server and waits (up to 10 s) until it answers. Returns: 0.
 * Errors: -errno, -ETIMEDOUT (it never answered; its log is printed),
 * -ENOENT (no redis-server: the caller may skip with 77). */
int tu_redis_start(tu_redis *s, const tu_redis_opts *o);

/* The path of file (e.g. "ca.pem") in s's directory, in buf. Returns
 * buf. */
const char *tu_redis_path(const tu_redis *s, const char *file, char *buf,
                          size_t cap);

/* Sends sig to the server and waits for it to exit; the directory stays
 * (restart with tu_redis_restart: same port, same data directory).
 * Returns: 0. Errors: -ESRCH if not running. */
int tu_redis_kill(tu_redis *s, int sig);

/* Starts the server again on the same port and directory (after
 * tu_redis_kill). Returns/Errors: as tu_redis_start. */
int tu_redis_restart(tu_redis *s);

/* Stops the server (SIGTERM, then SIGKILL after 5 s), waits for it and
 * removes its directory. Idempotent. Returns: 0. */
int tu_redis_stop(tu_redis *s);

/* A free TCP port on 127.0.0.1 (bound to 0, read, closed). Returns: the
 * port. Errors: -errno. */
int tu_free_port(void);

/* Runs one inline command (e.g. "PING") over a plain blocking socket and
 * copies the first reply line into buf. Returns: 0. Errors: -errno. */
int tu_redis_inline(const tu_redis *s, const char *cmd, char *buf, size_t cap);

#endif
