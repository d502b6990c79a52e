/*
 * s02_create_task.c - MISSION S2: create_task == ensure_future; task
 * states; a task is a future.
 *
 * The note (Python):
 *     loop = asyncio.get_event_loop()
 *     async def do_some_work(x):
 *         print('Waiting: ', x)
 *     coroutine = do_some_work(2)
 *     # task = asyncio.ensure_future(coroutine)
 *     task = loop.create_task(coroutine)
 *     loop.run_until_complete(task)
 * and says: the two ways are equivalent; a task is pending, running, done
 * or cancelled; isinstance(task, asyncio.Future) is True.
 *
 * Python's print('Waiting: ', x) puts a space between its arguments, so
 * the line reads "Waiting:  2" (two spaces); this program prints the same.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s02_create_task.c -o s02_create_task \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <stdint.h>
#include <stdio.h>

#include "cio.h"

static const char *state_name(int s)
{
    switch (s) {
    case CIO_TASK_PENDING: return "pending";
    case CIO_TASK_RUNNING: return "running";
    case CIO_TASK_DONE: return "done";
    case CIO_TASK_CANCELLED: return "cancelled";
    default: return cio_err_name(s);
    }
}

/* async def do_some_work(x): print('Waiting: ', x) */
static int do_some_work(void *arg, void **result)
{
    (void)result;
    printf("Waiting:  %ld\n", (long)(intptr_t)arg);
    printf("  (inside the task its state is %s)\n",
           state_name(cio_task_state_get(cio_current_task())));
    return 0;
}

/* A task that would sleep a long time; it gets cancelled. */
static int sleeper(void *arg, void **result)
{
    (void)arg;
    (void)result;
    printf("sleeper: sleeping 10 s\n");
    int r = cio_sleep(10 * CIO_SEC);
    printf("sleeper: cio_sleep -> %s, passing it up\n", cio_err_name(r));
    return r;
}

static int cancel_cb(void *arg)
{
    printf("timer: cancel(sleeper) -> %d\n", cio_task_cancel(arg, "enough"));
    return 0;
}

int main(void)
{
    cio_loop *loop;
    cio_task *task, *task2, *same;
    cio_future *plain;
    int r;

    cio_loop_new(&loop, NULL);
    cio_set_event_loop(loop);
    loop = cio_get_event_loop();

    /* task = loop.create_task(do_some_work(2)) */
    cio_task_create(loop, CIO_CORO(do_some_work, (intptr_t)2), NULL, &task);
    printf("created %s: state %s, is a future: %s, done: %d\n",
           cio_task_name(task), state_name(cio_task_state_get(task)),
           cio_future_is_task(task) ? "yes (a task)" : "no", cio_future_done(task));
    r = cio_loop_run_until_complete(loop, task, NULL);
    printf("run_until_complete -> %d; state %s, done %d, cancelled %d, "
           "result(): %d\n", r, state_name(cio_task_state_get(task)),
           cio_future_done(task), cio_future_cancelled(task),
           cio_future_result(task, NULL));

    /* task = asyncio.ensure_future(do_some_work(2)): the same thing. */
    cio_ensure_future(loop, NULL, CIO_CORO(do_some_work, (intptr_t)2), &task2);
    printf("\nensure_future(coroutine) made %s (is_task %d, state %s)\n",
           cio_task_name(task2), cio_future_is_task(task2),
           state_name(cio_task_state_get(task2)));
    cio_loop_run_until_complete(loop, task2, NULL);
    /* ensure_future(task) returns that very future. */
    cio_ensure_future(loop, task2, CIO_CORO(NULL, NULL), &same);
    printf("ensure_future(task) returns the same object: %s\n",
           same == task2 ? "yes" : "no");
    cio_future_release(same);

    /* A plain future is not a task; the same future API serves both. */
    cio_future_new(loop, &plain);
    printf("\nplain future: is_task %d, task_state_get -> %s\n",
           cio_future_is_task(plain), cio_err_name(cio_task_state_get(plain)));
    cio_future_set_result(plain, (void *)(intptr_t)7);
    void *v = NULL;
    r = cio_future_result(plain, &v);
    printf("plain future: set_result(7), result() -> %d, %ld\n", r,
           (long)(intptr_t)v);
    cio_future_release(plain);

    /* Cancelled tasks: one cancelled before it starts, one while asleep. */
    cio_task *never, *sleeping;
    cio_task_create(loop, CIO_CORO(do_some_work, (intptr_t)3), NULL, &never);
    printf("\ncancel before start -> %d (its body never runs)\n",
           cio_task_cancel(never, NULL));
    cio_task_create(loop, CIO_CORO(sleeper, NULL), NULL, &sleeping);
    cio_loop_call_later(loop, 100 * CIO_MS, cancel_cb, sleeping, NULL);
    r = cio_loop_run_until_complete(loop, sleeping, NULL);
    printf("run_until_complete(sleeper) -> %s; state %s, cancelled %d, "
           "message \"%s\"\n", cio_err_name(r),
           state_name(cio_task_state_get(sleeping)), cio_future_cancelled(sleeping),
           cio_future_error_message(sleeping) ? cio_future_error_message(sleeping) : "");
    printf("never-started task: state %s, result() -> %s, cancel again -> %d\n",
           state_name(cio_task_state_get(never)),
           cio_err_name(cio_future_result(never, NULL)), cio_task_cancel(never, NULL));

    cio_future_release(task);
    cio_future_release(task2);
    cio_future_release(never);
    cio_future_release(sleeping);
    cio_set_event_loop(NULL);
    r = cio_loop_free(loop);
    printf("\nloop freed -> %d\n", r);
    return r < 0;
}
