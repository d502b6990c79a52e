/*
 * debug.c - the task half of debug mode and Ctrl-C: cancelling every
 * task, describing a ready item for the slow-callback warning, and the
 * task dump (like Python 3.14's `asyncio ps`).
 *
 * The dump walks a suspended task's frame-pointer chain, starting from the
 * frame the context switch saved. That needs frame pointers in the code
 * being walked (cio builds itself with -fno-omit-frame-pointer; build your
 * code the same way for full stacks) and is done only on x86-64, where the
 * switch frame layout is known (src/coro/switch_x86_64.S). Every address
 * is checked against the task's stack bounds before it is read, so a
 * frame without a frame pointer ends the walk instead of faulting. Symbol
 * names come from dladdr (exported symbols only; use addr2line with the
 * printed offsets for static functions).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "task/task.h"

static void cancel_all(cio_loop *loop)
{
    for (cio__list *l = loop->tasks.next; l != &loop->tasks; l = l->next)
        cio__task_cancel(cio__container_of(l, cio__task, link), NULL);
}


static const char *state_name(const cio__task *t)
{
    switch (cio_task_state_get(&t->f)) {
    case CIO_TASK_RUNNING:
        return "running";
    case CIO_TASK_DONE:
        return "done";
    case CIO_TASK_CANCELLED:
        return "cancelled";
    default:
        return t->started ? "suspended" : "not started";
    }
}

static void dump_stack(const cio__task *t, FILE *out)
{
#if defined(__x86_64__) && !defined(CIO_CORO_UCONTEXT)
    if (!t->co || t->tstate != CIO__T_SUSPENDED)
        return;
    uintptr_t lo = (uintptr_t)t->co->stack_lo, hi = (uintptr_t)t->co->stack_hi;
    uintptr_t sp = (uintptr_t)t->co->sp;
    if (sp < lo || sp + 64 > hi)
        return;
    /* The switch frame: rbp at sp+48, resume address at sp+56. */
    uintptr_t fp = *(const uintptr_t *)(sp + 48);
    uintptr_t pc = *(const uintptr_t *)(sp + 56);
    for (int depth = 0; depth < 32 && pc; depth++) {
        Dl_info info;
        if (dladdr((void *)pc, &info) && info.dli_sname)
            fprintf(out, "      #%d %p %s+0x%lx\n", depth, (void *)pc,
                    info.dli_sname,
                    (unsigned long)(pc - (uintptr_t)info.dli_saddr));
        else if (info.dli_fname)
            fprintf(out, "      #%d %p (%s+0x%lx)\n", depth, (void *)pc,
                    info.dli_fname,
                    (unsigned long)(pc - (uintptr_t)info.dli_fbase));
        else
            fprintf(out, "      #%d %p\n", depth, (void *)pc);
        if (fp < sp || fp + 16 > hi || (fp & 7))
            break;
        pc = *(const uintptr_t *)(fp + 8);
        sp = fp;
        fp = *(const uintptr_t *)fp;
    }
#else
    (void)t;
    (void)out;
#endif
}

static int dump(cio_loop *loop, int fd)
{
    int dfd = dup(fd);
    if (dfd < 0)
        return CIO__ERRNO();
    FILE *out = fdopen(dfd, "w");
    if (!out) {
        int r = CIO__ERRNO();
        close(dfd);
        return r;
    }
    fprintf(out, "cio: %zu live task(s) on loop %p (%s backend):\n",
            loop->ntasks, (void *)loop, cio_loop_backend_name(loop));
    int n = 0;
    for (cio__list *l = loop->tasks.next; l != &loop->tasks; l = l->next) {
        const cio__task *t = cio__container_of(l, cio__task, link);
        fprintf(out, "  %s: %s", cio_task_name(&t->f), state_name(t));
        if (t->wait_what)
            fprintf(out, ", waiting on %s", t->wait_what);
        if (t->must_cancel || t->ncancel)
            fprintf(out, ", cancel requested (%d)", t->ncancel);
        fputc('\n', out);
        dump_stack(t, out);
        n++;
    }
    if (fclose(out) != 0)
        return -EIO;
    return n;
}

/* For CIO_MISUSE (src/core/misuse.c): the running loop's debug flag
 * decides, and the running task is named. */
static void misuse_context(int *debug, const char **task)
{
    if (cio__tls_running)
        *debug = cio__tls_running->debug;
    if (cio__tls_task)
        *task = cio_task_name(&cio__tls_task->f);
}

void cio__task_install_hooks(void)
{
    cio__misuse_hook = misuse_context;
    cio__loop_cancel_all_hook = cancel_all;
    cio__loop_dump_hook = dump;
    cio__loop_describe_hook = cio__task_describe;
}
