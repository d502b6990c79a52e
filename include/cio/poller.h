/*
 * cio/poller.h - the poller on its own (Python's selectors, asyncio's
 * add_reader/add_writer). Included by cio.h; do not include directly.
 *
 * Both are level-triggered: a callback runs, and a select returns a key,
 * for as long as the descriptor stays ready. A descriptor watched here
 * must not also be used by a cio socket, stream or transport on the same
 * loop (the loop refuses with -EBUSY).
 */
#ifndef CIO_POLLER_H
#define CIO_POLLER_H

#ifndef CIO_H
#error "include cio.h, not cio/poller.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define CIO_EVENT_READ 0x1u
#define CIO_EVENT_WRITE 0x2u

/* Calls cb(arg) on loop, as an ordinary callback, in every iteration in
 * which fd is readable (or at EOF / error). Replaces an earlier reader of
 * fd. arg is borrowed until removed. Returns: 0. Errors: -EINVAL (bad fd,
 * NULL cb, closed loop, wrong thread), -EBUSY (fd is used by a cio
 * socket), -ENOMEM, -EPERM (fd cannot be polled, e.g. a regular file),
 * -errno from the backend. */
CIO_API int cio_loop_add_reader(cio_loop *loop, int fd, cio_cb cb, void *arg);

/* Same for writability. */
CIO_API int cio_loop_add_writer(cio_loop *loop, int fd, cio_cb cb, void *arg);

/* Stops watching fd for reading. A callback already scheduled in this
 * iteration does not run. Returns: 1 if a reader was removed, 0 if there
 * was none. Errors: -EINVAL. */
CIO_API int cio_loop_remove_reader(cio_loop *loop, int fd);

/* Same for writability. */
CIO_API int cio_loop_remove_writer(cio_loop *loop, int fd);

/* A selector without a loop (Python's selectors.DefaultSelector), on the
 * same kernel backend as the loops. Not thread-safe. */
typedef struct cio_selector cio_selector;

/* What select returns: one ready registration. */
typedef struct cio_selector_key {
    int fd;
    unsigned events; /* CIO_EVENT_READ / CIO_EVENT_WRITE that are ready */
    void *data;      /* as registered (borrowed) */
} cio_selector_key;

/* Creates a selector. Returns: 0. Errors: -ENOMEM, -EMFILE, -ENOSYS. */
CIO_API int cio_selector_new(cio_selector **out);

/* Closes the selector (registered descriptors are not closed). */
CIO_API void cio_selector_free(cio_selector *s);

/* Watches fd for events (CIO_EVENT_READ and/or CIO_EVENT_WRITE) with user
 * data. Returns: 0. Errors: -EINVAL (bad fd or events), -EEXIST (already
 * registered: use modify), -ENOMEM, -EPERM (not pollable), -errno. */
CIO_API int cio_selector_register(cio_selector *s, int fd, unsigned events,
                                  void *data);

/* Changes the events and data of a registered fd. Errors: -ENOENT if not
 * registered, others as register. */
CIO_API int cio_selector_modify(cio_selector *s, int fd, unsigned events,
                                void *data);

/* Stops watching fd. Call it before closing fd. Errors: -ENOENT. */
CIO_API int cio_selector_unregister(cio_selector *s, int fd);

/* Waits up to timeout ns (< 0: forever, 0: poll) and writes up to max
 * ready keys. Returns: the number of keys (0 on timeout). Errors:
 * -EINVAL, -errno. Blocks the calling thread (it is not a task call). */
CIO_API int cio_selector_select(cio_selector *s, int64_t timeout,
                                cio_selector_key *keys, int max);

#ifdef __cplusplus
}
#endif

#endif
