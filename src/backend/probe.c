/*
 * probe.c - backend selection. The CIO_BACKEND environment variable
 * (epoll|uring) overrides automatic choice, like libuv's UV_USE_IO_URING.
 * io_uring is not built yet, so auto resolves to epoll and an explicit
 * uring request reports the backend unavailable (NULL -> -ENOSYS).
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
    return NULL;
}
