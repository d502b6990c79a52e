/*
 * router.c - sanic's route syntax on a radix tree of path segments.
 *
 * Each node of the tree is one path segment. Its static children sit in an
 * open-addressing hash table keyed by the segment text, so a static
 * segment costs one hash and one compare whatever the number of routes;
 * its parameter children (<name>, <n:int>, <x:float>, <s:alpha>, <s:slug>,
 * <s:str>, <p:path>, <u:uuid>, <d:ymd>, <f:ext>, <id:REGEX>) are tried only
 * at that node, in a fixed order from the most to the least specific
 * (int, float, uuid, ymd, alpha, slug, ext, regex, str, path), after the
 * static child. Lookup is a depth-first search that backtracks, so
 * "/a/<n:int>" and "/a/<s:str>/x" can both exist.
 *
 * Matching is done on the raw (percent-encoded) segments and the request
 * decodes parameter values afterwards: decoding first would turn "%2F"
 * into a separator. Regex parameters are PCRE2 patterns anchored at both
 * ends of the segment and JIT-compiled; their match data is cached per
 * node and taken with an atomic exchange, so worker threads can share the
 * router without a lock (a second concurrent matcher makes its own).
 *
 * Conflicts are refused when a route is added: the same shape (same static
 * segments, same parameter types at the same places) with an overlapping
 * method, or with different parameter names.
 *
 * Rejected: one big alternation regex per method (what sanic-routing
 * compiles to: cost grows with the number of routes), and sorting static
 * children for a binary search (O(log n) per segment).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "router.h"

#include <errno.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

typedef struct route {
    void *h[CIO__M_COUNT];
    unsigned mask;
    char *pattern;
    size_t nnames;
    char *names[CIO__ROUTE_MAX_PARAMS];
} route;

typedef struct node {
    char *seg; /* static key, or the parameter's spec text */
    size_t seg_len;
    int ptype; /* -1: static */
    pcre2_code *re;
    pcre2_match_data *md; /* cached, taken atomically */
    char **exts;          /* <f:ext=a|b>: allowed extensions */
    size_t nexts;
    struct node **tab; /* static children: open addressing */
    size_t tcap, tcount;
    struct node **dyn; /* parameter children, sorted by ptype */
    size_t ndyn;
    route *route;
} node;

struct cio__router {
    node root;
};

static const char *const method_names[CIO__M_COUNT] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT",
    "TRACE"};

unsigned cio__http_method_bit(const char *m, size_t n)
{
    /* GET first: almost every request, and the loop below costs a strlen
     * per method name (30 instructions of a hello-world request). */
    if (n == 3 && m[0] == 'G' && m[1] == 'E' && m[2] == 'T')
        return CIO__M_GET;
    for (int i = 0; i < CIO__M_COUNT; i++)
        if (strlen(method_names[i]) == n && memcmp(method_names[i], m, n) == 0)
            return 1u << i;
    return CIO__M_OTHER;
}

size_t cio__http_allow_list(unsigned mask, char *buf, size_t cap)
{
    size_t o = 0;
    if (cap)
        buf[0] = '\0';
    for (int i = 0; i < CIO__M_COUNT; i++) {
        if (!(mask & (1u << i)))
            continue;
        int w = snprintf(buf + o, cap - o, "%s%s", o ? ", " : "",
                         method_names[i]);
        if (w < 0 || (size_t)w >= cap - o)
            break;
        o += (size_t)w;
    }
    return o;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static node *static_find(const node *n, const char *s, size_t len)
{
    if (!n->tcount)
        return NULL;
    size_t mask = n->tcap - 1;
    for (size_t i = (size_t)hash(s, len) & mask;; i = (i + 1) & mask) {
        node *c = n->tab[i];
        if (!c)
            return NULL;
        if (c->seg_len == len && memcmp(c->seg, s, len) == 0)
            return c;
    }
}

static int static_insert(node *n, node *c)
{
    if ((n->tcount + 1) * 2 > n->tcap) {
        size_t ncap = n->tcap ? n->tcap * 2 : 8;
        node **nt = calloc(ncap, sizeof(*nt));
        if (!nt)
            return -ENOMEM;
        for (size_t i = 0; i < n->tcap; i++) {
            node *x = n->tab[i];
            if (!x)
                continue;
            size_t j = (size_t)hash(x->seg, x->seg_len) & (ncap - 1);
            while (nt[j])
                j = (j + 1) & (ncap - 1);
            nt[j] = x;
        }
        free(n->tab);
        n->tab = nt;
        n->tcap = ncap;
    }
    size_t j = (size_t)hash(c->seg, c->seg_len) & (n->tcap - 1);
    while (n->tab[j])
        j = (j + 1) & (n->tcap - 1);
    n->tab[j] = c;
    n->tcount++;
    return 0;
}

static void node_free(node *n)
{
    for (size_t i = 0; i < n->tcap; i++)
        if (n->tab[i]) {
            node_free(n->tab[i]);
            free(n->tab[i]);
        }
    for (size_t i = 0; i < n->ndyn; i++) {
        node_free(n->dyn[i]);
        free(n->dyn[i]);
    }
    free(n->tab);
    free(n->dyn);
    free(n->seg);
    for (size_t i = 0; i < n->nexts; i++)
        free(n->exts[i]);
    free(n->exts);
    if (n->re)
        pcre2_code_free(n->re);
    if (n->md)
        pcre2_match_data_free(n->md);
    if (n->route) {
        free(n->route->pattern);
        for (size_t i = 0; i < n->route->nnames; i++)
            free(n->route->names[i]);
        free(n->route);
    }
}

int cio__router_new(cio__router **out)
{
    if (!out)
        return -EINVAL;
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return -ENOMEM;
    (*out)->root.ptype = -1;
    return 0;
}

void cio__router_free(cio__router *r)
{
    if (!r)
        return;
    node_free(&r->root);
    free(r);
}

/* ---- parameter types -------------------------------------------------- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int match_int(const char *s, size_t n)
{
    size_t i = (n && s[0] == '-') ? 1 : 0;
    if (i == n)
        return 0;
    for (; i < n; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

/* -?(\d+(\.\d*)?|\.\d+) (sanic-routing's float, also its `number`). */
static int match_float(const char *s, size_t n)
{
    size_t i = (n && s[0] == '-') ? 1 : 0;
    size_t d1 = 0, d2 = 0;
    while (i < n && is_digit(s[i]))
        i++, d1++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && is_digit(s[i]))
            i++, d2++;
    }
    return i == n && (d1 || d2);
}

static int match_alpha(const char *s, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_alpha(s[i]))
            return 0;
    return 1;
}

/* [a-z0-9]+(-[a-z0-9]+)* */
static int match_slug(const char *s, size_t n)
{
    int prev_dash = 1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '-') {
            if (prev_dash)
                return 0;
            prev_dash = 1;
        } else if ((c >= 'a' && c <= 'z') || is_digit(c)) {
            prev_dash = 0;
        } else {
            return 0;
        }
    }
    return n && !prev_dash;
}

static int match_uuid(const char *s, size_t n)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    if (n != 36)
        return 0;
    size_t i = 0;
    for (int g = 0; g < 5; g++) {
        for (int k = 0; k < groups[g]; k++, i++)
            if (!is_hex(s[i]))
                return 0;
        if (g < 4 && s[i++] != '-')
            return 0;
    }
    return 1;
}

/* \d{4}-(0[1-9]|1[012])-(0[1-9]|[12]\d|3[01]) */
static int match_ymd(const char *s, size_t n)
{
    if (n != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !is_digit(s[i]))
            return 0;
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/* name.ext: a non-empty name, then an extension of [A-Za-z0-9]+ after the
 * last dot, optionally restricted to the listed ones (<f:ext=jpg|png>). */
static int match_ext(const node *d, const char *s, size_t n)
{
    const char *dot = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.')
            dot = s + i;
    if (!dot || dot == s || dot + 1 == s + n)
        return 0;
    size_t el = (size_t)(s + n - dot - 1);
    for (size_t i = 0; i < el; i++)
        if (!is_alpha(dot[1 + i]) && !is_digit(dot[1 + i]))
            return 0;
    if (!d->nexts)
        return 1;
    for (size_t i = 0; i < d->nexts; i++)
        if (strlen(d->exts[i]) == el && memcmp(d->exts[i], dot + 1, el) == 0)
            return 1;
    return 0;
}

static int match_regex(node *d, const char *s, size_t n)
{
    pcre2_match_data *md = __atomic_exchange_n(&d->md, NULL, __ATOMIC_ACQ_REL);
    int own = 0;
    if (!md) {
        md = pcre2_match_data_create(1, NULL);
        if (!md)
            return 0;
        own = 1;
    }
    int rc = pcre2_match(d->re, (PCRE2_SPTR)s, n, 0, 0, md, NULL);
    if (own) {
        pcre2_match_data *expected = NULL;
        if (!__atomic_compare_exchange_n(&d->md, &expected, md, 0,
                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            pcre2_match_data_free(md);
    } else {
        __atomic_store_n(&d->md, md, __ATOMIC_RELEASE);
    }
    return rc >= 0;
}

static int type_matches(node *d, const char *s, size_t n)
{
    switch (d->ptype) {
    case CIO__P_INT: return match_int(s, n);
    case CIO__P_FLOAT: return match_float(s, n);
    case CIO__P_UUID: return match_uuid(s, n);
    case CIO__P_YMD: return match_ymd(s, n);
    case CIO__P_ALPHA: return match_alpha(s, n);
    case CIO__P_SLUG: return match_slug(s, n);
    case CIO__P_EXT: return match_ext(d, s, n);
    case CIO__P_REGEX: return match_regex(d, s, n);
    case CIO__P_STR: return n > 0;
    default: return 0;
    }
}

/* ---- registration ------------------------------------------------------- */

typedef struct seg_spec {
    const char *s; /* the segment text */
    size_t n;
    int ptype;        /* -1: static */
    const char *name; /* parameter name */
    size_t name_len;
    const char *spec; /* after ':' (or "str") */
    size_t spec_len;
} seg_spec;

static int parse_segment(const char *s, size_t n, seg_spec *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->s = s;
    out->n = n;
    out->ptype = -1;
    int has_lt = memchr(s, '<', n) != NULL, has_gt = memchr(s, '>', n) != NULL;
    if (!(n >= 2 && s[0] == '<' && s[n - 1] == '>')) {
        if (has_lt || has_gt) {
            set_err(err, errlen,
                    "'%.*s': a parameter must be a whole segment <name> or "
                    "<name:type>", (int)n, s);
            return -EINVAL;
        }
        return 0;
    }
    const char *in = s + 1;
    size_t il = n - 2;
    const char *colon = memchr(in, ':', il);
    size_t nl = colon ? (size_t)(colon - in) : il;
    if (nl == 0 || !(is_alpha(in[0]) || in[0] == '_')) {
        set_err(err, errlen, "'%.*s': bad parameter name", (int)n, s);
        return -EINVAL;
    }
    for (size_t i = 0; i < nl; i++)
        if (!(is_alpha(in[i]) || is_digit(in[i]) || in[i] == '_')) {
            set_err(err, errlen, "'%.*s': bad parameter name", (int)n, s);
            return -EINVAL;
        }
    out->name = in;
    out->name_len = nl;
    out->spec = colon ? colon + 1 : "str";
    out->spec_len = colon ? il - nl - 1 : 3;
    const char *sp = out->spec;
    size_t sl = out->spec_len;
    static const struct {
        const char *name;
        int type;
    } types[] = {{"int", CIO__P_INT},     {"float", CIO__P_FLOAT},
                 {"number", CIO__P_FLOAT}, {"uuid", CIO__P_UUID},
                 {"ymd", CIO__P_YMD},     {"alpha", CIO__P_ALPHA},
                 {"slug", CIO__P_SLUG},   {"ext", CIO__P_EXT},
                 {"str", CIO__P_STR},     {"string", CIO__P_STR},
                 {"path", CIO__P_PATH}};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t tl = strlen(types[i].name);
        if (sl == tl && memcmp(sp, types[i].name, tl) == 0) {
            out->ptype = types[i].type;
            return 0;
        }
    }
    if (sl >= 4 && memcmp(sp, "ext=", 4) == 0) {
        out->ptype = CIO__P_EXT;
        return 0;
    }
    if (sl == 0) {
        set_err(err, errlen, "'%.*s': empty type", (int)n, s);
        return -EINVAL;
    }
    out->ptype = CIO__P_REGEX;
    return 0;
}

static int make_param_node(node *c, const seg_spec *sp, char *err,
                           size_t errlen)
{
    c->ptype = sp->ptype;
    c->seg = strndup(sp->spec, sp->spec_len);
    if (!c->seg)
        return -ENOMEM;
    c->seg_len = sp->spec_len;
    if (c->ptype == CIO__P_EXT && sp->spec_len >= 4) {
        /* ext=a|b|c */
        const char *p = sp->spec + 4, *end = sp->spec + sp->spec_len;
        while (p <= end) {
            const char *bar = memchr(p, '|', (size_t)(end - p));
            const char *e = bar ? bar : end;
            if (e == p) {
                set_err(err, errlen, "'%.*s': empty extension", (int)sp->n,
                        sp->s);
                return -EINVAL;
            }
            char **ne = realloc(c->exts, (c->nexts + 1) * sizeof(*ne));
            if (!ne)
                return -ENOMEM;
            c->exts = ne;
            if (!(c->exts[c->nexts] = strndup(p, (size_t)(e - p))))
                return -ENOMEM;
            c->nexts++;
            p = e + 1;
        }
    }
    if (c->ptype == CIO__P_REGEX) {
        int ecode;
        PCRE2_SIZE eoff;
        c->re = pcre2_compile((PCRE2_SPTR)sp->spec, sp->spec_len,
                              PCRE2_ANCHORED | PCRE2_ENDANCHORED, &ecode,
                              &eoff, NULL);
        if (!c->re) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(ecode, msg, sizeof(msg));
            set_err(err, errlen, "'%.*s': regex error at %zu: %s",
                    (int)sp->n, sp->s, (size_t)eoff, (const char *)msg);
            return -EINVAL;
        }
        /* JIT is an optimisation: without it (no JIT on this CPU, or
         * SELinux) pcre2_match interprets. */
        (void)pcre2_jit_compile(c->re, PCRE2_JIT_COMPLETE);
    }
    return 0;
}

static node *dyn_find(const node *n, const seg_spec *sp)
{
    for (size_t i = 0; i < n->ndyn; i++) {
        node *d = n->dyn[i];
        if (d->ptype == sp->ptype && d->seg_len == sp->spec_len &&
            memcmp(d->seg, sp->spec, sp->spec_len) == 0)
            return d;
    }
    return NULL;
}

static int dyn_insert(node *n, node *c)
{
    node **nd = realloc(n->dyn, (n->ndyn + 1) * sizeof(*nd));
    if (!nd)
        return -ENOMEM;
    n->dyn = nd;
    size_t i = n->ndyn;
    while (i > 0 && n->dyn[i - 1]->ptype > c->ptype) {
        n->dyn[i] = n->dyn[i - 1];
        i--;
    }
    n->dyn[i] = c;
    n->ndyn++;
    return 0;
}

int cio__router_add(cio__router *r, const char *pattern, unsigned mask,
                    void *handler, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!r || !pattern || !handler || !mask || (mask & CIO__M_OTHER)) {
        set_err(err, errlen, "bad argument");
        return -EINVAL;
    }
    size_t len = strlen(pattern);
    if (len == 0 || pattern[0] != '/') {
        set_err(err, errlen, "'%s': a route starts with '/'", pattern);
        return -EINVAL;
    }
    if (len > 1 && pattern[len - 1] == '/')
        len--; /* sanic's default strict_slashes=False */
    seg_spec segs[64];
    size_t nsegs = 0, nparams = 0;
    const char *p = pattern + 1, *end = pattern + len;
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *e = slash ? slash : end;
        if (e == p) {
            set_err(err, errlen, "'%s': empty segment", pattern);
            return -EINVAL;
        }
        if (nsegs == 64) {
            set_err(err, errlen, "'%s': too many segments", pattern);
            return -EINVAL;
        }
        int rc = parse_segment(p, (size_t)(e - p), &segs[nsegs], err, errlen);
        if (rc < 0)
            return rc;
        if (segs[nsegs].ptype >= 0 && ++nparams > CIO__ROUTE_MAX_PARAMS) {
            set_err(err, errlen, "'%s': too many parameters", pattern);
            return -EINVAL;
        }
        if (segs[nsegs].ptype == CIO__P_PATH && slash) {
            set_err(err, errlen, "'%s': a path parameter must be last",
                    pattern);
            return -EINVAL;
        }
        nsegs++;
        p = slash ? slash + 1 : end;
    }
    for (size_t i = 0; i < nsegs; i++)
        for (size_t j = 0; j < i; j++)
            if (segs[i].ptype >= 0 && segs[j].ptype >= 0 &&
                segs[i].name_len == segs[j].name_len &&
                memcmp(segs[i].name, segs[j].name, segs[i].name_len) == 0) {
                set_err(err, errlen, "'%s': parameter '%.*s' twice", pattern,
                        (int)segs[i].name_len, segs[i].name);
                return -EINVAL;
            }

    node *n = &r->root;
    for (size_t i = 0; i < nsegs; i++) {
        seg_spec *sp = &segs[i];
        node *c = sp->ptype < 0 ? static_find(n, sp->s, sp->n)
                                : dyn_find(n, sp);
        if (c) {
            n = c;
            continue;
        }
        c = calloc(1, sizeof(*c));
        if (!c)
            return -ENOMEM;
        int rc;
        if (sp->ptype < 0) {
            c->ptype = -1;
            c->seg = strndup(sp->s, sp->n);
            c->seg_len = sp->n;
            rc = c->seg ? static_insert(n, c) : -ENOMEM;
        } else {
            rc = make_param_node(c, sp, err, errlen);
            if (rc == 0)
                rc = dyn_insert(n, c);
        }
        if (rc < 0) {
            node_free(c);
            free(c);
            return rc;
        }
        n = c;
    }
    route *rt = n->route;
    if (rt) {
        int same_names = rt->nnames == nparams;
        for (size_t i = 0, k = 0; same_names && i < nsegs; i++)
            if (segs[i].ptype >= 0) {
                const char *nm = rt->names[k++];
                same_names = strlen(nm) == segs[i].name_len &&
                             memcmp(nm, segs[i].name, segs[i].name_len) == 0;
            }
        if (!same_names) {
            set_err(err, errlen,
                    "'%s' conflicts with '%s': same path, other parameter "
                    "names", pattern, rt->pattern);
            return -EEXIST;
        }
        if (rt->mask & mask) {
            char m[96];
            cio__http_allow_list(rt->mask & mask, m, sizeof(m));
            set_err(err, errlen, "'%s' conflicts with '%s' for %s", pattern,
                    rt->pattern, m);
            return -EEXIST;
        }
    } else {
        rt = calloc(1, sizeof(*rt));
        if (!rt || !(rt->pattern = strdup(pattern))) {
            free(rt);
            return -ENOMEM;
        }
        for (size_t i = 0; i < nsegs; i++)
            if (segs[i].ptype >= 0) {
                rt->names[rt->nnames] = strndup(segs[i].name,
                                                segs[i].name_len);
                if (!rt->names[rt->nnames]) {
                    for (size_t k = 0; k < rt->nnames; k++)
                        free(rt->names[k]);
                    free(rt->pattern);
                    free(rt);
                    return -ENOMEM;
                }
                rt->nnames++;
            }
        n->route = rt;
    }
    rt->mask |= mask;
    for (int i = 0; i < CIO__M_COUNT; i++)
        if (mask & (1u << i))
            rt->h[i] = handler;
    return 0;
}

/* ---- lookup ------------------------------------------------------------- */

typedef struct search {
    unsigned method;
    int matched; /* some route has this path */
    cio__route_match *m;
    size_t depth; /* parameters on the stack */
} search;

static int at_leaf(const node *n, search *s)
{
    route *rt = n->route;
    if (!rt)
        return 0;
    unsigned allow = rt->mask;
    if (allow & CIO__M_GET)
        allow |= CIO__M_HEAD;
    allow |= CIO__M_OPTIONS;
    s->m->allow |= allow;
    s->matched = 1;
    void *h = NULL;
    unsigned meth = s->method;
    if (meth != CIO__M_OTHER) {
        int bit = __builtin_ctz(meth);
        h = rt->h[bit];
        if (!h && meth == CIO__M_HEAD)
            h = rt->h[0]; /* HEAD from GET */
    }
    if (!h && meth != CIO__M_OPTIONS)
        return 0;
    cio__route_match *m = s->m;
    m->handler = h; /* NULL: an automatic OPTIONS answer */
    m->route = rt;
    m->status = 0;
    m->allow = allow;
    m->nparams = rt->nnames;
    for (size_t i = 0; i < rt->nnames; i++)
        m->names[i] = rt->names[i];
    return 1;
}

static int visit(const node *n, const char *p, const char *end, int at_end,
                 search *s)
{
    if (at_end)
        return at_leaf(n, s);
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *e = slash ? slash : end;
    const char *next = slash ? slash + 1 : end;
    size_t sl = (size_t)(e - p);
    node *c = static_find(n, p, sl);
    if (c && visit(c, next, end, !slash, s))
        return 1;
    for (size_t i = 0; i < n->ndyn; i++) {
        node *d = n->dyn[i];
        size_t k = s->depth;
        if (k >= CIO__ROUTE_MAX_PARAMS)
            return 0;
        if (d->ptype == CIO__P_PATH) {
            if (p == end)
                continue;
            s->m->values[k] = p;
            s->m->lens[k] = (size_t)(end - p);
            s->m->types[k] = d->ptype;
            s->depth++;
            if (at_leaf(d, s))
                return 1;
            s->depth--;
            continue;
        }
        if (!type_matches(d, p, sl))
            continue;
        s->m->values[k] = p;
        s->m->lens[k] = sl;
        s->m->types[k] = d->ptype;
        s->depth++;
        if (visit(d, next, end, !slash, s))
            return 1;
        s->depth--;
    }
    return 0;
}

int cio__router_lookup(const cio__router *r, unsigned method, const char *path,
                       size_t len, cio__route_match *m)
{
    m->handler = NULL;
    m->route = NULL;
    m->nparams = 0;
    m->allow = 0;
    m->status = 404;
    if (!r || !path || len == 0 || path[0] != '/')
        return m->status;
    if (len > 1 && path[len - 1] == '/')
        len--;
    search s = {method, 0, m, 0};
    const char *end = path + len;
    if (visit(&r->root, path + 1, end, len == 1, &s))
        return m->status;
    m->status = s.matched ? 405 : 404;
    m->nparams = 0;
    return m->status;
}
