/*
 * coro_smoke.c - a self-contained check of the coroutine layer for
 * architectures this machine cannot run natively (aarch64 under
 * qemu-user). No cmocka (there is no cross-built libcmocka): plain checks
 * that print what failed and exit non-zero.
 *
 * Covers what the assembly must get right: callee-saved integer and
 * floating-point registers survive switches, arguments reach the entry
 * function, thousands of coroutines interleave, stacks are reused, and a
 * guard-page overflow is reported with the coroutine's name (in a child).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coro/coro.h"

static int failures;
#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);      \
            failures++;                                                       \
        }                                                                     \
    } while (0)

static cio__coro *main_co;
static cio__coro co_a;
static volatile long counter;

static void pingpong(void *arg)
{
    long n = (long)(intptr_t)arg;
    volatile double acc = 1.0;
    for (long i = 0; i < n; i++) {
        acc = acc * 1.0000001 + 0.5;
        counter++;
        cio__coro_switch(&co_a, main_co);
    }
    CHECK(acc > 1.0);
    cio__coro_exit(&co_a, main_co);
}

/* Keeps values in many registers across a switch. */
static __attribute__((noinline)) long busy_regs(cio__coro *self, cio__coro *to)
{
    long a = 11, b = 22, c = 33, d = 44, e = 55, f = 66, g = 77, h = 88;
    double x = 1.5, y = 2.5, z = 3.5, w = 4.5;
    cio__coro_switch(self, to);
    return a + b + c + d + e + f + g + h + (long)(x + y + z + w);
}

static cio__coro many[2000];
static void many_entry(void *arg)
{
    cio__coro *self = arg;
    long r = busy_regs(self, main_co);
    CHECK(r == 11 + 22 + 33 + 44 + 55 + 66 + 77 + 88 + 12);
    counter++;
    cio__coro_exit(self, main_co);
}

static cio__coro deep;
static int recurse(int n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    if (n < 0)
        return pad[0];
    return recurse(n + 1) + pad[0];
}
static void deep_entry(void *arg)
{
    (void)arg;
    recurse(0);
    cio__coro_exit(&deep, main_co);
}

int main(void)
{
    main_co = cio__coro_current();
    CHECK(main_co != NULL);

    /* Ping-pong with arguments and floating point across switches. */
    cio__coro_opts o = CIO__CORO_OPTS_INIT;
    CHECK(cio__coro_create(&co_a, &o, pingpong, (void *)(intptr_t)100000) == 0);
    double keep = 3.25;
    for (long i = 0; i < 100000; i++) {
        cio__coro_switch(main_co, &co_a);
        keep += 1.0;
    }
    cio__coro_switch(main_co, &co_a); /* lets it exit */
    CHECK(counter == 100000);
    CHECK(keep == 3.25 + 100000.0);
    void *first_stack = co_a.stack_lo;
    cio__coro_destroy(&co_a);

    /* The pool hands the same stack back. */
    CHECK(cio__coro_create(&co_a, &o, pingpong, (void *)(intptr_t)1) == 0);
    CHECK(co_a.stack_lo == first_stack);
    cio__coro_switch(main_co, &co_a);
    cio__coro_switch(main_co, &co_a);
    cio__coro_destroy(&co_a);

    /* Many coroutines interleaved, registers intact in each. */
    counter = 0;
    for (int i = 0; i < 2000; i++)
        CHECK(cio__coro_create(&many[i], &o, many_entry, &many[i]) == 0);
    for (int i = 0; i < 2000; i++)
        cio__coro_switch(main_co, &many[i]);
    for (int i = 1999; i >= 0; i--)
        cio__coro_switch(main_co, &many[i]);
    CHECK(counter == 2000);
    for (int i = 0; i < 2000; i++)
        cio__coro_destroy(&many[i]);

    /* A guard-page overflow, in a child: reported with the name. */
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        cio__coro_opts small = {64 * 1024, 0};
        if (cio__coro_create(&deep, &small, deep_entry, NULL) != 0)
            _exit(3);
        cio__coro_set_name(&deep, "deep-one");
        cio__coro_switch(cio__coro_current(), &deep);
        _exit(4);
    }
    close(p[1]);
    char buf[512] = {0};
    size_t n = 0;
    ssize_t k;
    while (n + 1 < sizeof buf && (k = read(p[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)k;
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    CHECK(strstr(buf, "stack overflow") != NULL);
    CHECK(strstr(buf, "deep-one") != NULL);

    if (failures) {
        fprintf(stderr, "coro_smoke: %d failure(s)\n", failures);
        return 1;
    }
    printf("coro_smoke: all checks passed\n");
    return 0;
}
