/*
 * pool.c - multiprocessing.Pool and multiprocessing.pool.ThreadPool: one
 * cio_pool over either executor, taking the same byte-buffer functions
 * (cio_process_fn) for both kinds, so a program switches between
 * processes and threads with one argument, as Python's two classes share
 * one interface.
 *
 * The process kind is a thin layer over cio_process_pool. The thread kind
 * runs the function in a cio_thread_pool job that reads its input from,
 * and writes its result into, the concurrent future itself (input copied
 * at submit, result in the future's owned bytes), so both kinds hand back
 * a future whose result is a const cio_bytes * owned by the future.
 *
 * Rejected: apply_async taking a void * argument for the thread kind.
 * Then the two kinds would take different functions and a program could
 * not switch between them; copying a few bytes per job is cheap.
 */
#include <errno.h>

#include "exec/exec.h"

struct cio_pool {
    cio_pool_kind kind;
    cio_process_pool *pp;
    cio_thread_pool *tp;
};

#define THREAD_MAX_RESULT ((size_t)64 * 1024)

typedef struct tjob {
    cio_process_fn fn;
    size_t len;
    unsigned char data[];
} tjob;

int cio_pool_new(cio_pool **out, cio_pool_kind kind, unsigned workers)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (kind != CIO_POOL_PROCESS && kind != CIO_POOL_THREAD)
        return -EINVAL;
    cio_pool *p = cio__calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->kind = kind;
    if (!workers)
        workers = cio__cpu_count();
    int r;
    if (kind == CIO_POOL_PROCESS) {
        cio_process_pool_opts o = CIO_PROCESS_POOL_OPTS_INIT;
        o.max_workers = workers;
        r = cio_process_pool_new(&p->pp, &o);
    } else {
        cio_thread_pool_opts o = CIO_THREAD_POOL_OPTS_INIT;
        o.max_workers = workers;
        o.name_prefix = "cio-tpool";
        r = cio_thread_pool_new(&p->tp, &o);
    }
    if (r < 0) {
        cio__free(p);
        return r;
    }
    *out = p;
    return 0;
}

/* The thread kind's job: arg is the future itself. */
static int tjob_run(void *arg, void **result)
{
    cio_cfuture *cf = arg;
    tjob *j = cf->job;
    void *buf = cio__malloc(THREAD_MAX_RESULT);
    if (!buf)
        return -ENOMEM;
    size_t olen = THREAD_MAX_RESULT;
    int rc = j->fn(j->data, j->len, buf, &olen);
    if (rc == 0 && olen > THREAD_MAX_RESULT)
        rc = -EMSGSIZE;
    if (rc < 0) {
        cio__free(buf);
        return rc;
    }
    cf->out = (cio_bytes){buf, olen};
    *result = &cf->out;
    return 0;
}

int cio_pool_apply_async(cio_pool *p, cio_process_fn fn, const void *in,
                         size_t len, cio_cfuture **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!p || !fn || (len && !in))
        return -EINVAL;
    if (p->kind == CIO_POOL_PROCESS)
        return cio_process_pool_submit(p->pp, fn, in, len, out);
    if (len > CIO_PROCESS_MAX_INPUT)
        return -EMSGSIZE;
    tjob *j = cio__malloc(sizeof(*j) + len);
    if (!j)
        return -ENOMEM;
    j->fn = fn;
    j->len = len;
    if (len)
        memcpy(j->data, in, len);
    cio_cfuture *cf;
    int r = cio__cfuture_alloc(&cf);
    if (r < 0) {
        cio__free(j);
        return r;
    }
    cf->fn = tjob_run;
    cf->arg = cf;
    cf->job = j;
    cf->xfree = cio__free;
    cio_cfuture_retain(cf); /* the queue's */
    r = cio__thread_pool_submit_cf(p->tp, cf);
    if (r < 0) {
        cio_cfuture_release(cf);
        cio_cfuture_release(cf);
        return r;
    }
    *out = cf;
    return 0;
}

int cio_pool_map(cio_pool *p, cio_process_fn fn, const void *ins,
                 size_t in_size, size_t n, void *outs, size_t out_size,
                 int *errors)
{
    if (!p || !fn || (n && ((!ins && in_size) || (!outs && out_size))))
        return -EINVAL;
    if (p->kind == CIO_POOL_PROCESS)
        return cio_process_pool_map(p->pp, fn, ins, in_size, n, outs,
                                    out_size, -1, errors);
    cio_cfuture **fs = cio__calloc(n ? n : 1, sizeof(*fs));
    if (!fs)
        return -ENOMEM;
    int r = 0;
    size_t i;
    for (i = 0; i < n && r == 0; i++)
        r = cio_pool_apply_async(p, fn, (const char *)ins + i * in_size,
                                 in_size, &fs[i]);
    if (r < 0) {
        for (size_t j = 0; j + 1 < i; j++) {
            cio_cfuture_cancel(fs[j]);
            cio_cfuture_release(fs[j]);
        }
        cio__free(fs);
        return r;
    }
    int first = 0;
    for (i = 0; i < n; i++) {
        void *res;
        int e = cio_cfuture_result(fs[i], -1, &res);
        if (e == 0)
            e = cio__bytes_copy_fixed(res, (char *)outs + i * out_size,
                                      out_size);
        if (errors)
            errors[i] = e;
        if (e < 0 && !first)
            first = e;
        cio_cfuture_release(fs[i]);
    }
    cio__free(fs);
    return first;
}

void cio_pool_free(cio_pool *p)
{
    if (!p)
        return;
    cio_process_pool_free(p->pp);
    cio_thread_pool_free(p->tp);
    cio__free(p);
}
