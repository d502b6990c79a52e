/*
 * request.c - the request object's accessors. Everything is a view into
 * the connection's input buffer or a string decoded into the per-request
 * arena, valid until the handler returns (cio/http.h says so).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>

#include "http_int.h"
#include "multipart.h"

const char *cio_http_request_method(const cio_http_request *req, size_t *len)
{
    if (len)
        *len = req ? req->msg.method_len : 0;
    return req ? req->msg.method : NULL;
}

const char *cio_http_request_path(const cio_http_request *req, size_t *len)
{
    if (len)
        *len = req ? req->path_len : 0;
    return req ? req->path : NULL;
}

const char *cio_http_request_query(const cio_http_request *req, size_t *len)
{
    if (len)
        *len = req ? req->query_len : 0;
    return req ? req->query : NULL;
}

static const char *decode(cio_http_request *req, const char *s, size_t n,
                          int plus, size_t *len)
{
    char *d = cio__arena_alloc(&req->conn->arena, n + 1);
    if (!d)
        return NULL;
    long dl = cio_http_unquote(d, s, n, plus);
    d[dl] = '\0';
    if (len)
        *len = (size_t)dl;
    return d;
}

const char *cio_http_request_param(cio_http_request *req, const char *name,
                                   size_t *len)
{
    if (!req || !name)
        return NULL;
    const cio__route_match *m = &req->match;
    for (size_t i = 0; i < m->nparams; i++)
        if (strcmp(m->names[i], name) == 0)
            return decode(req, m->values[i], m->lens[i], 0, len);
    return NULL;
}

/* The idx-th value of key in an urlencoded text (keys compared decoded). */
static const char *find_pair(cio_http_request *req, const char *s, size_t n,
                             const char *name, size_t idx, size_t *len)
{
    size_t pos = 0, nl = strlen(name);
    const char *k, *v;
    size_t kl, vl;
    while (cio_http_query_next(s, n, &pos, &k, &kl, &v, &vl) == 1) {
        int eq;
        if (memchr(k, '%', kl) || memchr(k, '+', kl)) {
            size_t dl;
            const char *dk = decode(req, k, kl, 1, &dl);
            eq = dk && dl == nl && memcmp(dk, name, nl) == 0;
        } else {
            eq = kl == nl && memcmp(k, name, nl) == 0;
        }
        if (eq && idx-- == 0)
            return decode(req, v, vl, 1, len);
    }
    return NULL;
}

const char *cio_http_request_arg(cio_http_request *req, const char *name,
                                 size_t idx, size_t *len)
{
    if (!req || !name)
        return NULL;
    return find_pair(req, req->query, req->query_len, name, idx, len);
}

const char *cio_http_request_header(const cio_http_request *req,
                                    const char *name, size_t idx, size_t *len)
{
    if (!req || !name)
        return NULL;
    size_t nl = strlen(name);
    for (size_t i = 0; i < req->msg.nheaders; i++) {
        const cio__http_header *h = &req->msg.headers[i];
        if (h->name_len != nl)
            continue;
        size_t k = 0;
        for (; k < nl; k++) {
            unsigned char a = (unsigned char)h->name[k];
            unsigned char b = (unsigned char)name[k];
            if (a >= 'A' && a <= 'Z')
                a += 32;
            if (b >= 'A' && b <= 'Z')
                b += 32;
            if (a != b)
                break;
        }
        if (k == nl && idx-- == 0) {
            if (len)
                *len = h->value_len;
            return h->value;
        }
    }
    return NULL;
}

const char *cio_http_request_cookie(const cio_http_request *req,
                                    const char *name, size_t *len)
{
    if (!req || !name)
        return NULL;
    size_t nl = strlen(name), vl;
    const char *v;
    for (size_t i = 0; (v = cio_http_request_header(req, "cookie", i, &vl));
         i++) {
        /* cookie-string = cookie-pair *( ";" SP cookie-pair ) */
        const char *p = v, *end = v + vl;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == ';'))
                p++;
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *e = semi ? semi : end;
            const char *eq = memchr(p, '=', (size_t)(e - p));
            if (eq && (size_t)(eq - p) == nl && memcmp(p, name, nl) == 0) {
                const char *cv = eq + 1;
                size_t cl = (size_t)(e - cv);
                while (cl && (cv[cl - 1] == ' ' || cv[cl - 1] == '\t'))
                    cl--;
                if (cl >= 2 && cv[0] == '"' && cv[cl - 1] == '"')
                    cv++, cl -= 2;
                if (len)
                    *len = cl;
                return cv;
            }
            p = e;
        }
    }
    return NULL;
}

const char *cio_http_request_body(const cio_http_request *req, size_t *len)
{
    if (len)
        *len = req ? req->body_len : 0;
    return req && req->body ? req->body : "";
}

const struct cJSON *cio_http_request_json(cio_http_request *req)
{
    if (!req)
        return NULL;
    if (!req->json_done) {
        req->json_done = 1;
        if (req->body_len)
            req->json = cJSON_ParseWithLength(req->body, req->body_len);
    }
    return req->json;
}

/* The idx-th part called name of a multipart/form-data body: files (with
 * a filename) when want_file, else fields. The whole body is in memory, so
 * a part's data is one view into it. Returns 1 and the part, 0 if none or
 * the body is malformed. */
static int find_part(const cio_http_request *req, const char *name, size_t idx,
                     int want_file, cio__mp_event *part, const char **data,
                     size_t *len)
{
    size_t cl;
    const char *ct = cio_http_request_header(req, "content-type", 0, &cl);
    cio__mp mp;
    if (!ct || cio__mp_init(&mp, ct, cl) < 0)
        return 0;
    const char *in = req->body;
    size_t n = req->body_len, off = 0, nl = strlen(name), seen = 0;
    int in_match = 0;
    cio__mp_event ev;
    for (;;) {
        long r = cio__mp_feed(&mp, in + off, n - off, &ev);
        if (r < 0 || (r == 0 && ev.type == CIO__MP_NEED))
            return 0;
        off += (size_t)r;
        if (ev.type == CIO__MP_DONE)
            return 0;
        if (ev.type == CIO__MP_PART) {
            in_match = ev.name && ev.name_len == nl &&
                       memcmp(ev.name, name, nl) == 0 &&
                       (ev.filename != NULL) == (want_file != 0) &&
                       seen++ == idx;
            if (in_match) {
                *part = ev;
                *data = in + off;
                *len = 0;
            }
        } else if (ev.type == CIO__MP_DATA && in_match) {
            *len += ev.len;
        } else if (ev.type == CIO__MP_PART_END && in_match) {
            return 1;
        }
    }
}

const char *cio_http_request_form(cio_http_request *req, const char *name,
                                  size_t idx, size_t *len)
{
    if (!req || !name)
        return NULL;
    if (req->sform) { /* read by cio_http_request_read_form */
        int handled;
        const char *v = cio__http_sform_field(req, name, idx, len, &handled);
        if (handled)
            return v;
        size_t ul;
        const char *u = cio__http_sform_urlencoded(req, &ul);
        return u ? find_pair(req, u, ul, name, idx, len) : NULL;
    }
    size_t cl;
    const char *ct = cio_http_request_header(req, "content-type", 0, &cl);
    static const char form[] = "application/x-www-form-urlencoded";
    if (ct && cio__mp_init(&(cio__mp){0}, ct, cl) == 0) {
        cio__mp_event part;
        const char *d;
        size_t dl;
        if (!find_part(req, name, idx, 0, &part, &d, &dl))
            return NULL;
        char *out = cio__arena_alloc(&req->conn->arena, dl + 1);
        if (!out)
            return NULL;
        memcpy(out, d, dl);
        out[dl] = '\0';
        if (len)
            *len = dl;
        return out;
    }
    if (!ct || cl < sizeof(form) - 1 ||
        !cio__http_ieq(ct, sizeof(form) - 1, form) ||
        (cl > sizeof(form) - 1 && ct[sizeof(form) - 1] != ';' &&
         ct[sizeof(form) - 1] != ' '))
        return NULL;
    return find_pair(req, req->body, req->body_len, name, idx, len);
}

const void *cio_http_request_file(cio_http_request *req, const char *name,
                                  size_t idx, size_t *len,
                                  const char **filename,
                                  const char **content_type)
{
    if (!req || !name || !len)
        return NULL;
    cio__mp_event part;
    const char *d;
    size_t dl;
    if (!find_part(req, name, idx, 1, &part, &d, &dl))
        return NULL;
    if (filename || content_type) {
        char *fn = cio__arena_alloc(&req->conn->arena, part.filename_len + 1);
        size_t tl = part.content_type ? part.content_type_len : 0;
        char *ty = cio__arena_alloc(&req->conn->arena, tl + 1);
        if (!fn || !ty)
            return NULL;
        memcpy(fn, part.filename, part.filename_len);
        fn[part.filename_len] = '\0';
        if (tl)
            memcpy(ty, part.content_type, tl);
        ty[tl] = '\0';
        if (filename)
            *filename = fn;
        if (content_type)
            *content_type = ty;
    }
    *len = dl;
    return d;
}

int cio_http_request_remote(const cio_http_request *req, cio_sockaddr *out)
{
    if (!req || !out)
        return -EINVAL;
    *out = req->peer;
    return 0;
}

void *cio_http_request_ctx(const cio_http_request *req)
{
    return req ? req->ctx : NULL;
}

void cio_http_request_set_ctx(cio_http_request *req, void *ctx)
{
    if (req)
        req->ctx = ctx;
}

void cio__http_request_done(cio_http_request *req)
{
    if (req->json)
        cJSON_Delete(req->json);
    req->json = NULL;
    req->json_done = 0;
    req->ctx = NULL;
    if (req->sform)
        cio__http_sform_free(req);
    arena *a = &req->conn->arena;
    if (a->used || a->more)
        cio__arena_reset(a);
}
