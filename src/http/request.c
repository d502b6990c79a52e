/*
 * request.c - the request object's accessors. Everything is a view into
 * the connection's input buffer or a string decoded into the per-request
 * arena, valid until the handler returns (cio/http.h says so).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>

#include "http_int.h"

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

const char *cio_http_request_form(cio_http_request *req, const char *name,
                                  size_t idx, size_t *len)
{
    if (!req || !name)
        return NULL;
    size_t cl;
    const char *ct = cio_http_request_header(req, "content-type", 0, &cl);
    static const char form[] = "application/x-www-form-urlencoded";
    if (!ct || cl < sizeof(form) - 1 ||
        !cio__http_ieq(ct, sizeof(form) - 1, form) ||
        (cl > sizeof(form) - 1 && ct[sizeof(form) - 1] != ';' &&
         ct[sizeof(form) - 1] != ' '))
        return NULL;
    return find_pair(req, req->body, req->body_len, name, idx, len);
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
    cio__arena_reset(&req->conn->arena);
}
