/*
 * multipart.c - the multipart/form-data parser (see multipart.h).
 *
 * States: PREAMBLE (before the first delimiter, which may start the body
 * without its leading CRLF), AFTER (just after a delimiter: "--" ends the
 * body, optional spaces/tabs then CRLF start a part), HEAD (the part's
 * fields up to CRLF CRLF, parsed once all there), BODY (data up to the
 * next "\r\n--boundary"), END (the epilogue, ignored).
 */
#include "multipart.h"

#include <errno.h>
#include <string.h>

enum { ST_PREAMBLE, ST_AFTER, ST_HEAD, ST_BODY, ST_END };

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int ieq(const char *a, size_t n, const char *b)
{
    size_t bl = strlen(b);
    if (n != bl)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

static int bchar(int c)
{
    /* RFC 2046 5.1.1 bcharsnospace, plus space (not last). */
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || (c && strchr("'()+_,-./:=? ", c));
}

/* Finds parameter `key` in "v; k=v; k2="q"" (s[0..n)): its value view,
 * quotes stripped. Returns 1 if found. */
static int param(const char *s, size_t n, const char *key, const char **v,
                 size_t *vl)
{
    size_t kl = strlen(key), i = 0;
    while (i < n && s[i] != ';')
        i++;
    while (i < n) {
        i++; /* past ';' */
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        size_t k0 = i;
        while (i < n && s[i] != '=' && s[i] != ';')
            i++;
        size_t k1 = i;
        while (k1 > k0 && (s[k1 - 1] == ' ' || s[k1 - 1] == '\t'))
            k1--;
        if (i >= n || s[i] == ';')
            continue;
        i++; /* past '=' */
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        const char *val;
        size_t len;
        if (i < n && s[i] == '"') {
            size_t j = ++i;
            while (j < n && s[j] != '"') {
                if (s[j] == '\\' && j + 1 < n)
                    j++;
                j++;
            }
            val = s + i;
            len = j - i;
            i = j < n ? j + 1 : n;
            while (i < n && s[i] != ';')
                i++;
        } else {
            size_t j = i;
            while (j < n && s[j] != ';')
                j++;
            size_t e = j;
            while (e > i && (s[e - 1] == ' ' || s[e - 1] == '\t'))
                e--;
            val = s + i;
            len = e - i;
            i = j;
        }
        if (k1 - k0 == kl && ieq(s + k0, kl, key)) {
            *v = val;
            *vl = len;
            return 1;
        }
    }
    return 0;
}

int cio__mp_init(cio__mp *p, const char *ct, size_t n)
{
    if (!p || !ct)
        return -EINVAL;
    size_t t = 0;
    while (t < n && ct[t] != ';')
        t++;
    size_t te = t;
    while (te > 0 && (ct[te - 1] == ' ' || ct[te - 1] == '\t'))
        te--;
    if (!ieq(ct, te, "multipart/form-data"))
        return -EINVAL;
    const char *b;
    size_t bl;
    if (!param(ct, n, "boundary", &b, &bl) || bl < 1 || bl > 70 ||
        b[bl - 1] == ' ')
        return -EINVAL;
    for (size_t i = 0; i < bl; i++)
        if (!bchar((unsigned char)b[i]))
            return -EINVAL;
    memset(p, 0, sizeof(*p));
    memcpy(p->delim, "\r\n--", 4);
    memcpy(p->delim + 4, b, bl);
    p->dlen = 4 + bl;
    p->state = ST_PREAMBLE;
    p->at_start = 1;
    p->max_parts = 1000;
    p->max_part_head = 8192;
    return 0;
}

/* The first i in s[0..n) where needle[0..m) starts, or n. */
static size_t find(const char *s, size_t n, const char *needle, size_t m)
{
    if (m == 0 || n < m)
        return n;
    for (size_t i = 0; i + m <= n; i++) {
        const char *c = memchr(s + i, needle[0], n - m + 1 - i);
        if (!c)
            return n;
        i = (size_t)(c - s);
        if (memcmp(c, needle, m) == 0)
            return i;
    }
    return n;
}

static long parse_head(cio__mp *p, const char *in, size_t hl,
                       cio__mp_event *ev)
{
    /* in[0..hl) is the fields block ending with CRLF CRLF (or just CRLF
     * for a part without fields). */
    size_t i = 0;
    while (i + 2 <= hl) {
        size_t e = i;
        while (e + 1 < hl && !(in[e] == '\r' && in[e + 1] == '\n'))
            e++;
        if (e + 1 >= hl)
            return -EINVAL;
        if (e == i)
            break; /* the blank line */
        const char *colon = memchr(in + i, ':', e - i);
        if (!colon || colon == in + i)
            return -EINVAL;
        size_t nl = (size_t)(colon - (in + i));
        const char *v = colon + 1;
        size_t vl = (size_t)(in + e - v);
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        for (size_t k = 0; k < vl; k++)
            if ((unsigned char)v[k] < 0x20 && v[k] != '\t')
                return -EINVAL;
        if (ieq(in + i, nl, "content-disposition")) {
            size_t t = 0;
            while (t < vl && v[t] != ';' && v[t] != ' ')
                t++;
            if (!ieq(v, t, "form-data"))
                return -EINVAL;
            if (!param(v, vl, "name", &ev->name, &ev->name_len))
                ev->name = NULL;
            if (!param(v, vl, "filename", &ev->filename, &ev->filename_len))
                ev->filename = NULL;
        } else if (ieq(in + i, nl, "content-type")) {
            ev->content_type = v;
            ev->content_type_len = vl;
        }
        i = e + 2;
    }
    (void)p;
    return (long)hl;
}

long cio__mp_feed(cio__mp *p, const char *in, size_t n, cio__mp_event *ev)
{
    if (!p || !ev || (n && !in))
        return -EINVAL;
    memset(ev, 0, sizeof(*ev));
    switch (p->state) {
    case ST_PREAMBLE: {
        /* "--boundary" at the very start, or after a CRLF. */
        const char *d = p->delim + 2;
        size_t dl = p->dlen - 2;
        if (p->at_start) {
            if (n >= dl && memcmp(in, d, dl) == 0) {
                p->state = ST_AFTER;
                p->at_start = 0;
                return (long)dl;
            }
            if (n < dl && memcmp(in, d, n) == 0)
                return 0;
        }
        size_t i = find(in, n, p->delim, p->dlen);
        if (i < n) {
            p->state = ST_AFTER;
            p->at_start = 0;
            return (long)(i + p->dlen);
        }
        /* Drop the preamble, keeping what may begin a delimiter. */
        if (n < p->dlen)
            return 0;
        p->at_start = 0;
        return (long)(n - p->dlen + 1);
    }
    case ST_AFTER: {
        if (n < 2)
            return 0;
        if (in[0] == '-' && in[1] == '-') {
            p->state = ST_END;
            ev->type = CIO__MP_DONE;
            return 2;
        }
        size_t i = 0;
        while (i < n && (in[i] == ' ' || in[i] == '\t'))
            i++;
        if (i > 64)
            return -EINVAL;
        if (n - i < 2)
            return 0;
        if (in[i] != '\r' || in[i + 1] != '\n')
            return -EINVAL;
        if (p->parts >= p->max_parts)
            return -EINVAL;
        p->state = ST_HEAD;
        return (long)(i + 2);
    }
    case ST_HEAD: {
        size_t hl;
        if (n >= 2 && in[0] == '\r' && in[1] == '\n') {
            hl = 2; /* no fields */
        } else {
            size_t lim = n < p->max_part_head ? n : p->max_part_head;
            size_t e = find(in, lim, "\r\n\r\n", 4);
            if (e == lim)
                return n >= p->max_part_head ? -EINVAL : 0;
            hl = e + 4;
        }
        long r = parse_head(p, in, hl, ev);
        if (r < 0)
            return r;
        p->parts++;
        p->state = ST_BODY;
        ev->type = CIO__MP_PART;
        return r;
    }
    case ST_BODY: {
        size_t i = find(in, n, p->delim, p->dlen);
        if (i == 0 && n > 0) {
            p->state = ST_AFTER;
            ev->type = CIO__MP_PART_END;
            return (long)p->dlen;
        }
        if (i == n) {
            /* Hold back a tail that may begin the delimiter. */
            size_t keep = 0;
            for (size_t k = p->dlen - 1; k > 0; k--)
                if (n >= k && memcmp(in + n - k, p->delim, k) == 0) {
                    keep = k;
                    break;
                }
            i = n - keep;
            if (i == 0)
                return 0; /* CIO__MP_NEED */
        }
        ev->type = CIO__MP_DATA;
        ev->data = in;
        ev->len = i;
        return (long)i;
    }
    default:
        ev->type = CIO__MP_DONE;
        return (long)n;
    }
}
