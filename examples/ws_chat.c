/*
 * ws_chat.c - a WebSocket chat room on cio::http, server and clients in
 * one program (issue 13: "a WebSocket chat (server and client)").
 *
 * The server: cio_http_websocket(app, "/chat", ...) with
 * permessage-deflate; each connection's handler greets the newcomer, then
 * relays every text it receives as "<name>: <text>" to everyone in the
 * room (the handler is a coroutine: a slow member suspends the sender in
 * cio_ws_send, back-pressure instead of a growing queue), and tells the
 * room when someone leaves.
 *
 * The clients: three tasks (alice, bob, carol) connect with cio_ws_connect
 * (ws://127.0.0.1:<port>/chat?name=...), wait until all three are in,
 * say two lines each, read until they have seen all six lines, and close
 * with 1000. Everything runs on one loop and ends by itself.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic ws_chat.c -o ws_chat \
 *         $(pkg-config --cflags --libs cio-http)
 */
#include <stdio.h>
#include <string.h>

#include "cio/http.h"

#define MAX_MEMBERS 16
#define NCLIENTS 3

/* ---- the server ---------------------------------------------------------- */

static cio_ws *room[MAX_MEMBERS];

static void broadcast(const char *line)
{
    cio_ws *to[MAX_MEMBERS];
    memcpy(to, room, sizeof(to)); /* members may leave while we send */
    for (int i = 0; i < MAX_MEMBERS; i++)
        if (to[i])
            cio_ws_send_text(to[i], line); /* a failed member leaves */
}

static int chat(cio_ws *ws, cio_http_request *req, void *arg)
{
    (void)arg;
    const char *name = cio_http_request_arg(req, "name", 0, NULL);
    if (!name)
        name = "anonymous";
    int slot = -1;
    for (int i = 0; i < MAX_MEMBERS && slot < 0; i++)
        if (!room[i])
            slot = i;
    if (slot < 0)
        return cio_ws_close(ws, 1013, "room full"); /* try again later */
    room[slot] = ws;
    char line[512];
    snprintf(line, sizeof(line), "* welcome %s", name);
    cio_ws_send_text(ws, line);
    cio_ws_msg m;
    int r;
    while ((r = cio_ws_receive(ws, &m)) == 0) {
        if (m.type != CIO_WS_TEXT)
            continue;
        snprintf(line, sizeof(line), "%s: %.*s", name, (int)m.len,
                 (const char *)m.data);
        broadcast(line);
    }
    room[slot] = NULL;
    printf("server: %s left (close code %d)\n", name, cio_ws_close_code(ws));
    return r == CIO_EWS_CLOSED ? 0 : r;
}

/* ---- the clients -----------------------------------------------------------
 */

static int port, joined;
static cio_event all_in;

static int client(void *arg, void **result)
{
    (void)result;
    const char *name = arg;
    char url[128];
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/chat?name=%s", port, name);
    cio_ws_options o = CIO_WS_OPTIONS_INIT;
    o.compress = 1;
    cio_ws *ws;
    int r = cio_ws_connect_url(&ws, url, &o);
    if (r < 0) {
        fprintf(stderr, "%s: connect: %s\n", name, cio_strerror(r));
        return r;
    }
    cio_ws_msg m;
    if ((r = cio_ws_receive(ws, &m)) == 0) /* the welcome */
        printf("%-5s < %.*s (deflate %s)\n", name, (int)m.len,
               (const char *)m.data, cio_ws_compressed(ws) ? "on" : "off");
    if (r == 0 && ++joined == NCLIENTS)
        cio_event_set(&all_in);
    if (r == 0)
        r = cio_event_wait(&all_in);
    char line[128];
    for (int i = 1; r == 0 && i <= 2; i++) {
        snprintf(line, sizeof(line), "hello #%d from %s", i, name);
        r = cio_ws_send_text(ws, line);
    }
    for (int seen = 0; r == 0 && seen < 2 * NCLIENTS; seen++) {
        r = cio_ws_receive(ws, &m);
        if (r == 0)
            printf("%-5s < %.*s\n", name, (int)m.len, (const char *)m.data);
    }
    if (r == 0)
        r = cio_ws_close(ws, 1000, "bye");
    cio_ws_free(ws);
    return r;
}

static int main_task(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_http_app *app;
    int r = cio_http_app_new(&app, "chat");
    if (r < 0)
        return r;
    cio_ws_options o = CIO_WS_OPTIONS_INIT;
    o.compress = 1;
    o.heartbeat = 10 * CIO_SEC; /* drop members that vanish silently */
    cio_http_server *srv = NULL;
    r = cio_http_websocket(app, "/chat", chat, NULL, &o);
    if (r == 0)
        r = cio_http_server_start(app, "127.0.0.1", 0, &srv);
    if (r < 0) {
        fprintf(stderr, "server: %s\n", cio_strerror(r));
        cio_http_app_free(app);
        return r;
    }
    port = cio_http_server_port(srv);
    printf("chat server on ws://127.0.0.1:%d/chat\n", port);
    cio_event_init(&all_in);
    static const char *names[NCLIENTS] = {"alice", "bob", "carol"};
    cio_task *t[NCLIENTS];
    int failed = 0;
    for (int i = 0; i < NCLIENTS; i++)
        if (cio_task_create(cio_get_running_loop(), CIO_CORO(client, names[i]),
                            NULL, &t[i]) < 0)
            return -1;
    for (int i = 0; i < NCLIENTS; i++) {
        if (cio_await(t[i], NULL) < 0)
            failed = 1;
        cio_future_release(t[i]);
    }
    cio_http_server_close(srv);
    cio_event_destroy(&all_in);
    cio_http_app_free(app);
    printf("chat over%s\n", failed ? " (a client failed)" : "");
    return failed ? -1 : 0;
}

int main(void)
{
    int r = cio_run(main_task, NULL, NULL);
    return r == 0 ? 0 : 1;
}
