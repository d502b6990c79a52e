/*
 * internal.h - declarations shared across src/: the allocation seam,
 * intrusive containers, assertions. Never installed.
 */
#ifndef CIO_INTERNAL_H
#define CIO_INTERNAL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cio.h"

#define cio__container_of(ptr, type, member)                                  \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#if defined(__GNUC__)
#define CIO_LIKELY(x) __builtin_expect(!!(x), 1)
#define CIO_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CIO_NOINLINE __attribute__((noinline))
#define CIO_UNUSED __attribute__((unused))
#else
#define CIO_LIKELY(x) (x)
#define CIO_UNLIKELY(x) (x)
#define CIO_NOINLINE
#define CIO_UNUSED
#endif

/* Sanitizer detection (coro.c and stack.c switch stacks under them; tests
 * use it too). GCC before 14 has no __has_feature but defines
 * __SANITIZE_ADDRESS__/__SANITIZE_THREAD__. */
#if defined(__SANITIZE_ADDRESS__)
#define CIO__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CIO__ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define CIO__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CIO__TSAN 1
#endif
#endif

/* A pause for spin-wait loops (x86 PAUSE, aarch64 YIELD). */
#if defined(__x86_64__) || defined(__i386__)
#define cio__cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define cio__cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define cio__cpu_relax() ((void)0)
#endif

/* The error of the system call that just failed, as cio returns it
 * (-errno). Use it on the very next line after the call: a suspension,
 * or any other call, may change errno (STYLE.md section 3). */
#define CIO__ERRNO() (-errno)

/* Internal invariants: a violated one is a cio bug, so it aborts with
 * file:line in every build (misuse by callers gets -EINVAL instead). */
#define CIO_ASSERT(cond)                                                      \
    do {                                                                      \
        if (CIO_UNLIKELY(!(cond)))                                            \
            cio__assert_fail(#cond, __FILE__, __LINE__);                      \
    } while (0)

_Noreturn void cio__assert_fail(const char *expr, const char *file, int line);

/* Misuse of the public API (STYLE section 3): evaluates to -EINVAL and, in
 * debug mode, first logs one line naming the public function and the
 * rule broken ("cio: cio_sleep: called outside a task"). Use it in the
 * public function itself (__func__ names it):
 *     if (!t)
 *         return CIO_MISUSE("called outside a task");
 * src/core/misuse.c decides what debug mode means there. */
#define CIO_MISUSE(rule) cio__misuse(__func__, (rule))
int cio__misuse(const char *fn, const char *rule);
/* Set by the task layer: refines *debug from the thread's running loop
 * and names the running task in *task (left NULL outside tasks). */
extern void (*cio__misuse_hook)(int *debug, const char **task);

/* Allocation seam: every allocation goes through the installed
 * cio_allocator, so tests can count blocks and inject failures. */
void *cio__malloc(size_t n);
void *cio__calloc(size_t n, size_t size);
void *cio__realloc(void *p, size_t n);
void cio__free(void *p);
char *cio__strdup(const char *s);

/* Marks dup[i] = 1 for every entry of an array of n pointers that
 * repeats an earlier one (key(arr, i) reads entry i), 0 for the rest.
 * Returns the number of distinct entries. Never fails (dedupe.c). */
typedef const void *(*cio__key_at)(const void *arr, size_t i);
size_t cio__mark_dups(const void *arr, size_t n, cio__key_at key,
                      unsigned char *dup);

/* Doubly linked intrusive list with a sentinel head. */
typedef struct cio__list {
    struct cio__list *next, *prev;
} cio__list;

static inline void cio__list_init(cio__list *h) { h->next = h->prev = h; }
static inline int cio__list_empty(const cio__list *h) { return h->next == h; }
static inline void cio__list_insert_tail(cio__list *h, cio__list *n)
{
    n->prev = h->prev;
    n->next = h;
    h->prev->next = n;
    h->prev = n;
}
static inline void cio__list_remove(cio__list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}

#endif
