/*
 * s10_subprocess.c - MISSION S10: the note's
 *
 *     p = await asyncio.create_subprocess_exec('ping', '-c', '4', ip,
 *                                              stdout=asyncio.subprocess.PIPE)
 *     async for line in p.stdout:
 *         print(line)
 *     await p.wait()
 *
 * without the network: a shell loop prints four ping-like lines 0.3 s
 * apart. Each line is printed as it arrives, with its arrival time, so the
 * output shows the lines streaming in (about 0.0, 0.3, 0.6, 0.9 s), not
 * all at once when the child ends. Then the child is awaited.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s10_subprocess.c -o s10_subprocess \
 *         $(pkg-config --cflags --libs cio)
 */
/* cio-test: timeout=30 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <stdio.h>
#include <time.h>

#include <cio.h>

static double now_s(void)
{
    return (double)cio_loop_time(cio_get_running_loop()) / 1e9;
}

static int ping(void *arg, void **result)
{
    (void)arg;
    (void)result;
    char *const argv[] = {
        "/bin/sh", "-c",
        "for i in 1 2 3 4; do "
        "echo \"64 bytes from 127.0.0.1: icmp_seq=$i\"; sleep 0.3; done",
        NULL};
    cio_process_opts opts = CIO_PROCESS_OPTS_INIT;
    opts.stdout_mode = CIO_PROCESS_PIPE; /* stdout=asyncio.subprocess.PIPE */
    cio_process *p;
    int r = cio_create_subprocess_exec(NULL, argv, &opts, &p);
    if (r < 0) {
        fprintf(stderr, "spawn: %s\n", cio_strerror(r));
        return r;
    }
    double t0 = now_s();
    /* async for line in p.stdout */
    const char *line;
    ssize_t n;
    while ((n = cio_stream_reader_readline(cio_process_stdout(p), &line)) > 0)
        printf("[%.2f s] %.*s", now_s() - t0, (int)n, line);
    int rc;
    r = cio_process_wait(p, &rc); /* await p.wait() */
    if (r == 0)
        printf("[%.2f s] pid %d exited with %d\n", now_s() - t0,
               (int)cio_process_pid(p), rc);
    cio_process_free(p);
    return r < 0 ? r : (n < 0 ? (int)n : 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int r = cio_run(ping, NULL, NULL);
    if (r < 0)
        fprintf(stderr, "s10_subprocess: %s\n", cio_strerror(r));
    return r < 0;
}
