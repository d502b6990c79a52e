/*
 * test_backend.c - the kernel backends on their own (docs/backends.md),
 * driven through their ops tables (cio__backend_epoll, cio__backend_uring)
 * without a loop. Every readiness case runs on both backends; io_uring is
 * skipped for a case, with a printed note, when the kernel refuses it.
 * Readiness: fd_add/fd_mod/fd_del errors; level-triggered reads reported
 * on every poll while data is there and never once it was consumed (also
 * when a callback's fd_del makes io_uring submit early); edge-triggered
 * reads once per arrival; fd_mod; fd_del dropping an event of the batch
 * being dispatched; fd_del + close(2) closing the file at once; hang-up
 * and error events; poll timeouts, wakeups from another thread, their
 * coalescing, EINTR. io_uring only: the completion-shaped socket ops
 * (multishot recv into provided buffers, send, cancel, buffer starvation,
 * drain), skipped with a note where the kernel cannot run them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "cio_testutil.h"


#define MS 1000000LL
/* Bound of a poll that must report something already there: never
 * reached when the backend works, it only keeps a broken one from hanging
 * the test. */
#define WAIT (1000 * MS)
/* The provided buffers of the io_uring backend (NBUFS in
 * src/backend/uring.c): the starvation cases hold all of them. */
#define URING_NBUFS 512

#define RD CIO__EV_READ
#define WR CIO__EV_WRITE
#define ET CIO__EV_EDGE

#define CONTAINER(ptr, type, member)                                           \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static void make_pipe(int p[2])
{
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

static void make_socketpair(int sv[2])
{
    assert_int_equal(
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv),
        0);
}

/* A TCP connection over loopback: sv[0] the accepted end, sv[1] the
 * connecting one, both non-blocking. */
static void make_tcp_pair(int sv[2])
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(l >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(l, 1), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c >= 0);
    assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
    int s = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    assert_true(s >= 0);
    close(l);
    assert_int_equal(fcntl(c, F_SETFL, O_NONBLOCK), 0);
    int one = 1;
    assert_int_equal(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)),
                     0);
    sv[0] = s;
    sv[1] = c;
}

static void make_stream_pair(int tcp, int sv[2])
{
    if (tcp)
        make_tcp_pair(sv);
    else
        make_socketpair(sv);
}

static void put_byte(int fd)
{
    assert_int_equal(write(fd, "x", 1), 1);
}

static void take_byte(int fd)
{
    char c;
    assert_int_equal(read(fd, &c, 1), 1);
}

/* The peer of a closed socket sees EOF now, not after a later poll
 * (0 = EOF; ECONNRESET when the closed end had unread data). */
static void assert_peer_sees_close(int peer)
{
    char c;
    ssize_t n = recv(peer, &c, 1, MSG_DONTWAIT);
    if (n < 0)
        assert_int_equal(errno, ECONNRESET); /* not EAGAIN: still open */
    else
        assert_int_equal(n, 0);
}

/* ------------------------------------------------------------ harness */

typedef void (*backend_case)(const cio__backend_ops *o, cio__backend *b);

/* Callbacks (watchers and ops) run by the current poll: the contract says
 * poll returns how many it dispatched (+1 for a consumed wakeup). */
static int g_cbs;
/* Waits that ended early with 0 and were retried (poll_raw_report). */
static int g_interrupted;

static const char *skip_note(int r)
{
    return r == -ENOSYS ? "ENOSYS" : "EPERM";
}

/* Runs body on a fresh instance of o. io_uring may be disabled by the
 * kernel (kernel.io_uring_disabled, seccomp): init then fails with -ENOSYS
 * or -EPERM and the backend is skipped with a note, so a run where it
 * never ran does not pass unnoticed. Every other init failure fails. */
static void run_on(const cio__backend_ops *o, backend_case body)
{
    cio__backend *b = NULL;
    int r = o->init(&b);
    if (o == &cio__backend_uring && (r == -ENOSYS || r == -EPERM)) {
        print_message("NOTE: io_uring unavailable (%s): this case did NOT "
                      "run on the uring backend\n",
                      skip_note(r));
        return;
    }
    assert_int_equal(r, 0);
    assert_non_null(b);
    /* names the backend of a failure reported below */
    print_message("  on %s\n", o->name);
    g_interrupted = 0;
    body(o, b);
    o->fini(b);
    if (g_interrupted)
        print_message("  (%s: %d interrupted wait(s) retried)\n", o->name,
                      g_interrupted);
}

static void on_both(backend_case body)
{
    run_on(&cio__backend_epoll, body);
    run_on(&cio__backend_uring, body);
}

/* One poll, whose return must count exactly the callbacks it ran. */
static int poll_checked(const cio__backend_ops *o, cio__backend *b,
                        int64_t timeout_ns)
{
    g_cbs = 0;
    int r = o->poll(b, timeout_ns);
    assert_true(r >= 0);
    assert_int_equal(r, g_cbs);
    return r;
}

/* A wait may end early with 0: an interrupted wait returns 0 (the
 * contract), and the kernel interrupts the first blocking wait of a
 * thread after an io_uring instance of that thread was torn down (an
 * earlier case's, say), whichever backend waits. So a poll that must
 * report something retries a 0 until the WAIT bound. A poll(0) never
 * waits and is never retried. */
static int poll_raw_report(const cio__backend_ops *o, cio__backend *b,
                           int64_t timeout_ns)
{
    assert_true(timeout_ns != 0);
    int64_t dl = now_ns() + WAIT;
    for (;;) {
        g_cbs = 0;
        int r = o->poll(b, timeout_ns);
        assert_true(r >= 0);
        if (r > 0 || now_ns() >= dl)
            return r;
        g_interrupted++;
    }
}

static int poll_report(const cio__backend_ops *o, cio__backend *b,
                       int64_t timeout_ns)
{
    int r = poll_raw_report(o, b, timeout_ns);
    assert_int_equal(r, g_cbs);
    return r;
}

/* Polls until cond holds; a backend that never gets there fails within
 * 2 s instead of hanging. */
#define POLL_UNTIL(o, b, cond)                                                 \
    do {                                                                       \
        int64_t dl_ = now_ns() + 2000 * MS;                                    \
        while (!(cond)) {                                                      \
            assert_true(now_ns() < dl_);                                       \
            poll_checked((o), (b), 10 * MS);                                   \
        }                                                                      \
    } while (0)

/* ------------------------------------------------------------ watchers */

typedef struct watch {
    cio__io io;
    const cio__backend_ops *o;
    cio__backend *b;
    int calls;
    unsigned rev;         /* revents of the last call */
    struct watch *victim; /* fd_del'd by the next call */
    int free_victim;      /* ...and freed, as an owner would */
} watch;

static watch *g_last; /* the watcher called last */

static void watch_cb(cio__io *io, unsigned rev)
{
    watch *w = CONTAINER(io, watch, io);
    g_cbs++;
    g_last = w;
    w->calls++;
    w->rev = rev;
    if (w->victim) {
        watch *v = w->victim;
        w->victim = NULL;
        if (v->victim == w) /* a pair deleting each other: first one wins */
            v->victim = NULL;
        assert_int_equal(w->o->fd_del(w->b, &v->io), 0);
        if (w->free_victim)
            free(v);
    }
}

static void watch_init(watch *w, const cio__backend_ops *o, cio__backend *b,
                       int fd)
{
    memset(w, 0, sizeof(*w));
    w->io.cb = watch_cb;
    w->io.fd = fd;
    w->o = o;
    w->b = b;
}

/* ------------------------------------------------------ the ops tables */

static void ops_tables_are_complete(void **state)
{
    (void)state;
    const cio__backend_ops *t[] = {&cio__backend_epoll, &cio__backend_uring};
    for (int i = 0; i < 2; i++) {
        assert_non_null(t[i]->init);
        assert_non_null(t[i]->fini);
        assert_non_null(t[i]->fd_add);
        assert_non_null(t[i]->fd_mod);
        assert_non_null(t[i]->fd_del);
        assert_non_null(t[i]->poll);
        assert_non_null(t[i]->wakeup);
        t[i]->fini(NULL); /* ignored */
    }
    assert_string_equal(cio__backend_epoll.name, "epoll");
    assert_string_equal(cio__backend_uring.name, "uring");
    /* The completion ops are optional: NULL where there are none, all of
     * them where there are. */
    assert_null(cio__backend_epoll.caps);
    assert_null(cio__backend_epoll.recv);
    assert_null(cio__backend_epoll.send);
    assert_null(cio__backend_epoll.cancel);
    assert_null(cio__backend_epoll.buf_put);
    assert_non_null(cio__backend_uring.caps);
    assert_non_null(cio__backend_uring.pending);
    assert_non_null(cio__backend_uring.recv);
    assert_non_null(cio__backend_uring.send);
    assert_non_null(cio__backend_uring.cancel);
    assert_non_null(cio__backend_uring.buf_put);
    assert_null(cio__backend_epoll.pending);
    assert_null(cio__backend_epoll.drain);
    assert_non_null(cio__backend_uring.drain);
}

/* ---------------------------------------------------------------- errors */

static void errors_body(const cio__backend_ops *o, cio__backend *b)
{
    int p[2];
    make_pipe(p);
    watch a, c;
    watch_init(&a, o, b, p[0]);
    watch_init(&c, o, b, p[0]);
    assert_int_equal(o->fd_add(b, &a.io, RD), 0);
    assert_int_equal(a.io.events, RD);
    /* one watcher per descriptor: another one, or the same one again */
    assert_int_equal(o->fd_add(b, &c.io, RD), -EEXIST);
    assert_int_equal(o->fd_add(b, &a.io, RD | ET), -EEXIST);
    /* ...and the refusals changed nothing: a is watched as before, with
     * its own interest, and c hears nothing */
    assert_int_equal(a.io.events, RD);
    put_byte(p[1]);
    assert_int_equal(poll_report(o, b, WAIT), 1);
    assert_int_equal(a.calls, 1);
    assert_int_equal(c.calls, 0);

    /* A regular file or a directory is always ready: nothing to wait for
     * (epoll_ctl says EPERM, and so must every backend). */
    char path[] = "/tmp/cio-test-backend-XXXXXX";
    int f = mkstemp(path);
    assert_true(f >= 0);
    unlink(path);
    watch r;
    watch_init(&r, o, b, f);
    assert_int_equal(o->fd_add(b, &r.io, RD), -EPERM);
    assert_int_equal(o->fd_add(b, &r.io, WR | ET), -EPERM);
    int d = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(d >= 0);
    r.io.fd = d;
    assert_int_equal(o->fd_add(b, &r.io, RD), -EPERM);
    close(d);

    /* closed and negative descriptors */
    close(f);
    r.io.fd = f;
    assert_int_equal(o->fd_add(b, &r.io, RD), -EBADF);
    r.io.fd = -1;
    assert_int_equal(o->fd_add(b, &r.io, RD), -EBADF);

    /* Unknown watchers: a descriptor never added (the pipe's write end) is
     * ENOENT for fd_mod and fd_del, as epoll_ctl has it. */
    watch u;
    watch_init(&u, o, b, p[1]);
    assert_int_equal(o->fd_mod(b, &u.io, WR), -ENOENT);
    assert_int_equal(o->fd_del(b, &u.io), -ENOENT);
    /* So is one already deleted; a failed fd_mod does not bring it back. */
    assert_int_equal(o->fd_del(b, &a.io), 0);
    assert_int_equal(a.io.events, 0u);
    assert_int_equal(o->fd_del(b, &a.io), -ENOENT);
    assert_int_equal(o->fd_mod(b, &a.io, RD), -ENOENT);
    assert_int_equal(poll_checked(o, b, 0), 0); /* the byte is still there */
    assert_int_equal(a.calls, 1);
    /* A closed or negative descriptor that was never added fails too. The
     * contract lists no error for fd_del and "the same errors" as fd_add
     * for fd_mod; the backends differ here (epoll: EBADF, io_uring:
     * ENOENT), which the contract leaves open, so only failure is
     * checked. */
    r.io.fd = f;
    int e1 = o->fd_mod(b, &r.io, RD), e2 = o->fd_del(b, &r.io);
    assert_true(e1 == -EBADF || e1 == -ENOENT);
    assert_true(e2 == -EBADF || e2 == -ENOENT);
    r.io.fd = -1;
    e1 = o->fd_mod(b, &r.io, RD);
    e2 = o->fd_del(b, &r.io);
    assert_true(e1 == -EBADF || e1 == -ENOENT);
    assert_true(e2 == -EBADF || e2 == -ENOENT);

    /* Once a is gone the descriptor takes a new watcher. */
    assert_int_equal(o->fd_add(b, &c.io, RD), 0);
    assert_int_equal(poll_report(o, b, WAIT), 1);
    assert_int_equal(c.calls, 1);
    assert_int_equal(a.calls, 1);
    assert_int_equal(o->fd_del(b, &c.io), 0);
    close(p[0]);
    close(p[1]);
}

static void fd_add_mod_del_errors(void **state)
{
    (void)state;
    on_both(errors_body);
}

/* --------------------------------------------------------- level reads */

static void level_body(const cio__backend_ops *o, cio__backend *b)
{
    int p[2];
    make_pipe(p);
    watch w;
    watch_init(&w, o, b, p[0]);
    assert_int_equal(o->fd_add(b, &w.io, RD), 0);
    assert_int_equal(poll_checked(o, b, 0), 0); /* empty: nothing */
    put_byte(p[1]);
    /* A level: every poll reports it while the byte is there, a zero
     * timeout included (the loop polls so when busy). */
    for (int i = 0; i < 4; i++) {
        assert_int_equal((i ? poll_checked(o, b, 0) : poll_report(o, b, WAIT)),
                         1);
        assert_int_equal(w.calls, i + 1);
        assert_int_equal(w.rev, RD);
    }
    take_byte(p[0]);
    assert_int_equal(poll_checked(o, b, 0), 0);
    assert_int_equal(poll_checked(o, b, 2 * MS), 0);
    assert_int_equal(w.calls, 4);
    /* and again for the next byte */
    put_byte(p[1]);
    assert_int_equal(poll_report(o, b, WAIT), 1);
    assert_int_equal(w.calls, 5);
    assert_int_equal(o->fd_del(b, &w.io), 0);
    /* deleted: the byte is there, nothing is reported */
    assert_int_equal(poll_checked(o, b, 0), 0);
    assert_int_equal(w.calls, 5);
    close(p[0]);
    close(p[1]);
}

static void level_read_reported_while_data_is_there(void **state)
{
    (void)state;
    on_both(level_body);
}

static void level_consumed_body(const cio__backend_ops *o, cio__backend *b)
{
    int p[2];
    make_pipe(p);
    watch w;
    watch_init(&w, o, b, p[0]);
    assert_int_equal(o->fd_add(b, &w.io, RD), 0);
    for (int i = 0; i < 3; i++) {
        /* reported by one poll, consumed before the next: a level is the
         * state when the poll looks, so the next poll is quiet */
        put_byte(p[1]);
        assert_int_equal(poll_report(o, b, WAIT), 1);
        assert_int_equal(w.calls, i + 1);
        take_byte(p[0]);
        assert_int_equal(poll_checked(o, b, 0), 0);
        assert_int_equal(w.calls, i + 1);
    }
    assert_int_equal(o->fd_del(b, &w.io), 0);
    close(p[0]);
    close(p[1]);
}

static void level_read_consumed_between_polls_not_reported(void **state)
{
    (void)state;
    on_both(level_consumed_body);
}

static void level_arisen_body(const cio__backend_ops *o, cio__backend *b)
{
    int p[2];
    make_pipe(p);
    watch w;
    watch_init(&w, o, b, p[0]);
    assert_int_equal(o->fd_add(b, &w.io, RD), 0);
    /* The watcher waits in the kernel (for io_uring: a poll request armed
     * by this poll); then a byte arrives and is read before the next
     * poll, which must not report a level that is no longer there. */
    assert_int_equal(poll_checked(o, b, 0), 0);
    put_byte(p[1]);
    take_byte(p[0]);
    assert_int_equal(poll_checked(o, b, 0), 0);
    assert_int_equal(w.calls, 0);
    assert_int_equal(poll_checked(o, b, 2 * MS), 0);
    assert_int_equal(w.calls, 0);
    assert_int_equal(o->fd_del(b, &w.io), 0);
    close(p[0]);
    close(p[1]);
}

static void
level_read_arisen_and_consumed_between_polls_not_reported(void **state)
{
    (void)state;
    on_both(level_arisen_body);
}

static void level_del_other_body(const cio__backend_ops *o, cio__backend *b)
{
    /* a and c get bytes; their callbacks delete b2 and d, which are
     * armed in the kernel (so io_uring's fd_del submits at once, in the
     * middle of the dispatch). a's and c's polls must still not report
     * the bytes the test consumes after this poll. */
    int pa[2], pb[2], pc[2], pd[2];
    make_pipe(pa);
    make_pipe(pb);
    make_pipe(pc);
    make_pipe(pd);
    watch a, b2, c, d;
    watch_init(&a, o, b, pa[0]);
    watch_init(&b2, o, b, pb[0]);
    watch_init(&c, o, b, pc[0]);
    watch_init(&d, o, b, pd[0]);
    assert_int_equal(o->fd_add(b, &a.io, RD), 0);
    assert_int_equal(o->fd_add(b, &b2.io, RD), 0);
    assert_int_equal(o->fd_add(b, &c.io, RD), 0);
    assert_int_equal(o->fd_add(b, &d.io, RD), 0);
    assert_int_equal(poll_checked(o, b, 0), 0); /* all waiting */
    a.victim = &b2;
    c.victim = &d;
    put_byte(pa[1]);
    put_byte(pc[1]);
    assert_int_equal(poll_report(o, b, WAIT), 2);
    assert_int_equal(a.calls, 1);
    assert_int_equal(c.calls, 1);
    assert_int_equal(b2.calls, 0);
    assert_int_equal(d.calls, 0);
    assert_int_equal(o->fd_del(b, &b2.io), -ENOENT); /* gone */
    take_byte(pa[0]);
    take_byte(pc[0]);
    assert_int_equal(poll_checked(o, b, 0), 0);
    assert_int_equal(poll_checked(o, b, 2 * MS), 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(c.calls, 1);
    /* still watched: the next bytes are reported */
    put_byte(pa[1]);
    assert_int_equal(poll_report(o, b, WAIT), 1);
    assert_int_equal(a.calls, 2);
    /* the deleted ones hear nothing of their own bytes */
    put_byte(pb[1]);
    put_byte(pd[1]);
    assert_int_equal(poll_checked(o, b, 0), 1); /* a's byte, still there */
    assert_int_equal(b2.calls, 0);
    assert_int_equal(d.calls, 0);
    assert_int_equal(o->fd_del(b, &a.io), 0);
    assert_int_equal(o->fd_del(b, &c.io), 0);
    int *ps[] = {pa, pb, pc, pd};
    for (int i = 0; i < 4; i++) {
        close(ps[i][0]);
        close(ps[i][1]);
    }
}

static void level_read_consumed_after_callback_deletes_another(void **state)
{
    (void)state;
    on_both(level_del_other_body);
}

/* ---------------------------------------------------------- edge reads */

static void edge_body(const cio__backend_ops *o, cio__backend *b)
{
    int p[2];
    make_pipe(p);
    watch w;
    watch_init(&w, o, b, p[0]);
    assert_int_equal(o->fd_add(b, &w.io, RD | ET), 0);
    assert_int_equal(w.io.events, RD | ET);
    assert_int_equal(poll_checked(o, b, 0), 0);
    /* each arrival is reported once; the unread bytes are not a new one */
    for (int i = 0; i < 3; i++) {
        put_byte(p[1]);
        assert_int_equal(poll_report(o, b, WAIT), 1);
        assert_int_equal(w.calls, i + 1);
        assert_int_equal(w.rev, RD);
        assert_int_equal(poll_checked(o, b, 0), 0);
        assert_int_equal(poll_checked(o, b, 2 * MS), 0);
        assert_int_equal(w.calls, i + 1);
    }
    /* A watcher added while data waits learns of it once (the first
     * report of a ready descriptor, as EPOLLET gives). */
    assert_int_equal(o->fd_del(b, &w.io), 0);
    assert_int_equal(o->fd_add(b, &w.io, RD | ET), 0);
    assert_int_equal(poll_report(o, b, WAIT), 1);
    assert_int_equal(w.calls, 4);
    assert_int_equal(poll_checked(o, b, 0), 0);
    /* Drained and refilled: a new arrival. */
    char buf[16];
    assert_int_equal(read(p[0], buf, sizeof(buf)), 3);
    put_byte(p[1]);
    assert_int_equal(poll_report(o, b, WAIT), 1);
    assert_int_equal(w.calls, 5);
    assert_int_equal(poll_checked(o, b, 0), 0);
    assert_int_equal(o->fd_del(b, &w.io), 0);
    close(p[0]);
    close(p[1]);
}

static void edge_read_reported_once_per_arrival(void **state)
{
    (void)state;
    on_both(edge_body);
}

/* --------------------------------------------------------------- fd_mod */

static void mod_body(const cio__backend_ops *o, cio__backend *b)
{
    int sv[2];
    make_socketpair(sv);
    watch w;
    watch_init(&w, o, b, sv[0]);
    assert_int_equal(o->fd_add(b, &w.io, RD), 0);
    assert_int_equal(poll_checked(o, b, 0), 0);
    /* writable all along, heard once asked for */
    assert_int_equal(o->fd_mod(b, &w.io, RD | WR), 0);
    assert_int_equal(w.io.events, RD | WR);
    assert_int_equal(poll_report(o, b, WAIT), 1);
    assert_int_equal(w.rev, WR);
    assert_int_equal(o->fd_mod(b, &w.io, RD), 0);
    assert_int_equal(poll_checked(o, b, 0), 0);
    assert_int_equal(w.calls, 1);
    /* readable: only what is asked for is reported */
    put_byte(sv[1]);
    assert_int_equal(poll_report(o, b, WAIT), 1);
    assert_int_equal(w.rev, RD);
    assert_int_equal(o->fd_mod(b, &w.io, WR), 0);
    assert_int_equal(poll_report(o, b, WAIT), 1);
    assert_int_equal(w.rev, WR);
    assert_int_equal(w.calls, 3);
    /* level to edge: the state is reported once, then only transitions */
    assert_int_equal(o->fd_mod(b, &w.io, RD | ET), 0);
    assert_int_equal(w.io.events, RD | ET);
    assert_int_equal(poll_report(o, b, WAIT), 1);
    assert_int_equal(w.rev, RD);
    assert_int_equal(poll_checked(o, b, 0), 0);
    assert_int_equal(w.calls, 4);
    put_byte(sv[1]);
    assert_int_equal(poll_report(o, b, WAIT), 1);
    assert_int_equal(w.calls, 5);
    /* and back to a level */
    assert_int_equal(o->fd_mod(b, &w.io, RD), 0);
    assert_int_equal(poll_report(o, b, WAIT), 1);
    assert_int_equal(poll_checked(o, b, 0), 1);
    assert_int_equal(w.calls, 7);
    assert_int_equal(o->fd_del(b, &w.io), 0);
    close(sv[0]);
    close(sv[1]);
}

static void fd_mod_changes_interest(void **state)
{
    (void)state;
    on_both(mod_body);
}

/* ----------------------------------------------------- fd_del in a batch */

static void batch_del_body(const cio__backend_ops *o, cio__backend *b)
{
    for (int edge = 0; edge < 2; edge++) {
        int p1[2], p2[2];
        make_pipe(p1);
        make_pipe(p2);
        /* heap-allocated and freed by the callback that deletes it, as
         * an owner may be: the sanitizers catch a backend that still
         * touches it */
        watch *x = calloc(1, sizeof(*x)), *y = calloc(1, sizeof(*y));
        assert_non_null(x);
        assert_non_null(y);
        watch_init(x, o, b, p1[0]);
        watch_init(y, o, b, p2[0]);
        unsigned ev = RD | (edge ? ET : 0);
        assert_int_equal(o->fd_add(b, &x->io, ev), 0);
        assert_int_equal(o->fd_add(b, &y->io, ev), 0);
        put_byte(p1[1]);
        put_byte(p2[1]);
        /* Both are ready in the same batch; whichever runs first deletes
         * and frees the other, whose event must then be dropped. */
        x->victim = y;
        x->free_victim = 1;
        y->victim = x;
        y->free_victim = 1;
        g_last = NULL;
        assert_int_equal(poll_report(o, b, WAIT), 1);
        watch *s = g_last;
        assert_true(s == x || s == y);
        assert_int_equal(s->calls, 1);
        assert_null(s->victim);
        /* the survivor goes on as before; the dead one stays dead */
        assert_int_equal(
            (edge ? poll_checked(o, b, 0) : poll_report(o, b, WAIT)),
            edge ? 0 : 1);
        assert_int_equal(s->calls, edge ? 1 : 2);
        assert_ptr_equal(g_last, s);
        assert_int_equal(o->fd_del(b, &s->io), 0);
        free(s);
        close(p1[0]);
        close(p1[1]);
        close(p2[0]);
        close(p2[1]);
    }
}

static void fd_del_drops_event_of_same_batch(void **state)
{
    (void)state;
    on_both(batch_del_body);
}

/* ---------------------------------------------------- fd_del, then close */

static void del_close_body(const cio__backend_ops *o, cio__backend *b)
{
    static const unsigned evs[] = {RD, RD | ET, RD | WR, RD | WR | ET};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
        for (int polled = 0; polled < 3; polled++) {
            int sv[2];
            make_socketpair(sv);
            watch w;
            watch_init(&w, o, b, sv[0]);
            assert_int_equal(o->fd_add(b, &w.io, evs[i]), 0);
            if (polled >= 1) /* the watcher waits in the kernel */
                poll_checked(o, b, 0);
            if (polled == 2) {
                /* an arrival woke it and was consumed, its completion
                 * not yet run (io_uring: task work pending) */
                put_byte(sv[1]);
                take_byte(sv[0]);
            }
            int calls = w.calls;
            assert_int_equal(o->fd_del(b, &w.io), 0);
            close(sv[0]);
            /* no poll in between: the socket is closed now */
            assert_peer_sees_close(sv[1]);
            /* and whatever the kernel still had for it is dropped */
            assert_int_equal(poll_checked(o, b, 0), 0);
            assert_int_equal(poll_checked(o, b, 1 * MS), 0);
            assert_int_equal(w.calls, calls);
            close(sv[1]);
        }
    }
}

static void fd_del_then_close_closes_file_at_once(void **state)
{
    (void)state;
    on_both(del_close_body);
}

/* ---------------------------------------------------- hang-up and error */

static void hangup_body(const cio__backend_ops *o, cio__backend *b)
{
    for (int edge = 0; edge < 2; edge++) {
        unsigned et = edge ? ET : 0;
        /* the peer closes while the watcher waits: READ|RDHUP (a hang-up
         * may add ERROR); WRITE only if asked for */
        int sv[2];
        make_socketpair(sv);
        watch w;
        watch_init(&w, o, b, sv[0]);
        assert_int_equal(o->fd_add(b, &w.io, RD | et), 0);
        assert_int_equal(poll_checked(o, b, 0), 0);
        close(sv[1]);
        assert_int_equal(poll_report(o, b, WAIT), 1);
        assert_int_equal(w.rev & (RD | CIO__EV_RDHUP), RD | CIO__EV_RDHUP);
        assert_int_equal(w.rev & WR, 0u);
        assert_int_equal(o->fd_del(b, &w.io), 0);
        close(sv[0]);

        /* both directions asked: a hang-up (both ends shut) wakes both */
        make_socketpair(sv);
        watch_init(&w, o, b, sv[0]);
        close(sv[1]); /* already closed when added */
        assert_int_equal(o->fd_add(b, &w.io, RD | WR | et), 0);
        assert_int_equal(poll_report(o, b, WAIT), 1);
        assert_int_equal(w.rev, RD | WR | CIO__EV_RDHUP | CIO__EV_ERROR);
        if (edge) /* reported once */
            assert_int_equal(poll_checked(o, b, 0), 0);
        assert_int_equal(o->fd_del(b, &w.io), 0);
        close(sv[0]);

        /* a pipe's writer goes: READ|RDHUP for the reader */
        int p[2];
        make_pipe(p);
        watch_init(&w, o, b, p[0]);
        assert_int_equal(o->fd_add(b, &w.io, RD | et), 0);
        assert_int_equal(poll_checked(o, b, 0), 0);
        close(p[1]);
        assert_int_equal(poll_report(o, b, WAIT), 1);
        assert_int_equal(w.rev & (RD | CIO__EV_RDHUP), RD | CIO__EV_RDHUP);
        assert_int_equal(w.rev & WR, 0u);
        assert_int_equal(o->fd_del(b, &w.io), 0);
        close(p[0]);

        /* a pipe's reader goes: ERROR|WRITE for the writer, nothing of
         * the read side it did not ask for */
        make_pipe(p);
        watch_init(&w, o, b, p[1]);
        /* fill the pipe so the writer really waits */
        char fill[4096];
        memset(fill, 'f', sizeof(fill));
        while (write(p[1], fill, sizeof(fill)) > 0) {
        }
        assert_int_equal(errno, EAGAIN);
        assert_int_equal(o->fd_add(b, &w.io, WR | et), 0);
        assert_int_equal(poll_checked(o, b, 0), 0);
        close(p[0]);
        assert_int_equal(poll_report(o, b, WAIT), 1);
        assert_int_equal(w.rev, CIO__EV_ERROR | WR);
        assert_int_equal(o->fd_del(b, &w.io), 0);
        close(p[1]);
    }
}

static void hangup_and_error_events(void **state)
{
    (void)state;
    on_both(hangup_body);
}

/* --------------------------------------------------------------- timeouts */

static void timeout_body(const cio__backend_ops *o, cio__backend *b)
{
    int p[2];
    make_pipe(p);
    watch w;
    watch_init(&w, o, b, p[0]);
    assert_int_equal(o->fd_add(b, &w.io, RD), 0); /* waits, never ready */
    int64_t t0 = now_ns();
    assert_int_equal(poll_checked(o, b, 0), 0);
    assert_true(now_ns() - t0 < 200 * MS); /* at once (generous bound) */
    /* A positive timeout is never cut short (it rounds up to the
     * backend's resolution), and does not run wild either. */
    static const int64_t tos[] = {2 * MS, 1500000, 1000001, 1};
    for (size_t i = 0; i < sizeof(tos) / sizeof(tos[0]); i++) {
        /* An interrupted wait may end early (see poll_raw_report): one
         * of three tries must last the whole timeout; none may last
         * long. */
        int full = 0;
        for (int try = 0; try < 3 && !full; try++) {
            t0 = now_ns();
            assert_int_equal(poll_checked(o, b, tos[i]), 0);
            int64_t dt = now_ns() - t0;
            assert_true(dt < 1000 * MS);
            full = dt >= tos[i];
        }
        if (!full)
            fail_msg("poll(%lld ns) returned early three times",
                     (long long)tos[i]);
    }
    /* a long timeout ends as soon as something is ready */
    put_byte(p[1]);
    t0 = now_ns();
    assert_int_equal(poll_report(o, b, 10000 * MS), 1);
    assert_true(now_ns() - t0 < 500 * MS);
    assert_int_equal(o->fd_del(b, &w.io), 0);
    close(p[0]);
    close(p[1]);
}

static void poll_timeouts(void **state)
{
    (void)state;
    on_both(timeout_body);
}

/* ---------------------------------------------------------------- wakeup */

typedef struct waker {
    const cio__backend_ops *o;
    cio__backend *b;
    pthread_t target;
    int use_signal;      /* interrupt with SIGUSR1 instead of wakeup() */
    atomic_int returned; /* the target's poll returned */
    int rescue_fd;       /* written if it never does: fail, don't hang */
    int wake_rc;
} waker;

static void *waker_main(void *arg)
{
    waker *w = arg;
    int64_t deadline = now_ns() + 2000 * MS;
    /* most likely inside poll(-1) by then; earlier works as well (the
     * wakeup is kept for the next poll) */
    sleep_ns(20 * MS);
    if (!w->use_signal)
        w->wake_rc = w->o->wakeup(w->b);
    while (!atomic_load(&w->returned) && now_ns() < deadline) {
        /* a signal that lands before the wait begins is lost: repeat */
        if (w->use_signal)
            pthread_kill(w->target, SIGUSR1);
        sleep_ns(5 * MS);
    }
    if (!atomic_load(&w->returned)) {
        ssize_t n = write(w->rescue_fd, "!", 1);
        (void)n;
    }
    return NULL;
}

/* poll(-1) with w's thread running; returns poll's result. */
static int poll_with_waker(const cio__backend_ops *o, cio__backend *b,
                           int use_signal, int *rescued)
{
    int rp[2];
    make_pipe(rp);
    watch rescue;
    watch_init(&rescue, o, b, rp[0]);
    assert_int_equal(o->fd_add(b, &rescue.io, RD), 0);
    waker w;
    memset(&w, 0, sizeof(w));
    w.o = o;
    w.b = b;
    w.target = pthread_self();
    w.use_signal = use_signal;
    atomic_init(&w.returned, 0);
    w.rescue_fd = rp[1];
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, waker_main, &w), 0);
    int r;
    /* a 0 is an interrupted wait (see poll_raw_report), or the signal */
    while ((r = o->poll(b, -1)) == 0 && !use_signal)
        g_interrupted++;
    atomic_store(&w.returned, 1);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(w.wake_rc, 0);
    *rescued = rescue.calls;
    assert_int_equal(o->fd_del(b, &rescue.io), 0);
    close(rp[0]);
    close(rp[1]);
    return r;
}

/* Valgrind (3.19) runs no other thread, and delivers no signal, while
 * io_uring_enter blocks: a wait on io_uring that only another thread or a
 * signal can end never ends there. */
static int blocking_wait_unsupported(const cio__backend_ops *o)
{
    if (o != &cio__backend_uring || !UNDER_VALGRIND())
        return 0;
    print_message("NOTE: under valgrind, no thread or signal can end a "
                  "blocking io_uring wait: that part did NOT run on uring\n");
    return 1;
}

static void wakeup_body(const cio__backend_ops *o, cio__backend *b)
{
    int rescued;
    /* The wait ends, and the return value counts the wakeup. */
    if (!blocking_wait_unsupported(o)) {
        assert_int_equal(poll_with_waker(o, b, 0, &rescued), 1);
        assert_int_equal(rescued, 0);
    }
    /* consumed: the next poll does not see it again */
    assert_int_equal(poll_checked(o, b, 0), 0);
    assert_int_equal(poll_checked(o, b, 2 * MS), 0);
    /* a wakeup and a ready watcher in one poll: 1 + 1 */
    int p[2];
    make_pipe(p);
    watch w;
    watch_init(&w, o, b, p[0]);
    assert_int_equal(o->fd_add(b, &w.io, RD), 0);
    put_byte(p[1]);
    assert_int_equal(o->wakeup(b), 0);
    g_cbs = 0;
    assert_int_equal(poll_raw_report(o, b, WAIT), 2);
    assert_int_equal(g_cbs, 1);
    assert_int_equal(w.calls, 1);
    assert_int_equal(o->fd_del(b, &w.io), 0);
    close(p[0]);
    close(p[1]);
    assert_int_equal(poll_checked(o, b, 0), 0);
}

static void wakeup_from_another_thread(void **state)
{
    (void)state;
    on_both(wakeup_body);
}

static void *wake_many(void *arg)
{
    const waker *w = arg;
    for (int i = 0; i < 200; i++)
        if (w->o->wakeup(w->b) != 0)
            return (void *)1;
    return NULL;
}

static void coalesce_body(const cio__backend_ops *o, cio__backend *b)
{
    /* from one thread */
    for (int i = 0; i < 3; i++)
        assert_int_equal(o->wakeup(b), 0);
    g_cbs = 0;
    assert_int_equal(poll_raw_report(o, b, WAIT), 1);
    assert_int_equal(g_cbs, 0);
    assert_int_equal(poll_checked(o, b, 0), 0);
    assert_int_equal(poll_checked(o, b, 2 * MS), 0);
    /* from several at once */
    waker w;
    memset(&w, 0, sizeof(w));
    w.o = o;
    w.b = b;
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, wake_many, &w), 0);
    for (int i = 0; i < 4; i++) {
        void *rc;
        assert_int_equal(pthread_join(th[i], &rc), 0);
        assert_null(rc);
    }
    assert_int_equal(poll_raw_report(o, b, WAIT), 1);
    assert_int_equal(poll_checked(o, b, 0), 0);
    assert_int_equal(poll_checked(o, b, 2 * MS), 0);
    /* and the next one works again */
    assert_int_equal(o->wakeup(b), 0);
    assert_int_equal(poll_raw_report(o, b, WAIT), 1);
    assert_int_equal(poll_checked(o, b, 0), 0);
}

static void wakeups_coalesce(void **state)
{
    (void)state;
    on_both(coalesce_body);
}

static void on_sigusr1(int sig)
{
    (void)sig;
}

static void eintr_body(const cio__backend_ops *o, cio__backend *b)
{
    if (blocking_wait_unsupported(o))
        return;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigusr1; /* no SA_RESTART: the wait is interrupted */
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
    int rescued;
    int r = poll_with_waker(o, b, 1, &rescued);
    assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
    assert_int_equal(rescued, 0);
    assert_int_equal(r, 0); /* an interrupted wait returns 0 */
}

static void poll_interrupted_by_signal_returns_0(void **state)
{
    (void)state;
    on_both(eintr_body);
}

/* ---------------------------------------- io_uring: completion-shaped ops */

#define UO (&cio__backend_uring)

/* The completion ops run on io_uring only: the case is skipped (cmocka
 * skip, with a note) where the kernel refuses io_uring or lacks what
 * they need (caps). */
static cio__backend *uring_with_sock_ops(void)
{
    cio__backend *b = NULL;
    int r = UO->init(&b);
    if (r == -ENOSYS || r == -EPERM) {
        print_message("NOTE: io_uring unavailable (%s): case skipped\n",
                      skip_note(r));
        skip();
    }
    assert_int_equal(r, 0);
    if (!(UO->caps(b) & CIO__CAP_SOCK_OPS)) {
        print_message("NOTE: io_uring without socket ops (kernel < 6.0?): "
                      "case skipped\n");
        UO->fini(b);
        skip();
    }
    return b;
}

/* The byte at offset i of stream c: no period a chunking could hide
 * a reordering behind. */
static unsigned char pat(int c, size_t i)
{
    uint32_t x = (uint32_t)i * 2654435761u + (uint32_t)c * 0x9e3779b9u;
    x ^= x >> 15;
    x *= 0x2c1b3c6du;
    x ^= x >> 12;
    return (unsigned char)x;
}

static void fill(int c, size_t off, unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = pat(c, off + i);
}

/* Buffers handed out and not given back: a buffer handed twice while out
 * would be overwritten under its holder. */
static unsigned char g_out[4096];
static int g_nout;
static int g_in_cancel; /* inside cancel(): no completion may run */

static void give_back(cio__backend *b, unsigned id)
{
    assert_true(g_out[id]);
    g_out[id] = 0;
    g_nout--;
    UO->buf_put(b, id);
}

typedef struct held {
    unsigned id;
    const char *buf;
    int c;
    size_t off, len;
} held;

static held g_held[URING_NBUFS + 64];
static int g_nheld;

typedef struct rconn {
    cio__uop op;
    cio__backend *b;
    int c;    /* stream number */
    int hold; /* keep received buffers (starvation cases) */
    unsigned char *got;
    size_t ngot, cap;
    int chunks;
    int done; /* the final completion came */
    int final_res;
} rconn;

static void recv_cb(cio__uop *op, int res, int more, char *buf, unsigned id)
{
    rconn *r = CONTAINER(op, rconn, op);
    g_cbs++;
    assert_false(g_in_cancel);
    assert_false(r->done); /* nothing after the final completion */
    if (res > 0) {
        /* a chunk: more follow, until the final completion */
        assert_true(more);
        assert_non_null(buf);
        assert_true(id < sizeof(g_out));
        assert_false(g_out[id]);
        g_out[id] = 1;
        g_nout++;
        if (r->ngot + (size_t)res > r->cap) {
            size_t cap = r->cap ? r->cap : 4096;
            while (cap < r->ngot + (size_t)res)
                cap *= 2;
            r->got = realloc(r->got, cap);
            assert_non_null(r->got);
            r->cap = cap;
        }
        memcpy(r->got + r->ngot, buf, (size_t)res);
        if (r->hold) {
            assert_true(g_nheld < (int)(sizeof(g_held) / sizeof(g_held[0])));
            g_held[g_nheld++] = (held){id, buf, r->c, r->ngot, (size_t)res};
        } else {
            give_back(r->b, id);
        }
        r->ngot += (size_t)res;
        r->chunks++;
    } else {
        /* the final one: no bytes, no buffer, nothing after it */
        assert_null(buf);
        assert_false(more);
        r->done = 1;
        r->final_res = res;
    }
}

static void rconn_init(rconn *r, cio__backend *b, int c)
{
    memset(r, 0, sizeof(*r));
    r->op.cb = recv_cb;
    r->b = b;
    r->c = c;
}

static void rconn_check(const rconn *r, size_t n)
{
    assert_int_equal(r->ngot, n);
    for (size_t i = 0; i < n; i++)
        if (r->got[i] != pat(r->c, i))
            fail_msg("stream %d: byte %zu differs", r->c, i);
}

static void cancel_op(cio__backend *b, cio__uop *op)
{
    g_in_cancel = 1;
    int r = UO->cancel(b, op);
    g_in_cancel = 0;
    assert_int_equal(r, 0);
}

static void reset_bufs(void)
{
    memset(g_out, 0, sizeof(g_out));
    g_nout = 0;
    g_nheld = 0;
    g_in_cancel = 0;
}

static void recv_stream(cio__backend *b, int tcp)
{
    int sv[2];
    make_stream_pair(tcp, sv);
    rconn r;
    rconn_init(&r, b, tcp);
    assert_int_equal(UO->recv(b, &r.op, sv[0]), 0);
    size_t total = (size_t)1 << 20, sent = 0;
    unsigned char *src = malloc(total);
    assert_non_null(src);
    fill(tcp, 0, src, total);
    int64_t deadline = now_ns() + 3000 * MS;
    while (r.ngot < total) {
        assert_true(now_ns() < deadline);
        if (sent < total) {
            ssize_t n = send(sv[1], src + sent, total - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
            else
                assert_int_equal(errno, EAGAIN);
        }
        poll_checked(UO, b, sent < total ? 1 * MS : 10 * MS);
        assert_false(r.done);
        assert_int_equal(g_nout, 0); /* each one given back */
    }
    rconn_check(&r, total);
    assert_true(r.chunks > 1);
    /* the peer is done: one final completion, 0 with more == 0 */
    assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
    POLL_UNTIL(UO, b, r.done);
    assert_int_equal(r.final_res, 0);
    assert_int_equal(r.ngot, total);
    /* and nothing after it */
    assert_int_equal(poll_checked(UO, b, 2 * MS), 0);
    free(src);
    free(r.got);
    close(sv[0]);
    close(sv[1]);
}

static void uring_recv_delivers_stream_in_order(void **state)
{
    (void)state;
    reset_bufs();
    cio__backend *b = uring_with_sock_ops();
    recv_stream(b, 0); /* socketpair */
    recv_stream(b, 1); /* TCP over loopback */
    UO->fini(b);
}

static void uring_recv_cancel_completes_from_poll(void **state)
{
    (void)state;
    reset_bufs();
    cio__backend *b = uring_with_sock_ops();
    for (int variant = 0; variant < 3; variant++) {
        int sv[2];
        make_socketpair(sv);
        rconn r;
        rconn_init(&r, b, 0);
        assert_int_equal(UO->recv(b, &r.op, sv[0]), 0);
        size_t got = 0;
        if (variant >= 1) /* armed in the kernel, not just queued */
            assert_int_equal(poll_checked(UO, b, 0), 0);
        if (variant == 2) { /* and it received some */
            unsigned char d[100];
            fill(0, 0, d, sizeof(d));
            assert_int_equal(send(sv[1], d, sizeof(d), 0), (ssize_t)sizeof(d));
            POLL_UNTIL(UO, b, r.ngot == sizeof(d));
            got = sizeof(d);
        }
        /* the final completion comes from a poll, never from cancel() */
        cancel_op(b, &r.op);
        assert_false(r.done);
        /* submitted at once: a close right after really closes */
        close(sv[0]);
        assert_peer_sees_close(sv[1]);
        POLL_UNTIL(UO, b, r.done);
        assert_int_equal(r.final_res, -ECANCELED);
        rconn_check(&r, got);
        assert_int_equal(poll_checked(UO, b, 2 * MS), 0);
        assert_int_equal(g_nout, 0);
        free(r.got);
        close(sv[1]);
    }
    UO->fini(b);
}

typedef struct sconn {
    cio__uop op;
    int done;
    int res;
} sconn;

static void send_cb(cio__uop *op, int res, int more, char *buf, unsigned id)
{
    sconn *s = CONTAINER(op, sconn, op);
    g_cbs++;
    assert_false(g_in_cancel);
    assert_false(s->done);
    assert_false(more);
    assert_null(buf);
    (void)id;
    s->done = 1;
    s->res = res;
}

static void send_stream(cio__backend *b, int tcp)
{
    int sv[2];
    make_stream_pair(tcp, sv);
    /* a small send buffer, so sends may well be partial */
    int sz = 4096;
    assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)),
                     0);
    size_t total = 64 * 1024, off = 0, rcvd = 0;
    unsigned char *src = malloc(total), *dst = malloc(total);
    assert_non_null(src);
    assert_non_null(dst);
    fill(7, 0, src, total);
    int64_t deadline = now_ns() + 3000 * MS;
    int sends = 0;
    while (off < total) {
        sconn s = {.op.cb = send_cb};
        assert_int_equal(UO->send(b, &s.op, sv[0], src + off, total - off), 0);
        sends++;
        while (!s.done) {
            assert_true(now_ns() < deadline);
            poll_checked(UO, b, 1 * MS);
            ssize_t n;
            while (rcvd < total &&
                   (n = recv(sv[1], dst + rcvd, total - rcvd, 0)) > 0)
                rcvd += (size_t)n;
        }
        assert_true(s.res > 0);
        assert_true((size_t)s.res <= total - off);
        off += (size_t)s.res;
    }
    while (rcvd < total) {
        assert_true(now_ns() < deadline);
        ssize_t n = recv(sv[1], dst + rcvd, total - rcvd, 0);
        if (n > 0)
            rcvd += (size_t)n;
        else
            sleep_ns(MS / 10);
    }
    assert_memory_equal(src, dst, total);
    char c;
    assert_true(recv(sv[1], &c, 1, 0) < 0 && errno == EAGAIN); /* no extra */
    print_message("    %s: 64 KiB in %d send(s)\n", tcp ? "tcp" : "unix",
                  sends);
    free(src);
    free(dst);
    close(sv[0]);
    close(sv[1]);
}

static void uring_send_delivers_exact_bytes(void **state)
{
    (void)state;
    reset_bufs();
    cio__backend *b = uring_with_sock_ops();
    send_stream(b, 0);
    send_stream(b, 1);
    UO->fini(b);
}

static void uring_send_to_closed_peer_fails_without_sigpipe(void **state)
{
    (void)state;
    reset_bufs();
    cio__backend *b = uring_with_sock_ops();
    /* SIGPIPE's default action kills the process: a send without
     * MSG_NOSIGNAL fails the whole test binary */
    void (*old)(int) = signal(SIGPIPE, SIG_DFL);
    static const char msg[] = "hello";
    for (int tcp = 0; tcp < 2; tcp++) {
        int sv[2];
        make_stream_pair(tcp, sv);
        close(sv[1]);
        /* TCP may take the first send (the RST comes back for it) */
        int res = 0;
        for (int i = 0; i < 10 && res >= 0; i++) {
            sconn s = {.op.cb = send_cb};
            assert_int_equal(UO->send(b, &s.op, sv[0], msg, sizeof(msg)), 0);
            POLL_UNTIL(UO, b, s.done);
            res = s.res;
            if (res >= 0)
                sleep_ns(MS);
        }
        assert_true(res == -EPIPE || res == -ECONNRESET);
        close(sv[0]);
    }
    signal(SIGPIPE, old);
    UO->fini(b);
}

/* ----------------------------------------------- io_uring: starvation */

#define NCONN 16
#define CHUNK 100 /* a write per connection and round: one chunk each */

typedef struct starve {
    cio__backend *b;
    int sv[NCONN][2];
    rconn r[NCONN];
    size_t sent[NCONN];
    int idle; /* connections [NCONN - idle, NCONN) get no data */
} starve;

static void starve_write(starve *s, int c, size_t n)
{
    unsigned char d[4096];
    assert_true(n <= sizeof(d));
    fill(c, s->sent[c], d, n);
    assert_int_equal(send(s->sv[c][1], d, n, MSG_NOSIGNAL), (ssize_t)n);
    s->sent[c] += n;
}

static int total_chunks(const starve *s)
{
    int n = 0;
    for (int c = 0; c < NCONN; c++)
        n += s->r[c].chunks;
    return n;
}

static size_t unread(int fd)
{
    int n = 0;
    assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
    return (size_t)n;
}

/* Opens NCONN connections with a recv each that keeps its buffers, and
 * feeds them until every provided buffer is held: the recvs with data
 * waiting are then starved. */
static void starve_setup(starve *s, int idle)
{
    reset_bufs();
    memset(s, 0, sizeof(*s));
    s->b = uring_with_sock_ops();
    s->idle = idle;
    for (int c = 0; c < NCONN; c++) {
        make_socketpair(s->sv[c]);
        rconn_init(&s->r[c], s->b, c);
        s->r[c].hold = 1;
        assert_int_equal(UO->recv(s->b, &s->r[c].op, s->sv[c][0]), 0);
    }
    int64_t deadline = now_ns() + 3000 * MS;
    while (g_nheld < URING_NBUFS) {
        assert_true(now_ns() < deadline);
        for (int c = 0; c < NCONN - idle; c++)
            starve_write(s, c, CHUNK);
        poll_checked(UO, s->b, 0);
        poll_checked(UO, s->b, 0);
    }
    assert_int_equal(g_nheld, URING_NBUFS);
    assert_int_equal(total_chunks(s), URING_NBUFS);
    /* Out of buffers: more data arrives and waits in the sockets, no
     * chunk is delivered, and the owners see no error. */
    for (int round = 0; round < 3; round++) {
        for (int c = 0; c < NCONN - idle; c++)
            starve_write(s, c, CHUNK);
        poll_checked(UO, s->b, 2 * MS);
    }
    assert_int_equal(total_chunks(s), URING_NBUFS);
    for (int c = 0; c < NCONN; c++) {
        assert_false(s->r[c].done);
        assert_int_equal(s->r[c].ngot + unread(s->sv[c][0]), s->sent[c]);
    }
    /* the held buffers were not touched while held */
    for (int i = 0; i < g_nheld; i++) {
        const held *h = &g_held[i];
        const rconn *r = &s->r[h->c];
        assert_memory_equal(h->buf, r->got + h->off, h->len);
    }
}

/* Gives every held buffer back, as a transport's run does (outside the
 * backend's poll), and lets the recvs keep nothing from now on. */
static void starve_give_back(starve *s)
{
    for (int i = 0; i < g_nheld; i++)
        give_back(s->b, g_held[i].id);
    g_nheld = 0;
    for (int c = 0; c < NCONN; c++)
        s->r[c].hold = 0;
    assert_int_equal(g_nout, 0);
}

/* Drives every connection to the end: more data, EOF, final completions,
 * all bytes in order. */
static void starve_finish(starve *s, int rounds)
{
    int64_t deadline = now_ns() + 3000 * MS;
    for (int round = 0; round < rounds; round++) {
        for (int c = 0; c < NCONN; c++)
            if (!s->r[c].done && s->sv[c][1] >= 0)
                starve_write(s, c, CHUNK);
        poll_checked(UO, s->b, 1 * MS);
    }
    for (int c = 0; c < NCONN; c++)
        if (s->sv[c][1] >= 0)
            assert_int_equal(shutdown(s->sv[c][1], SHUT_WR), 0);
    for (;;) {
        int all = 1;
        for (int c = 0; c < NCONN; c++)
            all &= s->r[c].done;
        if (all)
            break;
        assert_true(now_ns() < deadline);
        poll_checked(UO, s->b, 10 * MS);
    }
    for (int c = 0; c < NCONN; c++) {
        if (s->sv[c][1] < 0)
            continue;
        assert_int_equal(s->r[c].final_res, 0);
        rconn_check(&s->r[c], s->sent[c]);
    }
    assert_int_equal(g_nout, 0);
    assert_true(total_chunks(s) > URING_NBUFS);
    for (int c = 0; c < NCONN; c++) {
        free(s->r[c].got);
        if (s->sv[c][0] >= 0)
            close(s->sv[c][0]);
        if (s->sv[c][1] >= 0)
            close(s->sv[c][1]);
    }
    UO->fini(s->b);
}

static void uring_recv_starvation_loses_nothing(void **state)
{
    (void)state;
    starve s;
    starve_setup(&s, 0);
    starve_give_back(&s);
    /* the starved recvs resume (polled here with short timeouts) */
    starve_finish(&s, 20);
}

static void uring_recv_starved_resumes_at_next_poll(void **state)
{
    (void)state;
    starve s;
    starve_setup(&s, 0);
    starve_give_back(&s);
    /* The buffers came back outside poll (as a transport's run gives
     * them back), and nothing else happens: the loop now waits with no
     * timeout (pending() is false, no timer). The waiting data must be
     * delivered by that wait; here a bounded one, which must neither run
     * out nor come back empty. */
    int64_t t0 = now_ns();
    int n = poll_checked(UO, s.b, 300 * MS);
    assert_true(n > 0);
    assert_true(now_ns() - t0 < 300 * MS);
    starve_finish(&s, 5);
}

static void uring_cancel_of_starved_recv(void **state)
{
    (void)state;
    starve s;
    starve_setup(&s, 1);
    cio__backend *b = s.b;
    /* (1) a recv starved in the backend (its socket has data, no buffer
     * to take it): the final completion comes from the next poll */
    int k = 0;
    assert_true(unread(s.sv[k][0]) > 0);
    cancel_op(b, &s.r[k].op);
    assert_false(s.r[k].done);
    close(s.sv[k][0]);
    s.sv[k][0] = -1;
    assert_peer_sees_close(s.sv[k][1]);
    POLL_UNTIL(UO, b, s.r[k].done);
    assert_int_equal(s.r[k].final_res, -ECANCELED);
    close(s.sv[k][1]);
    s.sv[k][1] = -1;

    /* (2) a recv still armed in the kernel when its data comes, with no
     * buffer left, cancelled before any poll ran: its final completion
     * must come, and it must not be re-armed on the descriptor its owner
     * closed (a new socket may get that number). */
    int z = NCONN - 1;
    assert_int_equal(unread(s.sv[z][0]), 0u);
    starve_write(&s, z, CHUNK);
    cancel_op(b, &s.r[z].op);
    assert_false(s.r[z].done);
    int zfd = s.sv[z][0];
    close(zfd);
    s.sv[z][0] = -1;
    assert_peer_sees_close(s.sv[z][1]);
    close(s.sv[z][1]);
    s.sv[z][1] = -1;
    /* The number is taken by a new connection with data waiting (dup2
     * makes the reuse certain; the kernel hands out the lowest free
     * number, which a busy server reuses at once). */
    int nv[2];
    make_socketpair(nv);
    assert_int_equal(dup2(nv[0], zfd), zfd);
    close(nv[0]);
    nv[0] = zfd;
    static const char secret[] = "not yours";
    assert_int_equal(send(nv[1], secret, sizeof(secret), 0),
                     (ssize_t)sizeof(secret));
    /* the final completion comes while the buffers are still out (an
     * owner waiting for it may be what holds them) */
    for (int i = 0; i < 5 && !s.r[z].done; i++)
        poll_checked(UO, b, 2 * MS);
    assert_true(s.r[z].done);
    assert_int_equal(s.r[z].final_res, -ECANCELED);
    /* and once buffers are back, nothing reads the new socket */
    starve_give_back(&s);
    for (int i = 0; i < 5; i++)
        poll_checked(UO, b, 2 * MS);
    assert_int_equal(unread(nv[0]), sizeof(secret));
    close(nv[0]);
    close(nv[1]);
    starve_finish(&s, 5);
}

static void uring_poll_counts_only_dispatched(void **state)
{
    (void)state;
    starve s;
    starve_setup(&s, 1);
    /* The idle connection's recv is still armed; its data finds no
     * buffer, so the recv is parked in the backend, unseen by its owner:
     * that poll dispatched nothing and must say so. */
    int z = NCONN - 1;
    starve_write(&s, z, CHUNK);
    int n = 0;
    for (int i = 0; i < 3; i++)
        n += poll_checked(UO, s.b, 2 * MS);
    assert_int_equal(n, 0);
    starve_give_back(&s);
    starve_finish(&s, 5);
}

/* ---------------------------------------------------- io_uring: drain */

/* Reads what the peer of a closed socket still has queued, then sees the
 * close (as assert_peer_sees_close). */
static void assert_peer_drains_to_close(int peer)
{
    static char sink[65536];
    ssize_t n;
    while ((n = recv(peer, sink, sizeof(sink), MSG_DONTWAIT)) > 0) {
    }
    if (n < 0)
        assert_int_equal(errno, ECONNRESET); /* not EAGAIN: still open */
}

static void uring_drain_ends_every_op(void **state)
{
    (void)state;
    reset_bufs();
    cio__backend *b = uring_with_sock_ops();
    /* An idle recv, a recv that has delivered a chunk, a send waiting for
     * room, and a ready level watcher, all in the kernel. */
    int s1[2], s2[2], s3[2], p[2];
    make_socketpair(s1);
    make_socketpair(s2);
    make_socketpair(s3);
    make_pipe(p);
    rconn a, c;
    rconn_init(&a, b, 0);
    rconn_init(&c, b, 1);
    assert_int_equal(UO->recv(b, &a.op, s1[0]), 0);
    assert_int_equal(UO->recv(b, &c.op, s2[0]), 0);
    unsigned char d[100];
    fill(1, 0, d, sizeof(d));
    assert_int_equal(send(s2[1], d, sizeof(d), 0), (ssize_t)sizeof(d));
    POLL_UNTIL(UO, b, c.ngot == sizeof(d));
    static unsigned char big[65536];
    while (send(s3[0], big, sizeof(big), MSG_DONTWAIT) > 0) {
    }
    assert_int_equal(errno, EAGAIN);
    sconn sc = {.op.cb = send_cb};
    assert_int_equal(UO->send(b, &sc.op, s3[0], big, sizeof(big)), 0);
    watch w;
    watch_init(&w, UO, b, p[0]);
    assert_int_equal(UO->fd_add(b, &w.io, RD), 0);
    put_byte(p[1]);
    assert_int_equal(poll_checked(UO, b, 0), 1); /* the watcher */
    assert_false(a.done);
    assert_false(c.done);
    assert_false(sc.done);
    int wcalls = w.calls;
    /* Each op gets its final completion from drain itself; watchers are
     * not called. */
    g_cbs = 0;
    UO->drain(b);
    assert_int_equal(g_cbs, 3);
    assert_true(a.done);
    assert_int_equal(a.final_res, -ECANCELED);
    assert_true(c.done);
    assert_int_equal(c.final_res, -ECANCELED);
    rconn_check(&c, sizeof(d));
    assert_true(sc.done);
    assert_true(sc.res == -ECANCELED || sc.res > 0); /* or what it sent */
    assert_int_equal(w.calls, wcalls);
    assert_int_equal(g_nout, 0);
    /* the kernel let go of the sockets */
    close(s1[0]);
    assert_peer_sees_close(s1[1]);
    close(s2[0]);
    assert_peer_sees_close(s2[1]);
    close(s3[0]);
    assert_peer_drains_to_close(s3[1]);
    /* nothing left: a second drain calls nothing */
    g_cbs = 0;
    UO->drain(b);
    assert_int_equal(g_cbs, 0);
    assert_int_equal(UO->fd_del(b, &w.io), 0);
    free(c.got);
    close(s1[1]);
    close(s2[1]);
    close(s3[1]);
    close(p[0]);
    close(p[1]);
    UO->fini(b);

    /* Starved recvs (parked in the backend, not in the kernel) end too. */
    starve st;
    starve_setup(&st, 0);
    g_cbs = 0;
    UO->drain(st.b);
    assert_int_equal(g_cbs, NCONN);
    for (int k = 0; k < NCONN; k++) {
        assert_true(st.r[k].done);
        assert_int_equal(st.r[k].final_res, -ECANCELED);
        /* nothing lost: what was not delivered is still in the socket */
        assert_int_equal(st.r[k].ngot + unread(st.sv[k][0]), st.sent[k]);
    }
    starve_give_back(&st);
    for (int k = 0; k < NCONN; k++) {
        free(st.r[k].got);
        close(st.sv[k][0]);
        close(st.sv[k][1]);
    }
    UO->fini(st.b);
}

/* One case per line, its name on that line: CMake's case scan reads it. */
/* clang-format off */
static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(ops_tables_are_complete, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(fd_add_mod_del_errors, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(level_read_reported_while_data_is_there, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(level_read_consumed_between_polls_not_reported, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(level_read_arisen_and_consumed_between_polls_not_reported, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(level_read_consumed_after_callback_deletes_another, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(edge_read_reported_once_per_arrival, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(fd_mod_changes_interest, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(fd_del_drops_event_of_same_batch, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(fd_del_then_close_closes_file_at_once, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(hangup_and_error_events, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(poll_timeouts, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(wakeup_from_another_thread, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(wakeups_coalesce, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(poll_interrupted_by_signal_returns_0, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(uring_recv_delivers_stream_in_order, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(uring_recv_cancel_completes_from_poll, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(uring_send_delivers_exact_bytes, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(uring_send_to_closed_peer_fails_without_sigpipe, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(uring_recv_starvation_loses_nothing, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(uring_recv_starved_resumes_at_next_poll, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(uring_cancel_of_starved_recv, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(uring_poll_counts_only_dispatched, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(uring_drain_ends_every_op, tu_setup, tu_teardown),
};
/* clang-format on */

CIO_TEST_MAIN(tests)
