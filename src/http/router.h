/*
 * router.h - cio::http's router (internal): sanic's route syntax on a
 * radix tree of path segments.
 *
 * Pure: no I/O, no loop (PCRE2 for regex segments); fuzzed by
 * tests/fuzz/fuzz_router.c. Built at registration time, then read-only, so
 * the worker threads of cio_http_run share one router.
 */
#ifndef CIO_HTTP_ROUTER_H
#define CIO_HTTP_ROUTER_H

#include <stddef.h>

/* Methods as bits (CIO__M_OTHER: any method the router does not know). */
enum {
    CIO__M_GET = 1 << 0,
    CIO__M_HEAD = 1 << 1,
    CIO__M_POST = 1 << 2,
    CIO__M_PUT = 1 << 3,
    CIO__M_DELETE = 1 << 4,
    CIO__M_PATCH = 1 << 5,
    CIO__M_OPTIONS = 1 << 6,
    CIO__M_CONNECT = 1 << 7,
    CIO__M_TRACE = 1 << 8,
    CIO__M_COUNT = 9,
    CIO__M_OTHER = 1 << 15
};

#define CIO__ROUTE_MAX_PARAMS 16

/* The method bit of a method name (CIO__M_OTHER if unknown). */
unsigned cio__http_method_bit(const char *m, size_t n);

/* Writes "GET, HEAD, POST" for mask into buf. Returns the length. */
size_t cio__http_allow_list(unsigned mask, char *buf, size_t cap);

typedef struct cio__router cio__router;

typedef struct cio__route_match {
    void *handler;   /* the handler for the method (HEAD: GET's) */
    void *route;     /* opaque route identity (the registered pattern) */
    int status;      /* 0: found; 404; 405 */
    unsigned allow;  /* methods of the path (405 and OPTIONS) */
    size_t nparams;
    const char *names[CIO__ROUTE_MAX_PARAMS];  /* borrowed from the router */
    const char *values[CIO__ROUTE_MAX_PARAMS]; /* raw views into the path */
    size_t lens[CIO__ROUTE_MAX_PARAMS];
    int types[CIO__ROUTE_MAX_PARAMS]; /* CIO__P_* */
} cio__route_match;

/* Parameter types, in the order they are tried at one node. */
enum {
    CIO__P_INT = 0,
    CIO__P_FLOAT,
    CIO__P_UUID,
    CIO__P_YMD,
    CIO__P_ALPHA,
    CIO__P_SLUG,
    CIO__P_EXT,
    CIO__P_REGEX,
    CIO__P_STR,
    CIO__P_PATH
};

int cio__router_new(cio__router **out);
void cio__router_free(cio__router *r);

/* Adds pattern (sanic syntax, copied) for the methods in mask with
 * handler. Returns 0. Errors: -EINVAL (bad pattern: err says why),
 * -EEXIST (conflicts with a route already there: err says which),
 * -ENOMEM. err (may be NULL) receives a message. */
int cio__router_add(cio__router *r, const char *pattern, unsigned mask,
                    void *handler, char *err, size_t errlen);

/* Finds the route of path[0..len) (no query) for the method bit. Views in
 * *m borrow from path and from the router. Returns m->status. */
int cio__router_lookup(const cio__router *r, unsigned method, const char *path,
                       size_t len, cio__route_match *m);

#endif
