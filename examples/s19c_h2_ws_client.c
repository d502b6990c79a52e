/*
 * s19c_h2_ws_client.c - MISSION S19: cio's HTTP client over HTTP/2 and
 * the session's ws_connect (aiohttp's session.ws_connect). A cio app on
 * the same loop serves HTTP/2 (h2c, prior knowledge) and a WebSocket
 * chat-echo route. The client:
 *   - fetches /item/1 .. /item/5 from five tasks at once through one
 *     session set to speak h2c: the five requests are streams of one
 *     HTTP/2 connection (the server reports each request's remote port,
 *     and the session's counter says one connection was opened);
 *   - logs in (a cookie set by the server lands in the session's jar) and
 *     opens a WebSocket with cio_http_session_ws_connect: the upgrade
 *     request carries the session's cookie, so the chat knows the user.
 * Over https the same session would pick HTTP/2 by ALPN when the server
 * offers it. Ends by itself; exit status 1 if anything is off.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s19c_h2_ws_client.c -o s19c_h2_ws_client \
 *         $(pkg-config --cflags --libs cio-http)
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cio.h>

#include "cio/http.h"
#include "cio/http2.h"

/* ---- the server ---- */

static int h_item(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    cio_sockaddr peer;
    cio_http_request_remote(req, &peer);
    char out[96];
    snprintf(out, sizeof(out), "item %s over HTTP/%s from port %d",
             cio_http_request_param(req, "id", NULL),
             cio_http_request_version(req) == 20 ? "2" : "1.1",
             cio_sockaddr_port(&peer));
    cio_sleep(10 * CIO_MS); /* the five requests overlap */
    return cio_http_response_text(res, 200, out);
}

static int h_login(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    cio_http_response_header(res, "Set-Cookie", "user=ada; Path=/");
    return cio_http_response_text(res, 200, "welcome");
}

static int h_chat(cio_ws *ws, cio_http_request *req, void *a)
{
    (void)a;
    size_t ul = 0;
    const char *user = cio_http_request_cookie(req, "user", &ul);
    cio_ws_msg m;
    while (cio_ws_receive(ws, &m) == 0) {
        char out[256];
        snprintf(out, sizeof(out), "%.*s says: %.*s", (int)ul,
                 user ? user : "nobody", (int)m.len, (const char *)m.data);
        if (cio_ws_send_text(ws, out) < 0)
            break;
    }
    return 0;
}

/* ---- the client ---- */

static cio_http_session *session;
static int port;
static char answers[5][96];

static int fetch(void *arg, void **result)
{
    (void)result;
    int i = (int)(intptr_t)arg;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/item/%d", port, i + 1);
    cio_http_client_response *r;
    int e = cio_http_session_get(session, url, &r);
    if (e < 0)
        return e;
    const char *t = cio_http_client_response_text(r, &e);
    if (t)
        snprintf(answers[i], sizeof(answers[i]), "%s", t);
    cio_http_client_response_free(r);
    return t ? 0 : e;
}

static int main_task(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_http_app *app;
    cio_http_server *srv = NULL;
    cio_task *t[5] = {0};
    cio_ws *ws = NULL;
    int ok = 0;
    cio_http_app_new(&app, "h2-ws-demo");
    cio_http_route(app, "/item/<id:int>", h_item, NULL, 0);
    cio_http_route(app, "/login", h_login, NULL, CIO_HTTP_POST);
    cio_http_websocket(app, "/chat", h_chat, NULL, NULL);
    cio_http_app_http2(app, NULL);
    if (cio_http_server_start(app, "127.0.0.1", 0, &srv) < 0)
        goto out;
    port = cio_http_server_port(srv);

    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.http_version = CIO_HTTP_CLIENT_H2_PRIOR; /* h2c on http:// */
    if (cio_http_session_new(&session, cio_get_running_loop(), &so) < 0)
        goto out;
    for (int i = 0; i < 5; i++)
        cio_task_create(cio_get_running_loop(),
                        (cio_coro){fetch, (void *)(intptr_t)i}, NULL, &t[i]);
    int fetched = 0;
    for (int i = 0; i < 5; i++)
        fetched += t[i] && cio_await(t[i], NULL) == 0;
    long opened = 0;
    cio_http_session_stats(session, &opened, NULL);
    for (int i = 0; i < 5; i++)
        printf("%s\n", answers[i]);
    printf("%d responses, %ld connection(s) opened\n", fetched, opened);

    /* log in, then chat: the WebSocket upgrade carries the cookie */
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/login", port);
    cio_http_client_response *r;
    if (cio_http_session_request(session, "POST", url, NULL, &r) < 0)
        goto out;
    cio_http_client_response_free(r);
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/chat", port);
    if (cio_http_session_ws_connect(session, url, NULL, NULL, &ws) < 0)
        goto out;
    cio_ws_msg m;
    if (cio_ws_send_text(ws, "hello over a WebSocket") < 0 ||
        cio_ws_receive(ws, &m) < 0)
        goto out;
    printf("chat: %.*s\n", (int)m.len, (const char *)m.data);
    ok = fetched == 5 && opened == 1 &&
         strstr(answers[0], "HTTP/2") != NULL && m.len > 9 &&
         !memcmp(m.data, "ada says:", 9);
    cio_ws_close(ws, 1000, NULL);
out:
    cio_ws_free(ws);
    for (int i = 0; i < 5; i++)
        if (t[i])
            cio_future_release(t[i]);
    if (session)
        cio_http_session_close(session);
    if (srv)
        cio_http_server_close(srv);
    cio_http_app_free(app);
    return ok ? 0 : -1;
}

int main(void)
{
    int rc = cio_run(main_task, NULL, NULL);
    printf("%s\n", rc == 0 ? "done" : "FAILED");
    return rc == 0 ? 0 : 1;
}
