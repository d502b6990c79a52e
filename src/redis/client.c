/*
 * client.c - cio_redis: a pool of pipelined connections that reopen with
 * exponential back-off, and dedicated connections for blocking commands.
 *
 * The fast path takes the next slot round robin and, if its connection is
 * up, issues the command at once (no lock). A slot whose connection is
 * down is repaired under the slot's lock, so one task reconnects while
 * the others wait for it instead of opening connections of their own.
 * Commands in flight on a lost connection fail (CIO_EREDIS_CLOSED) and are
 * not resent: a command may have run on the server, and only the caller
 * knows whether it is safe to repeat.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "redis_int.h"

#define MAX_IDLE_BLOCKING 64

typedef struct slot {
    cio_redis_conn *c;
    cio_lock lock;
} slot;

struct cio_redis {
    cio_loop *loop;
    char *host;
    int port;
    cio_redis_opts o;
    char *user, *pass, *name, *sni;
    slot *slots;
    unsigned nslots, next;
    cio_redis_conn *idle[MAX_IDLE_BLOCKING];
    unsigned nidle;
    unsigned active;
    unsigned long connects;
};

static char *dup_or_null(const char *s, int *bad)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *bad = 1;
    return d;
}

static void client_destroy(cio_redis *r)
{
    if (r->slots)
        for (unsigned i = 0; i < r->nslots; i++)
            cio_lock_destroy(&r->slots[i].lock);
    free(r->slots);
    free(r->host);
    free(r->user);
    free(r->pass);
    free(r->name);
    free(r->sni);
    cio_tls_ctx_free(r->o.tls);
    free(r);
}

CIO_API int cio_redis_new(cio_loop *loop, const char *host, int port,
                          const cio_redis_opts *opts, cio_redis **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!loop || !host || port <= 0 || port > 65535)
        return -EINVAL;
    cio_redis *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    cio_redis_opts o = CIO_REDIS_OPTS_INIT;
    if (opts)
        o = *opts;
    int bad = 0;
    r->loop = loop;
    r->host = dup_or_null(host, &bad);
    r->user = dup_or_null(o.username, &bad);
    r->pass = dup_or_null(o.password, &bad);
    r->name = dup_or_null(o.client_name, &bad);
    r->sni = dup_or_null(o.tls_server_name, &bad);
    o.tls = cio_tls_ctx_ref(o.tls);
    o.tls_server_name = r->sni;
    o.username = r->user;
    o.password = r->pass;
    o.client_name = r->name;
    if (!o.pool_size)
        o.pool_size = 1;
    if (o.backoff_min <= 0)
        o.backoff_min = 10 * CIO_MS;
    if (o.backoff_max <= 0)
        o.backoff_max = CIO_SEC;
    if (!o.max_retries)
        o.max_retries = 5;
    r->o = o;
    r->port = port;
    r->nslots = o.pool_size;
    r->slots = bad ? NULL : calloc(r->nslots, sizeof(slot));
    if (!r->slots) {
        client_destroy(r);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < r->nslots; i++)
        cio_lock_init(&r->slots[i].lock);
    *out = r;
    return 0;
}

/* Opens a connection, retrying with exponential back-off. */
static int open_retry(cio_redis *r, cio_redis_conn **out)
{
    int64_t delay = r->o.backoff_min;
    int err = 0;
    for (unsigned attempt = 0; attempt < r->o.max_retries; attempt++) {
        if (attempt > 0) {
            int s = cio_sleep(delay);
            if (s < 0)
                return s;
            delay = delay * 2 > r->o.backoff_max ? r->o.backoff_max : delay * 2;
        }
        err = cio_redis_conn_open(r->host, r->port, &r->o, out);
        if (err == 0) {
            r->connects++;
            return 0;
        }
        /* Refusals that a retry cannot cure. */
        if (err == -ECANCELED || err == CIO_EREDIS_WRONGPASS ||
            err == CIO_EREDIS_NOAUTH || err == CIO_EREDIS_ERR ||
            err == -EINVAL || err == -ENOMEM)
            return err;
    }
    return err;
}

static int slot_conn(cio_redis *r, slot *s, cio_redis_conn **out)
{
    int e = cio_lock_acquire(&s->lock);
    if (e < 0)
        return e;
    if (!cio_redis_conn_is_connected(s->c)) {
        cio_redis_conn *old = s->c;
        s->c = NULL;
        if (old)
            cio_redis_conn_close(old);
        e = open_retry(r, &s->c);
    }
    *out = s->c;
    cio_lock_release(&s->lock);
    return e;
}

CIO_API int cio_redis_command(cio_redis *r, int argc, const char *const *argv,
                              const size_t *argvlen, cio_redis_reply **reply)
{
    if (reply)
        *reply = NULL;
    if (!r || cio_get_running_loop() != r->loop || !cio_current_task())
        return -EINVAL;
    slot *s = &r->slots[r->next++ % r->nslots];
    cio_redis_conn *c = s->c;
    r->active++;
    int e = 0;
    if (!cio_redis_conn_is_connected(c))
        e = slot_conn(r, s, &c);
    if (e == 0)
        e = cio_redis_conn_command(c, argc, argv, argvlen, reply);
    r->active--;
    return e;
}

CIO_API int cio_redis_command_blocking(cio_redis *r, int argc,
                                       const char *const *argv,
                                       const size_t *argvlen,
                                       cio_redis_reply **reply)
{
    if (reply)
        *reply = NULL;
    if (!r || cio_get_running_loop() != r->loop || !cio_current_task())
        return -EINVAL;
    r->active++;
    cio_redis_conn *c = NULL;
    int e = 0;
    while (r->nidle && !c) {
        c = r->idle[--r->nidle];
        if (!cio_redis_conn_is_connected(c)) {
            cio_redis_conn_close(c);
            c = NULL;
        }
    }
    if (!c)
        e = open_retry(r, &c);
    if (e == 0) {
        e = cio_redis_conn_command(c, argc, argv, argvlen, reply);
        /* A cancelled or timed-out blocking command would still be
         * answered later (when data arrives): that connection cannot
         * serve another blocking call in time, so it goes. */
        if (e == -ECANCELED || e == -ETIMEDOUT ||
            !cio_redis_conn_is_connected(c) || r->nidle == MAX_IDLE_BLOCKING) {
            cio__redis_conn_abort(c);
            cio_redis_conn_close(c);
        } else {
            r->idle[r->nidle++] = c;
        }
    }
    r->active--;
    return e;
}

CIO_API unsigned long cio_redis_connects(const cio_redis *r)
{
    return r ? r->connects : 0;
}

CIO_API int cio_redis_free(cio_redis *r)
{
    if (!r)
        return 0;
    if (!cio_current_task() || cio_get_running_loop() != r->loop)
        return -EINVAL;
    if (r->active)
        return -EBUSY;
    for (unsigned i = 0; i < r->nslots; i++) {
        cio_redis_conn_close(r->slots[i].c);
        r->slots[i].c = NULL;
    }
    while (r->nidle)
        cio_redis_conn_close(r->idle[--r->nidle]);
    client_destroy(r);
    return 0;
}
