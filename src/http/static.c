/*
 * static.c - files as responses: cio_http_response_file (conditional
 * requests, one byte range, Content-Type by extension) and static
 * directory routes (cio_http_app_static). The body goes out with
 * sendfile(2) after the head (src/http/io.c), never through user space.
 *
 * Path traversal: the route's <path> parameter is percent-decoded, then
 * refused if it holds an empty, "." or ".." segment or a NUL; the file's
 * realpath must also lie inside the directory's realpath, so a symbolic
 * link cannot lead out of it either.
 *
 * Validators: a weak ETag W/"<size>-<mtime ns>" (hex) and Last-Modified.
 * If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2). Only single
 * ranges are served; a multi-range request gets the whole file (allowed by
 * RFC 9110 14.2), which spares multipart/byteranges.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http_int.h"

void cio__http_response_close_file_slow(cio_http_response *res)
{
    if (res->has_file && res->file_fd >= 0)
        close(res->file_fd);
    res->has_file = 0;
    res->file_fd = -1;
}

static const char *mime_of(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"txt", "text/plain; charset=utf-8"},
        {"md", "text/markdown; charset=utf-8"},
        {"xml", "application/xml"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"ico", "image/x-icon"},
        {"pdf", "application/pdf"},
        {"wasm", "application/wasm"},
        {"woff2", "font/woff2"},
        {"mp4", "video/mp4"},
    };
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

static void http_date(time_t t, char *buf, size_t cap)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Does the If-None-Match list (a view) hold etag (weak comparison)? */
static int etag_matches(const char *v, size_t n, const char *etag)
{
    const char *opaque = etag + 2; /* skip W/ */
    size_t ol = strlen(opaque);
    const char *p = v, *end = v + n;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == ','))
            p++;
        if (p < end && *p == '*')
            return 1;
        if (end - p >= 2 && p[0] == 'W' && p[1] == '/')
            p += 2;
        if ((size_t)(end - p) >= ol && memcmp(p, opaque, ol) == 0)
            return 1;
        while (p < end && *p != ',')
            p++;
    }
    return 0;
}

/* Parses "bytes=a-b" / "bytes=a-" / "bytes=-n" for a file of size.
 * Returns 1 with [*from, *to], 0 to ignore the header, -1 unsatisfiable. */
static int parse_range(const char *v, size_t n, uint64_t size, uint64_t *from,
                       uint64_t *to)
{
    if (n < 7 || strncmp(v, "bytes=", 6) != 0 || memchr(v, ',', n))
        return 0;
    const char *p = v + 6, *end = v + n;
    uint64_t a = 0, b = 0;
    int ha = 0, hb = 0;
    while (p < end && *p >= '0' && *p <= '9' && a < (1ull << 60))
        a = a * 10 + (uint64_t)(*p++ - '0'), ha = 1;
    if (p == end || *p != '-')
        return 0;
    p++;
    while (p < end && *p >= '0' && *p <= '9' && b < (1ull << 60))
        b = b * 10 + (uint64_t)(*p++ - '0'), hb = 1;
    if (p != end || (!ha && !hb))
        return 0;
    if (!ha) { /* suffix: the last b bytes */
        if (b == 0)
            return -1;
        *from = b >= size ? 0 : size - b;
        *to = size - 1;
        return size ? 1 : -1;
    }
    if (hb && b < a)
        return 0;
    if (a >= size)
        return -1;
    *from = a;
    *to = hb && b < size ? b : size - 1;
    return 1;
}

int cio_http_response_file(cio_http_request *req, cio_http_response *res,
                           const char *path)
{
    if (!req || !res || !path)
        return -EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return cio_http_response_text(res, e == EACCES ? 403 : 404,
                                      e == EACCES ? "Forbidden\n"
                                                  : "Not Found\n") < 0
                   ? -ENOMEM
                   : 0;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cio_http_response_text(res, 404, "Not Found\n");
    }
    char etag[64], lm[64];
    snprintf(etag, sizeof(etag), "W/\"%llx-%llx\"",
             (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
                 (unsigned long long)st.st_mtim.tv_nsec);
    http_date(st.st_mtim.tv_sec, lm, sizeof(lm));
    size_t vl;
    const char *inm = cio_http_request_header(req, "if-none-match", 0, &vl);
    int not_modified = 0;
    if (inm) {
        not_modified = etag_matches(inm, vl, etag);
    } else {
        const char *ims =
            cio_http_request_header(req, "if-modified-since", 0, &vl);
        if (ims && vl < 64) {
            char tmp[64];
            memcpy(tmp, ims, vl);
            tmp[vl] = '\0';
            struct tm tm;
            memset(&tm, 0, sizeof(tm));
            const char *e = strptime(tmp, "%a, %d %b %Y %H:%M:%S GMT", &tm);
            if (e && *e == '\0' && timegm(&tm) >= st.st_mtim.tv_sec)
                not_modified = 1;
        }
    }
    int r;
    if (not_modified) {
        close(fd);
        r = cio_http_response_empty(res, 304);
        if (r == 0)
            r = cio_http_response_header(res, "ETag", etag);
        if (r == 0)
            r = cio_http_response_header(res, "Last-Modified", lm);
        return r;
    }
    uint64_t size = (uint64_t)st.st_size, from = 0, to = size ? size - 1 : 0;
    int status = 200;
    const char *range = cio_http_request_header(req, "range", 0, &vl);
    if (range) {
        int pr = parse_range(range, vl, size, &from, &to);
        if (pr < 0) {
            close(fd);
            char cr[64];
            snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
            r = cio_http_response_text(res, 416, "Range Not Satisfiable\n");
            if (r == 0)
                r = cio_http_response_header(res, "Content-Range", cr);
            return r;
        }
        if (pr > 0)
            status = 206;
    }
    r = cio_http_response_raw(res, status, NULL, 0, mime_of(path));
    if (r == 0)
        r = cio_http_response_header(res, "ETag", etag);
    if (r == 0)
        r = cio_http_response_header(res, "Last-Modified", lm);
    if (r == 0)
        r = cio_http_response_header(res, "Accept-Ranges", "bytes");
    if (r == 0 && status == 206) {
        char cr[96];
        snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu",
                 (unsigned long long)from, (unsigned long long)to,
                 (unsigned long long)size);
        r = cio_http_response_header(res, "Content-Range", cr);
    }
    if (r < 0) {
        close(fd);
        return r;
    }
    res->has_file = 1;
    res->file_fd = fd;
    res->file_off = from;
    res->file_len = size ? to - from + 1 : 0;
    return 0;
}

typedef struct static_dir {
    char *dir; /* realpath of the directory */
    size_t len;
} static_dir;

static int serve_static(cio_http_request *req, cio_http_response *res,
                        void *arg)
{
    static_dir *sd = arg;
    size_t pl;
    const char *rel = cio_http_request_param(req, "path", &pl);
    if (!rel)
        rel = "", pl = 0;
    /* Refuse NULs and empty, "." and ".." segments. */
    if (memchr(rel, '\0', pl))
        return cio_http_response_text(res, 404, "Not Found\n");
    for (const char *p = rel, *end = rel + pl; p <= end;) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *e = slash ? slash : end;
        size_t n = (size_t)(e - p);
        if ((n == 0 && pl) || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.'))
            return cio_http_response_text(res, 404, "Not Found\n");
        p = e + 1;
    }
    char full[PATH_MAX], real[PATH_MAX];
    int w = snprintf(full, sizeof(full), "%s/%s", sd->dir,
                     pl ? rel : "index.html");
    if (w < 0 || (size_t)w >= sizeof(full))
        return cio_http_response_text(res, 414, "URI Too Long\n");
    struct stat st;
    if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
        w = snprintf(full, sizeof(full), "%s/%s/index.html", sd->dir, rel);
        if (w < 0 || (size_t)w >= sizeof(full))
            return cio_http_response_text(res, 414, "URI Too Long\n");
    }
    if (!realpath(full, real) || strncmp(real, sd->dir, sd->len) != 0 ||
        real[sd->len] != '/')
        return cio_http_response_text(res, 404, "Not Found\n");
    return cio_http_response_file(req, res, real);
}

int cio_http_app_static(cio_http_app *app, const char *prefix,
                        const char *dir)
{
    if (!app || !prefix || !dir || prefix[0] != '/')
        return -EINVAL;
    char real[PATH_MAX];
    if (!realpath(dir, real))
        return -errno;
    static_dir *sd = malloc(sizeof(*sd));
    if (!sd || !(sd->dir = strdup(real))) {
        free(sd);
        return -ENOMEM;
    }
    sd->len = strlen(sd->dir);
    size_t pl = strlen(prefix);
    char *pat = malloc(pl + 16);
    if (!pat) {
        free(sd->dir);
        free(sd);
        return -ENOMEM;
    }
    /* prefix itself (index.html) and prefix/<path:path>. */
    int trailing = pl > 0 && prefix[pl - 1] == '/';
    snprintf(pat, pl + 16, "%s%s<path:path>", prefix, trailing ? "" : "/");
    int r = cio_http_route(app, pat, serve_static, sd,
                           CIO_HTTP_GET | CIO_HTTP_HEAD);
    if (r == 0) {
        r = cio_http_route(app, prefix, serve_static, sd,
                           CIO_HTTP_GET | CIO_HTTP_HEAD);
        if (r == -EEXIST)
            r = 0; /* the prefix is already routed: keep that route */
    }
    free(pat);
    if (r < 0) {
        free(sd->dir);
        free(sd);
        return r;
    }
    /* Freed with the app. */
    static_dir **keep = realloc(app->statics, (app->nstatics + 1) *
                                                  sizeof(*keep));
    if (!keep)
        return -ENOMEM; /* routed, so sd must stay: it leaks */
    app->statics = keep;
    app->statics[app->nstatics++] = sd;
    return 0;
}

void cio__http_static_free_all(cio_http_app *app)
{
    for (size_t i = 0; i < app->nstatics; i++) {
        static_dir *sd = app->statics[i];
        free(sd->dir);
        free(sd);
    }
    free(app->statics);
    app->statics = NULL;
    app->nstatics = 0;
}
