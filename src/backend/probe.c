/*
 * probe.c - backend selection. The CIO_BACKEND environment variable
 * (epoll|uring) overrides automatic choice, like libuv's UV_USE_IO_URING.
 * Auto is epoll: io_uring is chosen by asking for it (docs/backends.md
 * says why). A kernel without io_uring makes the uring backend's init
 * fail, and so cio_loop_new, rather than run epoll behind the caller's
 * back.
 */
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

const cio__backend_ops *cio__backend_select(int kind)
{
    if (kind == 0) {
        const char *e = getenv("CIO_BACKEND");
        if (e && strcmp(e, "uring") == 0)
            kind = 2;
        else
            kind = 1;
    }
    if (kind == 1)
        return &cio__backend_epoll;
    if (kind == 2)
        return &cio__backend_uring;
    return NULL;
}
