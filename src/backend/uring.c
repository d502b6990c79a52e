/*
 * uring.c - the io_uring backend (liburing).
 *
 * Readiness (the contract every layer above uses) maps onto poll
 * requests: an edge-triggered watcher is one multishot poll, armed once
 * and left alone, as an EPOLLET registration is; a level-triggered one is
 * a one-shot poll re-armed after its callback while the interest lasts
 * (a ready descriptor completes again at once, which is what a level is).
 * Beside readiness it runs completion-shaped socket operations (backend.h:
 * recv/send/cancel) that transports use when caps() offers them: a
 * multishot recv into a ring of provided buffers and sends submitted in
 * the same io_uring_enter as the wait, so a busy server makes one system
 * call per loop iteration instead of two per message.
 *
 * The ring is made IORING_SETUP_COOP_TASKRUN|TASKRUN_FLAG: completions
 * are produced when the loop's thread enters the kernel, without
 * inter-processor interrupts. Rejected: SINGLE_ISSUER|DEFER_TASKRUN, which
 * binds the ring to one thread (a loop run by one thread and later by
 * another got -EINVAL/-EEXIST from every enter) and measured no cheaper
 * on the echo benchmark here; and a registered ring fd, which is per
 * thread too. Kernels without COOP_TASKRUN (before 5.19) get a plain ring.
 *
 * Stale completions: a poll's user_data carries the descriptor and a
 * generation that fd_mod/fd_del bump, so a completion of a removed or
 * replaced poll (even one already fetched in the batch being dispatched)
 * never reaches the watcher. fd_del and cancel submit and run the
 * kernel's pending work at once: a poll or recv holds a reference on the
 * file, and the caller's close(fd) must close the socket now, not at the
 * next poll.
 *
 * Buffer starvation: when the provided buffers run out, a multishot recv
 * ends with -ENOBUFS; the backend keeps such ops in a FIFO and re-arms
 * them as buffers come back, so owners never see it.
 */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/evfd.h"
#include "core/sys.h"
#include "internal.h"

#define SQ_ENTRIES 256
#define CQ_ENTRIES 4096
#define BATCH 256
#define BGID 1
#define NBUFS 512           /* power of 2 */
#define BUF_SIZE (16 * 1024) /* a transport's default first read */

/* user_data: an op pointer (tag 0), a poll (tag 1: generation << 32 |
 * fd << 3), the wakeup poll, the removal of a poll (tag 3, same fields),
 * the cancellation of an op (pointer | 4), or a request whose completion
 * is ignored. A removal or cancellation can fail with -EALREADY when the
 * request is completing at that moment (its task work pending): the
 * request then lives on, so it is asked again. */
#define TAG_MASK 7ull
#define TAG_POLL 1ull
#define UD_WAKE 2ull
#define TAG_REMOVE 3ull
#define TAG_CANCEL 4ull
#define UD_IGNORE 7ull

#define OP_RECV 0x1u
#define OP_STARVED 0x2u   /* in the starved FIFO */
#define OP_CANCELLED 0x4u /* its owner cancelled it: never re-armed */

typedef struct fdent {
    cio__io *io;
    uint32_t gen;
    uint8_t armed;  /* a poll request is in the kernel */
    uint8_t queued; /* in the re-arm list */
} fdent;

struct cio__backend {
    struct io_uring ring;
    int evfd;
    atomic_int wake_pending;
    fdent *tab;
    int ntab;
    /* Polls to arm at the start of the next poll(), not earlier: a level
     * is the state when the loop waits, and a poll submitted early (by a
     * callback's fd_del) could report a readiness the caller consumes
     * before the next wait, as a stale event. */
    int *rearm;
    int nrearm, rearm_cap;
    /* provided buffers: 0 not tried, 1 ready, -1 unavailable */
    int bufs_state;
    struct io_uring_buf_ring *br;
    char *bufs;
    unsigned bufs_out; /* handed to owners, not yet put back */
    cio__uop *starved_head, *starved_tail;
    cio__uop *deferred; /* cancelled while starved: final completion due */
    int sock_ops;       /* the kernel has what recv/send need */
    unsigned ops_live;  /* ops whose final completion is still due */
    int draining;       /* loop close: re-arm nothing */
};

static int ring_init(cio__backend *b)
{
    static const unsigned tries[] = {
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
        0,
    };
    int r = -EINVAL;
    for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof(p));
        p.flags = tries[i] | IORING_SETUP_CQSIZE;
        p.cq_entries = CQ_ENTRIES;
        r = io_uring_queue_init_params(SQ_ENTRIES, &b->ring, &p);
        if (r == 0)
            return 0;
        if (r != -EINVAL)
            return r;
    }
    return r;
}

static struct io_uring_sqe *get_sqe(cio__backend *b)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
    while (CIO_UNLIKELY(!sqe)) {
        /* SQ full: hand what we have to the kernel */
        int e = cio__sys_fault(CIO__SYS_URING_SUBMIT);
        if (e || io_uring_submit(&b->ring) < 0)
            return NULL;
        sqe = io_uring_get_sqe(&b->ring);
    }
    return sqe;
}

static void arm_wake(cio__backend *b)
{
    struct io_uring_sqe *sqe = get_sqe(b);
    if (!sqe)
        return;
    io_uring_prep_poll_multishot(sqe, b->evfd, POLLIN);
    io_uring_sqe_set_data64(sqe, UD_WAKE);
}

static int ur_init(cio__backend **out)
{
    cio__backend *b = cio__calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    int r = ring_init(b);
    if (r < 0) {
        cio__free(b);
        return r;
    }
    b->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (b->evfd < 0) {
        r = CIO__ERRNO();
        io_uring_queue_exit(&b->ring);
        cio__free(b);
        return r;
    }
    atomic_init(&b->wake_pending, 0);
    struct io_uring_probe *pr = io_uring_get_probe_ring(&b->ring);
    /* Multishot recv came with 6.0, as did SEND_ZC: the probe has no
     * flag for the former, so the latter stands for it. */
    b->sock_ops = pr && io_uring_opcode_supported(pr, IORING_OP_RECV) &&
                  io_uring_opcode_supported(pr, IORING_OP_SEND) &&
                  io_uring_opcode_supported(pr, IORING_OP_ASYNC_CANCEL) &&
                  io_uring_opcode_supported(pr, IORING_OP_SEND_ZC);
    if (pr)
        io_uring_free_probe(pr);
    arm_wake(b);
    *out = b;
    return 0;
}

static void ur_fini(cio__backend *b)
{
    if (!b)
        return;
    io_uring_queue_exit(&b->ring);
    if (b->bufs)
        munmap(b->bufs, (size_t)NBUFS * BUF_SIZE);
    if (b->br)
        munmap(b->br, NBUFS * sizeof(struct io_uring_buf));
    close(b->evfd);
    cio__free(b->tab);
    cio__free(b->rearm);
    cio__free(b);
}

/* ------------------------------------------------------------ readiness */

static uint64_t poll_ud(int fd, uint32_t gen)
{
    return ((uint64_t)gen << 32) | ((uint64_t)(unsigned)fd << 3) | TAG_POLL;
}

static void remove_poll(cio__backend *b, uint64_t ud)
{
    struct io_uring_sqe *sqe = get_sqe(b);
    if (sqe) {
        io_uring_prep_poll_remove(sqe, ud);
        io_uring_sqe_set_data64(sqe, (ud & ~TAG_MASK) | TAG_REMOVE);
    }
}

static unsigned to_poll(unsigned ev)
{
    unsigned m = 0;
    if (ev & CIO__EV_READ)
        m |= POLLIN | POLLRDHUP;
    if (ev & CIO__EV_WRITE)
        m |= POLLOUT;
    return m;
}

static int arm_now(cio__backend *b, int fd, fdent *e)
{
    struct io_uring_sqe *sqe = get_sqe(b);
    if (!sqe)
        return -EBUSY;
    unsigned m = to_poll(e->io->events);
    if (e->io->events & CIO__EV_EDGE)
        io_uring_prep_poll_multishot(sqe, fd, m);
    else
        io_uring_prep_poll_add(sqe, fd, m);
    io_uring_sqe_set_data64(sqe, poll_ud(fd, e->gen));
    e->armed = 1;
    return 0;
}

/* Edge-triggered polls are armed at once (they report transitions, and
 * the first report of a ready descriptor is wanted); level-triggered
 * ones when the loop next waits. */
static int arm(cio__backend *b, int fd, fdent *e)
{
    if (e->io->events & CIO__EV_EDGE)
        return arm_now(b, fd, e);
    if (e->queued)
        return 0;
    if (b->nrearm == b->rearm_cap) {
        int cap = b->rearm_cap ? b->rearm_cap * 2 : 16;
        int *q = cio__realloc(b->rearm, (size_t)cap * sizeof(*q));
        if (!q)
            return -ENOMEM;
        b->rearm = q;
        b->rearm_cap = cap;
    }
    b->rearm[b->nrearm++] = fd;
    e->queued = 1;
    return 0;
}

static void arm_queued(cio__backend *b)
{
    for (int i = 0; i < b->nrearm; i++) {
        int fd = b->rearm[i];
        fdent *e = &b->tab[fd];
        e->queued = 0;
        if (e->io && !e->armed && e->io->events)
            (void)arm_now(b, fd, e);
    }
    b->nrearm = 0;
}

static void disarm(cio__backend *b, int fd, fdent *e)
{
    if (!e->armed)
        return;
    remove_poll(b, poll_ud(fd, e->gen));
    e->armed = 0;
}

/* Submits now and runs the kernel's pending work, so removed polls and
 * cancelled ops drop their file references before the caller closes. */
static void submit_now(cio__backend *b)
{
    (void)io_uring_submit_and_get_events(&b->ring);
}


/* Submits a prepared removal or cancellation whose own user_data is
 * req_ud and looks for its answer in the CQ: on -EALREADY (its target was
 * completing, task work pending) the kernel's work has run by then, so it
 * asks again (redo). The target is gone when this returns, unless the
 * answer is not posted yet; then dispatch() repeats the request. */
static void submit_until_done(cio__backend *b, uint64_t req_ud,
                              void (*redo)(cio__backend *b, uint64_t ud))
{
    for (int tries = 0; tries < 8; tries++) {
        submit_now(b);
        int again = 0;
        unsigned head;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&b->ring, head, cqe)
        {
            if (cqe->user_data == req_ud) {
                cqe->user_data = UD_IGNORE; /* answered here */
                again = cqe->res == -EALREADY;
                break;
            }
        }
        if (!again)
            return;
        redo(b, req_ud);
    }
}

static void redo_remove(cio__backend *b, uint64_t req_ud)
{
    remove_poll(b, (req_ud & ~TAG_MASK) | TAG_POLL);
}

static void redo_cancel(cio__backend *b, uint64_t req_ud)
{
    struct io_uring_sqe *sqe = get_sqe(b);
    if (sqe) {
        io_uring_prep_cancel64(sqe, req_ud & ~TAG_MASK,
                               IORING_ASYNC_CANCEL_ALL);
        io_uring_sqe_set_data64(sqe, req_ud);
    }
}

static int ur_add(cio__backend *b, cio__io *io, unsigned events)
{
    int fd = io->fd;
    if (fd < 0)
        return -EBADF;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return CIO__ERRNO();
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
        return -EPERM; /* as epoll: always ready, nothing to wait for */
    if (fd >= b->ntab) {
        int n = b->ntab ? b->ntab : 64;
        while (n <= fd)
            n *= 2;
        fdent *t = cio__realloc(b->tab, (size_t)n * sizeof(*t));
        if (!t)
            return -ENOMEM;
        memset(t + b->ntab, 0, (size_t)(n - b->ntab) * sizeof(*t));
        b->tab = t;
        b->ntab = n;
    }
    fdent *e = &b->tab[fd];
    if (e->io)
        return -EEXIST;
    e->io = io;
    e->gen++;
    io->events = events;
    int r = arm(b, fd, e);
    if (r < 0) {
        e->io = NULL;
        io->events = 0;
    }
    return r;
}

static fdent *lookup(cio__backend *b, cio__io *io)
{
    if (io->fd < 0 || io->fd >= b->ntab || b->tab[io->fd].io != io)
        return NULL;
    return &b->tab[io->fd];
}

static int ur_mod(cio__backend *b, cio__io *io, unsigned events)
{
    fdent *e = lookup(b, io);
    if (!e)
        return -ENOENT;
    if (events == io->events && e->armed)
        return 0;
    disarm(b, io->fd, e);
    e->gen++;
    io->events = events;
    return arm(b, io->fd, e);
}

static int ur_del(cio__backend *b, cio__io *io)
{
    fdent *e = lookup(b, io);
    io->events = 0;
    if (!e)
        return -ENOENT;
    int armed = e->armed;
    uint64_t rm = (poll_ud(io->fd, e->gen) & ~TAG_MASK) | TAG_REMOVE;
    disarm(b, io->fd, e);
    e->gen++;
    e->io = NULL;
    if (armed)
        submit_until_done(b, rm, redo_remove);
    return 0;
}

/* A poll completion for the watcher in slot fd. */
static int poll_done(cio__backend *b, uint64_t ud, int res, unsigned flags)
{
    int fd = (int)((ud >> 3) & 0x1fffffffu);
    uint32_t gen = (uint32_t)(ud >> 32);
    if (fd >= b->ntab)
        return 0;
    fdent *e = &b->tab[fd];
    cio__io *io = e->io;
    if (!io || e->gen != gen)
        return 0; /* removed or replaced: stale */
    if (!(flags & IORING_CQE_F_MORE))
        e->armed = 0;
    unsigned want = io->events & (CIO__EV_READ | CIO__EV_WRITE);
    unsigned rev = 0;
    int rearm = 1;
    if (res < 0) {
        /* cancelled by the kernel or a full CQ ended a multishot poll:
         * just re-arm; a real error wakes both directions once */
        if (res != -ECANCELED && res != -EOVERFLOW && res != -ENOMEM) {
            rev = CIO__EV_ERROR | want;
            rearm = 0;
        }
    } else {
        unsigned m = (unsigned)res;
        if (!(io->events & CIO__EV_EDGE)) {
            /* A one-shot poll reports the state when it fired, which the
             * owner may have consumed since (it read without being told):
             * a level is the state now, as epoll_wait would see it. */
            struct pollfd pfd = {.fd = fd, .events = (short)to_poll(io->events)};
            m = poll(&pfd, 1, 0) > 0 ? (unsigned)pfd.revents : 0;
        }
        if (m & (POLLIN | POLLRDHUP))
            rev |= CIO__EV_READ;
        if (m & POLLOUT)
            rev |= CIO__EV_WRITE;
        if (m & (POLLERR | POLLHUP))
            rev |= CIO__EV_ERROR | want;
        if (m & (POLLRDHUP | POLLHUP))
            rev |= CIO__EV_RDHUP;
        rev &= want | CIO__EV_ERROR |
               (want & CIO__EV_READ ? CIO__EV_RDHUP : 0);
    }
    int n = 0;
    if (rev) {
        io->cb(io, rev);
        n = 1;
    }
    /* the callback may have removed, replaced or re-armed it (and the
     * table may have moved) */
    if (rearm && !b->draining && fd < b->ntab) {
        e = &b->tab[fd];
        if (e->io == io && e->gen == gen && !e->armed && io->events)
            (void)arm(b, fd, e);
    }
    return n;
}

/* ---------------------------------------------------------- socket ops */

static int bufs_setup(cio__backend *b)
{
    if (b->bufs_state)
        return b->bufs_state > 0 ? 0 : -ENOTSUP;
    b->bufs_state = -1;
    if (!b->sock_ops)
        return -ENOTSUP;
    size_t rsz = NBUFS * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, rsz, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return -ENOMEM;
    /* liburing 2.3 has no io_uring_setup_buf_ring: map and register the
     * ring here */
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (uint64_t)(uintptr_t)mem;
    reg.ring_entries = NBUFS;
    reg.bgid = BGID;
    if (io_uring_register_buf_ring(&b->ring, &reg, 0) < 0) {
        munmap(mem, rsz);
        return -ENOTSUP;
    }
    /* Untouched pages cost no memory: a loop that only ever sees small
     * messages touches the first page of each buffer. */
    char *bufs = mmap(NULL, (size_t)NBUFS * BUF_SIZE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (bufs == MAP_FAILED) {
        io_uring_unregister_buf_ring(&b->ring, BGID);
        munmap(mem, rsz);
        return -ENOMEM;
    }
    b->br = mem;
    b->bufs = bufs;
    io_uring_buf_ring_init(b->br);
    for (unsigned i = 0; i < NBUFS; i++)
        io_uring_buf_ring_add(b->br, bufs + (size_t)i * BUF_SIZE, BUF_SIZE,
                              (unsigned short)i, io_uring_buf_ring_mask(NBUFS),
                              (int)i);
    io_uring_buf_ring_advance(b->br, NBUFS);
    b->bufs_state = 1;
    return 0;
}

static unsigned ur_caps(cio__backend *b)
{
    return bufs_setup(b) == 0 ? CIO__CAP_SOCK_OPS : 0;
}

static int ur_pending(cio__backend *b)
{
    return io_uring_sq_ready(&b->ring) > 0 || b->deferred;
}

static int arm_recv(cio__backend *b, cio__uop *op)
{
    struct io_uring_sqe *sqe = get_sqe(b);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_recv_multishot(sqe, op->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    io_uring_sqe_set_data(sqe, op);
    return 0;
}

static int ur_recv(cio__backend *b, cio__uop *op, int fd)
{
    int r = bufs_setup(b);
    if (r < 0)
        return r;
    op->fd = fd;
    op->bstate = OP_RECV;
    op->bnext = NULL;
    r = arm_recv(b, op);
    if (r == 0)
        b->ops_live++;
    return r;
}

static int ur_send(cio__backend *b, cio__uop *op, int fd, const void *p,
                   size_t n)
{
    int e = cio__sys_fault(CIO__SYS_URING_SEND); /* counted; injected: */
    if (CIO_UNLIKELY(e > 0))                     /* as if the queue was */
        return -e;                               /* refused the request */
    struct io_uring_sqe *sqe = get_sqe(b);
    if (!sqe)
        return -EBUSY;
    op->fd = fd;
    op->bstate = 0;
    io_uring_prep_send(sqe, fd, p, n > UINT32_MAX ? UINT32_MAX : n,
                       MSG_NOSIGNAL);
    io_uring_sqe_set_data(sqe, op);
    b->ops_live++;
    return 0;
}

static void starved_unlink(cio__backend *b, cio__uop *op)
{
    cio__uop **pp = &b->starved_head, *prev = NULL;
    while (*pp && *pp != op) {
        prev = *pp;
        pp = &(*pp)->bnext;
    }
    if (!*pp)
        return;
    *pp = op->bnext;
    if (b->starved_tail == op)
        b->starved_tail = prev;
    op->bnext = NULL;
    op->bstate &= ~OP_STARVED;
}

/* Turns the not yet submitted requests with user_data ud into no-ops
 * whose completion is ignored. Returns how many it found. */
static int unsubmit(cio__backend *b, uint64_t ud)
{
    struct io_uring_sq *sq = &b->ring.sq;
    int n = 0;
    for (unsigned i = sq->sqe_head; i != sq->sqe_tail; i++) {
        struct io_uring_sqe *sqe = &sq->sqes[i & sq->ring_mask];
        if (sqe->user_data == ud) {
            io_uring_prep_nop(sqe);
            io_uring_sqe_set_data64(sqe, UD_IGNORE);
            n++;
        }
    }
    return n;
}

static int ur_cancel(cio__backend *b, cio__uop *op)
{
    if (op->bstate & OP_STARVED) {
        /* not in the kernel: its final completion comes from the next
         * poll, never from inside this call */
        op->bstate |= OP_CANCELLED;
        starved_unlink(b, op);
        op->bnext = b->deferred;
        b->deferred = op;
        return 0;
    }
    /* a recv that the kernel ended for want of buffers, its completion
     * not reaped yet, must not be parked and re-armed after this */
    op->bstate |= OP_CANCELLED;
    if (unsubmit(b, (uint64_t)(uintptr_t)op)) {
        /* it never reached the kernel: end it as a starved one ends */
        op->bnext = b->deferred;
        b->deferred = op;
        return 0;
    }
    struct io_uring_sqe *sqe = get_sqe(b);
    if (!sqe)
        return -EBUSY;
    uint64_t ud = (uint64_t)(uintptr_t)op | TAG_CANCEL;
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op,
                           IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, ud);
    submit_until_done(b, ud, redo_cancel);
    return 0;
}

static void ur_buf_put(cio__backend *b, unsigned id)
{
    io_uring_buf_ring_add(b->br, b->bufs + (size_t)id * BUF_SIZE, BUF_SIZE,
                          (unsigned short)id, io_uring_buf_ring_mask(NBUFS),
                          0);
    io_uring_buf_ring_advance(b->br, 1);
    b->bufs_out--;
}

static int op_done(cio__backend *b, cio__uop *op, int res, unsigned flags)
{
    int more = (flags & IORING_CQE_F_MORE) != 0;
    if (res == -ENOBUFS && (op->bstate & OP_RECV) && !more &&
        (b->draining || (op->bstate & OP_CANCELLED)))
        res = -ECANCELED; /* ended, and nobody wants it re-armed */
    if (res == -ENOBUFS && (op->bstate & OP_RECV) && !more) {
        /* out of buffers: wait in line for them, unseen by the owner */
        op->bstate |= OP_STARVED;
        op->bnext = NULL;
        if (b->starved_tail)
            b->starved_tail->bnext = op;
        else
            b->starved_head = op;
        b->starved_tail = op;
        return 0;
    }
    if (!more)
        b->ops_live--;
    char *buf = NULL;
    unsigned id = 0;
    if (flags & IORING_CQE_F_BUFFER) {
        id = flags >> IORING_CQE_BUFFER_SHIFT;
        buf = b->bufs + (size_t)id * BUF_SIZE;
        b->bufs_out++;
    }
    op->cb(op, res, more, buf, id);
    return 1;
}

/* ---------------------------------------------------------------- poll */

typedef struct cqe_copy {
    uint64_t ud;
    int res;
    unsigned flags;
} cqe_copy;

static int dispatch(cio__backend *b, const cqe_copy *c)
{
    uint64_t ud = c->ud;
    switch (ud & TAG_MASK) {
    case 0:
        return op_done(b, (cio__uop *)(uintptr_t)ud, c->res, c->flags);
    case TAG_POLL:
        return poll_done(b, ud, c->res, c->flags);
    case TAG_REMOVE:
        if (c->res == -EALREADY) {
            remove_poll(b, (ud & ~TAG_MASK) | TAG_POLL);
            submit_now(b);
        }
        return 0;
    case TAG_CANCEL:
        if (c->res == -EALREADY) {
            struct io_uring_sqe *sqe = get_sqe(b);
            if (sqe) {
                io_uring_prep_cancel64(sqe, ud & ~TAG_MASK,
                                       IORING_ASYNC_CANCEL_ALL);
                io_uring_sqe_set_data64(sqe, ud);
                submit_now(b);
            }
        }
        return 0;
    default:
        if (ud == UD_WAKE) {
            cio__evfd_consume(&b->wake_pending, b->evfd);
            if (!(c->flags & IORING_CQE_F_MORE) && !b->draining)
                arm_wake(b);
            return 1;
        }
        return 0;
    }
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Buffers came back: re-arm starved receives, oldest first, one per
 * free buffer. Returns the callbacks run (an op that cannot be re-armed
 * ends with -ENOMEM). */
static int rearm_starved(cio__backend *b)
{
    int n = 0;
    for (unsigned avail = NBUFS - b->bufs_out;
         b->starved_head && avail && !b->draining; avail--) {
        cio__uop *op = b->starved_head;
        starved_unlink(b, op);
        if (arm_recv(b, op) < 0) {
            b->ops_live--;
            op->cb(op, -ENOMEM, 0, NULL, 0);
            n++;
        }
    }
    return n;
}

/* Dispatches what the CQ holds. */
static int reap(cio__backend *b)
{
    int n = 0;
    /* Copy a batch out and release the CQ before dispatching: callbacks
     * may submit, cancel and reap (submit_now), adding completions that
     * the next round or the next poll picks up. */
    for (int round = 0; round < 4; round++) {
        struct io_uring_cqe *cqes[BATCH];
        cqe_copy cc[BATCH];
        unsigned k = io_uring_peek_batch_cqe(&b->ring, cqes, BATCH);
        if (!k)
            break;
        for (unsigned i = 0; i < k; i++) {
            cc[i].ud = cqes[i]->user_data;
            cc[i].res = cqes[i]->res;
            cc[i].flags = cqes[i]->flags;
        }
        io_uring_cq_advance(&b->ring, k);
        for (unsigned i = 0; i < k; i++)
            n += dispatch(b, &cc[i]);
        if (k < BATCH)
            break;
    }
    while (b->deferred) {
        cio__uop *op = b->deferred;
        b->deferred = op->bnext;
        op->bnext = NULL;
        op->bstate &= ~OP_STARVED;
        b->ops_live--;
        op->cb(op, -ECANCELED, 0, NULL, 0);
        n++;
    }
    return n + rearm_starved(b);
}

static int ur_poll(cio__backend *b, int64_t timeout_ns)
{
    int r;
    if (b->deferred)
        timeout_ns = 0;
    int64_t deadline = timeout_ns > 0 ? mono_ns() + timeout_ns : 0;
    for (;;) {
        arm_queued(b);
        /* buffers given back since the last poll serve starved receives
         * in this very wait */
        int early = rearm_starved(b);
        if (early)
            return early;
        int fault = cio__sys_fault(CIO__SYS_URING_SUBMIT);
        if (CIO_UNLIKELY(fault)) {
            r = -fault; /* as if io_uring_enter had failed */
        } else if (timeout_ns == 0) {
            r = io_uring_submit_and_get_events(&b->ring);
        } else if (timeout_ns < 0) {
            r = io_uring_submit_and_wait(&b->ring, 1);
        } else {
            struct __kernel_timespec ts = {
                .tv_sec = timeout_ns / 1000000000,
                .tv_nsec = timeout_ns % 1000000000,
            };
            struct io_uring_cqe *cqe;
            r = io_uring_submit_and_wait_timeout(&b->ring, &cqe, 1, &ts,
                                                 NULL);
        }
        if (r < 0 && r != -EINTR && r != -ETIME && r != -EAGAIN &&
            r != -EBUSY)
            return r;
        int n = reap(b);
        /* Completions that concern no watcher (stale polls, removals)
         * end the wait too: wait again for the rest of the time, as
         * epoll_wait would have. */
        if (n || timeout_ns == 0 || r == -EINTR || r == -ETIME)
            return n;
        if (timeout_ns > 0) {
            timeout_ns = deadline - mono_ns();
            if (timeout_ns <= 0)
                return 0;
        }
    }
}

static void ur_drain(cio__backend *b)
{
    if (!b->ops_live)
        return;
    b->draining = 1;
    /* starved ops are not in the kernel: their finals come from reap */
    while (b->starved_head) {
        cio__uop *op = b->starved_head;
        starved_unlink(b, op);
        op->bnext = b->deferred;
        b->deferred = op;
    }
    struct io_uring_sqe *sqe = get_sqe(b);
    if (sqe) {
        io_uring_prep_cancel(sqe, NULL, IORING_ASYNC_CANCEL_ANY);
        io_uring_sqe_set_data64(sqe, UD_IGNORE);
    }
    /* bounded: a send the kernel cannot cancel at once still ends */
    int64_t end = mono_ns() + 2000000000;
    while (b->ops_live && mono_ns() < end) {
        struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 10000000};
        struct io_uring_cqe *cqe;
        (void)io_uring_submit_and_wait_timeout(&b->ring, &cqe, 1, &ts, NULL);
        reap(b);
    }
}

static int ur_wakeup(cio__backend *b)
{
    return cio__evfd_wakeup(&b->wake_pending, b->evfd);
}

const cio__backend_ops cio__backend_uring = {
    .name = "uring",
    .init = ur_init,
    .fini = ur_fini,
    .fd_add = ur_add,
    .fd_mod = ur_mod,
    .fd_del = ur_del,
    .poll = ur_poll,
    .wakeup = ur_wakeup,
    .caps = ur_caps,
    .pending = ur_pending,
    .recv = ur_recv,
    .send = ur_send,
    .cancel = ur_cancel,
    .buf_put = ur_buf_put,
    .drain = ur_drain,
};
