/*
 * gen.c - generators: coroutines driven by their caller, not the loop.
 *
 * A generator body runs on its own pooled stack. next/send/throw switch
 * from whatever context calls them (the thread's stack, a task, another
 * generator) into the body; cio_gen_yield switches back. Values cross in
 * the generator object, never on a stack, so a generator may be resumed
 * from a different context each time (Python allows that too).
 *
 * While a body runs, the "current task" is hidden: a generator is not a
 * task, and a suspending task call made from inside it must fail with
 * -EINVAL rather than switch the task's loop state from the wrong stack.
 *
 * Rejected: a stackless (switch/case, Duff's device) generator. It cannot
 * yield from nested calls, which is what yield-from delegation and
 * straight-line bodies need, and the stackful switch is already fast.
 */
#include <errno.h>

#include "task/task.h"

enum { G_NEW, G_SUSPENDED, G_RUNNING, G_DONE };

struct cio_gen {
    cio__coro coro;
    cio__coro *caller;
    cio_gen_fn fn;
    void *arg;
    size_t stack_size;
    int state;
    int started;
    void *xfer; /* value crossing the switch, in either direction */
    int xerr;   /* error thrown in, or the body's return code */
};

int cio_gen_new(cio_gen **out, cio_gen_fn fn, void *arg, size_t stack_size)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!fn)
        return -EINVAL;
    cio_gen *g = cio__calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->fn = fn;
    g->arg = arg;
    g->stack_size = stack_size;
    g->state = G_NEW;
    *out = g;
    return 0;
}

static _Noreturn void gen_entry(void *arg)
{
    cio_gen *g = arg;
    void *ret = NULL;
    int rc = g->fn(g, g->arg, &ret);
    g->xfer = ret;
    g->xerr = rc > 0 ? 0 : rc;
    g->state = G_DONE;
    cio__coro_exit(&g->coro, g->caller);
}

static int resume(cio_gen *g, void *in, int err, void **value)
{
    if (value)
        *value = NULL;
    if (!g || g->state == G_RUNNING || g->state == G_DONE)
        return -EINVAL;
    if (g->state == G_NEW) {
        if (err < 0) { /* throw into an unstarted generator */
            g->state = G_DONE;
            return err;
        }
        if (in) /* can't send non-NULL to a just-started generator */
            return -EINVAL;
        cio__coro_opts o = {g->stack_size, -1};
        int r = cio__coro_create(&g->coro, &o, gen_entry, g);
        if (r < 0)
            return r;
        cio__coro_set_name(&g->coro, "generator");
        g->started = 1;
    }
    g->xfer = in;
    g->xerr = err;
    g->caller = cio__coro_current();
    g->state = G_RUNNING;
    cio__task *saved = cio__tls_task;
    cio__tls_task = NULL;
    cio__coro_switch(g->caller, &g->coro);
    cio__tls_task = saved;
    if (g->state == G_DONE) {
        cio__coro_destroy(&g->coro);
        g->started = 0;
        if (g->xerr < 0)
            return g->xerr;
        if (value)
            *value = g->xfer;
        return CIO_GEN_RETURNED;
    }
    if (value)
        *value = g->xfer;
    return CIO_GEN_YIELDED;
}

int cio_gen_next(cio_gen *g, void **value) { return resume(g, NULL, 0, value); }

int cio_gen_send(cio_gen *g, void *in, void **value)
{
    return resume(g, in, 0, value);
}

int cio_gen_throw(cio_gen *g, int err, void **value)
{
    if (err >= 0) {
        if (value)
            *value = NULL;
        return -EINVAL;
    }
    return resume(g, NULL, err, value);
}

int cio_gen_yield(cio_gen *g, void *value, void **sent)
{
    if (sent)
        *sent = NULL;
    if (!g || g->state != G_RUNNING || cio__coro_current() != &g->coro)
        return -EINVAL;
    g->xfer = value;
    g->state = G_SUSPENDED;
    cio__coro_switch(&g->coro, g->caller);
    if (g->xerr < 0)
        return g->xerr;
    if (sent)
        *sent = g->xfer;
    return 0;
}

int cio_gen_yield_from(cio_gen *g, cio_gen *sub, void **retval)
{
    if (retval)
        *retval = NULL;
    if (!g || !sub || sub == g || g->state != G_RUNNING ||
        cio__coro_current() != &g->coro)
        return -EINVAL;
    void *in = NULL;
    int err = 0;
    for (;;) {
        void *out;
        int r = err ? cio_gen_throw(sub, err, &out)
                    : cio_gen_send(sub, in, &out);
        if (r == CIO_GEN_RETURNED) {
            if (retval)
                *retval = out;
            return 0;
        }
        if (r < 0)
            return r;
        r = cio_gen_yield(g, out, &in);
        err = r < 0 ? r : 0;
    }
}

int cio_gen_finished(const cio_gen *g) { return g && g->state == G_DONE; }

int cio_gen_free(cio_gen *g)
{
    if (!g)
        return 0;
    int ignored = 0;
    if (g->state == G_SUSPENDED) {
        int r = resume(g, NULL, CIO_EGENEXIT, NULL);
        if (r == CIO_GEN_YIELDED) {
            /* The body ignored the close (Python raises RuntimeError
             * here). Its stack is dropped without unwinding. */
            ignored = 1;
        }
    }
    if (g->started)
        cio__coro_destroy(&g->coro);
    cio__free(g);
    return ignored;
}
