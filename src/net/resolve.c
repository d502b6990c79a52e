/*
 * resolve.c - name resolution without blocking the loop: cio__resolve and
 * the public cio_getaddrinfo (asyncio's loop.getaddrinfo).
 *
 * How: a numeric host (or none) is converted inline by getaddrinfo with
 * AI_NUMERICHOST (and AI_NUMERICSERV for a numeric port), which never
 * touches DNS, files or sockets. Anything else is a job on the loop's
 * default thread pool. The job is a heap object with an atomic refcount
 * of two: one for the waiting task, one dropped by a done callback of the
 * job's concurrent future, which runs exactly once whether the job ran or
 * was cancelled before it started. So a task cancelled while a worker is
 * inside getaddrinfo returns at once, and whichever side lets go last
 * frees the answer: no leak, no use after free, and the worker never
 * touches the task's stack.
 *
 * Which resolver: names go to c-ares on the loop (dns.c) unless the loop
 * was configured with CIO_RESOLVER_GETADDRINFO (cio_resolver_configure)
 * or the environment says CIO_RESOLVER=getaddrinfo; then they go to
 * getaddrinfo on the pool as below (docs/design.md, "DNS").
 *
 * Rejected for the pool path: cio_to_thread with arguments on the task's
 * stack (a cancelled task would unwind while the worker still writes into
 * them).
 */
#include <errno.h>
#include <stdatomic.h>

#include "exec/exec.h"
#include "net/addr.h"
#include "net/dns.h"
#include "task/task.h"

typedef struct rjob {
    atomic_uint refs;
    char *host, *port;
    struct addrinfo hints;
    int rc;                 /* cio error, set by the worker */
    struct addrinfo *res;   /* the answer, until taken */
} rjob;

static void rjob_release(rjob *j)
{
    if (atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (j->res)
        freeaddrinfo(j->res);
    cio__free(j->host);
    cio__free(j->port);
    cio__free(j);
}

/* Runs in a worker thread. */
static int rjob_run(void *arg, void **result)
{
    rjob *j = arg;
    (void)result;
    errno = 0;
    int eai = getaddrinfo(j->host, j->port, &j->hints, &j->res);
    j->rc = cio__dns_eai_to_err(eai, errno);
    if (eai)
        j->res = NULL;
    return 0;
}

/* Runs once, in whichever thread completes or cancels the future. */
static int rjob_done(cio_cfuture *cf, void *arg)
{
    (void)cf;
    rjob_release(arg);
    return 0;
}

static char *dup_or_null(const char *s, int *failed)
{
    if (!s)
        return NULL;
    char *d = cio__strdup(s);
    if (!d)
        *failed = 1;
    return d;
}

int cio__resolve(cio_loop *loop, const char *host, const char *service_or_port,
                 int family, int socktype, int flags, struct addrinfo **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!host && !service_or_port)
        return CIO_ERESOLVE; /* getaddrinfo's EAI_NONAME */
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_flags = flags;
    int numeric_port = !service_or_port ||
                       cio__is_numeric_port(service_or_port);
    if (numeric_port) {
        /* Inline when the host is numeric: getaddrinfo then only parses. */
        struct addrinfo h2 = hints;
        h2.ai_flags = (flags & ~AI_ADDRCONFIG) | AI_NUMERICHOST |
                      (service_or_port ? AI_NUMERICSERV : 0);
        int eai = getaddrinfo(host, service_or_port, &h2, out);
        if (eai == 0)
            return 0;
        *out = NULL;
        if (eai != EAI_NONAME || (flags & AI_NUMERICHOST))
            return cio__eai_to_err(eai, errno);
    } else if (flags & AI_NUMERICHOST && flags & AI_NUMERICSERV) {
        return CIO_ERESOLVE;
    } else if (!host) {
        /* A service name and no host: nothing to ask a name server;
         * getaddrinfo reads /etc/services, as c-ares would. */
        int eai = getaddrinfo(NULL, service_or_port, &hints, out);
        if (eai)
            *out = NULL;
        return cio__dns_eai_to_err(eai, errno);
    }

    cio__task *t = cio__tls_task;
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (!t || t->f.loop != loop)
        return -EINVAL;
    if (cio__dns_use_ares(loop))
        return cio__dns_getaddrinfo(loop, host, service_or_port, &hints, out);

    /* A name: getaddrinfo on the default executor. */
    cio__xloop *x = cio__xloop_get(loop);
    if (!x)
        return -ENOMEM;
    cio_thread_pool *pool = cio__xloop_default_pool(x, &r);
    if (!pool)
        return r;
    rjob *j = cio__calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    int failed = 0;
    j->host = dup_or_null(host, &failed);
    j->port = dup_or_null(service_or_port, &failed);
    j->hints = hints;
    atomic_init(&j->refs, 1);
    if (failed) {
        rjob_release(j);
        return -ENOMEM;
    }
    cio_cfuture *cf;
    r = cio_thread_pool_submit(pool, rjob_run, j, &cf);
    if (r < 0) {
        rjob_release(j);
        return r;
    }
    atomic_fetch_add_explicit(&j->refs, 1, memory_order_relaxed);
    r = cio_cfuture_add_done_callback(cf, rjob_done, j);
    if (r < 0) {
        /* The worker side has no owner: wait for the job, synchronously
         * bounded by getaddrinfo itself, rather than leak it. */
        cio_cfuture_cancel(cf);
        cio_cfuture_result(cf, -1, NULL);
        rjob_release(j);
        cio_cfuture_release(cf);
        rjob_release(j);
        return r;
    }
    r = cio_cfuture_await(cf, NULL);
    cio_cfuture_release(cf);
    if (r == 0) {
        r = j->rc;
        *out = j->res;
        j->res = NULL;
    }
    rjob_release(j);
    return r;
}

int cio_getaddrinfo(const char *host, const char *port, int family,
                    int socktype, int flags, struct addrinfo **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    cio__task *t = cio__tls_task;
    if (!t)
        return CIO_MISUSE("called outside a task");
    return cio__resolve(t->f.loop, host, port, family, socktype, flags, out);
}
