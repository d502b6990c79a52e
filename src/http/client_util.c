/*
 * client_util.c - the HTTP client's small pure helpers: URL parsing and
 * joining (RFC 3986 section 5.2, the subset redirects need), a growable
 * byte string with percent-encoding and base64, and the cookie jar
 * (RFC 6265: domain and path matching, Max-Age, Expires, Secure).
 */

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client.h"

/* ---- byte strings ------------------------------------------------------- */

static int buf_room(hc_buf *b, size_t n)
{
    if (b->oom)
        return -1;
    if (b->len + n + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void cio__hc_buf_add(hc_buf *b, const void *d, size_t n)
{
    if (buf_room(b, n) < 0)
        return;
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void cio__hc_buf_str(hc_buf *b, const char *s)
{
    cio__hc_buf_add(b, s, strlen(s));
}

void cio__hc_buf_fmt(hc_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(tmp)) {
        cio__hc_buf_add(b, tmp, (size_t)n);
        return;
    }
    if (buf_room(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void cio__hc_buf_quote(hc_buf *b, const char *s, int form)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            cio__hc_buf_add(b, s, 1);
        } else if (c == ' ' && form) {
            cio__hc_buf_add(b, "+", 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            cio__hc_buf_add(b, e, 3);
        }
    }
}

void cio__hc_buf_base64(hc_buf *b, const void *d, size_t n)
{
    static const char t[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = d;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char o[4] = {t[(v >> 18) & 63], t[(v >> 12) & 63],
                     i + 1 < n ? t[(v >> 6) & 63] : '=',
                     i + 2 < n ? t[v & 63] : '='};
        cio__hc_buf_add(b, o, 4);
    }
}

/* ---- URLs --------------------------------------------------------------- */

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static char *dup_unquote(const char *s, size_t n)
{
    char *d = dup_n(s, n);
    if (d) {
        long m = cio_http_unquote(d, d, n, 0);
        d[m < 0 ? 0 : m] = '\0';
    }
    return d;
}

void cio__hc_url_free(hc_url *u)
{
    free(u->host);
    free(u->target);
    free(u->user);
    free(u->pass);
    memset(u, 0, sizeof(*u));
}

int cio__hc_url_parse(hc_url *u, const char *url)
{
    memset(u, 0, sizeof(*u));
    const char *p = strstr(url, "://");
    if (!p || p == url || p - url >= (long)sizeof(u->scheme))
        return CIO_EHTTPC_BAD_URL;
    for (const char *q = url; q < p; q++)
        u->scheme[q - url] = (char)tolower((unsigned char)*q);
    for (const char *q = url; *q; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f)
            return CIO_EHTTPC_BAD_URL; /* no spaces or controls */
    if (strcmp(u->scheme, "http") && strcmp(u->scheme, "https"))
        return CIO_EHTTPC_SCHEME;
    const char *a = p + 3;
    size_t alen = strcspn(a, "/?#");
    const char *rest = a + alen;
    /* userinfo */
    const char *at = memchr(a, '@', alen);
    if (at) {
        const char *colon = memchr(a, ':', (size_t)(at - a));
        if (colon) {
            u->user = dup_unquote(a, (size_t)(colon - a));
            u->pass = dup_unquote(colon + 1, (size_t)(at - colon - 1));
        } else {
            u->user = dup_unquote(a, (size_t)(at - a));
            u->pass = dup_n("", 0);
        }
        alen -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    const char *hend, *portp = NULL;
    if (alen && a[0] == '[') {
        const char *rb = memchr(a, ']', alen);
        if (!rb)
            goto bad;
        u->host = dup_n(a + 1, (size_t)(rb - a - 1));
        u->ipv6 = 1;
        hend = rb + 1;
        if (hend < a + alen) {
            if (*hend != ':')
                goto bad;
            portp = hend + 1;
        }
    } else {
        const char *colon = memchr(a, ':', alen);
        hend = colon ? colon : a + alen;
        u->host = dup_n(a, (size_t)(hend - a));
        if (colon)
            portp = colon + 1;
    }
    if (!u->host || !u->host[0])
        goto bad;
    u->port = strcmp(u->scheme, "https") == 0 ? 443 : 80;
    if (portp && portp < a + alen) {
        long v = 0;
        for (const char *q = portp; q < a + alen; q++) {
            if (!isdigit((unsigned char)*q))
                goto bad;
            v = v * 10 + (*q - '0');
            if (v > 65535)
                goto bad;
        }
        if (v == 0)
            goto bad;
        u->port = (int)v;
    }
    /* target: path and query, without the fragment */
    size_t tlen = strcspn(rest, "#");
    if (tlen == 0 || rest[0] != '/') {
        hc_buf t = {0};
        cio__hc_buf_add(&t, "/", 1);
        cio__hc_buf_add(&t, rest, tlen);
        u->target = t.p;
        if (t.oom) {
            free(t.p);
            u->target = NULL;
        }
    } else {
        u->target = dup_n(rest, tlen);
    }
    if (!u->target)
        goto bad;
    return 0;
bad:
    cio__hc_url_free(u);
    return CIO_EHTTPC_BAD_URL;
}

char *cio__hc_url_join(const hc_url *base, const char *loc, size_t n)
{
    hc_buf b = {0};
    size_t i = 0;
    while (i < n && isalpha((unsigned char)loc[i]))
        i++;
    if (i > 0 && i + 2 < n && loc[i] == ':' && loc[i + 1] == '/' &&
        loc[i + 2] == '/') {
        cio__hc_buf_add(&b, loc, n); /* absolute */
    } else {
        cio__hc_buf_fmt(&b, "%s://", base->scheme);
        if (base->ipv6)
            cio__hc_buf_fmt(&b, "[%s]", base->host);
        else
            cio__hc_buf_str(&b, base->host);
        cio__hc_buf_fmt(&b, ":%d", base->port);
        if (n >= 2 && loc[0] == '/' && loc[1] == '/') {
            b.len = 0; /* scheme-relative */
            cio__hc_buf_fmt(&b, "%s:", base->scheme);
            cio__hc_buf_add(&b, loc, n);
        } else if (n >= 1 && loc[0] == '/') {
            cio__hc_buf_add(&b, loc, n);
        } else {
            /* relative to the base path's directory */
            const char *t = base->target;
            size_t plen = strcspn(t, "?");
            if (n >= 1 && loc[0] == '?') {
                cio__hc_buf_add(&b, t, plen);
            } else {
                const char *slash = t;
                for (size_t k = 0; k < plen; k++)
                    if (t[k] == '/')
                        slash = t + k;
                cio__hc_buf_add(&b, t, (size_t)(slash - t) + 1);
            }
            cio__hc_buf_add(&b, loc, n);
        }
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ---- cookie jar (RFC 6265) --------------------------------------------- */

static void cookie_free(hc_cookie *c)
{
    free(c->name);
    free(c->value);
    free(c->domain);
    free(c->path);
    free(c);
}

void cio__hc_jar_free(cio_http_session *s)
{
    hc_cookie *c = s->jar;
    while (c) {
        hc_cookie *n = c->next;
        cookie_free(c);
        c = n;
    }
    s->jar = NULL;
}

static int domain_match(const char *host, const char *domain)
{
    size_t h = strlen(host), d = strlen(domain);
    if (h == d)
        return strcasecmp(host, domain) == 0;
    return h > d && host[h - d - 1] == '.' &&
           strcasecmp(host + h - d, domain) == 0;
}

static int path_match(const char *rpath, const char *cpath)
{
    size_t c = strlen(cpath);
    if (strncmp(rpath, cpath, c) != 0)
        return 0;
    return rpath[c] == '\0' || rpath[c] == '?' || cpath[c - 1] == '/' ||
           rpath[c] == '/';
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

static void jar_drop(cio_http_session *s, const char *name, const char *dom,
                     const char *path)
{
    for (hc_cookie **pp = &s->jar; *pp;) {
        hc_cookie *c = *pp;
        if (!strcmp(c->name, name) && !strcasecmp(c->domain, dom) &&
            !strcmp(c->path, path)) {
            *pp = c->next;
            cookie_free(c);
        } else {
            pp = &c->next;
        }
    }
}

int cio__hc_jar_store(cio_http_session *s, const char *host, const char *rpath,
                      const char *v, size_t n)
{
    size_t k = 0;
    while (k < n && v[k] != ';')
        k++;
    const char *nv = v;
    size_t nvl = k;
    trim(&nv, &nvl);
    const char *eq = memchr(nv, '=', nvl);
    if (!eq || eq == nv)
        return -EINVAL;
    const char *nm = nv, *val = eq + 1;
    size_t nml = (size_t)(eq - nv), vall = nvl - nml - 1;
    trim(&nm, &nml);
    trim(&val, &vall);
    if (!nml)
        return -EINVAL;
    char *domain = NULL, *path = NULL;
    int secure = 0, host_only = 1, have_age = 0;
    int64_t expires = 0;
    time_t now = time(NULL);
    while (k < n) {
        k++; /* ';' */
        size_t st = k;
        while (k < n && v[k] != ';')
            k++;
        const char *a = v + st;
        size_t al = k - st;
        trim(&a, &al);
        const char *ae = memchr(a, '=', al);
        size_t anl = ae ? (size_t)(ae - a) : al;
        const char *av = ae ? ae + 1 : a + al;
        size_t avl = ae ? al - anl - 1 : 0;
        trim(&av, &avl);
        if (anl == 6 && !strncasecmp(a, "domain", 6) && avl) {
            if (*av == '.')
                av++, avl--;
            free(domain);
            domain = dup_n(av, avl);
            host_only = 0;
        } else if (anl == 4 && !strncasecmp(a, "path", 4) && avl &&
                   *av == '/') {
            free(path);
            path = dup_n(av, avl);
        } else if (anl == 6 && !strncasecmp(a, "secure", 6)) {
            secure = 1;
        } else if (anl == 7 && !strncasecmp(a, "max-age", 7) && avl) {
            char tmp[24];
            size_t l = avl < sizeof(tmp) - 1 ? avl : sizeof(tmp) - 1;
            memcpy(tmp, av, l);
            tmp[l] = '\0';
            long long age = strtoll(tmp, NULL, 10);
            expires = age <= 0 ? 1 : (int64_t)now + age;
            have_age = 1;
        } else if (anl == 7 && !strncasecmp(a, "expires", 7) && avl &&
                   !have_age) {
            char tmp[64];
            size_t l = avl < sizeof(tmp) - 1 ? avl : sizeof(tmp) - 1;
            memcpy(tmp, av, l);
            tmp[l] = '\0';
            struct tm tm;
            memset(&tm, 0, sizeof(tm));
            if (strptime(tmp, "%a, %d %b %Y %H:%M:%S", &tm)) {
                time_t t = timegm(&tm);
                expires = t <= now ? 1 : (int64_t)t;
            }
        }
    }
    if (!domain)
        domain = dup_n(host, strlen(host));
    else if (!domain_match(host, domain) ||
             (!strchr(domain, '.') && strcasecmp(domain, host) != 0)) {
        /* not for this host, or a bare top-level label ("com"): no
         * public-suffix list here, so single labels are refused */
        free(domain);
        free(path);
        return -EINVAL; /* RFC 6265 5.3 step 6: not for this host */
    }
    if (!path) {
        /* default-path: the request path up to its last '/' */
        size_t pl = strcspn(rpath, "?");
        size_t last = 0;
        for (size_t i = 0; i < pl; i++)
            if (rpath[i] == '/')
                last = i;
        path = dup_n(last ? rpath : "/", last ? last : 1);
    }
    char *name = dup_n(nm, nml);
    if (!domain || !path || !name) {
        free(domain);
        free(path);
        free(name);
        return -ENOMEM;
    }
    jar_drop(s, name, domain, path);
    if (expires == 1) { /* expired: deletion */
        free(domain);
        free(path);
        free(name);
        return 0;
    }
    hc_cookie *c = calloc(1, sizeof(*c));
    char *value = dup_n(val, vall);
    if (!c || !value) {
        free(c);
        free(value);
        free(domain);
        free(path);
        free(name);
        return -ENOMEM;
    }
    c->name = name;
    c->value = value;
    c->domain = domain;
    c->path = path;
    c->secure = secure;
    c->host_only = host_only;
    c->expires = expires;
    c->next = s->jar;
    s->jar = c;
    return 0;
}

static int cookie_applies(const hc_cookie *c, const char *host,
                          const char *path, int secure, time_t now)
{
    if (c->expires && c->expires <= now)
        return 0;
    if (c->secure && !secure)
        return 0;
    if (c->host_only ? strcasecmp(host, c->domain) != 0
                     : !domain_match(host, c->domain))
        return 0;
    return path_match(path, c->path);
}

void cio__hc_jar_header(cio_http_session *s, hc_buf *b, const char *host,
                        const char *path, int secure)
{
    time_t now = time(NULL);
    int first = 1;
    for (hc_cookie *c = s->jar; c; c = c->next) {
        if (!cookie_applies(c, host, path, secure, now))
            continue;
        cio__hc_buf_str(b, first ? "Cookie: " : "; ");
        first = 0;
        cio__hc_buf_str(b, c->name);
        cio__hc_buf_add(b, "=", 1);
        cio__hc_buf_str(b, c->value);
    }
    if (!first)
        cio__hc_buf_add(b, "\r\n", 2);
}

const char *cio_http_session_cookie(const cio_http_session *s, const char *host,
                                    const char *path, const char *name)
{
    if (!s || !host || !name)
        return NULL;
    time_t now = time(NULL);
    for (hc_cookie *c = s->jar; c; c = c->next)
        if (!strcmp(c->name, name) &&
            cookie_applies(c, host, path ? path : "/", 1, now))
            return c->value;
    return NULL;
}

int cio_http_session_set_cookie(cio_http_session *s, const char *host,
                                const char *set_cookie)
{
    if (!s || !host || !set_cookie)
        return -EINVAL;
    return cio__hc_jar_store(s, host, "/", set_cookie, strlen(set_cookie));
}

void cio_http_session_clear_cookies(cio_http_session *s)
{
    if (s)
        cio__hc_jar_free(s);
}
