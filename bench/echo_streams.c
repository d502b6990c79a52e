/*
 * echo_streams.c - echo server on cio streams (asyncio.start_server), for
 * the peer harness (/work/shared/bench/run-peers --echo-target
 * cio-streams='.../echo_streams --port {port}').
 *
 * One task per connection, asyncio's shape: read up to 64 KiB, write it,
 * drain. Listens on 127.0.0.1:<port> (--port N, else $PORT, else 25001)
 * and runs until SIGTERM or SIGINT, which cancel the main task; cio_run
 * then cancels the connection tasks and closes the loop. Prints one line
 * when listening.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cio.h"

static int handler(cio_stream_reader *r, cio_stream_writer *w, void *arg)
{
    (void)arg;
    char buf[65536];
    for (;;) {
        ssize_t n = cio_stream_reader_read(r, buf, sizeof(buf));
        if (n <= 0)
            return n < 0 && n != -ECONNRESET && n != -ECANCELED ? (int)n : 0;
        if (cio_stream_writer_write(w, buf, (size_t)n) < 0 ||
            cio_stream_writer_drain(w) < 0)
            return 0;
    }
}

static int stop_cb(void *arg)
{
    cio_task_cancel(arg, NULL);
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)result;
    int port = *(int *)arg;
    cio_loop *loop = cio_get_running_loop();
    cio_task *self = cio_current_task();
    cio_loop_add_signal_handler(loop, SIGTERM, stop_cb, self);
    cio_loop_add_signal_handler(loop, SIGINT, stop_cb, self);
    cio_server *srv;
    int r = cio_start_server(loop, handler, NULL, "127.0.0.1", port, NULL,
                             &srv);
    if (r < 0) {
        fprintf(stderr, "echo_streams: listen: %s\n", cio_strerror(r));
        return r;
    }
    printf("echo_streams listening on 127.0.0.1:%d\n", cio_server_port(srv));
    fflush(stdout);
    r = cio_server_serve_forever(srv);
    cio_server_abort_clients(srv);
    cio_server_free(srv);
    return r == -ECANCELED ? 0 : r;
}

int main(int argc, char **argv)
{
    int port = getenv("PORT") ? atoi(getenv("PORT")) : 25001;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
    int r = cio_run(main_task, &port, NULL);
    return r < 0 && r != -ECANCELED ? 1 : 0;
}
