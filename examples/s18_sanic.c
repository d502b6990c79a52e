/*
 * s18_sanic.c - MISSION S18: the note's sanic app, in C on cio::http.
 *
 *     app = Sanic("hello")
 *
 *     @app.route('/<user>')
 *     async def hello(request, user):
 *         return json({'hello': user})
 *
 *     @app.route('/number/<number_arg:number>')
 *     async def number(request, number_arg):
 *         return text('Number - {}'.format(number_arg))
 *
 *     @app.route('/folder/<folder_id:[A-z0-9]{0,4}>')
 *     async def folder(request, folder_id):
 *         return text('Folder - {}'.format(folder_id))
 *
 *     async def handler2(request, name):
 *         return text('Folder - {}'.format(name))
 *     async def personal_handler2(request, name):
 *         return text('Person - {}'.format(name))
 *
 *     app.add_route(handler2, '/folder2/<name>')
 *     app.add_route(personal_handler2, '/personal2/<name:[A-z]>',
 *                   methods=['GET'])
 *     app.run(host="0.0.0.0", port=8000)
 *
 * plus `GET /` (text), `POST /echo` (the body back) and 404 for the rest.
 * So that the demo ends by itself, it listens on 127.0.0.1 and a free port
 * (or argv[1]) with 2 workers, and its after_server_start listener queries
 * every route with curl, shows the answers, then stops the server as
 * Ctrl-C would.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s18_sanic.c -o s18_sanic \
 *         $(pkg-config --cflags --libs cio-http)
 */
#define _DEFAULT_SOURCE /* mkdtemp, usleep, popen, kill... under -std=c11 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "cio/http.h"

static int index_page(cio_http_request *req, cio_http_response *res,
                      void *arg)
{
    (void)req, (void)arg;
    return cio_http_response_text(res, 200, "Hello from cio!\n");
}

static int hello(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)arg;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return -1;
    cJSON_AddStringToObject(o, "hello", cio_http_request_param(req, "user",
                                                              NULL));
    int r = cio_http_response_json(res, 200, o);
    cJSON_Delete(o);
    return r;
}

/* text('<label> - {}'.format(<param>)) for the four text routes. */
static int labelled(cio_http_request *req, cio_http_response *res, void *arg)
{
    const char *const *spec = arg; /* {label, parameter name} */
    char out[256];
    snprintf(out, sizeof(out), "%s - %s\n", spec[0],
             cio_http_request_param(req, spec[1], NULL));
    return cio_http_response_text(res, 200, out);
}

static int echo(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)arg;
    size_t n;
    const char *body = cio_http_request_body(req, &n);
    return cio_http_response_raw(res, 200, body, n, "text/plain");
}

static void query(int port, const char *opts, const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "curl -s -w ' [%%{http_code}]\\n' %s http://127.0.0.1:%d%s", opts,
             port, path);
    printf("$ curl %s%s%s\n", opts, *opts ? " " : "", path);
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    char line[512];
    while (p && fgets(line, sizeof(line), p))
        printf("  %s", line);
    if (p)
        pclose(p);
}

/* after_server_start: the curl session, then Ctrl-C. */
static void after_start(cio_http_app *app, int port, void *arg)
{
    (void)arg;
    printf("Server listening on http://127.0.0.1:%d (2 workers)\n", port);
    query(port, "", "/");
    query(port, "", "/alice");
    query(port, "", "/number/3.14");
    query(port, "", "/number/abc");
    query(port, "", "/folder/ab12");
    query(port, "", "/folder/toolong");
    query(port, "", "/folder2/docs");
    query(port, "", "/personal2/x");
    query(port, "-X POST", "/personal2/x");
    query(port, "-d 'echo me'", "/echo");
    query(port, "", "/no/such/page");
    printf("stopping the server (Ctrl-C)\n");
    cio_http_app_stop(app);
}

int main(int argc, char **argv)
{
    static const char *number[] = {"Number", "number_arg"};
    static const char *folder[] = {"Folder", "folder_id"};
    static const char *folder2[] = {"Folder", "name"};
    static const char *person[] = {"Person", "name"};
    cio_http_app *app;
    if (cio_http_app_new(&app, "hello") < 0)
        return 1;
    int r = 0;
    r |= cio_http_route(app, "/", index_page, NULL, CIO_HTTP_GET);
    r |= cio_http_route(app, "/<user>", hello, NULL, 0);
    r |= cio_http_route(app, "/number/<number_arg:number>", labelled, number,
                        0);
    r |= cio_http_route(app, "/folder/<folder_id:[A-z0-9]{0,4}>", labelled,
                        folder, 0);
    r |= cio_http_add_route(app, labelled, folder2, "/folder2/<name>", 0);
    r |= cio_http_add_route(app, labelled, person, "/personal2/<name:[A-z]>",
                            CIO_HTTP_GET);
    r |= cio_http_route(app, "/echo", echo, NULL, CIO_HTTP_POST);
    if (r < 0) {
        fprintf(stderr, "s18_sanic: %s\n", cio_http_app_error(app));
        return 1;
    }
    cio_http_app_on_start(app, after_start, NULL);
    r = cio_http_run(app, "127.0.0.1", argc > 1 ? atoi(argv[1]) : 0, 2);
    cio_http_app_free(app);
    if (r < 0) {
        fprintf(stderr, "s18_sanic: %s\n", cio_strerror(r));
        return 1;
    }
    return 0;
}
