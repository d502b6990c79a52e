/*
 * sync.c - the blocking convenience for plain threads: a cio_redis client
 * living on a loop in a private thread (cio_loop_thread). Each call is a
 * small coroutine started there with cio_run_coroutine_threadsafe; the
 * calling thread blocks on its concurrent future. So the blocking API is
 * the asynchronous one, not a second client; calls from several threads
 * share (and pipeline on) the client's connections. Rejected: a private
 * loop run per call, which would open a connection per call or leave one
 * idle between calls with no reader.
 */
#include <errno.h>
#include <stdlib.h>

#include "redis_int.h"

struct cio_redis_sync {
    cio_loop_thread *lt;
    cio_loop *loop;
    cio_redis *r;
};

typedef struct call {
    cio_redis_sync *s;
    int argc;
    const char *const *argv;
    const size_t *argvlen;
    cio_redis_reply *reply;
    int rc;
    const char *host;
    int port;
    const cio_redis_opts *opts;
} call;

static int new_coro(void *arg, void **result)
{
    call *k = arg;
    (void)result;
    k->rc = cio_redis_new(cio_get_running_loop(), k->host, k->port, k->opts,
                          &k->s->r);
    return 0;
}

static int cmd_coro(void *arg, void **result)
{
    call *k = arg;
    (void)result;
    k->rc = cio_redis_command(k->s->r, k->argc, k->argv, k->argvlen, &k->reply);
    return 0;
}

static int free_coro(void *arg, void **result)
{
    call *k = arg;
    (void)result;
    k->rc = cio_redis_free(k->s->r);
    return 0;
}

static int run(cio_redis_sync *s, cio_coro_fn fn, call *k)
{
    cio_cfuture *cf;
    int r = cio_run_coroutine_threadsafe(s->loop, CIO_CORO(fn, k), &cf);
    if (r < 0)
        return r;
    r = cio_cfuture_result(cf, -1, NULL);
    cio_cfuture_release(cf);
    return r < 0 ? r : k->rc;
}

CIO_API int cio_redis_sync_new(const char *host, int port,
                               const cio_redis_opts *opts, cio_redis_sync **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!host)
        return -EINVAL;
    cio_redis_sync *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    int r = cio_loop_thread_start(&s->lt, NULL);
    if (r < 0) {
        free(s);
        return r;
    }
    s->loop = cio_loop_thread_loop(s->lt);
    call k = {0};
    k.s = s;
    k.host = host;
    k.port = port;
    k.opts = opts;
    r = run(s, new_coro, &k);
    if (r < 0) {
        cio_loop_thread_stop_join(s->lt);
        free(s);
        return r;
    }
    *out = s;
    return 0;
}

CIO_API int cio_redis_sync_command(cio_redis_sync *s, int argc,
                                   const char *const *argv,
                                   const size_t *argvlen,
                                   cio_redis_reply **reply)
{
    if (reply)
        *reply = NULL;
    if (!s)
        return -EINVAL;
    if (cio_get_running_loop() == s->loop)
        return -EDEADLK;
    call k = {0};
    k.s = s;
    k.argc = argc;
    k.argv = argv;
    k.argvlen = argvlen;
    int r = run(s, cmd_coro, &k);
    if (reply)
        *reply = k.reply;
    else
        cio_redis_reply_free(k.reply);
    return r;
}

CIO_API int cio_redis_sync_free(cio_redis_sync *s)
{
    if (!s)
        return 0;
    call k = {0};
    k.s = s;
    run(s, free_coro, &k);
    cio_loop_thread_stop_join(s->lt);
    free(s);
    return 0;
}
