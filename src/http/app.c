/*
 * app.c - the app (routes, configuration, listeners), the server on one
 * loop (acceptor task, connection tasks) and cio_http_run (one loop per
 * worker thread, each with its own SO_REUSEPORT listener).
 *
 * Connection tasks are tracked in a list so that closing the server can
 * cancel them; their cleanup runs in a done callback, which also covers a
 * task cancelled before its body ever ran.
 *
 * cio_http_run blocks SIGINT and SIGTERM in the calling thread before the
 * workers start (so they inherit the mask) and waits for them with
 * sigtimedwait, checking a stop flag every 100 ms for cio_http_app_stop.
 * Rejected: a cio signal handler on a loop of the calling thread (it would
 * need a loop there just to wait) and signal handlers writing to a pipe
 * (process-global state a library should not take).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"

/* ---- app ---------------------------------------------------------------- */

static void config_defaults(cio_http_app *app)
{
    cio_http_config *c = &app->cfg;
    cio__http_limits def = CIO__HTTP_LIMITS_INIT;
    if (!c->max_request_line)
        c->max_request_line = def.max_request_line;
    if (!c->max_header_line)
        c->max_header_line = def.max_header_line;
    if (!c->max_head)
        c->max_head = def.max_head;
    if (!c->max_headers)
        c->max_headers = def.max_headers;
    if (c->max_headers > CIO__HTTP_MAX_HEADERS_CAP)
        c->max_headers = CIO__HTTP_MAX_HEADERS_CAP;
    if (!c->max_body)
        c->max_body = (size_t)def.max_body;
    if (!c->head_timeout)
        c->head_timeout = 10 * CIO_SEC;
    if (!c->body_timeout)
        c->body_timeout = 30 * CIO_SEC;
    if (!c->keep_alive_timeout)
        c->keep_alive_timeout = 5 * CIO_SEC;
    if (!c->write_timeout)
        c->write_timeout = 30 * CIO_SEC;
    if (!c->max_connections)
        c->max_connections = 10000;
    if (!c->shutdown_timeout)
        c->shutdown_timeout = 5 * CIO_SEC;
    app->lim = def;
    app->lim.max_request_line = c->max_request_line;
    app->lim.max_header_line = c->max_header_line;
    app->lim.max_head = c->max_head;
    app->lim.max_headers = c->max_headers;
    app->lim.max_body = c->max_body;
}

int cio_http_app_new(cio_http_app **out, const char *name)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    cio_http_app *app = calloc(1, sizeof(*app));
    if (!app)
        return -ENOMEM;
    if ((name && !(app->name = strdup(name))) ||
        cio__router_new(&app->router) < 0) {
        free(app->name);
        free(app);
        return -ENOMEM;
    }
    config_defaults(app);
    atomic_store(&app->port, -EAGAIN);
    *out = app;
    return 0;
}

static void bp_destroy(cio_http_blueprint *bp)
{
    for (size_t i = 0; i < bp->nroutes; i++)
        free(bp->routes[i].pattern);
    free(bp->routes);
    free(bp->mw[0].v);
    free(bp->mw[1].v);
    free(bp->errh);
    free(bp->name);
    free(bp->prefix);
    free(bp);
}

int cio_http_app_free(cio_http_app *app)
{
    if (!app)
        return 0;
    if (atomic_load(&app->running))
        return -EBUSY;
    cio__http_alog_stop(app);
    while (app->bps) {
        cio_http_blueprint *n = app->bps->next;
        bp_destroy(app->bps);
        app->bps = n;
    }
    free(app->mw[0].v);
    free(app->mw[1].v);
    free(app->errh);
    for (int k = 0; k < 4; k++)
        free(app->listeners[k]);
    cio__http_static_free_all(app);
    cio__ws_routes_free(app);
    cio__https_free(app);
    cio__router_free(app->router);
    while (app->targets) {
        route_target *n = app->targets->next;
        free(app->targets);
        app->targets = n;
    }
    free(app->name);
    free(app);
    return 0;
}

static int add_route(cio_http_app *app, const char *pattern,
                     cio_http_handler handler, void *arg, unsigned methods,
                     cio_http_blueprint *bp)
{
    if (!app || !pattern || !handler)
        return -EINVAL;
    app->err[0] = '\0';
    if (atomic_load(&app->running)) {
        snprintf(app->err, sizeof(app->err), "the server is running");
        return -EBUSY;
    }
    int stream = (methods & CIO_HTTP_STREAM) != 0;
    methods &= ~CIO_HTTP_STREAM;
    if (methods == 0)
        methods = CIO_HTTP_GET;
    if (methods & ~0x7fu) {
        snprintf(app->err, sizeof(app->err), "unknown method bits");
        return -EINVAL;
    }
    route_target *t = malloc(sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->fn = handler;
    t->arg = arg;
    t->bp = bp;
    t->stream = stream;
    int r = cio__router_add(app->router, pattern, methods, t, app->err,
                            sizeof(app->err));
    if (r < 0) {
        free(t);
        return r;
    }
    t->next = app->targets;
    app->targets = t;
    app->has_stream |= stream;
    return 0;
}

int cio_http_route(cio_http_app *app, const char *pattern,
                   cio_http_handler handler, void *arg, unsigned methods)
{
    return add_route(app, pattern, handler, arg, methods, NULL);
}

int cio__mw_add(mw_list *l, cio_http_middleware fn, void *arg)
{
    mw *v = realloc(l->v, (l->n + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    l->v = v;
    l->v[l->n].fn = fn;
    l->v[l->n].arg = arg;
    l->n++;
    return 0;
}

int cio_http_app_middleware(cio_http_app *app, int kind,
                            cio_http_middleware fn, void *arg)
{
    if (!app || !fn || (kind != CIO_HTTP_MW_REQUEST &&
                        kind != CIO_HTTP_MW_RESPONSE))
        return -EINVAL;
    if (atomic_load(&app->running))
        return -EBUSY;
    return cio__mw_add(&app->mw[kind], fn, arg);
}

int cio_http_blueprint_new(cio_http_blueprint **out, const char *name,
                           const char *url_prefix)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (url_prefix && *url_prefix &&
        (url_prefix[0] != '/' || url_prefix[strlen(url_prefix) - 1] == '/'))
        return -EINVAL;
    cio_http_blueprint *bp = calloc(1, sizeof(*bp));
    if (!bp)
        return -ENOMEM;
    bp->name = strdup(name ? name : "");
    bp->prefix = strdup(url_prefix ? url_prefix : "");
    if (!bp->name || !bp->prefix) {
        bp_destroy(bp);
        return -ENOMEM;
    }
    *out = bp;
    return 0;
}

void cio_http_blueprint_free(cio_http_blueprint *bp)
{
    if (bp && !bp->registered)
        bp_destroy(bp);
}

int cio_http_blueprint_route(cio_http_blueprint *bp, const char *pattern,
                             cio_http_handler handler, void *arg,
                             unsigned methods)
{
    if (!bp || !pattern || !handler || pattern[0] != '/')
        return -EINVAL;
    if (bp->registered)
        return -EBUSY;
    bp_route *v = realloc(bp->routes, (bp->nroutes + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    bp->routes = v;
    size_t pl = strlen(bp->prefix), rl = strlen(pattern);
    /* "/" is the prefix itself. */
    char *full = malloc(pl + rl + 1);
    if (!full)
        return -ENOMEM;
    memcpy(full, bp->prefix, pl);
    if (pl && rl == 1)
        full[pl] = '\0';
    else
        memcpy(full + pl, pattern, rl + 1);
    bp->routes[bp->nroutes].pattern = full;
    bp->routes[bp->nroutes].fn = handler;
    bp->routes[bp->nroutes].arg = arg;
    bp->routes[bp->nroutes].methods = methods;
    bp->nroutes++;
    return 0;
}

int cio_http_blueprint_middleware(cio_http_blueprint *bp, int kind,
                                  cio_http_middleware fn, void *arg)
{
    if (!bp || !fn || (kind != CIO_HTTP_MW_REQUEST &&
                       kind != CIO_HTTP_MW_RESPONSE))
        return -EINVAL;
    return cio__mw_add(&bp->mw[kind], fn, arg);
}

int cio_http_app_blueprint(cio_http_app *app, cio_http_blueprint *bp)
{
    if (!app || !bp)
        return -EINVAL;
    if (bp->registered || atomic_load(&app->running))
        return -EBUSY;
    /* The app takes bp whatever happens: routes registered before a
     * failing one refer to it. Routes are checked against each other on a
     * scratch router first, so a conflict inside bp registers nothing. */
    bp->registered = 1;
    bp->app = app;
    app->has_errh |= bp->errh != NULL;
    bp->next = app->bps;
    app->bps = bp;
    cio__router *scratch;
    if (cio__router_new(&scratch) < 0)
        return -ENOMEM;
    static int dummy;
    int r = 0;
    for (size_t i = 0; i < bp->nroutes && r == 0; i++) {
        unsigned m = bp->routes[i].methods ? bp->routes[i].methods
                                           : CIO_HTTP_GET;
        r = cio__router_add(scratch, bp->routes[i].pattern, m, &dummy,
                            app->err, sizeof(app->err));
    }
    cio__router_free(scratch);
    for (size_t i = 0; i < bp->nroutes && r == 0; i++) {
        bp_route *rt = &bp->routes[i];
        r = add_route(app, rt->pattern, rt->fn, rt->arg, rt->methods, bp);
    }
    return r;
}

/* Sets table[status] (400..599) or the catch-all (status 0), allocating
 * the table on first use. */
static int errh_set(err_handler **table, int status, cio_http_handler fn,
                    void *arg)
{
    if (!fn || (status != 0 && (status < 400 || status > 599)))
        return -EINVAL;
    if (!*table && !(*table = calloc(CIO__ERRH_N, sizeof(**table))))
        return -ENOMEM;
    err_handler *e = &(*table)[status ? status - 400 : CIO__ERRH_ANY];
    e->fn = fn;
    e->arg = arg;
    return 0;
}

int cio_http_app_error_handler(cio_http_app *app, int status,
                               cio_http_handler handler, void *arg)
{
    if (!app)
        return -EINVAL;
    if (atomic_load(&app->running))
        return -EBUSY;
    int r = errh_set(&app->errh, status, handler, arg);
    if (r == 0)
        app->has_errh = 1; /* error handlers are looked up only then */
    return r;
}

int cio_http_blueprint_error_handler(cio_http_blueprint *bp, int status,
                                     cio_http_handler handler, void *arg)
{
    if (!bp)
        return -EINVAL;
    if (bp->app && atomic_load(&bp->app->running))
        return -EBUSY;
    int r = errh_set(&bp->errh, status, handler, arg);
    if (r == 0 && bp->app)
        bp->app->has_errh = 1;
    return r;
}

int cio_http_add_route(cio_http_app *app, cio_http_handler handler, void *arg,
                       const char *pattern, unsigned methods)
{
    return cio_http_route(app, pattern, handler, arg, methods);
}

const char *cio_http_app_error(const cio_http_app *app)
{
    return app ? app->err : "";
}

int cio_http_app_configure(cio_http_app *app, const cio_http_config *cfg)
{
    if (!app)
        return -EINVAL;
    if (atomic_load(&app->running))
        return -EBUSY;
    if (cfg && (cfg->head_timeout < 0 || cfg->body_timeout < 0 ||
                cfg->keep_alive_timeout < 0 || cfg->write_timeout < 0 ||
                cfg->max_connections < 0 || cfg->shutdown_timeout < 0))
        return -EINVAL;
    cio_http_config zero = CIO_HTTP_CONFIG_INIT;
    app->cfg = cfg ? *cfg : zero;
    config_defaults(app);
    /* access_log = 1: the common format on stdout, through accesslog.c's
     * writer thread (a configured log stays as it is). */
    if (app->cfg.access_log && !app->alog)
        return cio_http_app_access_log(app, CIO_HTTP_ACCESS_LOG_COMMON, -1);
    return 0;
}

int cio_http_app_on_start(cio_http_app *app,
                          void (*fn)(cio_http_app *, int, void *), void *arg)
{
    if (!app)
        return -EINVAL;
    app->on_start = fn;
    app->on_start_arg = arg;
    return 0;
}

int cio_http_app_listener(cio_http_app *app, int kind, cio_http_listener fn,
                          void *arg)
{
    if (!app || !fn || kind < 0 || kind > 3)
        return -EINVAL;
    if (atomic_load(&app->running))
        return -EBUSY;
    size_t n = app->nlisteners[kind];
    void *v = realloc(app->listeners[kind], (n + 1) * sizeof(*app->listeners[kind]));
    if (!v)
        return -ENOMEM;
    app->listeners[kind] = v;
    app->listeners[kind][n].fn = fn;
    app->listeners[kind][n].arg = arg;
    app->nlisteners[kind] = n + 1;
    return 0;
}

/* Runs the listeners of kind (stop kinds backwards); stops at the first
 * failure of a before_server_start listener. */
static int run_listeners(cio_http_app *app, int kind, int port)
{
    size_t n = app->nlisteners[kind];
    int backwards = kind >= CIO_HTTP_BEFORE_SERVER_STOP;
    for (size_t k = 0; k < n; k++) {
        size_t i = backwards ? n - 1 - k : k;
        int r = app->listeners[kind][i].fn(app, port,
                                           app->listeners[kind][i].arg);
        if (r < 0 && kind == CIO_HTTP_BEFORE_SERVER_START)
            return r;
    }
    return 0;
}

int cio_http_app_stop(cio_http_app *app)
{
    if (!app)
        return -EINVAL;
    atomic_store(&app->stop, 1);
    return 0;
}

int cio_http_app_port(const cio_http_app *app)
{
    if (!app)
        return -EINVAL;
    return atomic_load(&((cio_http_app *)app)->port);
}

/* ---- server on one loop --------------------------------------------------- */

static int conn_done(cio_future *f, void *arg)
{
    (void)f;
    conn *c = arg;
    cio_http_server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    cio__http_io_close(&c->io);
    cio__hbuf_free(&c->in);
    cio__hbuf_free(&c->out);
    cio__hbuf_free(&c->bs.sbuf);
    cio__http_response_free(&c->res);
    cio__arena_reset(&c->arena);
    if (c->req.json || c->req.sform)
        cio__http_request_done(&c->req);
    cio_future_release(c->task);
    free(c);
    return 0;
}

static int acceptor(void *arg, void **result)
{
    (void)result;
    cio_http_server *srv = arg;
    for (;;) {
        cio__http_io io = {0};
        cio_sockaddr peer;
        int r = cio__http_accept(&srv->lis, &io, &peer);
        if (r == -ECANCELED || r == -EBADF)
            return r;
        if (r < 0)
            continue; /* ECONNABORTED and friends: the next one */
        if (srv->nconns >= srv->app->cfg.max_connections) {
            cio__http_io_close(&io);
            continue;
        }
        conn *c = calloc(1, sizeof(*c));
        if (!c) {
            cio__http_io_close(&io);
            continue;
        }
        c->srv = srv;
        c->app = srv->app;
        c->io = io;
        c->req.peer = peer;
        c->req.conn = c;
        cio_task_opts o = CIO_TASK_OPTS_INIT;
        o.name = "http-conn";
        if (cio_task_create(srv->loop, CIO_CORO(cio__http_conn_main, c), &o,
                            &c->task) < 0) {
            cio__http_io_close(&io);
            free(c);
            continue;
        }
        c->next = srv->conns;
        if (c->next)
            c->next->prev = c;
        srv->conns = c;
        srv->nconns++;
        if (cio_future_add_done_callback(c->task, conn_done, c) < 0) {
            /* No room for the callback: end the task and clean up here. */
            cio_task_cancel(c->task, NULL);
            int ar = cio_await(c->task, NULL);
            conn_done(c->task, c);
            if (ar == -ECANCELED && cio_task_cancelling(cio_current_task()))
                return ar;
        }
    }
}

int cio_http_server_start(cio_http_app *app, const char *host, int port,
                          cio_http_server **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    cio_loop *loop = cio_get_running_loop();
    if (!app || !loop || !cio_current_task() || port < 0 || port > 65535)
        return -EINVAL;
    cio_http_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    srv->app = app;
    srv->loop = loop;
    int r = cio__http_listen(&srv->lis, loop, host, port);
    if (r < 0) {
        free(srv);
        return r;
    }
    cio_task_opts o = CIO_TASK_OPTS_INIT;
    o.name = "http-accept";
    r = cio_task_create(loop, CIO_CORO(acceptor, srv), &o, &srv->acceptor);
    if (r < 0) {
        cio__http_listener_close(&srv->lis);
        free(srv);
        return r;
    }
    atomic_fetch_add(&app->running, 1);
    *out = srv;
    return 0;
}

int cio_http_server_port(const cio_http_server *srv)
{
    return srv ? srv->lis.port : -EINVAL;
}

int cio_http_server_close(cio_http_server *srv)
{
    if (!srv)
        return 0;
    if (cio_get_running_loop() != srv->loop || !cio_current_task())
        return -EINVAL;
    srv->closing = 1;
    cio_task_cancel(srv->acceptor, NULL);
    cio_await(srv->acceptor, NULL);
    cio_future_release(srv->acceptor);
    cio__http_listener_close(&srv->lis);
    /* Graceful part: idle connections are closed now (and as others
     * become idle); busy ones finish their request, answer it with
     * Connection: close (serve() sees srv->closing) and end, until the
     * deadline. The connections' done callbacks unlink them. If the closer
     * is cancelled it skips to cancelling, keeps waiting (srv must outlive
     * them) and reports -ECANCELED at the end. */
    int rc = 0;
    int64_t deadline = cio_loop_time(srv->loop) +
                       srv->app->cfg.shutdown_timeout;
    while (srv->conns && rc == 0 &&
           cio_loop_time(srv->loop) < deadline) {
        for (conn *c = srv->conns; c; c = c->next)
            if (c->idle && !c->cancelled) {
                c->cancelled = 1;
                cio_task_cancel(c->task, NULL);
            }
        if (cio_sleep(CIO_MS) == -ECANCELED)
            rc = -ECANCELED;
    }
    for (conn *c = srv->conns; c; c = c->next)
        if (!c->cancelled) {
            c->cancelled = 1;
            cio_task_cancel(c->task, NULL);
        }
    while (srv->conns)
        if (cio_sleep(CIO_MS) == -ECANCELED)
            rc = -ECANCELED;
    atomic_fetch_sub(&srv->app->running, 1);
    free(srv);
    return rc;
}

/* ---- cio_http_run: workers ------------------------------------------------ */

typedef struct run_state {
    pthread_mutex_t mu;
    pthread_cond_t cv;
} run_state;

typedef struct worker {
    cio_http_app *app;
    const char *host;
    int port;
    run_state *rs;
    pthread_t th;
    cio_loop *loop;
    cio_event stop;
    int started;  /* listening */
    int finished; /* cio_run returned */
    int rc;
} worker;

static int stop_cb(void *arg)
{
    worker *w = arg;
    cio_event_set(&w->stop);
    return 0;
}

static int worker_main(void *arg, void **result)
{
    (void)result;
    worker *w = arg;
    cio_event_init(&w->stop);
    cio_http_server *srv = NULL;
    int r = run_listeners(w->app, CIO_HTTP_BEFORE_SERVER_START, 0);
    if (r == 0)
        r = cio_http_server_start(w->app, w->host, w->port, &srv);
    if (r == 0)
        run_listeners(w->app, CIO_HTTP_AFTER_SERVER_START,
                      cio_http_server_port(srv));
    pthread_mutex_lock(&w->rs->mu);
    if (r == 0) {
        w->port = cio_http_server_port(srv);
        w->loop = cio_get_running_loop();
        w->started = 1;
    }
    pthread_cond_broadcast(&w->rs->cv);
    pthread_mutex_unlock(&w->rs->mu);
    if (r < 0) {
        cio_event_destroy(&w->stop);
        return r;
    }
    cio_event_wait(&w->stop);
    int port = cio_http_server_port(srv);
    run_listeners(w->app, CIO_HTTP_BEFORE_SERVER_STOP, port);
    cio_http_server_close(srv);
    run_listeners(w->app, CIO_HTTP_AFTER_SERVER_STOP, port);
    cio_event_destroy(&w->stop);
    return 0;
}

static void *worker_thread(void *arg)
{
    worker *w = arg;
    int r = cio_run(worker_main, w, NULL);
    pthread_mutex_lock(&w->rs->mu);
    w->rc = r;
    w->finished = 1;
    pthread_cond_broadcast(&w->rs->cv);
    pthread_mutex_unlock(&w->rs->mu);
    return NULL;
}

static int start_worker(worker *w)
{
    int r = pthread_create(&w->th, NULL, worker_thread, w);
    if (r != 0)
        return -r;
    pthread_mutex_lock(&w->rs->mu);
    while (!w->started && !w->finished)
        pthread_cond_wait(&w->rs->cv, &w->rs->mu);
    r = w->started ? 0 : (w->rc < 0 ? w->rc : -EIO);
    pthread_mutex_unlock(&w->rs->mu);
    return r;
}

int cio_http_run(cio_http_app *app, const char *host, int port, int workers)
{
    if (!app || port < 0 || port > 65535)
        return -EINVAL;
    if (workers < 1)
        workers = 1;
    if (atomic_load(&app->running))
        return -EBUSY;
    atomic_store(&app->stop, 0);
    sigset_t stopsigs, old;
    sigemptyset(&stopsigs);
    sigaddset(&stopsigs, SIGINT);
    sigaddset(&stopsigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stopsigs, &old);

    run_state rs;
    pthread_mutex_init(&rs.mu, NULL);
    pthread_cond_init(&rs.cv, NULL);
    worker *ws = calloc((size_t)workers, sizeof(*ws));
    int rc = ws ? 0 : -ENOMEM;
    int n = 0;
    for (; rc == 0 && n < workers; n++) {
        ws[n].app = app;
        ws[n].host = host;
        ws[n].port = n == 0 ? port : ws[0].port;
        ws[n].rs = &rs;
        rc = start_worker(&ws[n]);
        if (rc < 0) {
            pthread_join(ws[n].th, NULL);
            break;
        }
    }
    if (rc == 0) {
        atomic_store(&app->port, ws[0].port);
        if (app->on_start)
            app->on_start(app, ws[0].port, app->on_start_arg);
        struct timespec tick = {0, 100 * 1000 * 1000};
        while (!atomic_load(&app->stop)) {
            int s = sigtimedwait(&stopsigs, NULL, &tick);
            if (s == SIGINT || s == SIGTERM)
                break;
        }
    }
    for (int i = 0; i < n; i++)
        cio_loop_call_soon_threadsafe(ws[i].loop, stop_cb, &ws[i]);
    for (int i = 0; i < n; i++) {
        pthread_join(ws[i].th, NULL);
        if (rc == 0 && ws[i].rc < 0)
            rc = ws[i].rc;
    }
    free(ws);
    pthread_cond_destroy(&rs.cv);
    pthread_mutex_destroy(&rs.mu);
    atomic_store(&app->port, -EAGAIN);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}
