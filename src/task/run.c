/*
 * run.c - driving a loop to a future: run_until_complete and cio_run
 * (asyncio.run). They live above the loop because they need futures.
 */
#include <errno.h>

#include "task/task.h"

static int stop_when_done(cio_future *f, void *arg)
{
    (void)arg;
    return cio_loop_stop(f->loop);
}

int cio_loop_run_until_complete(cio_loop *loop, cio_future *f, void **result)
{
    if (result)
        *result = NULL;
    if (!loop || !f || f->loop != loop || loop->closed || cio_loop_is_running(loop) ||
        cio__tls_running)
        return -EINVAL;
    cio_future_retain(f);
    /* Even a future that is already done gets its stopping callback
     * scheduled and the loop run until it fires, as asyncio does: work
     * queued before the call has run by the time it returns. */
    int r = cio_future_add_done_callback(f, stop_when_done, NULL);
    if (r == 0)
        r = cio_loop_run_forever(loop);
    cio_future_remove_done_callback(f, stop_when_done, NULL);
    if (r < 0) {
        cio_future_release(f);
        return r;
    }
    r = f->state == CIO__F_PENDING ? -EINTR : cio_future_result(f, result);
    cio_future_release(f);
    return r;
}

/* asyncio.run's _cancel_all_tasks; see task.h. */
void cio__loop_cancel_all_and_drain(cio_loop *loop)
{
    if (!loop->ntasks)
        return;
    for (cio__list *l = loop->tasks.next; l != &loop->tasks; l = l->next)
        cio_future_cancel(&cio__container_of(l, cio__task, link)->f, NULL);
    atomic_store_explicit(&loop->running, 1, memory_order_relaxed);
    cio__tls_running = loop;
    while (loop->ntasks)
        cio__loop_run_once(loop);
    atomic_store_explicit(&loop->running, 0, memory_order_relaxed);
    loop->stopping = 0;
    cio__tls_running = NULL;
}

int cio_run(cio_coro_fn main, void *arg, void **result)
{
    if (result)
        *result = NULL;
    if (!main || cio__tls_running)
        return CIO_MISUSE(main ? "a loop already runs on this thread"
                               : "NULL main");
    cio_loop *loop;
    int r = cio_loop_new(&loop, NULL);
    if (r < 0)
        return r;
    cio_loop *prev = cio_get_event_loop();
    cio_set_event_loop(loop);
    cio_task *t;
    r = cio_task_create(loop, CIO_CORO(main, arg), NULL, &t);
    if (r == 0) {
        r = cio_loop_run_until_complete(loop, t, result);
        cio_future_release(t);
    }
    cio__loop_cancel_all_and_drain(loop);
    int rc = cio_loop_free(loop);
    CIO_ASSERT(rc == 0);
    cio_set_event_loop(prev);
    return r;
}
