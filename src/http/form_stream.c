/*
 * form_stream.c - forms read from a streamed body (cio_http_request_read_
 * form): multipart/form-data parsed as the body arrives, fields kept in
 * memory (bounded), file parts kept in memory up to a threshold and
 * written to a temporary file beyond it, with a size limit per file;
 * application/x-www-form-urlencoded bodies read whole up to the fields'
 * limit. The temporary files are removed when the handler returns
 * (cio__http_sform_free, from cio__http_request_done).
 *
 * The multipart parser (multipart.c) wants the bytes it did not consume
 * passed again with more: pieces from cio_http_request_read are appended
 * to a small buffer (a part head, at most 8 KiB, is the longest run it
 * holds back) that is compacted before each append.
 *
 * File writes are plain write(2) calls on the loop's thread: writes to a
 * local file system land in the page cache and do not wait for the disk;
 * an application that spools to a slow network file system should pass a
 * local dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_int.h"
#include "multipart.h"

typedef struct sform_part {
    char *name, *filename, *ctype;
    int is_file;
    char *data; /* in memory (fields, small files) */
    size_t len, cap;
    char *path; /* on disk */
    int fd;
    uint64_t size;
} sform_part;

struct cio__sform {
    sform_part *v;
    size_t n, cap;
    char *urlenc; /* an urlencoded body, whole */
    size_t urlenc_len;
};

void cio__http_sform_free(cio_http_request *req)
{
    struct cio__sform *f = req->sform;
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        sform_part *p = &f->v[i];
        if (p->fd >= 0)
            close(p->fd);
        if (p->path) {
            unlink(p->path);
            free(p->path);
        }
        free(p->name);
        free(p->filename);
        free(p->ctype);
        free(p->data);
    }
    free(f->v);
    free(f->urlenc);
    free(f);
    req->sform = NULL;
}

static char *dup_view(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int put(char **buf, size_t *len, size_t *cap, const char *d, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t nc = *cap ? *cap : 256;
        while (nc < *len + n + 1)
            nc *= 2;
        char *b = realloc(*buf, nc);
        if (!b)
            return -ENOMEM;
        *buf = b;
        *cap = nc;
    }
    memcpy(*buf + *len, d, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

static int write_all(int fd, const char *d, size_t n)
{
    while (n) {
        ssize_t w = write(fd, d, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        d += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Moves an in-memory file part to a new temporary file in dir. */
static int spill(sform_part *p, const char *dir)
{
    size_t dl = strlen(dir);
    p->path = malloc(dl + 24);
    if (!p->path)
        return -ENOMEM;
    memcpy(p->path, dir, dl);
    strcpy(p->path + dl, "/cio-upload-XXXXXX");
    p->fd = mkostemp(p->path, O_CLOEXEC);
    if (p->fd < 0) {
        int e = -errno;
        free(p->path);
        p->path = NULL;
        return e;
    }
    int r = write_all(p->fd, p->data, p->len);
    free(p->data);
    p->data = NULL;
    p->len = p->cap = 0;
    return r;
}

/* Fails the body for the handler (and the status the client gets if the
 * handler then fails) and closes the connection after the response. */
static int body_error(cio_http_request *req, int err, int status)
{
    conn *c = req->conn;
    if (c->bs.active && !c->bs.err) {
        c->bs.err = err;
        if (!c->bs.err_status)
            c->bs.err_status = status;
    }
    return err;
}

int cio_http_request_read_form(cio_http_request *req,
                               const cio_http_form_opts *opts)
{
    if (!req || !req->conn)
        return -EINVAL;
    if (req->sform)
        return 0;
    cio_http_form_opts o = {0};
    if (opts)
        o = *opts;
    if (!o.dir) {
        o.dir = getenv("TMPDIR");
        if (!o.dir || !*o.dir)
            o.dir = "/tmp";
    }
    if (!o.memory_limit)
        o.memory_limit = 64 * 1024;
    if (!o.max_file_size)
        o.max_file_size = req->conn->app->lim.max_body;
    if (!o.max_fields_size)
        o.max_fields_size = 1024 * 1024;
    size_t cl;
    const char *ct = cio_http_request_header(req, "content-type", 0, &cl);
    cio__mp mp;
    int multipart = ct && cio__mp_init(&mp, ct, cl) == 0;
    static const char uform[] = "application/x-www-form-urlencoded";
    if (!multipart &&
        (!ct || cl < sizeof(uform) - 1 ||
         !cio__http_ieq(ct, sizeof(uform) - 1, uform)))
        return -EINVAL; /* not a form */
    struct cio__sform *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    req->sform = f;
    const void *piece;
    ssize_t n;
    if (!multipart) {
        size_t cap = 0;
        while ((n = cio_http_request_read(req, &piece)) > 0) {
            if (f->urlenc_len + (size_t)n > o.max_fields_size)
                return body_error(req, CIO_EHTTP_BODY_TOO_LARGE, 413);
            if (put(&f->urlenc, &f->urlenc_len, &cap, piece, (size_t)n) < 0)
                return -ENOMEM;
        }
        return n < 0 ? (int)n : 0;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, off = 0, fields = 0;
    sform_part *cur = NULL;
    int r = 0;
    for (;;) {
        cio__mp_event ev;
        long k = 0;
        ev.type = CIO__MP_NEED;
        if (len > off) /* (nothing buffered yet: buf may be NULL) */
            k = cio__mp_feed(&mp, buf + off, len - off, &ev);
        if (k < 0) {
            r = body_error(req, CIO_EHTTP_BODY_MALFORMED, 400);
            break;
        }
        off += (size_t)k;
        if (ev.type == CIO__MP_DONE)
            break;
        if (ev.type == CIO__MP_NEED && k > 0)
            continue; /* it consumed something: feed it the rest */
        if (ev.type == CIO__MP_NEED) {
            if (off) {
                memmove(buf, buf + off, len - off);
                len -= off;
                off = 0;
            }
            n = cio_http_request_read(req, &piece);
            if (n == 0) { /* the body ended before the closing delimiter */
                r = body_error(req, CIO_EHTTP_BODY_MALFORMED, 400);
                break;
            }
            if (n < 0) {
                r = (int)n;
                break;
            }
            if ((r = put(&buf, &len, &cap, piece, (size_t)n)) < 0)
                break;
            continue;
        }
        if (ev.type == CIO__MP_PART) {
            if (f->n == f->cap) {
                size_t nc = f->cap ? 2 * f->cap : 8;
                sform_part *v = realloc(f->v, nc * sizeof(*v));
                if (!v) {
                    r = -ENOMEM;
                    break;
                }
                f->v = v;
                f->cap = nc;
            }
            cur = &f->v[f->n++];
            memset(cur, 0, sizeof(*cur));
            cur->fd = -1;
            cur->is_file = ev.filename != NULL;
            cur->name = dup_view(ev.name ? ev.name : "", ev.name_len);
            cur->filename = dup_view(ev.filename ? ev.filename : "",
                                     ev.filename_len);
            cur->ctype = dup_view(ev.content_type ? ev.content_type : "",
                                  ev.content_type_len);
            if (!cur->name || !cur->filename || !cur->ctype) {
                r = -ENOMEM;
                break;
            }
            fields += ev.name_len;
        } else if (ev.type == CIO__MP_DATA && cur) {
            cur->size += ev.len;
            if (!cur->is_file) {
                fields += ev.len;
                if (fields > o.max_fields_size) {
                    r = body_error(req, CIO_EHTTP_BODY_TOO_LARGE, 413);
                    break;
                }
                if ((r = put(&cur->data, &cur->len, &cur->cap, ev.data,
                             ev.len)) < 0)
                    break;
                continue;
            }
            if (cur->size > o.max_file_size) {
                r = body_error(req, CIO_EHTTP_FILE_TOO_LARGE, 413);
                break;
            }
            if (cur->fd < 0 && cur->size > o.memory_limit &&
                (r = spill(cur, o.dir)) < 0)
                break;
            if (cur->fd >= 0)
                r = write_all(cur->fd, ev.data, ev.len);
            else
                r = put(&cur->data, &cur->len, &cur->cap, ev.data, ev.len);
            if (r < 0)
                break;
        } else if (ev.type == CIO__MP_PART_END && cur) {
            if (cur->fd >= 0) {
                close(cur->fd);
                cur->fd = -1;
            }
            cur = NULL;
        }
    }
    free(buf);
    if (cur && cur->fd >= 0) {
        close(cur->fd);
        cur->fd = -1;
    }
    return r;
}

static sform_part *find(struct cio__sform *f, const char *name, size_t idx,
                        int file)
{
    size_t seen = 0;
    for (size_t i = 0; f && i < f->n; i++)
        if (f->v[i].is_file == file && strcmp(f->v[i].name, name) == 0 &&
            seen++ == idx)
            return &f->v[i];
    return NULL;
}

const char *cio__http_sform_field(cio_http_request *req, const char *name,
                                  size_t idx, size_t *len, int *handled)
{
    struct cio__sform *f = req->sform;
    *handled = f && !f->urlenc;
    if (!*handled)
        return NULL;
    sform_part *p = find(f, name, idx, 0);
    if (!p)
        return NULL;
    if (len)
        *len = p->len;
    return p->data ? p->data : "";
}

const char *cio__http_sform_urlencoded(cio_http_request *req, size_t *len)
{
    struct cio__sform *f = req->sform;
    if (!f || !f->urlenc)
        return NULL;
    *len = f->urlenc_len;
    return f->urlenc;
}

int cio_http_request_upload(cio_http_request *req, const char *name,
                            size_t idx, cio_http_upload *out)
{
    if (!req || !name || !out)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    sform_part *p = find(req->sform, name, idx, 1);
    if (!p)
        return -ENOENT;
    out->filename = p->filename;
    out->content_type = p->ctype;
    out->size = p->size;
    out->path = p->path;
    out->data = p->path ? NULL : (p->data ? p->data : "");
    return 0;
}
