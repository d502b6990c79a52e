/*
 * pipe.c - throughput of a child's stdout pipe read through cio's stream
 * reader: `cat FILE` of a 1 GiB temporary file (the workload),
 * the child's output read to the end with cio_stream_reader_read into a
 * 256 KiB buffer and dropped. The reference is the shell doing the same
 * with two processes, `cat FILE | cat > /dev/null`, timed by
 * this program in the same rounds (interleaved). The file lives in
 * $TMPDIR (default /tmp), is read once before timing so both sides read
 * from the page cache, and is deleted at the end.
 *
 * Each round also reads the file once more with cio_process_opts.pipe_size
 * = 1 MiB (Python's pipesize), reported apart: the target figure is the
 * default pipe's.
 *
 * Usage: pipe [ROUNDS=5] [MIB=1024] [TIMES=1] (TIMES children per round)
 * Prints "pipe_cio_gib_s X" and "pipe_shell_gib_s Y" (medians) and
 * "pipe_ratio_vs_cat X/Y".
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cio.h"

extern char **environ;

static char path[256];
static long times = 1;
static size_t file_bytes;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CIO_SEC + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int make_file(size_t mib)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof(path), "%s/cio-pipe-bench-XXXXXX",
             dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return -errno;
    size_t chunk = 1 << 20;
    char *buf = malloc(chunk);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    for (size_t i = 0; i < chunk; i++)
        buf[i] = (char)(i * 31 + 7);
    for (size_t m = 0; m < mib; m++) {
        if (write(fd, buf, chunk) != (ssize_t)chunk) {
            free(buf);
            close(fd);
            return -EIO;
        }
    }
    free(buf);
    close(fd);
    file_bytes = mib * chunk;
    return 0;
}

typedef struct cio_round_arg {
    double gib_s;
    size_t pipe_size; /* cio_process_opts.pipe_size: 0 = the kernel's */
} cio_round_arg;

static int cio_round(void *arg, void **result)
{
    (void)result;
    cio_round_arg *a = arg;
    double *gib_s = &a->gib_s;
    static char buf[256 * 1024];
    char *const argv[] = {"cat", path, NULL};
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_PIPE;
    o.pipe_size = a->pipe_size;
    size_t total = 0;
    int64_t t0 = now_ns();
    for (long i = 0; i < times; i++) {
        cio_process *p;
        int r = cio_create_subprocess_exec(NULL, argv, &o, &p);
        if (r < 0)
            return r;
        ssize_t n;
        while ((n = cio_stream_reader_read(cio_process_stdout(p), buf,
                                           sizeof(buf))) > 0)
            total += (size_t)n;
        int rc;
        r = cio_process_wait(p, &rc);
        cio_process_free(p);
        if (n < 0 || r < 0)
            return n < 0 ? (int)n : r;
    }
    double s = (double)(now_ns() - t0) / 1e9;
    if (total != file_bytes * (size_t)times)
        return -EIO;
    *gib_s = (double)total / s / (double)(1 << 30);
    return 0;
}

static int shell_round(double *gib_s)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "cat '%s' | cat > /dev/null", path);
    char *const argv[] = {"/bin/sh", "-c", cmd, NULL};
    int64_t t0 = now_ns();
    for (long i = 0; i < times; i++) {
        pid_t pid;
        int r = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ);
        if (r)
            return -r;
        int st;
        while (waitpid(pid, &st, 0) < 0)
            if (errno != EINTR)
                return -errno;
    }
    double s = (double)(now_ns() - t0) / 1e9;
    *gib_s = (double)(file_bytes * (size_t)times) / s / (double)(1 << 30);
    return 0;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    long mib = argc > 2 ? strtol(argv[2], NULL, 10) : 1024;
    times = argc > 3 ? strtol(argv[3], NULL, 10) : 1;
    if (rounds < 1 || rounds > 100 || mib < 1 || times < 1) {
        fprintf(stderr, "usage: pipe [ROUNDS] [MIB] [TIMES]\n");
        return 2;
    }
    int r = make_file((size_t)mib);
    if (r < 0) {
        fprintf(stderr, "pipe: temp file: %s\n", strerror(-r));
        return 1;
    }
    double c[100], c1m[100], s[100];
    r = shell_round(&s[0]); /* warm the page cache */
    for (int i = 0; i < rounds && r >= 0; i++) {
        cio_round_arg a = {0, 0}, b = {0, 1 << 20};
        r = cio_run(cio_round, &a, NULL);
        if (r >= 0)
            r = shell_round(&s[i]);
        if (r >= 0)
            r = cio_run(cio_round, &b, NULL);
        c[i] = a.gib_s;
        c1m[i] = b.gib_s;
    }
    unlink(path);
    if (r < 0) {
        fprintf(stderr, "pipe: %s\n", cio_strerror(r));
        return 1;
    }
    qsort(c, (size_t)rounds, sizeof(double), cmp);
    qsort(s, (size_t)rounds, sizeof(double), cmp);
    qsort(c1m, (size_t)rounds, sizeof(double), cmp);
    printf("pipe_cio_gib_s %.3f\n", c[rounds / 2]);
    printf("pipe_cio_pipesize_1m_gib_s %.3f\n", c1m[rounds / 2]);
    printf("pipe_shell_gib_s %.3f\n", s[rounds / 2]);
    printf("pipe_ratio_vs_cat %.3f\n", c[rounds / 2] / s[rounds / 2]);
    return 0;
}
