/*
 * alloc.c - the allocation seam. All of cio allocates through these
 * wrappers so that a test allocator can count live blocks and make the
 * Nth allocation fail. The hooks are plain globals: they are set once
 * before any cio object exists (documented in cio_set_allocator), so no
 * synchronisation is needed on the hot path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void *libc_malloc(size_t n, void *ud)
{
    (void)ud;
    return malloc(n);
}
static void *libc_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    return realloc(p, n);
}
static void libc_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

static cio_allocator g_alloc = {libc_malloc, libc_realloc, libc_free, NULL};

int cio_set_allocator(const cio_allocator *a)
{
    if (!a) {
        g_alloc = (cio_allocator){libc_malloc, libc_realloc, libc_free, NULL};
        return 0;
    }
    if (!a->malloc || !a->realloc || !a->free)
        return -EINVAL;
    g_alloc = *a;
    return 0;
}

void *cio__malloc(size_t n) { return g_alloc.malloc(n ? n : 1, g_alloc.ud); }

void *cio__calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = cio__malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *cio__realloc(void *p, size_t n)
{
    return g_alloc.realloc(p, n ? n : 1, g_alloc.ud);
}

void cio__free(void *p)
{
    if (p)
        g_alloc.free(p, g_alloc.ud);
}

char *cio__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = cio__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void cio__assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "cio: internal assertion failed: %s (%s:%d)\n", expr,
            file, line);
    abort();
}
