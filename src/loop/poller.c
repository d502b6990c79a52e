/*
 * poller.c - descriptors on the loop: the ownership table, asyncio's
 * add_reader/add_writer (level-triggered callbacks), and the loop-less
 * selector (Python's selectors).
 *
 * add_reader/add_writer keep one record per descriptor with both
 * directions, because the kernel has one registration per descriptor:
 * removing the reader must turn into "modify to write-only", not "delete".
 * A ready direction schedules one call_soon handle per iteration, as
 * asyncio's selector loop does; removing the callback cancels a handle
 * already queued, so a removed callback never runs.
 *
 * The selector uses the same backend ops table as the loops (a backend of
 * its own), so it works on every backend by construction; its dispatch
 * callback only records ready keys.
 */
#include <errno.h>

#include "loop/loop.h"

/* ---- descriptor ownership ---- */

int cio__loop_fd_claim(cio_loop *loop, int fd, int kind, void *owner)
{
    if (fd < 0)
        return -EINVAL;
    if (fd >= loop->nfds) {
        int n = loop->nfds ? loop->nfds : 64;
        while (n <= fd)
            n *= 2;
        cio__fdent *a = cio__realloc(loop->fds, (size_t)n * sizeof(*a));
        if (!a)
            return -ENOMEM;
        memset(a + loop->nfds, 0, (size_t)(n - loop->nfds) * sizeof(*a));
        loop->fds = a;
        loop->nfds = n;
    }
    cio__fdent *e = &loop->fds[fd];
    if (e->kind != CIO__FD_FREE && (e->kind != kind || e->owner != owner))
        return -EBUSY;
    e->kind = kind;
    e->owner = owner;
    return 0;
}

void cio__loop_fd_release(cio_loop *loop, int fd)
{
    if (fd >= 0 && fd < loop->nfds)
        loop->fds[fd] = (cio__fdent){CIO__FD_FREE, NULL};
}

void *cio__loop_fd_owner(const cio_loop *loop, int fd, int kind)
{
    if (fd < 0 || fd >= loop->nfds || loop->fds[fd].kind != kind)
        return NULL;
    return loop->fds[fd].owner;
}

/* ---- add_reader / add_writer ---- */

typedef struct rw_rec {
    cio__io io;
    cio_loop *loop;
    cio_cb cb[2];   /* [0] reader, [1] writer */
    void *arg[2];
    cio__handle *h[2];
    uint64_t hid[2];
} rw_rec;

static void rw_fire(cio__handle *h, int dir)
{
    rw_rec *r = h->arg;
    r->h[dir] = NULL;
    cio_cb cb = r->cb[dir];
    void *arg = r->arg[dir];
    if (!cb)
        return;
    /* r may be freed by the callback (remove_reader): not touched after. */
    int rc = cb(arg);
    if (rc < 0)
        cio__loop_report(cio__tls_running, "reader/writer callback failed",
                         rc, NULL, NULL, NULL);
}

static void rw_fire_read(cio__handle *h) { rw_fire(h, 0); }
static void rw_fire_write(cio__handle *h) { rw_fire(h, 1); }

static void rw_schedule(rw_rec *r, int dir)
{
    if (!r->cb[dir] || r->h[dir])
        return;
    cio__handle *h = cio__handle_get(r->loop);
    if (!h)
        return; /* level-triggered: the next poll reports it again */
    h->icb = dir ? rw_fire_write : rw_fire_read;
    h->arg = r;
    r->h[dir] = h;
    r->hid[dir] = h->id;
    cio__handle_soon(r->loop, h);
}

static void rw_event(cio__io *io, unsigned rev)
{
    rw_rec *r = cio__container_of(io, rw_rec, io);
    if (rev & (CIO__EV_READ | CIO__EV_ERROR))
        rw_schedule(r, 0);
    if (rev & (CIO__EV_WRITE | CIO__EV_ERROR))
        rw_schedule(r, 1);
}

static unsigned rw_interest(const rw_rec *r)
{
    return (r->cb[0] ? CIO__EV_READ : 0) | (r->cb[1] ? CIO__EV_WRITE : 0);
}

static int rw_add(cio_loop *loop, int fd, int dir, cio_cb cb, void *arg)
{
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (fd < 0 || !cb)
        return -EINVAL;
    rw_rec *rec = cio__loop_fd_owner(loop, fd, CIO__FD_POLLER);
    int fresh = rec == NULL;
    if (fresh) {
        if (fd < loop->nfds && loop->fds[fd].kind != CIO__FD_FREE)
            return -EBUSY;
        rec = cio__calloc(1, sizeof(*rec));
        if (!rec)
            return -ENOMEM;
        rec->io.fd = fd;
        rec->io.cb = rw_event;
        rec->loop = loop;
        r = cio__loop_fd_claim(loop, fd, CIO__FD_POLLER, rec);
        if (r < 0) {
            cio__free(rec);
            return r;
        }
    }
    cio_cb old_cb = rec->cb[dir];
    void *old_arg = rec->arg[dir];
    rec->cb[dir] = cb;
    rec->arg[dir] = arg;
    unsigned ev = rw_interest(rec);
    if (ev != rec->io.events) {
        r = fresh ? loop->bops->fd_add(loop->be, &rec->io, ev)
                  : loop->bops->fd_mod(loop->be, &rec->io, ev);
        if (r < 0) {
            rec->cb[dir] = old_cb;
            rec->arg[dir] = old_arg;
            if (fresh) {
                cio__loop_fd_release(loop, fd);
                cio__free(rec);
            }
            return r;
        }
    }
    return 0;
}

static int rw_remove(cio_loop *loop, int fd, int dir)
{
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    rw_rec *rec = cio__loop_fd_owner(loop, fd, CIO__FD_POLLER);
    if (!rec || !rec->cb[dir])
        return 0;
    if (rec->h[dir]) {
        /* The handle is recycled only after it ran or was cancelled, and
         * rw_fire clears h first, so h is still ours here. */
        cio__handle_cancel(loop, rec->h[dir]);
        rec->h[dir] = NULL;
    }
    rec->cb[dir] = NULL;
    rec->arg[dir] = NULL;
    unsigned ev = rw_interest(rec);
    if (ev) {
        loop->bops->fd_mod(loop->be, &rec->io, ev);
    } else {
        loop->bops->fd_del(loop->be, &rec->io);
        cio__loop_fd_release(loop, fd);
        cio__free(rec);
    }
    return 1;
}

int cio_loop_add_reader(cio_loop *loop, int fd, cio_cb cb, void *arg)
{
    return rw_add(loop, fd, 0, cb, arg);
}

int cio_loop_add_writer(cio_loop *loop, int fd, cio_cb cb, void *arg)
{
    return rw_add(loop, fd, 1, cb, arg);
}

int cio_loop_remove_reader(cio_loop *loop, int fd)
{
    return rw_remove(loop, fd, 0);
}

int cio_loop_remove_writer(cio_loop *loop, int fd)
{
    return rw_remove(loop, fd, 1);
}

/* Frees what add_reader/add_writer left registered, at close. Other
 * owners (sockets) close their own descriptors before the loop closes. */
void cio__loop_fds_close(cio_loop *loop)
{
    for (int fd = 0; fd < loop->nfds; fd++) {
        if (loop->fds[fd].kind != CIO__FD_POLLER)
            continue;
        rw_rec *rec = loop->fds[fd].owner;
        loop->bops->fd_del(loop->be, &rec->io);
        cio__free(rec);
    }
    cio__free(loop->fds);
    loop->fds = NULL;
    loop->nfds = 0;
}

/* ---- the selector ---- */

typedef struct sel_key {
    cio__io io;
    void *data;
    struct cio_selector *sel;
} sel_key;

struct cio_selector {
    const cio__backend_ops *ops;
    cio__backend *be;
    sel_key **keys; /* indexed by fd */
    int nkeys;
    cio_selector_key *out; /* the select in progress */
    int nout, maxout;
};

int cio_selector_new(cio_selector **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    cio_selector *s = cio__calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->ops = cio__backend_select(0);
    if (!s->ops) {
        cio__free(s);
        return -ENOSYS;
    }
    int r = s->ops->init(&s->be);
    if (r < 0) {
        cio__free(s);
        return r;
    }
    *out = s;
    return 0;
}

void cio_selector_free(cio_selector *s)
{
    if (!s)
        return;
    for (int fd = 0; fd < s->nkeys; fd++)
        cio__free(s->keys[fd]);
    cio__free(s->keys);
    s->ops->fini(s->be);
    cio__free(s);
}

static unsigned to_backend(unsigned events)
{
    return (events & CIO_EVENT_READ ? CIO__EV_READ : 0) |
           (events & CIO_EVENT_WRITE ? CIO__EV_WRITE : 0);
}

static void sel_event(cio__io *io, unsigned rev)
{
    sel_key *k = cio__container_of(io, sel_key, io);
    cio_selector *s = k->sel;
    if (s->nout >= s->maxout)
        return; /* level-triggered: reported again by the next select */
    unsigned ev = 0;
    if (rev & (CIO__EV_READ | CIO__EV_ERROR))
        ev |= io->events & CIO__EV_READ ? CIO_EVENT_READ : 0;
    if (rev & (CIO__EV_WRITE | CIO__EV_ERROR))
        ev |= io->events & CIO__EV_WRITE ? CIO_EVENT_WRITE : 0;
    if (!ev)
        return;
    s->out[s->nout++] = (cio_selector_key){io->fd, ev, k->data};
}

int cio_selector_register(cio_selector *s, int fd, unsigned events,
                          void *data)
{
    if (!s || fd < 0 || !events || (events & ~(CIO_EVENT_READ | CIO_EVENT_WRITE)))
        return -EINVAL;
    if (fd < s->nkeys && s->keys[fd])
        return -EEXIST;
    if (fd >= s->nkeys) {
        int n = s->nkeys ? s->nkeys : 64;
        while (n <= fd)
            n *= 2;
        sel_key **a = cio__realloc(s->keys, (size_t)n * sizeof(*a));
        if (!a)
            return -ENOMEM;
        memset(a + s->nkeys, 0, (size_t)(n - s->nkeys) * sizeof(*a));
        s->keys = a;
        s->nkeys = n;
    }
    sel_key *k = cio__calloc(1, sizeof(*k));
    if (!k)
        return -ENOMEM;
    k->io.fd = fd;
    k->io.cb = sel_event;
    k->data = data;
    k->sel = s;
    int r = s->ops->fd_add(s->be, &k->io, to_backend(events));
    if (r < 0) {
        cio__free(k);
        return r;
    }
    s->keys[fd] = k;
    return 0;
}

int cio_selector_modify(cio_selector *s, int fd, unsigned events, void *data)
{
    if (!s || fd < 0 || !events || (events & ~(CIO_EVENT_READ | CIO_EVENT_WRITE)))
        return -EINVAL;
    if (fd >= s->nkeys || !s->keys[fd])
        return -ENOENT;
    sel_key *k = s->keys[fd];
    int r = s->ops->fd_mod(s->be, &k->io, to_backend(events));
    if (r < 0)
        return r;
    k->data = data;
    return 0;
}

int cio_selector_unregister(cio_selector *s, int fd)
{
    if (!s || fd < 0)
        return -EINVAL;
    if (fd >= s->nkeys || !s->keys[fd])
        return -ENOENT;
    sel_key *k = s->keys[fd];
    s->ops->fd_del(s->be, &k->io);
    s->keys[fd] = NULL;
    cio__free(k);
    return 0;
}

int cio_selector_select(cio_selector *s, int64_t timeout,
                        cio_selector_key *keys, int max)
{
    if (!s || !keys || max <= 0)
        return -EINVAL;
    s->out = keys;
    s->nout = 0;
    s->maxout = max;
    int r = s->ops->poll(s->be, timeout < 0 ? -1 : timeout);
    s->out = NULL;
    if (r < 0)
        return r;
    return s->nout;
}
