/*
 * http_ws_echo.c - the cio side of the ws_echo figure: a WebSocket echo
 * server (cio_http_websocket on cio_http_run, one worker) on 127.0.0.1
 * --port P, until SIGTERM / SIGINT. bench/ws_load drives it (and the
 * Node `ws` and aiohttp peers) and reads its CPU time; see bench/run's
 * section_ws.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cio/http.h"

static int echo(cio_ws *ws, cio_http_request *req, void *arg)
{
    (void)req, (void)arg;
    cio_ws_msg m;
    int r;
    while ((r = cio_ws_receive(ws, &m)) == 0)
        if ((r = cio_ws_send(ws, m.type, m.data, m.len)) < 0)
            break;
    return 0;
}

int main(int argc, char **argv)
{
    int port = 0;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = atoi(argv[++i]);
    cio_http_app *app;
    if (cio_http_app_new(&app, "ws_echo") < 0)
        return 1;
    if (cio_http_websocket(app, "/", echo, NULL, NULL) < 0)
        return 1;
    int r = cio_http_run(app, "127.0.0.1", port, 1);
    if (r < 0)
        fprintf(stderr, "http_ws_echo: %s\n", cio_strerror(r));
    cio_http_app_free(app);
    return r < 0;
}
