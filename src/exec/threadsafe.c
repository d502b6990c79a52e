/*
 * threadsafe.c - loops running in background threads (the note's
 * start_loop(loop) thread, S7 and S9).
 *
 * The loop is created by the caller's thread (a loop that is not running
 * may change threads) and run_forever runs in a thread cio starts with
 * signals blocked. Stopping is cio_loop_stop_threadsafe; the loop thread
 * then finishes its own business before exiting: it cancels every task
 * still pending, runs each to the end, and closes the loop on the thread
 * that ran it, so cio_loop_close's default-executor shutdown and the
 * bridge cleanup (bridge.c) happen where the loop's objects live. The
 * joining thread only frees the memory.
 *
 * cio_run_coroutine_threadsafe itself lives in bridge.c, next to the
 * chain that links a task to its concurrent future.
 *
 * Rejected: closing the loop from the joining thread. It works (the loop
 * is stopped), but tasks cancelled at stop would then run their cleanup
 * on the joiner's thread, surprising code that relies on thread-local
 * state of the loop thread.
 */
#include <errno.h>

#include "exec/exec.h"
#include "task/task.h"

struct cio_loop_thread {
    cio_loop *loop;
    pthread_t thread;
};

static void *loop_main(void *arg)
{
    cio_loop_thread *lt = arg;
    cio_set_event_loop(lt->loop);
    cio_loop_run_forever(lt->loop);
    cio__loop_cancel_all_and_drain(lt->loop);
    cio_loop_close(lt->loop);
    cio_set_event_loop(NULL);
    return NULL;
}

int cio_loop_thread_start(cio_loop_thread **out, const cio_loop_opts *opts)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    cio_loop_thread *lt = cio__calloc(1, sizeof(*lt));
    if (!lt)
        return -ENOMEM;
    int r = cio_loop_new(&lt->loop, opts);
    if (r < 0) {
        cio__free(lt);
        return r;
    }
    r = cio__thread_start(&lt->thread, loop_main, lt, "cio-loop");
    if (r < 0) {
        cio_loop_free(lt->loop);
        cio__free(lt);
        return r;
    }
    *out = lt;
    return 0;
}

cio_loop *cio_loop_thread_loop(const cio_loop_thread *lt)
{
    return lt ? lt->loop : NULL;
}

int cio_loop_thread_stop_join(cio_loop_thread *lt)
{
    if (!lt)
        return -EINVAL;
    if (pthread_equal(pthread_self(), lt->thread))
        return -EDEADLK;
    cio_loop_stop_threadsafe(lt->loop);
    pthread_join(lt->thread, NULL);
    cio_loop_free(lt->loop); /* closed by its thread */
    cio__free(lt);
    return 0;
}
