/*
 * s10e_subprocess_protocol.c - issue 15: asyncio's subprocess protocol
 * form (loop.subprocess_exec with a SubprocessProtocol), beside the
 * streams form of s10_subprocess.
 *
 *     class Proto(asyncio.SubprocessProtocol):
 *         def pipe_data_received(self, fd, data): ...
 *         def pipe_connection_lost(self, fd, exc): ...
 *         def process_exited(self): ...
 *         def connection_lost(self, exc): ...
 *     transport, proto = await loop.subprocess_exec(Proto, "sh", "-c", ...)
 *     await transport._wait()   # cio_subprocess_transport_wait
 *     transport.close()
 *
 * The child (sh) reads a line from its stdin, echoes it upper-cased to
 * stdout, writes a note to stderr, and leaves a background grandchild
 * holding stdout for 0.2 s: process_exited is printed while stdout is
 * still open, and connection_lost (and the wait) only once the
 * grandchild let it go. Ends by itself; status 1 if an event is missing.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s10e_subprocess_protocol.c -o s10e_subprocess_protocol \
 *         $(pkg-config --cflags --libs cio)
 */
#include <stdio.h>
#include <string.h>

#include "cio.h"

typedef struct proto_state {
    int exited, lost, pipes_lost;
} proto_state;

static int made(cio_subprocess_transport *t, void *ctx)
{
    (void)ctx;
    printf("connection_made: pid %d\n", (int)cio_subprocess_transport_pid(t));
    cio_transport *in = cio_subprocess_transport_pipe_transport(t, 0);
    const char *line = "hello from the parent\n";
    int rc = cio_transport_write(in, line, strlen(line));
    return rc < 0 ? rc : cio_transport_write_eof(in);
}

static int data(cio_subprocess_transport *t, int fd, const void *d,
                size_t len, void *ctx)
{
    (void)t;
    (void)ctx;
    printf("pipe_data_received(%d): %.*s", fd, (int)len, (const char *)d);
    return 0;
}

static void pipe_lost(cio_subprocess_transport *t, int fd, int err,
                      void *ctx)
{
    (void)t;
    ((proto_state *)ctx)->pipes_lost++;
    printf("pipe_connection_lost(%d, %s)\n", fd,
           err ? cio_strerror(err) : "None");
}

static void exited(cio_subprocess_transport *t, void *ctx)
{
    int rc = -1;
    cio_subprocess_transport_returncode(t, &rc);
    ((proto_state *)ctx)->exited = 1;
    printf("process_exited: returncode %d\n", rc);
}

static void lost(cio_subprocess_transport *t, int err, void *ctx)
{
    (void)t;
    (void)err;
    ((proto_state *)ctx)->lost = 1;
    printf("connection_lost\n");
}

static const cio_subprocess_protocol PROTO = {
    .connection_made = made,
    .pipe_data_received = data,
    .pipe_connection_lost = pipe_lost,
    .process_exited = exited,
    .connection_lost = lost,
};

static int factory(void *arg, const cio_subprocess_protocol **p, void **ctx)
{
    *p = &PROTO;
    *ctx = arg;
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)result;
    proto_state *st = arg;
    char *const argv[] = {
        "sh", "-c",
        "read line; echo \"$line\" | tr a-z A-Z; echo 'a note' >&2; "
        "(sleep 0.2; echo 'grandchild done') &",
        NULL};
    cio_subprocess_transport *t;
    int rc = cio_subprocess_exec(NULL, factory, st, argv, NULL, &t);
    if (rc < 0) {
        fprintf(stderr, "subprocess_exec: %s\n", cio_strerror(rc));
        return rc;
    }
    int code = -1;
    rc = cio_subprocess_transport_wait(t, &code);
    printf("wait: %d (returncode %d)\n", rc, code);
    cio_subprocess_transport_close(t);
    return rc;
}

int main(void)
{
    proto_state st = {0, 0, 0};
    int rc = cio_run(main_task, &st, NULL);
    if (rc < 0 || !st.exited || !st.lost || st.pipes_lost != 3) {
        fprintf(stderr, "missing events (rc %d)\n", rc);
        return 1;
    }
    return 0;
}
