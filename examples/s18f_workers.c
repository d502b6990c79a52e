/*
 * s18f_workers.c - MISSION S18: sanic's app.run(workers=2) as processes.
 *
 * cio_http_run_processes forks two worker processes, each with its own
 * loop and its own SO_REUSEPORT listener on the same port; the kernel
 * spreads new connections over them. GET / answers with the worker's
 * process id. Once both listen, the parent queries itself with curl (new
 * connections, so both workers show up), then stops: each worker gets
 * SIGTERM and closes gracefully, as Ctrl-C or `kill` of the parent would
 * do.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s18f_workers.c -o s18f_workers \
 *         $(pkg-config --cflags --libs cio-http)
 */
#define _DEFAULT_SOURCE /* popen under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cio/http.h"

static int whoami(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)req, (void)arg;
    char out[64];
    snprintf(out, sizeof(out), "served by worker %ld\n", (long)getpid());
    return cio_http_response_text(res, 200, out);
}

static void after_start(cio_http_app *app, int port, void *arg)
{
    (void)arg;
    printf("parent %ld: 2 workers listen on port %d\n", (long)getpid(), port);
    char cmd[256];
    FILE *p;
    /* How many distinct workers answered (usually 2; the kernel's hash
     * may send all twenty to one). */
    snprintf(cmd, sizeof(cmd),
             "for i in $(seq 20); do curl -s http://127.0.0.1:%d/; done | "
             "sort -u | wc -l",
             port);
    fflush(stdout);
    p = popen(cmd, "r");
    int distinct = 0;
    if (p && fscanf(p, "%d", &distinct) != 1)
        distinct = 0;
    if (p)
        pclose(p);
    printf("20 requests answered by %d distinct worker process(es)\n",
           distinct);
    fflush(stdout);
    cio_http_app_stop(app);
}

int main(void)
{
    cio_http_app *app;
    int r = cio_http_app_new(&app, "workers");
    if (r == 0)
        r = cio_http_route(app, "/", whoami, NULL, 0);
    if (r == 0)
        cio_http_app_on_start(app, after_start, NULL);
    if (r == 0)
        r = cio_http_run_processes(app, "127.0.0.1", 0, 2);
    if (r < 0)
        fprintf(stderr, "s18f_workers: %s\n", cio_strerror(r));
    else
        printf("all workers stopped cleanly\n");
    cio_http_app_free(app);
    return r < 0;
}
