/*
 * s10b_communicate.c - MISSION S10: Process.communicate with a large
 * input. 8 MiB go through `cat` and come back while its stderr is read
 * too; communicate writes stdin and reads stdout and stderr concurrently,
 * so neither side can fill a pipe and block the other. A second child,
 * `wc -c`, counts the same bytes. Finally a child that sleeps forever is
 * given a 200 ms timeout: communicate returns -ETIMEDOUT, the child is
 * left running as asyncio leaves it, so it is killed (SIGKILL) and
 * reaped, as `proc.kill(); await proc.wait()` does in Python.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s10b_communicate.c -o s10b_communicate \
 *         $(pkg-config --cflags --libs cio)
 */
/* cio-test: timeout=30 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cio.h>

static int run(void *arg, void **result)
{
    (void)arg;
    (void)result;
    size_t n = 8u << 20;
    char *data = malloc(n);
    if (!data)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        data[i] = (char)('a' + i % 26);

    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdin_mode = CIO_PROCESS_PIPE;
    o.stdout_mode = CIO_PROCESS_PIPE;
    o.stderr_mode = CIO_PROCESS_PIPE;
    char *const cat[] = {"cat", NULL};
    cio_process *p;
    int r = cio_create_subprocess_exec(NULL, cat, &o, &p);
    if (r == 0) {
        const char *out, *err;
        size_t olen, elen;
        int64_t t0 = cio_loop_time(cio_get_running_loop());
        r = cio_process_communicate(p, data, n, &out, &olen, &err, &elen);
        double ms = (double)(cio_loop_time(cio_get_running_loop()) - t0) / 1e6;
        if (r == 0)
            printf("cat: sent %zu bytes, got %zu back (%s), %zu on stderr, "
                   "%.1f ms\n",
                   n, olen,
                   olen == n && !memcmp(out, data, n) ? "identical"
                                                      : "DIFFERENT",
                   elen, ms);
        cio_process_free(p);
    }
    if (r == 0) {
        o.stderr_mode = CIO_PROCESS_INHERIT;
        char *const wc[] = {"wc", "-c", NULL};
        r = cio_create_subprocess_exec(NULL, wc, &o, &p);
        if (r == 0) {
            const char *out;
            r = cio_process_communicate(p, data, n, &out, NULL, NULL, NULL);
            if (r == 0)
                printf("wc -c: %ld\n", strtol(out, NULL, 10));
            cio_process_free(p);
        }
    }
    if (r == 0) {
        char *const sl[] = {"sleep", "100", NULL};
        r = cio_create_subprocess_exec(NULL, sl, &o, &p);
        if (r == 0) {
            cio_timeout scope;
            cio_timeout_begin(&scope, 200 * CIO_MS);
            int c = cio_process_communicate(p, NULL, 0, NULL, NULL, NULL, NULL);
            c = cio_timeout_end(&scope, c);
            if (c == -ETIMEDOUT)
                cio_process_kill(p);
            int rc = 0;
            cio_process_wait(p, &rc);
            printf("sleep 100 with a 200 ms timeout: %s, returncode %d\n",
                   cio_err_name(c), rc);
            cio_process_free(p);
        }
    }
    free(data);
    return r;
}

int main(void)
{
    int r = cio_run(run, NULL, NULL);
    if (r < 0)
        fprintf(stderr, "s10b_communicate: %s\n", cio_strerror(r));
    return r < 0;
}
