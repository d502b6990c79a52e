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
 * frame without a frame pointer ends the walk instead of faulting.
 *
 * Symbols: built with libdw (CIO_HAVE_LIBDW, Debian's libdw-dev), each
 * frame is named from the modules' symbol tables, static functions
 * included, with file:line when the code has debug information (-g; the
 * return address minus one, so the line is the call's). One Dwfl session
 * per dump, built from /proc/self/maps, so libraries loaded since are
 * seen and nothing is kept between dumps. Without libdw, or where it
 * finds nothing, dladdr names exported symbols and the rest print as
 * module+offset (for addr2line).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#ifdef CIO_HAVE_LIBDW
#include <elfutils/libdwfl.h>
#endif

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

#if defined(__x86_64__) && !defined(CIO_CORO_UCONTEXT)
#ifdef CIO_HAVE_LIBDW
static Dwfl *dw_open(void)
{
    static const Dwfl_Callbacks cb = {
        .find_elf = dwfl_linux_proc_find_elf,
        .find_debuginfo = dwfl_standard_find_debuginfo,
    };
    Dwfl *d = dwfl_begin(&cb);
    if (!d)
        return NULL;
    if (dwfl_linux_proc_report(d, getpid()) != 0 ||
        dwfl_report_end(d, NULL, NULL) != 0) {
        dwfl_end(d);
        return NULL;
    }
    return d;
}

/* Prints frame depth at pc through libdw. Returns 1 if it named it. */
static int dw_frame(Dwfl *d, int depth, uintptr_t pc, FILE *out)
{
    if (!d)
        return 0;
    Dwfl_Module *m = dwfl_addrmodule(d, pc);
    if (!m)
        return 0;
    GElf_Off off = 0;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(m, pc, &off, &sym, NULL, NULL,
                                            NULL);
    if (!name)
        return 0;
    fprintf(out, "      #%d %p %s+0x%lx", depth, (void *)pc, name,
            (unsigned long)off);
    Dwfl_Line *l = dwfl_module_getsrc(m, pc - 1);
    int line = 0;
    const char *file = l ? dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL)
                         : NULL;
    if (file) {
        const char *base = strrchr(file, '/');
        fprintf(out, " (%s:%d)", base ? base + 1 : file, line);
    }
    fputc('\n', out);
    return 1;
}
#endif

/* Prints frame depth at pc through dladdr: exported names only. */
static void dl_frame(int depth, uintptr_t pc, FILE *out)
{
    Dl_info info = {0};
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
}
#endif

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
#ifdef CIO_HAVE_LIBDW
    Dwfl *dw = dw_open();
#endif
    for (int depth = 0; depth < 32 && pc; depth++) {
#ifdef CIO_HAVE_LIBDW
        if (!dw_frame(dw, depth, pc, out))
#endif
            dl_frame(depth, pc, out);
        if (fp < sp || fp + 16 > hi || (fp & 7))
            break;
        pc = *(const uintptr_t *)(fp + 8);
        sp = fp;
        fp = *(const uintptr_t *)fp;
    }
#ifdef CIO_HAVE_LIBDW
    if (dw)
        dwfl_end(dw);
#endif
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
