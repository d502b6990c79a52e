/*
 * task.c - tasks: stackful coroutines wrapped as futures.
 *
 * A task's first step is queued at creation and never run inline (unless
 * the caller opts into eager start), as asyncio does. Its stack is
 * secured at creation, taken when the first step runs and returned as
 * soon as the body ends.
 *
 * Stack reservation: running out of stack mappings (vm.max_map_count,
 * RLIMIT_AS) must make cio_task_create fail with -ENOMEM, never leave a
 * task that dies at its first step. Yet a finishing task hands its stack
 * to the next never-started one (handoff_next), so a batch of trivial
 * tasks runs on one stack and must not cost a mapping per task. So each
 * loop keeps spare coroutines (prepared on a mapped stack, never run) and
 * counts reservations (never-started tasks of the default stack size).
 * Creation maps a spare only when spares <= reservations; a first step
 * takes a spare; a task that never needs one (handed a stack, cancelled
 * before it starts) drops its reservation and leaves the spare to the
 * next creation. spares >= reservations always holds; extra spares decay
 * by one per finished task and go with the loop. A finishing task's own
 * default-size stack joins the spares (rearmed, not unmapped) while there
 * are fewer than SPARE_KEEP beyond the reservations.
 *
 * Reservations are capped (RESERVE_MAX never-started tasks per loop): a
 * gather of 100,000 trivial tasks creates them all before any runs, and
 * one mapping each would hit vm.max_map_count at about 32,000 although
 * the hand-off runs them all on one stack. Past the cap a task is created
 * unreserved and takes a stack at its first step like before (a spare if
 * one is free, else a new mapping; if that fails the task ends with
 * -ENOMEM without running, after the one-line message). So creating and
 * running tasks a batch of up to RESERVE_MAX at a time fails at
 * cio_task_create at the limit; only bigger batches of tasks that all
 * suspend can meet the limit at a first step. A task with an explicit
 * stack_size (rare) gets its own coroutine at creation instead. The
 * reservation is per loop, not in the per-thread stack pool, because a
 * loop that is not running may be used from any thread: the creating and
 * the running thread can differ.
 *
 * Control flow: whoever runs a step (the loop, or the creator of an eager
 * task) switches into the task and is recorded as its resumer; the task
 * switches back there when it suspends or ends. A finished task cannot
 * free its own stack while standing on it, so the resumer reaps it.
 *
 * Cancellation follows asyncio's Task.cancel: a request is offered to the
 * current wait (the awaited future, or the suspension's cancel hook); if
 * the wait cannot take it, must_cancel delivers -ECANCELED at the next
 * resumption. A task cancelled before its first step never runs its body.
 */
#include <errno.h>
#include <stdio.h>

#include "task/task.h"

_Thread_local cio__task *cio__tls_task;

#define TASK_FREE_MAX 1024

static void task_step(cio__task *t, int from_loop);

static void task_run(cio__ready *r)
{
    cio__task *t = cio__container_of(r, cio__task, rd);
    t->queued = 0;
    task_step(t, 1);
}

const char *cio__task_describe(cio__ready *r)
{
    if (r->run != task_run)
        return NULL;
    return cio_task_name(&cio__container_of(r, cio__task, rd)->f);
}

void cio__task_wake(cio__task *t, int v)
{
    t->wake = v;
    if (!t->queued) {
        t->queued = 1;
        cio__loop_push(t->f.loop, &t->rd);
    }
}

/* Coroutine objects (context + stack) live apart from tasks so that a
 * finishing task can hand its running stack to the next one. The loop's
 * cache (loop->coro_free, owned by this file) recycles bare objects and
 * holds the spares described at the top. */
#define CORO_FREE_MAX 1024
/* Spares kept above the reservations before finished tasks trim them. */
#define SPARE_KEEP 64
/* Never-started tasks that hold a reservation, per loop (see the top). */
#define RESERVE_MAX 1024

typedef struct task_coro task_coro;
struct task_coro {
    cio__coro co; /* first: a task's co points here */
    task_coro *next;
};

typedef struct coro_cache {
    task_coro *bare; /* objects without a stack */
    size_t nbare;
    task_coro *spare; /* default stack mapped and prepared, never run */
    size_t nspare;
    size_t nreserved; /* never-started tasks of default stack size */
} coro_cache;

static _Noreturn void task_entry(void *arg);

static void drain_task_free(cio_loop *loop)
{
    coro_cache *cc = loop->coro_free;
    if (cc) {
        while (cc->spare) {
            task_coro *c = cc->spare;
            cc->spare = c->next;
            cio__coro_destroy(&c->co);
            cio__free(c);
        }
        while (cc->bare) {
            task_coro *c = cc->bare;
            cc->bare = c->next;
            cio__free(c);
        }
        cio__free(cc);
        loop->coro_free = NULL;
    }
    cio__task *t = loop->task_free;
    while (t) {
        cio__task *n = t->free_next;
        cio__free(t);
        t = n;
    }
    loop->task_free = NULL;
    loop->task_free_len = 0;
}

static coro_cache *cache_get(cio_loop *loop)
{
    coro_cache *cc = loop->coro_free;
    if (CIO_LIKELY(cc != NULL))
        return cc;
    cc = cio__malloc(sizeof(*cc));
    if (!cc)
        return NULL;
    memset(cc, 0, sizeof(*cc));
    loop->coro_free = cc;
    loop->task_free_fn = drain_task_free;
    return cc;
}

static task_coro *coro_get(coro_cache *cc)
{
    task_coro *c = cc->bare;
    if (c) {
        cc->bare = c->next;
        cc->nbare--;
        return c;
    }
    return cio__malloc(sizeof(task_coro));
}

static void coro_put(cio_loop *loop, coro_cache *cc, task_coro *c)
{
    if (cc->nbare < CORO_FREE_MAX && !loop->freed) {
        c->next = cc->bare;
        cc->bare = c;
        cc->nbare++;
    } else {
        cio__free(c);
    }
}

/* Returns a coroutine's stack to the thread's pool and the object to the
 * cache. co must not be running. */
static void coro_release(cio_loop *loop, coro_cache *cc, cio__coro *co)
{
    cio__coro_destroy(co);
    coro_put(loop, cc, (task_coro *)(void *)co);
}

/* A coroutine ready to run a task: stack mapped (or taken from the
 * thread's pool), context prepared. -ENOMEM when the stack cannot be
 * mapped; the stack layer has then printed its one-line explanation. */
static int coro_new(cio_loop *loop, coro_cache *cc, size_t stack_size,
                    task_coro **out)
{
    task_coro *c = coro_get(cc);
    if (!c)
        return -ENOMEM;
    cio__coro_opts o = {stack_size, -1};
    int r = cio__coro_create(&c->co, &o, task_entry, &c->co);
    if (r < 0) {
        coro_put(loop, cc, c);
        return r;
    }
    *out = c;
    return 0;
}

/* Takes a reservation for a new default-size task, mapping a spare first
 * when every existing one is promised already. */
static int reserve_stack(cio_loop *loop, coro_cache *cc)
{
    if (cc->nspare <= cc->nreserved) {
        task_coro *c;
        int r = coro_new(loop, cc, 0, &c);
        if (r < 0)
            return r;
        c->next = cc->spare;
        cc->spare = c;
        cc->nspare++;
    }
    cc->nreserved++;
    return 0;
}

/* Drops the reservation of a task that will never take its spare. The
 * spare stays for the next creation: unmapping it here would unmap, in a
 * batch of handed-off tasks, the stacks the next batch maps again. */
static void unreserve_stack(coro_cache *cc)
{
    /* No CIO_ASSERT here (hand-off hot path): an underflow would break
     * take_spare's check at the next first step. */
    cc->nreserved--;
}

/* A first step's coroutine; one exists since its task holds a
 * reservation. */
static cio__coro *take_spare(coro_cache *cc)
{
    CIO_ASSERT(cc->nreserved > 0 && cc->nspare >= cc->nreserved);
    task_coro *c = cc->spare;
    cc->spare = c->next;
    cc->nspare--;
    cc->nreserved--;
    return &c->co;
}

/* Called as a task finishes: drops one spare no reservation needs, so a
 * burst of never-started tasks does not keep its stacks for the loop's
 * whole life. One per finish keeps it O(1) on that path. */
static void trim_spares(cio_loop *loop, coro_cache *cc)
{
    if (CIO_LIKELY(cc->nspare <= cc->nreserved + SPARE_KEEP))
        return;
    task_coro *c = cc->spare;
    cc->spare = c->next;
    cc->nspare--;
    coro_release(loop, cc, &c->co);
}

void cio__task_stack_counts(cio_loop *loop, size_t *spares, size_t *reserved)
{
    coro_cache *cc = loop->coro_free;
    *spares = cc ? cc->nspare : 0;
    *reserved = cc ? cc->nreserved : 0;
}

void cio__task_free_mem(cio__task *t)
{
    cio_loop *loop = t->f.loop;
    if (t->name && t->name != t->name_buf)
        cio__free(t->name);
    cio__free(t->cancel_msg);
    cio__ctx_release(t->ctx);
    if (loop->task_free_len < TASK_FREE_MAX && !loop->freed) {
        t->free_next = loop->task_free;
        loop->task_free = t;
        loop->task_free_len++;
    } else {
        cio__free(t);
    }
}

/* The body ended (or never started): record the future's outcome, leave
 * the live-task list and drop the loop's reference. */
static void task_complete(cio__task *t)
{
    cio_loop *loop = t->f.loop;
    int rc = t->outcome;
    cio_future *f = &t->f;
    if (rc == -ECANCELED) {
        f->err = -ECANCELED;
        if (t->cancel_msg) {
            f->msg = t->cancel_msg;
            t->cancel_msg = NULL;
        }
        if (t->out_result && t->result_dtor)
            t->result_dtor(t->out_result);
        cio__future_complete(f, CIO__F_CANCELLED);
    } else if (rc < 0) {
        f->err = rc;
        if (t->out_result && t->result_dtor)
            t->result_dtor(t->out_result);
        cio__future_complete(f, CIO__F_DONE);
    } else {
        f->err = 0;
        f->result = t->out_result;
        f->dtor = t->result_dtor;
        cio__future_complete(f, CIO__F_DONE);
    }
    cio__list_remove(&t->link);
    loop->ntasks--;
    cio_future_release(f); /* the loop's reference */
}

/* The next ready item, if it is a task that has never run and may take
 * over the calling task's stack as it stands: same loop batch, same stack
 * size, nothing to deliver before its body. Popping it here is exactly
 * what the loop would do next, so the order of work is unchanged; what
 * goes away is the exit switch, the stack release and re-take, the
 * context preparation and the switch in. */
static cio__task *handoff_next(cio__task *t)
{
    cio_loop *loop = t->f.loop;
    cio__ready *r = cio__loop_next_ready(loop);
    if (!t->from_loop || !r || r->run != task_run)
        return NULL;
    cio__task *n = cio__container_of(r, cio__task, rd);
    /* Default stack size only: a task with its own stack_size got its own
     * coroutine at creation and keeps it. */
    if (n->started || n->must_cancel || n->stack_size != 0 ||
        t->stack_size != 0)
        return NULL;
    cio__loop_take_ready(loop, r);
    n->queued = 0;
    if (n->reserved) {
        n->reserved = 0;
        unreserve_stack(loop->coro_free);
    }
    return n;
}

/* Debug mode: the body (and its deferred cleanups) ended with locks
 * still held. They stay locked, as in asyncio; their records are dropped
 * so a later release by another task does not touch this one. */
static CIO_NOINLINE void report_held_locks(cio__task *t)
{
    int n = 0;
    while (!cio__list_empty(&t->held_locks)) {
        cio__held *h = cio__container_of(t->held_locks.next, cio__held, link);
        cio__list_remove(&h->link);
        h->holder = NULL;
        n++;
    }
    char detail[64];
    snprintf(detail, sizeof(detail), "%d lock(s) still held, never released",
             n);
    cio__loop_report(t->f.loop, "task ended while holding a lock", 0,
                     detail, &t->f, cio_task_name(&t->f));
}

static _Noreturn void task_entry(void *arg)
{
    cio__coro *co = arg;
    cio__task *t = cio__tls_task;
    for (;;) {
        void *res = NULL;
        int rc = t->body.fn(t->body.arg, &res);
        /* Deferred cleanups run in the task, so they may suspend too. */
        while (t->defers) {
            cio__defer *d = t->defers;
            t->defers = d->next;
            d->fn(d->arg);
            cio__free(d);
        }
        if (CIO_UNLIKELY(!cio__list_empty(&t->held_locks)))
            report_held_locks(t);
        if (rc >= 0 && t->must_cancel) {
            /* Cancelled right before the body returned: asyncio reports
             * the task cancelled, and so do we. */
            t->must_cancel = 0;
            rc = -ECANCELED;
        }
        if (rc > 0)
            rc = 0;
        t->outcome = rc;
        t->out_result = res;
        cio__task *n = handoff_next(t);
        if (!n)
            break;
        /* n inherits this stack; t is finished and can be completed from
         * here, since nothing of it is on the stack any more. */
        n->co = co;
        n->started = 1;
        n->from_loop = 1;
        n->resumer = t->resumer;
        n->tstate = CIO__T_RUNNING;
        cio__coro_set_name(co, n->name);
        co->name_num = n->num;
        t->co = NULL;
        t->tstate = CIO__T_FINISHED;
        cio__tls_task = n;
        task_complete(t);
        t = n;
    }
    t->tstate = CIO__T_FINISHED;
    cio__coro_exit(co, t->resumer);
}

/* The first step of a task created past RESERVE_MAX: a spare nobody
 * has reserved, else a new mapping (-ENOMEM when none can be had). */
static CIO_NOINLINE int first_step_stack(cio_loop *loop, coro_cache *cc,
                                         cio__task *t)
{
    if (cc->nspare > cc->nreserved) {
        task_coro *c = cc->spare;
        cc->spare = c->next;
        cc->nspare--;
        t->co = &c->co;
        return 0;
    }
    task_coro *c;
    int r = coro_new(loop, cc, 0, &c);
    if (r == 0)
        t->co = &c->co;
    return r;
}

static void task_step(cio__task *t, int from_loop)
{
    cio_loop *loop = t->f.loop;
    if (!t->started) {
        coro_cache *cc = loop->coro_free;
        if (t->must_cancel) {
            /* It never runs: give back what creation secured. */
            if (t->co) {
                coro_release(loop, cc, t->co);
                t->co = NULL;
            } else if (t->reserved) {
                t->reserved = 0;
                unreserve_stack(cc);
            }
            t->must_cancel = 0;
            t->outcome = -ECANCELED;
            t->tstate = CIO__T_FINISHED;
            task_complete(t);
            return;
        }
        if (!t->co) {
            if (CIO_LIKELY(t->reserved)) {
                t->reserved = 0;
                t->co = take_spare(cc);
            } else {
                int r = first_step_stack(loop, cc, t);
                if (r < 0) {
                    t->outcome = r;
                    t->tstate = CIO__T_FINISHED;
                    task_complete(t);
                    return;
                }
            }
        }
        cio__coro_set_name(t->co, t->name);
        t->co->name_num = t->num;
        t->started = 1;
    }
    cio__task *prev = cio__tls_task;
    cio__tls_task = t;
    t->tstate = CIO__T_RUNNING;
    t->from_loop = (uint8_t)from_loop;
    t->resumer = cio__coro_current();
    cio__coro_switch(t->resumer, t->co);
    /* Whoever switched back: t, or a task t handed its stack to. */
    cio__task *y = cio__tls_task;
    cio__tls_task = prev;
    if (y->tstate == CIO__T_FINISHED) {
        coro_cache *cc = loop->coro_free;
        cio__coro *co = y->co;
        y->co = NULL;
        if (y->stack_size == 0 && cc->nspare < cc->nreserved + SPARE_KEEP &&
            !loop->freed && cio__coro_rearm(co) == 0) {
            /* While spares are few, a default-size stack becomes a spare
             * as it stands: the next task (an eager one created right
             * after, typically: one per HTTP/2 stream) runs on it without
             * the round trip through the thread's stack pool and the
             * set-up of a new coroutine (~320 instructions per task).
             * Past SPARE_KEEP it goes back as before, so a burst's extra
             * spares still decay. */
            task_coro *c = (task_coro *)(void *)co;
            c->next = cc->spare;
            cc->spare = c;
            cc->nspare++;
        } else {
            coro_release(loop, cc, co);
        }
        trim_spares(loop, cc);
        task_complete(y);
    }
}

int cio__task_suspend_on(cio__task *t)
{
    if (t->must_cancel) {
        int taken = 0;
        if (t->fut_waiter)
            taken = cio_future_cancel(t->fut_waiter, t->cancel_msg) == 1;
        else if (t->susp_cancel)
            taken = t->susp_cancel(t);
        if (taken)
            t->must_cancel = 0;
    }
    t->tstate = CIO__T_SUSPENDED;
    cio__coro_switch(t->co, t->resumer);
    if (t->must_cancel) {
        t->must_cancel = 0;
        return -ECANCELED;
    }
    return t->wake;
}

int cio__task_cancel(cio__task *t, const char *msg)
{
    if (t->f.state != CIO__F_PENDING || t->tstate == CIO__T_FINISHED)
        return 0;
    t->ncancel++;
    if (msg) {
        char *m = cio__strdup(msg);
        if (m) {
            cio__free(t->cancel_msg);
            t->cancel_msg = m;
        }
    }
    if (t->tstate == CIO__T_SUSPENDED) {
        if (t->fut_waiter) {
            if (cio_future_cancel(t->fut_waiter, t->cancel_msg) == 1)
                return 1;
        } else if (t->susp_cancel) {
            if (t->susp_cancel(t))
                return 1;
        }
    }
    t->must_cancel = 1;
    return 1;
}

int cio_task_cancel(cio_task *t, const char *msg)
{
    return cio_future_cancel(t, msg);
}

/* cio_task_create's stack when no spare is free, the task has its own
 * stack size, or the loop's first task makes the cache: map one (or take
 * it from the thread's pool). */
static CIO_NOINLINE int secure_stack(cio_loop *loop, cio__task *t)
{
    coro_cache *cc = cache_get(loop);
    if (!cc)
        return -ENOMEM;
    if (t->stack_size == 0) {
        if (cc->nreserved >= RESERVE_MAX)
            return 0; /* unreserved: its first step finds a stack */
        int r = reserve_stack(loop, cc);
        if (r == 0)
            t->reserved = 1;
        return r;
    }
    task_coro *c;
    int r = coro_new(loop, cc, t->stack_size, &c);
    if (r == 0)
        t->co = &c->co;
    return r;
}

/* The default "Task-N" is only a number until someone reads it: naming
 * is on the spawn path, and formatting it there cost a quarter of a
 * trivial task's life. The overflow report formats it itself. */
static void set_default_name(cio__task *t, cio_loop *loop)
{
    t->num = ++loop->task_counter;
    t->name = NULL;
}

int cio_task_create(cio_loop *loop, cio_coro coro, const cio_task_opts *opts,
                    cio_task **out)
{
    if (out)
        *out = NULL;
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (!coro.fn)
        return CIO_MISUSE("NULL coroutine function");
    if (CIO_UNLIKELY(!cio__loop_dump_hook))
        cio__task_install_hooks();
    cio__task *t = loop->task_free;
    if (t) {
        loop->task_free = t->free_next;
        loop->task_free_len--;
    } else {
        t = cio__malloc(sizeof(*t));
        if (!t)
            return -ENOMEM;
        loop->task_free_fn = drain_task_free;
    }
    /* Field by field rather than memset: zeroing the whole task with rep
     * stos was once the largest single cost of a spawn. */
    cio__future_init(&t->f, loop, 1);
    t->queued = 0;
    t->started = 0;
    t->must_cancel = 0;
    t->reserved = 0;
    t->tstate = CIO__T_NEW;
    t->ncancel = 0;
    t->cancel_msg = NULL;
    t->outcome = 0;
    t->out_result = NULL;
    t->fut_waiter = NULL;
    t->susp_cancel = NULL;
    t->susp_arg = NULL;
    t->wait_what = NULL;
    t->tscopes = NULL;
    cio__list_init(&t->held_locks);
    t->defers = NULL;
    t->co = NULL;
    t->from_loop = 0;
    t->name = NULL;
    t->num = 0;
    t->stack_size = opts ? opts->stack_size : 0;
    if (opts && opts->name) {
        size_t n = strlen(opts->name);
        if (n < sizeof(t->name_buf)) {
            memcpy(t->name_buf, opts->name, n + 1);
            t->name = t->name_buf;
        } else if (!(t->name = cio__strdup(opts->name))) {
            r = -ENOMEM;
            goto fail;
        }
    } else {
        set_default_name(t, loop);
    }
    /* The stack is secured last, after everything else that can fail, so
     * a failure has no reservation to undo. Inline only the common case:
     * a default-size task and a spare nobody has reserved. */
    coro_cache *cc = loop->coro_free;
    if (CIO_LIKELY(cc && t->stack_size == 0 && cc->nspare > cc->nreserved)) {
        cc->nreserved++;
        t->reserved = 1;
    } else if ((r = secure_stack(loop, t)) < 0)
        goto fail;
    t->body = coro;
    t->rd.run = task_run;
    t->result_dtor = opts ? opts->result_dtor : NULL;
    t->ctx = cio__ctx_retain(cio__ctx_current());
    cio__list_insert_tail(&loop->tasks, &t->link);
    loop->ntasks++;
    if (out) {
        t->f.refs++;
        *out = &t->f;
    }
    if (opts && opts->eager && cio__tls_running == loop) {
        task_step(t, 0);
    } else {
        t->queued = 1;
        cio__loop_push(loop, &t->rd);
    }
    return 0;
fail:
    t->ctx = NULL;
    t->f.refs = 0;
    cio__loop_unref(loop);
    cio__task_free_mem(t);
    return r;
}

int cio_ensure_future(cio_loop *loop, cio_future *f, cio_coro coro,
                      cio_future **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if ((f != NULL) == (coro.fn != NULL))
        return -EINVAL;
    if (f) {
        if (loop && f->loop != loop)
            return -EINVAL;
        *out = cio_future_retain(f);
        return 0;
    }
    return cio_task_create(loop, coro, NULL, out);
}

cio_task *cio_current_task(void)
{
    return cio__tls_task ? &cio__tls_task->f : NULL;
}

int cio_task_state_get(const cio_task *f)
{
    if (!f || !f->is_task)
        return -EINVAL;
    const cio__task *t = (const cio__task *)(const void *)f;
    if (f->state == CIO__F_CANCELLED)
        return CIO_TASK_CANCELLED;
    if (f->state == CIO__F_DONE)
        return CIO_TASK_DONE;
    return t->tstate == CIO__T_RUNNING ? CIO_TASK_RUNNING : CIO_TASK_PENDING;
}

const char *cio_task_name(const cio_task *f)
{
    if (!f || !f->is_task)
        return NULL;
    /* Formatting the default name on first read writes into the task;
     * the object is the caller's anyway, const only promises no change
     * visible through the API. */
    cio__task *t = (cio__task *)(void *)(uintptr_t)f;
    if (!t->name && t->num) {
        char digits[24];
        int n = 0;
        uint64_t v = t->num;
        do {
            digits[n++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        char *p = t->name_buf;
        memcpy(p, "Task-", 5);
        p += 5;
        while (n)
            *p++ = digits[--n];
        *p = 0;
        t->name = t->name_buf;
    }
    return t->name;
}

int cio_task_set_name(cio_task *f, const char *name)
{
    cio__task *t = cio__task_of(f);
    if (!t || !name)
        return -EINVAL;
    size_t n = strlen(name);
    char *old = t->name != t->name_buf ? t->name : NULL;
    if (n < sizeof(t->name_buf)) {
        memcpy(t->name_buf, name, n + 1);
        t->name = t->name_buf;
    } else {
        char *d = cio__strdup(name);
        if (!d)
            return -ENOMEM;
        t->name = d;
    }
    cio__free(old);
    if (t->co)
        cio__coro_set_name(t->co, t->name);
    return 0;
}

int cio_task_cancelling(const cio_task *f)
{
    if (!f || !f->is_task)
        return -EINVAL;
    return ((const cio__task *)(const void *)f)->ncancel;
}

int cio_task_uncancel(cio_task *f)
{
    cio__task *t = cio__task_of(f);
    if (!t)
        return -EINVAL;
    int r = cio__thread_check(f->loop);
    if (r < 0)
        return r;
    if (t->ncancel > 0)
        t->ncancel--;
    if (t->ncancel == 0)
        t->must_cancel = 0;
    return t->ncancel;
}

int cio_loop_all_tasks(cio_loop *loop, cio_task **out, size_t cap)
{
    if (!loop || (cap && !out))
        return -EINVAL;
    /* The task list changes under a running loop: only its thread may
     * walk it. */
    int r = cio__thread_check(loop);
    if (r < 0)
        return r;
    size_t n = 0;
    for (cio__list *l = loop->tasks.next; l != &loop->tasks; l = l->next) {
        cio__task *t = cio__container_of(l, cio__task, link);
        if (n < cap)
            out[n] = &t->f;
        n++;
    }
    return (int)n;
}

int cio_task_defer(void (*fn)(void *), void *arg)
{
    cio__task *t = cio__tls_task;
    if (!t || !fn)
        return CIO_MISUSE(t ? "NULL fn" : "called outside a task");
    cio__defer *d = cio__malloc(sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->fn = fn;
    d->arg = arg;
    d->next = t->defers;
    t->defers = d;
    return 0;
}

/* ---- sleep ---- */

static void sleep_fire(cio__handle *h)
{
    cio__task *t = h->arg;
    *(int *)h->arg2 = 0; /* the sleeper's "armed" */
    cio__unpark(t, 0);
}

static int sleep_cancel(cio__task *t)
{
    cio__handle *h = cio__park_arg(t);
    *(int *)h->arg2 = 0;
    cio__handle_cancel(t->f.loop, h);
    cio__unpark(t, -ECANCELED);
    return 1;
}

int cio_sleep(int64_t duration)
{
    cio__task *t = cio__tls_task;
    if (!t)
        return CIO_MISUSE("called outside a task");
    cio_loop *loop = t->f.loop;
    if (duration <= 0) {
        cio__task_wake(t, 0);
        return cio__park(t, NULL, NULL, "yield");
    }
    cio__handle *h = cio__handle_get(loop);
    if (!h)
        return -ENOMEM;
    int armed = 1; /* the timer is set; cleared when it fires */
    h->icb = sleep_fire;
    h->arg = t;
    h->arg2 = &armed;
    int r = cio__handle_at(loop, h, cio_loop_time(loop) + duration);
    if (r < 0)
        return r;
    r = cio__park(t, sleep_cancel, h, "sleep");
    if (armed) /* resumed by a late must_cancel while the timer is armed */
        cio__handle_cancel(loop, h);
    return r;
}
