/*
 * s18c_static_files.c - MISSION S18: a static file server on cio::http
 * (sanic's app.static("/static", dir)).
 *
 * It writes a small site into a temporary directory, serves it at
 * /static on 127.0.0.1 and a free port, queries itself with curl from its
 * after_server_start listener (the index of a directory, a file, a HEAD,
 * a Range request, a conditional request answered 304 from the ETag, a
 * path-traversal attempt answered 404), stops, and removes the directory.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s18c_static_files.c -o s18c_static_files \
 *         $(pkg-config --cflags --libs cio-http)
 */
#define _DEFAULT_SOURCE /* mkdtemp, popen... under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cio/http.h"

static char dir[64];

static void put(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void rm(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}

static void query(int port, const char *opts, const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "curl -s -i %s 'http://127.0.0.1:%d%s' | "
             "grep -v -i '^date\\|^server\\|^last-modified'; echo",
             opts, port, path);
    printf("$ curl %s %s\n", opts, path);
    fflush(stdout);
    if (system(cmd) != 0)
        printf("(curl failed)\n");
    fflush(stdout);
}

static void after_start(cio_http_app *app, int port, void *arg)
{
    (void)arg;
    query(port, "", "/static/");
    query(port, "", "/static/notes.txt");
    query(port, "-I", "/static/style.css");
    query(port, "-H 'Range: bytes=0-4'", "/static/notes.txt");
    /* The ETag of notes.txt, then a conditional request with it: 304. */
    char cmd[256], etag[128] = "";
    snprintf(cmd, sizeof(cmd), "curl -s -I http://127.0.0.1:%d/static/"
             "notes.txt | tr -d '\\r' | sed -n 's/^ETag: //Ip'", port);
    FILE *p = popen(cmd, "r");
    if (p) {
        if (!fgets(etag, sizeof(etag), p))
            etag[0] = '\0';
        pclose(p);
    }
    etag[strcspn(etag, "\n")] = '\0';
    char opts[256];
    snprintf(opts, sizeof(opts), "-H 'If-None-Match: %s'", etag);
    query(port, opts, "/static/notes.txt");
    query(port, "--path-as-is", "/static/../../etc/passwd");
    query(port, "", "/static/missing.txt");
    cio_http_app_stop(app);
}

int main(void)
{
    strcpy(dir, "/tmp/cio-static-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    put("index.html", "<h1>cio static</h1>\n");
    put("notes.txt", "hello from a static file\n");
    put("style.css", "h1 { color: teal }\n");
    cio_http_app *app;
    int r = cio_http_app_new(&app, "static");
    if (r == 0)
        r = cio_http_app_static(app, "/static", dir);
    if (r == 0)
        cio_http_app_on_start(app, after_start, NULL);
    if (r == 0)
        r = cio_http_run(app, "127.0.0.1", 0, 1);
    if (r < 0)
        fprintf(stderr, "s18c_static_files: %s\n", cio_strerror(r));
    cio_http_app_free(app);
    rm("index.html");
    rm("notes.txt");
    rm("style.css");
    rmdir(dir);
    return r < 0;
}
