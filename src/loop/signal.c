/*
 * signal.c - Unix signals delivered to loops as ordinary callbacks, the
 * default Ctrl-C behaviour, and the loop half of debug mode.
 *
 * The process-wide handler does two async-signal-safe things: it sets the
 * signal's bit in the owning loop's pending mask and writes the loop's
 * wakeup eventfd. The loop, after its poll, turns pending bits into
 * call_soon callbacks. Rejected: signalfd. It only sees signals blocked in
 * every thread, so it would require the application to block signals
 * everywhere before creating any thread (Python does not ask that), and a
 * blocked SIGINT would no longer kill a program whose loop is not running.
 * The eventfd also makes a signal that lands just before epoll_wait
 * impossible to lose.
 *
 * Ownership: each signal number belongs to at most one loop (an atomic
 * pointer per number), so "which loop receives a signal" has one answer
 * whatever thread the kernel interrupts. A loop's registrations are
 * dropped, and the old dispositions restored, when it closes.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "loop/loop.h"

#define NSIGS 65 /* signal numbers 1..64 */

enum { SLOT_USER = 1, SLOT_SIGINT = 2, SLOT_SIGQUIT = 3 };

typedef struct cio__sig_slot {
    int kind; /* 0: unused */
    cio_cb cb;
    void *arg;
    struct sigaction old;
} sig_slot;

static _Atomic(cio_loop *) owners[NSIGS];

void (*cio__loop_cancel_all_hook)(cio_loop *loop);
int (*cio__loop_dump_hook)(cio_loop *loop, int fd);

static void on_signal(int signo)
{
    int saved = errno;
    if (signo > 0 && signo < NSIGS) {
        cio_loop *loop = atomic_load(&owners[signo]);
        if (loop) {
            atomic_fetch_or(&loop->sig_pending, 1ull << (signo - 1));
            loop->bops->wakeup(loop->be);
        }
    }
    errno = saved;
}

static int catchable(int signo)
{
    return signo > 0 && signo < NSIGS && signo != SIGKILL &&
           signo != SIGSTOP && signo != SIGSEGV && signo != SIGBUS &&
           signo != SIGILL && signo != SIGFPE;
}

static int slots(cio_loop *loop)
{
    if (!loop->sig) {
        loop->sig = cio__calloc(NSIGS, sizeof(sig_slot));
        if (!loop->sig)
            return -ENOMEM;
    }
    return 0;
}

/* Claims signo for loop and installs the process handler. */
static int claim(cio_loop *loop, int signo, int kind, cio_cb cb, void *arg)
{
    int r = slots(loop);
    if (r < 0)
        return r;
    cio_loop *expected = NULL;
    if (!atomic_compare_exchange_strong(&owners[signo], &expected, loop) &&
        expected != loop)
        return -EBUSY;
    sig_slot *s = &loop->sig[signo];
    if (!s->kind) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESTART;
        sigfillset(&sa.sa_mask);
        if (sigaction(signo, &sa, &s->old) < 0) {
            r = CIO__ERRNO();
            atomic_store(&owners[signo], NULL);
            return r;
        }
    }
    s->kind = kind;
    s->cb = cb;
    s->arg = arg;
    return 0;
}

static void release(cio_loop *loop, int signo)
{
    sig_slot *s = &loop->sig[signo];
    if (!s->kind)
        return;
    sigaction(signo, &s->old, NULL);
    s->kind = 0;
    s->cb = NULL;
    atomic_store(&owners[signo], NULL);
    atomic_fetch_and(&loop->sig_pending, ~(1ull << (signo - 1)));
}

int cio_loop_add_signal_handler(cio_loop *loop, int signo, cio_cb cb,
                                void *arg)
{
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (!cb || !catchable(signo))
        return -EINVAL;
    if (loop->sig && loop->sig[signo].kind) {
        /* Replacing an internal registration (default Ctrl-C, debug
         * SIGQUIT) with the user's: keep the saved disposition. */
        loop->sig[signo].kind = SLOT_USER;
        loop->sig[signo].cb = cb;
        loop->sig[signo].arg = arg;
        if (signo == SIGINT)
            loop->sigint_mode = 0;
        return 0;
    }
    return claim(loop, signo, SLOT_USER, cb, arg);
}

int cio_loop_remove_signal_handler(cio_loop *loop, int signo)
{
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (signo <= 0 || signo >= NSIGS)
        return -EINVAL;
    if (!loop->sig || loop->sig[signo].kind != SLOT_USER)
        return 0;
    release(loop, signo);
    return 1;
}

/* Ends the process the way an unhandled SIGINT does, so the parent sees
 * death by SIGINT (a shell prints nothing and reports 130). */
static _Noreturn void die_by_sigint(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigaction(SIGINT, &sa, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    raise(SIGINT);
    _exit(130); /* not reached unless SIGINT is somehow blocked */
}

void cio_raise_sigint(void)
{
    die_by_sigint();
}

/* The first Ctrl-C cancels every task; run_forever returns
 * CIO_EINTERRUPTED once none is left (cio__loop_interrupt_done). */
static void interrupt(cio_loop *loop)
{
    if (++loop->interrupted > 1)
        die_by_sigint(); /* second Ctrl-C: no more waiting */
    if (cio__loop_cancel_all_hook)
        cio__loop_cancel_all_hook(loop);
}

int cio__loop_interrupt_done(cio_loop *loop)
{
    if (loop->ntasks != 0)
        return 0;
    loop->interrupted = 0; /* the next run starts afresh */
    return 1;
}

void cio__loop_dispatch_signals(cio_loop *loop)
{
    unsigned long long p = atomic_exchange(&loop->sig_pending, 0);
    while (p) {
        int bit = __builtin_ctzll(p);
        p &= p - 1;
        int signo = bit + 1;
        sig_slot *s = loop->sig ? &loop->sig[signo] : NULL;
        if (!s || !s->kind)
            continue;
        if (s->kind == SLOT_SIGINT) {
            interrupt(loop);
        } else if (s->kind == SLOT_SIGQUIT) {
            if (cio__loop_dump_hook)
                cio__loop_dump_hook(loop, STDERR_FILENO);
        } else {
            cio_loop_call_soon(loop, s->cb, s->arg, NULL);
        }
    }
}

static int disposition_is_default(int signo)
{
    struct sigaction cur;
    if (sigaction(signo, NULL, &cur) < 0)
        return 0;
    return !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_DFL;
}

static int on_main_thread(void)
{
    return (pid_t)syscall(SYS_gettid) == getpid();
}

static int internal_cb(void *arg)
{
    (void)arg;
    return 0;
}

void cio__loop_sigint_arm(cio_loop *loop)
{
    if (!on_main_thread())
        return;
    if (!(loop->sig && loop->sig[SIGINT].kind) &&
        atomic_load(&owners[SIGINT]) == NULL &&
        disposition_is_default(SIGINT) &&
        claim(loop, SIGINT, SLOT_SIGINT, internal_cb, NULL) == 0)
        loop->sigint_mode = 1;
    if (loop->debug && !(loop->sig && loop->sig[SIGQUIT].kind) &&
        atomic_load(&owners[SIGQUIT]) == NULL &&
        disposition_is_default(SIGQUIT))
        claim(loop, SIGQUIT, SLOT_SIGQUIT, internal_cb, NULL);
}

void cio__loop_sigint_disarm(cio_loop *loop)
{
    if (!loop->sig)
        return;
    if (loop->sig[SIGINT].kind == SLOT_SIGINT)
        release(loop, SIGINT);
    if (loop->sig[SIGQUIT].kind == SLOT_SIGQUIT)
        release(loop, SIGQUIT);
    loop->sigint_mode = 0;
}

void cio__loop_signals_close(cio_loop *loop)
{
    if (!loop->sig)
        return;
    for (int s = 1; s < NSIGS; s++)
        release(loop, s);
    cio__free(loop->sig);
    loop->sig = NULL;
}

/* ---- debug mode ---- */

int cio_loop_set_debug(cio_loop *loop, int enabled)
{
    if (!loop)
        return -EINVAL;
    loop->debug = enabled != 0;
    return 0;
}

int cio_loop_debug(const cio_loop *loop)
{
    return loop && loop->debug;
}

int cio_loop_set_slow_callback_duration(cio_loop *loop, int64_t duration)
{
    if (!loop || duration < 0)
        return -EINVAL;
    loop->slow_ns = duration;
    return 0;
}

int cio_loop_dump_tasks(cio_loop *loop, int fd)
{
    if (!loop || fd < 0 || !cio__loop_dump_hook)
        return loop && fd >= 0 ? 0 : -EINVAL;
    return cio__loop_dump_hook(loop, fd);
}

void cio__loop_misuse(const cio_loop *loop, const char *what)
{
    if (loop && loop->debug)
        fprintf(stderr, "cio: debug: %s refused: the loop runs on another "
                        "thread (use the *_threadsafe calls)\n",
                what);
}
