/*
 * stack.c - coroutine stacks: guarded mmaps in a per-thread pool, and
 * compact slots carved from shared slabs.
 *
 * Guarded stacks are one mmap each (MAP_NORESERVE|MAP_STACK) whose lowest
 * page is made PROT_NONE, so an overflow faults instead of corrupting a
 * neighbour. That costs two kernel mappings per stack; vm.max_map_count
 * (65530 by default) therefore caps guarded tasks at about 30,000.
 * Freed stacks go to the freeing thread's pool: at most POOL_KEEP stacks
 * for each of POOL_SIZES sizes, the rest are unmapped. A stack made on one
 * thread and freed on another simply joins the second thread's pool;
 * nothing in a mapping is tied to a thread. The pool needs no lock because
 * only its own thread touches it; it is unmapped when the thread exits.
 *
 * Compact stacks exist for the million-task case: fixed slots carved from
 * 64 MiB slabs (MAP_NORESERVE, so only touched pages cost memory), a few
 * hundred mappings in all, no guard page. Instead a canary fills the lowest
 * 64 bytes of each slot and coro.c checks it at every switch out of the
 * coroutine. Slots are recycled through per-thread free lists (lock-free)
 * that spill into process-wide lists (one mutex) when they grow long or
 * their thread exits. Slabs are never unmapped: slots migrate between
 * threads, so a slab has no owner that could know it is empty. A
 * per-slab count to return empty slabs was rejected as not worth it for
 * a mode meant for processes that keep many tasks alive.
 *
 * Rejected: a guard page per compact slot (back to two mappings per
 * task) and MAP_GROWSDOWN (the kernel's stack-guard gap logic makes its
 * behaviour depend on neighbours and it is discouraged upstream).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "coro/stack.h"
#include "internal.h"

#if defined(CIO__ASAN)
#include <sanitizer/asan_interface.h>
#endif

/*
 * Default sizes. A guarded stack reserves 256 KiB of address space, but
 * only the pages a coroutine touches become memory: a task that never goes
 * deeper than 8 KiB costs 8 KiB. Virtual size is nearly free on 64-bit
 * (47 bits of address space), so the default is set by the deepest common
 * callers rather than the typical one: getaddrinfo (glibc's resolver and
 * NSS modules put several KiB of buffers on the stack) and OpenSSL
 * handshakes (certificate verification, bignum code) reach tens of KiB
 * and run either on executor threads or on task stacks that must be deep
 * enough. 256 KiB leaves margin for both plus user code.
 *
 * Compact stacks default to 16 KiB: with a million tasks every byte is
 * multiplied by a million (16 GiB of address space, of which typically one
 * or two pages per task are touched). Enough for protocol handlers that do
 * their I/O through cio; not for getaddrinfo or TLS on the task itself.
 *
 * AddressSanitizer frames carry redzones and are several times larger, so
 * the defaults grow under ASan. Valgrind does not change frame sizes.
 */
#if defined(CIO__ASAN)
#define DEFAULT_GUARDED ((size_t)1024 * 1024)
#define DEFAULT_COMPACT ((size_t)64 * 1024)
#else
#define DEFAULT_GUARDED ((size_t)256 * 1024)
#define DEFAULT_COMPACT ((size_t)16 * 1024)
#endif
#define MIN_STACK ((size_t)16 * 1024)
#define SLAB_SIZE ((size_t)64 * 1024 * 1024)
#define MAX_COMPACT SLAB_SIZE

#define POOL_SIZES 4
#define POOL_KEEP 64
#define CACHE_CLASSES 4
#define CACHE_MAX 4096 /* compact slots a thread keeps per class */

uint64_t cio__canary_key;

static size_t page_size(void)
{
    static _Atomic size_t cached;
    size_t p = atomic_load_explicit(&cached, memory_order_relaxed);
    if (p == 0) {
        long r = sysconf(_SC_PAGESIZE);
        p = r > 0 ? (size_t)r : 4096;
        atomic_store_explicit(&cached, p, memory_order_relaxed);
    }
    return p;
}

static size_t round_pages(size_t n)
{
    size_t p = page_size();
    return (n + p - 1) / p * p;
}

/* ---- environment defaults --------------------------------------------- */

/* 0: not read yet; SIZE_MAX: CIO_STACK_SIZE unset or invalid. */
static _Atomic size_t env_size;
/* -1: not read yet. */
static _Atomic int env_compact = -1;

int cio__coro_parse_size(const char *s, size_t *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return -EINVAL;
    size_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        size_t d = (size_t)(*s - '0');
        if (v > (SIZE_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    unsigned shift = 0;
    switch (*s) {
    case 'k':
    case 'K':
        shift = 10;
        s++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        s++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        s++;
        break;
    default:
        break;
    }
    if (shift != 0 && (s[0] == 'i' || s[0] == 'I') &&
        (s[1] == 'b' || s[1] == 'B'))
        s += 2;
    else if (*s == 'b' || *s == 'B')
        s++;
    if (*s != '\0' || v == 0)
        return -EINVAL;
    if (v > (SIZE_MAX >> 1 >> shift))
        return -EINVAL;
    v <<= shift;
    if (v < MIN_STACK)
        v = MIN_STACK;
    if (v > SIZE_MAX / 2)
        return -EINVAL;
    *out = round_pages(v);
    return 0;
}

static size_t load_env_size(void)
{
    size_t v = atomic_load_explicit(&env_size, memory_order_relaxed);
    if (v != 0)
        return v;
    const char *s = getenv("CIO_STACK_SIZE");
    v = SIZE_MAX;
    if (s != NULL && *s != '\0' && cio__coro_parse_size(s, &v) != 0) {
        /* Falling back silently would hide a typo until a task overflows;
         * say it once per (re)load. */
        fprintf(stderr,
                "cio: ignoring invalid CIO_STACK_SIZE='%s' (expected bytes "
                "with an optional K, M or G suffix)\n",
                s);
        v = SIZE_MAX;
    }
    atomic_store_explicit(&env_size, v, memory_order_relaxed);
    return v;
}

int cio__coro_default_compact(void)
{
    int v = atomic_load_explicit(&env_compact, memory_order_relaxed);
    if (v >= 0)
        return v;
    const char *s = getenv("CIO_STACK_COMPACT");
    v = (s != NULL && strcmp(s, "1") == 0) ? 1 : 0;
    atomic_store_explicit(&env_compact, v, memory_order_relaxed);
    return v;
}

size_t cio__coro_default_stack_size_for(int compact)
{
    size_t v = load_env_size();
    if (v == SIZE_MAX)
        return compact ? DEFAULT_COMPACT : DEFAULT_GUARDED;
    if (compact && v > MAX_COMPACT)
        v = MAX_COMPACT;
    return v;
}

size_t cio__coro_default_stack_size(void)
{
    return cio__coro_default_stack_size_for(cio__coro_default_compact());
}

void cio__coro_reset_defaults(void)
{
    atomic_store(&env_size, 0);
    atomic_store(&env_compact, -1);
}

/* ---- failure report ----------------------------------------------------- */

static void report_enomem(void)
{
    static atomic_flag said = ATOMIC_FLAG_INIT;
    if (atomic_flag_test_and_set(&said))
        return;
    /* Only the environment selects compact stacks: cio_task_opts has
     * stack_size but no compact field, so the message names what exists. */
    static const char msg[] =
        "cio: cannot map a coroutine stack (ENOMEM): each guarded stack "
        "uses 2 of the vm.max_map_count mappings (65530 by default, about "
        "30k tasks) unless memory or RLIMIT_AS ran out first; set "
        "CIO_STACK_COMPACT=1 (compact stacks, ~1M tasks) or raise "
        "vm.max_map_count, or lower CIO_STACK_SIZE / cio_task_opts."
        "stack_size if address space is what ran out\n";
    ssize_t r = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)r;
}

static void unpoison(const cio__coro *c)
{
#if defined(CIO__ASAN)
    /* Frames abandoned by a coroutine that never returned leave redzones
     * poisoned in ASan's shadow; the next user of the memory must not
     * inherit them. */
    ASAN_UNPOISON_MEMORY_REGION(c->map_base, c->map_size);
#else
    (void)c;
#endif
}

/* ---- per-thread pool ---------------------------------------------------- */

struct guarded_bucket {
    size_t size; /* usable bytes; 0: unused bucket */
    unsigned n;
    void *base[POOL_KEEP];
};

struct compact_cache {
    size_t size; /* slot bytes; 0: unused */
    size_t n;
    void *head; /* slots linked through their first word */
    void *tail;
};

struct pool {
    struct guarded_bucket g[POOL_SIZES];
    struct compact_cache cc[CACHE_CLASSES];
};

static _Thread_local struct pool *tls_pool;
static _Thread_local int tls_pool_gone; /* its destructor already ran */
static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static int pool_key_ok;

static void compact_spill(size_t size, void *head, void *tail);

static void pool_exit(void *arg)
{
    struct pool *p = arg;
    for (int i = 0; i < POOL_SIZES; i++)
        for (unsigned j = 0; j < p->g[i].n; j++)
            munmap(p->g[i].base[j], p->g[i].size + page_size());
    for (int i = 0; i < CACHE_CLASSES; i++)
        if (p->cc[i].n != 0)
            compact_spill(p->cc[i].size, p->cc[i].head, p->cc[i].tail);
    free(p);
    tls_pool = NULL;
    tls_pool_gone = 1;
}

static void pool_key_init(void)
{
    pool_key_ok = pthread_key_create(&pool_key, pool_exit) == 0;
}

/* The calling thread's pool, created on first use; NULL when it cannot
 * be (no memory, or the thread is exiting): callers then unmap. */
static struct pool *pool_get(void)
{
    struct pool *p = tls_pool;
    if (p != NULL || tls_pool_gone)
        return p;
    pthread_once(&pool_once, pool_key_init);
    if (!pool_key_ok)
        return NULL;
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    if (pthread_setspecific(pool_key, p) != 0) {
        free(p);
        return NULL;
    }
    tls_pool = p;
    return p;
}

/* ---- guarded stacks ----------------------------------------------------- */

static int guarded_alloc(cio__coro *c, size_t size)
{
    size_t page = page_size();
    void *base = NULL;
    struct pool *p = tls_pool;
    if (p != NULL) {
        for (int i = 0; i < POOL_SIZES; i++) {
            if (p->g[i].size == size && p->g[i].n != 0) {
                base = p->g[i].base[--p->g[i].n];
                break;
            }
        }
    }
    if (base == NULL) {
        base = mmap(NULL, size + page, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1,
                    0);
        if (base == MAP_FAILED) {
            int r = CIO__ERRNO();
            if (r == -ENOMEM)
                report_enomem();
            return r == -ENOMEM ? r : -ENOMEM;
        }
        /* Splitting the mapping is what costs the second map count entry,
         * so this is where vm.max_map_count usually bites. */
        if (mprotect(base, page, PROT_NONE) != 0) {
            int r = CIO__ERRNO();
            munmap(base, size + page);
            if (r == -ENOMEM)
                report_enomem();
            return r == -ENOMEM ? r : -ENOMEM;
        }
    }
    c->map_base = base;
    c->map_size = size + page;
    c->stack_lo = (char *)base + page;
    c->stack_hi = (char *)base + page + size;
    return 0;
}

static void guarded_free(cio__coro *c)
{
    size_t size = c->map_size - page_size();
    struct pool *p = pool_get();
    if (p != NULL) {
        struct guarded_bucket *spare = NULL;
        for (int i = 0; i < POOL_SIZES; i++) {
            struct guarded_bucket *b = &p->g[i];
            if (b->size == size) {
                if (b->n < POOL_KEEP) {
                    b->base[b->n++] = c->map_base;
                    return;
                }
                spare = NULL;
                break;
            }
            if (b->n == 0 && spare == NULL)
                spare = b;
        }
        if (spare != NULL) {
            spare->size = size;
            spare->base[spare->n++] = c->map_base;
            return;
        }
    }
    munmap(c->map_base, c->map_size);
}

/* ---- compact stacks ----------------------------------------------------- */

struct compact_class {
    size_t size;
    void *head;
    struct compact_class *next;
};

static pthread_mutex_t compact_mu = PTHREAD_MUTEX_INITIALIZER;
static struct compact_class *compact_classes; /* under compact_mu */
static char *slab_cur, *slab_end;             /* under compact_mu */

static void *slot_next(void *slot)
{
    void *n;
    memcpy(&n, slot, sizeof n);
    return n;
}

static void slot_set_next(void *slot, void *next)
{
    memcpy(slot, &next, sizeof next);
}

static void canary_key_init(void)
{
    /* AT_RANDOM: 16 random bytes the kernel gives every process. Mixed
     * with an address so the key differs across exec'd copies even if
     * AT_RANDOM is missing. The low byte is zero, as in glibc's stack
     * protector canary, so string overflows stop at it. */
    uint64_t k = (uint64_t)(uintptr_t)&compact_mu * 0x9e3779b97f4a7c15u;
    const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
    if (r != NULL) {
        uint64_t x;
        memcpy(&x, r + 8, sizeof x);
        k ^= x;
    }
    k &= ~(uint64_t)0xff;
    if (k == 0)
        k = 0x5a17c0de00u;
    cio__canary_key = k;
}

/* Called with compact_mu held. Takes a slot from the shared lists or
 * carves a new one; NULL with *err set on failure. */
static void *compact_take_locked(size_t size, int *err)
{
    for (struct compact_class *k = compact_classes; k; k = k->next) {
        if (k->size == size && k->head != NULL) {
            void *s = k->head;
            k->head = slot_next(s);
            return s;
        }
    }
    if ((size_t)(slab_end - slab_cur) < size) {
        /* The tail of the old slab is abandoned: at most one slot's worth
         * of untouched address space, never memory. */
        void *m = mmap(NULL, SLAB_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                       -1, 0);
        if (m == MAP_FAILED) {
            *err = CIO__ERRNO();
            return NULL;
        }
        if (cio__canary_key == 0)
            canary_key_init();
        /* Slots start CIO__CANARY_BYTES before a page boundary, so each
         * slot's canary shares a page with the top frames of the slot
         * below it: a sleeping task then dirties one page, not two (its
         * top page and its canary page), which halves the RSS of a
         * million compact tasks. */
        slab_cur = (char *)m + page_size() - CIO__CANARY_BYTES;
        slab_end = (char *)m + SLAB_SIZE;
    }
    void *s = slab_cur;
    slab_cur += size;
    return s;
}

/* Moves a chain of free slots to the shared lists. */
static void compact_spill(size_t size, void *head, void *tail)
{
    pthread_mutex_lock(&compact_mu);
    struct compact_class *k = compact_classes;
    while (k != NULL && k->size != size)
        k = k->next;
    if (k == NULL) {
        k = malloc(sizeof *k);
        if (k == NULL) {
            /* Cannot record them: the slots stay mapped but unused. Only
             * reachable when malloc fails, and never a crash. */
            pthread_mutex_unlock(&compact_mu);
            return;
        }
        k->size = size;
        k->head = NULL;
        k->next = compact_classes;
        compact_classes = k;
    }
    slot_set_next(tail, k->head);
    k->head = head;
    pthread_mutex_unlock(&compact_mu);
}

static int compact_alloc(cio__coro *c, size_t size)
{
    void *s = NULL;
    struct pool *p = tls_pool;
    if (p != NULL) {
        for (int i = 0; i < CACHE_CLASSES; i++) {
            struct compact_cache *cc = &p->cc[i];
            if (cc->size == size && cc->n != 0) {
                s = cc->head;
                cc->head = slot_next(s);
                if (--cc->n == 0)
                    cc->tail = NULL;
                break;
            }
        }
    }
    if (s == NULL) {
        int err = -ENOMEM;
        pthread_mutex_lock(&compact_mu);
        s = compact_take_locked(size, &err);
        pthread_mutex_unlock(&compact_mu);
        if (s == NULL) {
            if (err == -ENOMEM)
                report_enomem();
            return err == -ENOMEM ? err : -ENOMEM;
        }
    }
    uint64_t want = cio__canary_key ^ (uint64_t)(uintptr_t)s;
    for (size_t i = 0; i < CIO__CANARY_BYTES / 8; i++)
        memcpy((char *)s + i * 8, &want, 8);
    c->map_base = s;
    c->map_size = size;
    c->stack_lo = (char *)s + CIO__CANARY_BYTES;
    c->stack_hi = (char *)s + size;
    c->flags |= CIO__CORO_F_COMPACT;
    return 0;
}

static void compact_free(cio__coro *c)
{
    void *s = c->map_base;
    size_t size = c->map_size;
    struct pool *p = pool_get();
    if (p != NULL) {
        struct compact_cache *spare = NULL, *cc = NULL;
        for (int i = 0; i < CACHE_CLASSES; i++) {
            if (p->cc[i].size == size) {
                cc = &p->cc[i];
                break;
            }
            if (p->cc[i].n == 0 && spare == NULL)
                spare = &p->cc[i];
        }
        if (cc == NULL && spare != NULL) {
            cc = spare;
            cc->size = size;
        }
        if (cc != NULL) {
            slot_set_next(s, cc->head);
            cc->head = s;
            if (cc->n++ == 0)
                cc->tail = s;
            if (cc->n >= CACHE_MAX) {
                compact_spill(size, cc->head, cc->tail);
                cc->head = cc->tail = NULL;
                cc->n = 0;
            }
            return;
        }
    }
    slot_set_next(s, NULL);
    compact_spill(size, s, s);
}

/* ---- entry points ------------------------------------------------------- */

int cio__stack_alloc(cio__coro *c, size_t size, int compact)
{
    if (size > SIZE_MAX / 4)
        return -EINVAL;
    if (size < MIN_STACK)
        size = MIN_STACK;
    size = round_pages(size);
    if (compact) {
        if (size > MAX_COMPACT)
            return -EINVAL;
        return compact_alloc(c, size);
    }
    return guarded_alloc(c, size);
}

void cio__stack_free(cio__coro *c)
{
    unpoison(c);
    if (c->flags & CIO__CORO_F_COMPACT)
        compact_free(c);
    else
        guarded_free(c);
}
