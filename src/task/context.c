/*
 * context.c - context variables (Python's contextvars) for tasks.
 *
 * A context is an immutable, refcounted array of (variable, value) pairs.
 * Creating a task shares its creator's context (one atomic increment; NULL
 * when no variable was ever set, which costs nothing); setting a variable
 * makes a new array with the change and swaps it into the current slot,
 * so copies already handed to other tasks never change. Arrays stay small
 * (one entry per distinct variable), so copy-on-write beats a HAMT here.
 * Refcounts are atomic because a context may be shared with a task
 * started from another thread (run_coroutine_threadsafe).
 */
#include <errno.h>
#include <stdatomic.h>

#include "task/task.h"

struct cio_contextvar {
    atomic_uint refs;
    char *name;
    void *def;
};

typedef struct {
    cio_contextvar *var;
    void *val;
} ctx_entry;

struct cio__ctx {
    atomic_uint refs;
    unsigned n;
    ctx_entry e[];
};

static _Thread_local cio__ctx *tls_thread_ctx;

static void var_release(cio_contextvar *v)
{
    if (atomic_fetch_sub(&v->refs, 1) == 1) {
        cio__free(v->name);
        cio__free(v);
    }
}

cio__ctx *cio__ctx_retain(cio__ctx *c)
{
    if (c)
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void cio__ctx_release(cio__ctx *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (unsigned i = 0; i < c->n; i++)
        var_release(c->e[i].var);
    cio__free(c);
}

static cio__ctx **current_slot(void)
{
    return cio__tls_task ? &cio__tls_task->ctx : &tls_thread_ctx;
}

cio__ctx *cio__ctx_current(void) { return *current_slot(); }

int cio_contextvar_new(cio_contextvar **out, const char *name,
                       void *default_value)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    cio_contextvar *v = cio__malloc(sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->name = cio__strdup(name ? name : "");
    if (!v->name) {
        cio__free(v);
        return -ENOMEM;
    }
    atomic_init(&v->refs, 1);
    v->def = default_value;
    *out = v;
    return 0;
}

void cio_contextvar_free(cio_contextvar *v)
{
    if (v)
        var_release(v);
}

int cio_contextvar_get(const cio_contextvar *v, void **value)
{
    if (!v || !value)
        return -EINVAL;
    const cio__ctx *c = cio__ctx_current();
    if (c)
        for (unsigned i = 0; i < c->n; i++)
            if (c->e[i].var == v) {
                *value = c->e[i].val;
                return 1;
            }
    *value = v->def;
    return 0;
}

int cio_contextvar_set(cio_contextvar *v, void *value)
{
    if (!v)
        return -EINVAL;
    cio__ctx **slot = current_slot();
    cio__ctx *old = *slot;
    unsigned n = old ? old->n : 0, found = n;
    for (unsigned i = 0; i < n; i++)
        if (old->e[i].var == v)
            found = i;
    unsigned nn = found == n ? n + 1 : n;
    cio__ctx *c = cio__malloc(sizeof(*c) + nn * sizeof(ctx_entry));
    if (!c)
        return -ENOMEM;
    atomic_init(&c->refs, 1);
    c->n = nn;
    for (unsigned i = 0; i < n; i++) {
        c->e[i] = old->e[i];
        atomic_fetch_add(&c->e[i].var->refs, 1);
    }
    if (found == n) {
        c->e[n].var = v;
        atomic_fetch_add(&v->refs, 1);
    }
    c->e[found].val = value;
    *slot = c;
    cio__ctx_release(old);
    return 0;
}
