/*
 * s18b_json_api.c - MISSION S18, the second example: a small JSON
 * API on cio::http with middleware and a blueprint (sanic's
 * Blueprint("api", url_prefix="/api")).
 *
 *   GET  /api/items           -> the list, as JSON
 *   GET  /api/items/<id:int>  -> one item, or a JSON 404
 *   POST /api/items           -> adds {"name": ...} from the JSON body
 *   every response            -> X-Request-Id (response middleware)
 *   requests without "Authorization: Bearer demo" to /api -> 401
 *                                (the blueprint's request middleware)
 *
 * Like s18_sanic it serves on 127.0.0.1 and a free port, queries itself
 * with curl from its after_server_start listener, and stops.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s18b_json_api.c -o s18b_json_api \
 *         $(pkg-config --cflags --libs cio-http)
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cio/http.h"

static cJSON *items; /* the "database": read and written by one worker */
static int next_id = 1;

static int list(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)req, (void)arg;
    return cio_http_response_json(res, 200, items);
}

static int get(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)arg;
    int id = atoi(cio_http_request_param(req, "id", NULL));
    const cJSON *it;
    cJSON_ArrayForEach(it, items) {
        if (cJSON_GetObjectItem(it, "id")->valueint == id)
            return cio_http_response_json(res, 200, it);
    }
    return cio_http_response_json_text(res, 404, "{\"error\":\"no such item\"}");
}

static int add(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)arg;
    const cJSON *body = cio_http_request_json(req); /* parsed lazily */
    const cJSON *name = cJSON_GetObjectItem(body, "name");
    if (!cJSON_IsString(name))
        return cio_http_response_json_text(res, 400,
                                           "{\"error\":\"name missing\"}");
    cJSON *it = cJSON_CreateObject();
    cJSON_AddNumberToObject(it, "id", next_id++);
    cJSON_AddStringToObject(it, "name", name->valuestring);
    cJSON_AddItemToArray(items, it);
    return cio_http_response_json(res, 201, it);
}

static int need_token(cio_http_request *req, cio_http_response *res,
                      void *arg)
{
    (void)arg;
    size_t n;
    const char *auth = cio_http_request_header(req, "authorization", 0, &n);
    if (auth && n == 11 && memcmp(auth, "Bearer demo", 11) == 0)
        return 0; /* go on to the handler */
    return cio_http_response_json_text(res, 401, "{\"error\":\"token\"}");
}

static int request_id(cio_http_request *req, cio_http_response *res,
                      void *arg)
{
    (void)req, (void)arg;
    static int n;
    char id[32];
    snprintf(id, sizeof(id), "req-%d", ++n);
    return cio_http_response_header(res, "X-Request-Id", id);
}

static void query(int port, const char *opts, const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "curl -s -i %s http://127.0.0.1:%d%s | grep -v -i '^date\\|^server'",
             opts, port, path);
    printf("$ curl %s %s\n", opts, path);
    fflush(stdout);
    if (system(cmd) != 0)
        printf("(curl failed)\n");
    printf("\n");
}

static void after_start(cio_http_app *app, int port, void *arg)
{
    (void)arg;
    const char *tok = "-H 'Authorization: Bearer demo'";
    char post[256];
    snprintf(post, sizeof(post), "%s -H 'Content-Type: application/json' "
             "-d '{\"name\": \"teapot\"}'", tok);
    query(port, tok, "/api/items");
    query(port, post, "/api/items");
    query(port, tok, "/api/items/1");
    query(port, tok, "/api/items/9");
    query(port, "", "/api/items");
    cio_http_app_stop(app);
}

int main(void)
{
    items = cJSON_CreateArray();
    cio_http_app *app;
    cio_http_blueprint *api;
    if (cio_http_app_new(&app, "json-api") < 0 ||
        cio_http_blueprint_new(&api, "api", "/api") < 0)
        return 1;
    int r = 0;
    r |= cio_http_blueprint_route(api, "/items", list, NULL, CIO_HTTP_GET);
    r |= cio_http_blueprint_route(api, "/items", add, NULL, CIO_HTTP_POST);
    r |= cio_http_blueprint_route(api, "/items/<id:int>", get, NULL, 0);
    r |= cio_http_blueprint_middleware(api, CIO_HTTP_MW_REQUEST, need_token,
                                       NULL);
    r |= cio_http_app_blueprint(app, api);
    r |= cio_http_app_middleware(app, CIO_HTTP_MW_RESPONSE, request_id, NULL);
    if (r < 0) {
        fprintf(stderr, "s18b_json_api: %s\n", cio_http_app_error(app));
        return 1;
    }
    cio_http_app_on_start(app, after_start, NULL);
    r = cio_http_run(app, "127.0.0.1", 0, 1);
    cio_http_app_free(app);
    cJSON_Delete(items);
    return r < 0 ? 1 : 0;
}
