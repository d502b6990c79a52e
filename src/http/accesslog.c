/*
 * accesslog.c - the access log: one line per request in a configurable
 * format (aiohttp's / Apache's directives), off by default, never blocking
 * a loop.
 *
 * A worker formats the line on its own thread into a stack buffer and
 * appends it to the app's queue under a mutex held for a memcpy; one
 * writer thread per app takes whatever is queued and write(2)s it to the
 * descriptor. So a slow or full destination (a terminal, a pipe nobody
 * reads) never stalls a loop: the queue is capped (1 MiB) and lines that
 * do not fit are dropped and counted (cio_http_app_access_log_dropped).
 * Rejected: write(2) from the loop (blocks on a full pipe or a slow
 * terminal), stdio (the same, plus a lock per line shared with the
 * application's own printf), a queue per worker (more wake-ups of the
 * writer for no gain at these rates).
 *
 * The format is compiled once into a list of items, so a line costs no
 * format parsing: literal runs and directives.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http_int.h"

#define ALOG_CAP (1u << 20)
#define LINE_MAX_BYTES 4096

enum {
    IT_LIT,
    IT_ADDR,    /* %a remote address */
    IT_TIME,    /* %t [06/Dec/2026:21:00:00 +0000] */
    IT_LINE,    /* %r request line */
    IT_STATUS,  /* %s */
    IT_BYTES,   /* %b body bytes ("-" for none, as Apache) */
    IT_SECS,    /* %T seconds, 6 decimals */
    IT_USECS,   /* %D microseconds */
    IT_METHOD,  /* %m */
    IT_PATH,    /* %U path */
    IT_QUERY,   /* %q query ("" or "?a=1") */
    IT_PID,     /* %P */
    IT_HEADER   /* %{Name}i a request header ("-" when absent) */
};

typedef struct item {
    int kind;
    char *text; /* literal, or the header's name */
    size_t len;
} item;

struct cio__alog {
    item *items;
    size_t nitems;
    int fd;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *q; /* queued bytes */
    size_t qlen;
    int stop;
    unsigned long long dropped;
};

static int add_item(struct cio__alog *l, int kind, const char *t, size_t n)
{
    item *v = realloc(l->items, (l->nitems + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    l->items = v;
    item *it = &v[l->nitems];
    it->kind = kind;
    it->text = NULL;
    it->len = n;
    if (t) {
        it->text = malloc(n + 1);
        if (!it->text)
            return -ENOMEM;
        memcpy(it->text, t, n);
        it->text[n] = '\0';
    }
    l->nitems++;
    return 0;
}

static int compile(struct cio__alog *l, const char *f)
{
    const char *lit = f;
    for (const char *p = f; *p;) {
        if (*p != '%') {
            p++;
            continue;
        }
        if (p > lit && add_item(l, IT_LIT, lit, (size_t)(p - lit)) < 0)
            return -ENOMEM;
        p++;
        int kind = -1;
        const char *name = NULL;
        size_t nl = 0;
        switch (*p) {
        case 'a': kind = IT_ADDR; break;
        case 't': kind = IT_TIME; break;
        case 'r': kind = IT_LINE; break;
        case 's': kind = IT_STATUS; break;
        case 'b': kind = IT_BYTES; break;
        case 'T': kind = IT_SECS; break;
        case 'D': kind = IT_USECS; break;
        case 'm': kind = IT_METHOD; break;
        case 'U': kind = IT_PATH; break;
        case 'q': kind = IT_QUERY; break;
        case 'P': kind = IT_PID; break;
        case '%':
            if (add_item(l, IT_LIT, "%", 1) < 0)
                return -ENOMEM;
            lit = ++p;
            continue;
        case '{': {
            const char *e = strchr(p, '}');
            if (!e || e == p + 1 || e[1] != 'i')
                return -EINVAL;
            name = p + 1;
            nl = (size_t)(e - name);
            for (size_t i = 0; i < nl; i++)
                if (!cio__http_is_tchar((unsigned char)name[i]))
                    return -EINVAL;
            kind = IT_HEADER;
            p = e + 1; /* at the 'i' */
            break;
        }
        default:
            return -EINVAL;
        }
        if (add_item(l, kind, name, nl) < 0)
            return -ENOMEM;
        lit = ++p;
    }
    if (*lit && add_item(l, IT_LIT, lit, strlen(lit)) < 0)
        return -ENOMEM;
    return 0;
}

static void *writer(void *arg)
{
    struct cio__alog *l = arg;
    char *mine = NULL;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->qlen && !l->stop)
            pthread_cond_wait(&l->cv, &l->mu);
        if (!l->qlen && l->stop)
            break;
        /* Take the whole queue and write it without the lock. */
        char *batch = l->q;
        size_t n = l->qlen;
        l->q = mine;
        l->qlen = 0;
        pthread_mutex_unlock(&l->mu);
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(l->fd, batch + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break; /* a broken destination: this batch is lost */
            off += (size_t)w;
        }
        mine = batch;
        pthread_mutex_lock(&l->mu);
        if (!l->q) { /* give the buffer back for the next batch */
            l->q = mine;
            mine = NULL;
        }
    }
    pthread_mutex_unlock(&l->mu);
    free(mine);
    return NULL;
}

static void alog_free(struct cio__alog *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nitems; i++)
        free(l->items[i].text);
    free(l->items);
    free(l->q);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
}

void cio__http_alog_stop(cio_http_app *app)
{
    struct cio__alog *l = app->alog;
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->th, NULL); /* writes what is queued first */
    alog_free(l);
    app->alog = NULL;
}

void cio__http_alog_after_fork(cio_http_app *app)
{
    struct cio__alog *l = app->alog;
    if (!l)
        return;
    /* Only the forking thread exists in the child: new lock, nothing
     * queued (the parent writes its own), a writer thread of its own. */
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->qlen = 0;
    l->stop = 0;
    l->dropped = 0;
    if (pthread_create(&l->th, NULL, writer, l) != 0) {
        alog_free(l); /* this worker logs nothing rather than block */
        app->alog = NULL;
    }
}

int cio_http_app_access_log(cio_http_app *app, const char *format, int fd)
{
    if (!app || fd < -1)
        return -EINVAL;
    if (atomic_load(&app->running))
        return -EBUSY;
    cio__http_alog_stop(app);
    if (!format)
        return 0; /* off */
    struct cio__alog *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->fd = fd < 0 ? STDOUT_FILENO : fd;
    int r = compile(l, format);
    if (r == 0) /* the queue's buffer comes with the first line */
        r = -pthread_create(&l->th, NULL, writer, l);
    if (r < 0) {
        alog_free(l);
        return r;
    }
    app->alog = l;
    return 0;
}

unsigned long long cio_http_app_access_log_dropped(const cio_http_app *app)
{
    struct cio__alog *l = app ? app->alog : NULL;
    if (!l)
        return 0;
    pthread_mutex_lock(&l->mu);
    unsigned long long d = l->dropped;
    pthread_mutex_unlock(&l->mu);
    return d;
}

/* Appends s[0..n) to the line at *o (cap LINE_MAX_BYTES - 1), replacing
 * control characters (a hostile request line must not forge log lines). */
static void put(char *line, size_t *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *o < LINE_MAX_BYTES - 2; i++) {
        unsigned char ch = (unsigned char)s[i];
        line[(*o)++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
}

static void putf(char *line, size_t *o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void putf(char *line, size_t *o, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        put(line, o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n
                                                   : sizeof(tmp) - 1);
}

void cio__http_access_log(struct conn *c, int status, uint64_t bytes)
{
    cio_http_app *app = c->app;
    struct cio__alog *l = app->alog;
    if (!l)
        return;
    const cio_http_request *req = &c->req;
    const cio__http_msg *m = &req->msg;
    char line[LINE_MAX_BYTES];
    size_t o = 0;
    int64_t now = 0;
    for (size_t i = 0; i < l->nitems; i++) {
        const item *it = &l->items[i];
        switch (it->kind) {
        case IT_LIT:
            memcpy(line + o, it->text,
                   it->len < LINE_MAX_BYTES - 2 - o ? it->len
                                                    : LINE_MAX_BYTES - 2 - o);
            o += it->len < LINE_MAX_BYTES - 2 - o ? it->len
                                                  : LINE_MAX_BYTES - 2 - o;
            break;
        case IT_ADDR: {
            char a[CIO_ADDRSTRLEN] = "-";
            cio_sockaddr_format(&req->peer, a, sizeof(a));
            /* host only, as Apache's %a */
            char *colon = a[0] == '[' ? strstr(a, "]:") : strrchr(a, ':');
            size_t al = strlen(a);
            if (colon && a[0] == '[') {
                put(line, &o, a + 1, (size_t)(colon - a - 1));
            } else {
                put(line, &o, a, colon ? (size_t)(colon - a) : al);
            }
            break;
        }
        case IT_TIME: {
            time_t t = time(NULL);
            struct tm tm;
            char w[40];
            gmtime_r(&t, &tm);
            size_t wl = strftime(w, sizeof(w), "[%d/%b/%Y:%H:%M:%S +0000]",
                                 &tm);
            put(line, &o, w, wl);
            break;
        }
        case IT_LINE:
            put(line, &o, m->method, m->method_len);
            put(line, &o, " ", 1);
            put(line, &o, m->target, m->target_len);
            putf(line, &o, " HTTP/1.%d", m->minor);
            break;
        case IT_STATUS:
            putf(line, &o, "%d", status);
            break;
        case IT_BYTES:
            if (bytes)
                putf(line, &o, "%llu", (unsigned long long)bytes);
            else
                put(line, &o, "-", 1);
            break;
        case IT_SECS:
        case IT_USECS:
            if (!now)
                now = cio_loop_time(cio_get_running_loop());
            if (it->kind == IT_USECS)
                putf(line, &o, "%lld",
                     (long long)((now - c->t_start) / CIO_US));
            else
                putf(line, &o, "%.6f",
                     (double)(now - c->t_start) / (double)CIO_SEC);
            break;
        case IT_METHOD:
            put(line, &o, m->method, m->method_len);
            break;
        case IT_PATH:
            if (req->path)
                put(line, &o, req->path, req->path_len);
            break;
        case IT_QUERY:
            if (req->query && req->query_len) {
                put(line, &o, "?", 1);
                put(line, &o, req->query, req->query_len);
            }
            break;
        case IT_PID:
            putf(line, &o, "%ld", (long)getpid());
            break;
        case IT_HEADER: {
            size_t vl;
            const char *v = cio_http_request_header(req, it->text, 0, &vl);
            if (v)
                put(line, &o, v, vl);
            else
                put(line, &o, "-", 1);
            break;
        }
        }
    }
    line[o++] = '\n';
    pthread_mutex_lock(&l->mu);
    if (l->qlen + o > ALOG_CAP) {
        l->dropped++;
    } else {
        if (!l->q)
            l->q = malloc(ALOG_CAP);
        if (l->q) {
            memcpy(l->q + l->qlen, line, o);
            l->qlen += o;
            pthread_cond_signal(&l->cv);
        } else {
            l->dropped++;
        }
    }
    pthread_mutex_unlock(&l->mu);
}
