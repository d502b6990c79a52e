/*
 * s19b_json_client.c - MISSION S19: a JSON API client with cio's HTTP
 * client (aiohttp's `async with session.post(url, json=...) as resp:
 * await resp.json()`). A small cio JSON API runs on the same loop; the
 * client creates items with POST (a JSON body), lists them with GET and
 * query parameters, reads a 404's JSON error, and gets one with basic
 * auth. Every call goes through one session, so one kept-alive
 * connection serves them all; the session has aiohttp's base_url (the
 * requests give relative URLs) and default headers (an Accept sent on
 * every request).
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s19b_json_client.c -o s19b_json_client \
 *         $(pkg-config --cflags --libs cio-http)
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cio.h>

#include "cio/http.h"

/* ---- the API: an in-memory list of items ---- */

static cJSON *items;

static int api_create(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    const cJSON *in = cio_http_request_json(req);
    const cJSON *name = cJSON_GetObjectItem(in, "name");
    if (!cJSON_IsString(name))
        return cio_http_response_json_text(res, 400,
                                           "{\"error\":\"name required\"}");
    cJSON *it = cJSON_CreateObject();
    cJSON_AddNumberToObject(it, "id", cJSON_GetArraySize(items) + 1);
    cJSON_AddStringToObject(it, "name", name->valuestring);
    cJSON_AddItemToArray(items, it);
    return cio_http_response_json(res, 201, it);
}

static int api_list(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    const char *prefix = cio_http_request_arg(req, "prefix", 0, NULL);
    cJSON *out = cJSON_CreateArray();
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        const char *n = cJSON_GetObjectItem(it, "name")->valuestring;
        if (!prefix || strncmp(n, prefix, strlen(prefix)) == 0)
            cJSON_AddItemToArray(out, cJSON_Duplicate(it, 1));
    }
    int r = cio_http_response_json(res, 200, out);
    cJSON_Delete(out);
    return r;
}

static int api_get(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    size_t n;
    const char *auth = cio_http_request_header(req, "authorization", 0, &n);
    if (!auth)
        return cio_http_response_json_text(res, 401,
                                           "{\"error\":\"login first\"}");
    int id = atoi(cio_http_request_param(req, "id", NULL));
    const cJSON *it = cJSON_GetArrayItem(items, id - 1);
    if (!it)
        return cio_http_response_json_text(res, 404,
                                           "{\"error\":\"no such item\"}");
    return cio_http_response_json(res, 200, it);
}

/* ---- the client ---- */

static void show(const char *what, cio_http_client_response *r)
{
    int e;
    const cJSON *j = cio_http_client_response_json(r, &e);
    char *t = j ? cJSON_PrintUnformatted(j) : NULL;
    printf("%-28s %d %s\n", what, cio_http_client_response_status(r),
           t ? t : cio_strerror(e));
    free(t);
}

static int client(int port)
{
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d/", port);
    static const char *const headers[] = {"Accept", "application/json", NULL};
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.base_url = base;     /* copied, like the headers */
    so.headers = headers;
    cio_http_session *s;
    int r = cio_http_session_new(&s, cio_get_running_loop(), &so);
    if (r < 0)
        return r;
    const char *url = "items";
    cio_http_client_response *resp;
    const char *names[] = {"apple", "apricot", "banana"};
    for (int i = 0; i < 3 && r == 0; i++) {
        cJSON *body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "name", names[i]);
        cio_http_request_opts o = {0};
        o.json = body;
        r = cio_http_session_request(s, "POST", url, &o, &resp);
        cJSON_Delete(body);
        if (r == 0) {
            show("POST /items", resp);
            cio_http_client_response_free(resp);
        }
    }
    const char *params[] = {"prefix", "ap", NULL};
    cio_http_request_opts q = {0};
    q.params = params;
    if (r == 0)
        r = cio_http_session_request(s, "GET", url, &q, &resp);
    if (r == 0) {
        show("GET /items?prefix=ap", resp);
        cio_http_client_response_free(resp);
    }
    url = "items/2";
    if (r == 0 && (r = cio_http_session_get(s, url, &resp)) == 0) {
        show("GET /items/2 (no auth)", resp);
        cio_http_client_response_free(resp);
    }
    cio_http_request_opts au = {0};
    au.user = "demo";
    au.password = "secret";
    if (r == 0 &&
        (r = cio_http_session_request(s, "GET", url, &au, &resp)) == 0) {
        show("GET /items/2 (basic auth)", resp);
        cio_http_client_response_free(resp);
    }
    url = "items/9";
    if (r == 0 &&
        (r = cio_http_session_request(s, "GET", url, &au, &resp)) == 0) {
        show("GET /items/9", resp);
        printf("raise_for_status: %s\n",
               cio_strerror(cio_http_client_response_raise_for_status(resp)));
        cio_http_client_response_free(resp);
    }
    long opened;
    cio_http_session_stats(s, &opened, NULL);
    printf("%ld connection for all requests (keep-alive pool)\n", opened);
    cio_http_session_close(s);
    return r;
}

static int main_task(void *arg, void **result)
{
    (void)arg, (void)result;
    items = cJSON_CreateArray();
    cio_http_app *app;
    int r = cio_http_app_new(&app, "api");
    if (r == 0)
        r = cio_http_route(app, "/items", api_create, NULL, CIO_HTTP_POST);
    if (r == 0)
        r = cio_http_route(app, "/items", api_list, NULL, CIO_HTTP_GET);
    if (r == 0)
        r = cio_http_route(app, "/items/<id:int>", api_get, NULL, 0);
    cio_http_server *srv = NULL;
    if (r == 0)
        r = cio_http_server_start(app, "127.0.0.1", 0, &srv);
    if (r == 0) {
        r = client(cio_http_server_port(srv));
        cio_http_server_close(srv);
    }
    cio_http_app_free(app);
    cJSON_Delete(items);
    return r;
}

int main(void)
{
    int r = cio_run(main_task, NULL, NULL);
    if (r < 0)
        fprintf(stderr, "s19b_json_client: %s\n", cio_strerror(r));
    return r < 0;
}
