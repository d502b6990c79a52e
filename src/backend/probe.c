/*
 * probe.c - backend selection. The CIO_BACKEND environment variable
 * (epoll|uring) overrides automatic choice, like libuv's UV_USE_IO_URING.
 * Auto is epoll: io_uring is chosen by asking for it (docs/backends.md
 * says why). A kernel without io_uring makes the uring backend's init
 * fail, and so cio_loop_new, rather than run epoll behind the caller's
 * back. An unknown CIO_BACKEND value (kqueue, a typo) is an error too,
 * reported on stderr every time a loop is refused: running epoll instead
 * would hide that the setting was never applied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

const cio__backend_ops *cio__backend_select(int kind)
{
    if (kind == 0) {
        const char *e = getenv("CIO_BACKEND");
        if (!e || !*e || strcmp(e, "epoll") == 0) {
            kind = 1;
        } else if (strcmp(e, "uring") == 0) {
            kind = 2;
        } else {
            fprintf(stderr,
                    "cio: CIO_BACKEND='%s' is not a backend (epoll or "
                    "uring); no loop created\n",
                    e);
            return NULL;
        }
    }
    if (kind == 1)
        return &cio__backend_epoll;
    if (kind == 2)
        return &cio__backend_uring;
    return NULL;
}
