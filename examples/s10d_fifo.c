/*
 * s10d_fifo.c - MISSION S10: asyncio's connect_read_pipe on a FIFO. A
 * FIFO is made in a temporary directory and opened for reading
 * (O_NONBLOCK, so the open never blocks the loop) and wrapped with
 * cio_connect_read_pipe. Its write end is opened next and handed to a
 * child shell as its stdout (CIO_PROCESS_FD); the child writes five lines
 * 0.1 s apart, and this program prints each as it arrives. End of file
 * comes when the child exits, the last writer.
 *
 * Order matters with FIFOs: a read end with no writer reads as end of
 * file, so the writer is opened before the first read.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s10d_fifo.c -o s10d_fifo \
 *         $(pkg-config --cflags --libs cio)
 */
/* cio-test: timeout=30 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cio.h>

static int run(void *arg, void **result)
{
    (void)result;
    const char *fifo = arg;
    cio_loop *loop = cio_get_running_loop();
    int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    cio_stream_reader *r;
    int rc = cio_connect_read_pipe(loop, fd, NULL, &r);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    /* A reader exists, so opening the write end does not block. */
    int wfd = open(fifo, O_WRONLY | O_CLOEXEC);
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_FD;
    o.stdout_fd = wfd;
    char *const argv[] = {
        "/bin/sh", "-c",
        "for i in 1 2 3 4 5; do echo \"message $i through the fifo\"; "
        "sleep 0.1; done",
        NULL};
    cio_process *p;
    rc = wfd < 0 ? -1 : cio_create_subprocess_exec(NULL, argv, &o, &p);
    if (wfd >= 0)
        close(wfd); /* the child holds the only write end now */
    if (rc == 0) {
        int64_t t0 = cio_loop_time(loop);
        const char *line;
        ssize_t n;
        int lines = 0;
        while ((n = cio_stream_reader_readline(r, &line)) > 0) {
            lines++;
            printf("[%.2f s] %.*s", (double)(cio_loop_time(loop) - t0) / 1e9,
                   (int)n, line);
        }
        int code = -1;
        cio_process_wait(p, &code);
        printf("%d lines read from %s, writer exited with %d\n", lines, fifo,
               code);
        cio_process_free(p);
        rc = n < 0 ? (int)n : 0;
    }
    cio_stream_reader_free(r);
    return rc;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    char dir[] = "/tmp/cio-fifo-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char fifo[64];
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    int r = mkfifo(fifo, 0600);
    if (r == 0)
        r = cio_run(run, fifo, NULL);
    unlink(fifo);
    rmdir(dir);
    if (r < 0)
        fprintf(stderr, "s10d_fifo: %s\n", cio_strerror(r));
    return r != 0;
}
