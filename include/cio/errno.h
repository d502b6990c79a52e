/*
 * cio/errno.h - cio's one error table (included by cio.h).
 *
 * Every cio function reports failure as a negative int: a negated errno
 * value (-EINVAL, -ECANCELED, -ETIMEDOUT...) wherever one fits, or one of
 * the CIO_E* codes below. The codes live below -4000, so they never collide
 * with errno (Linux's largest errno is 133), as libuv keeps UV_EOF at
 * -4095. cio_strerror and cio_err_name (cio.h) describe every value.
 *
 * Ranges. Each layer owns a block of codes; a later layer declares its
 * codes here, inside its block, and adds their messages to the table in
 * src/core/error.c (cio_strerror describes a code of a block that has no
 * entry yet by its block: "TLS error", ...). So TLS, HTTP, Redis and DNS
 * errors are cio error codes, not a second convention:
 *
 *   -4001 .. -4099   core (loop, tasks, generators, groups, streams,
 *                    executors, name resolution by getaddrinfo)
 *   -4100 .. -4199   TLS   (handshake, certificate, protocol alert)
 *   -4200 .. -4299   HTTP  (malformed message, too large, upgrade refused)
 *   -4300 .. -4399   Redis (server error reply, protocol error)
 *   -4400 .. -4499   DNS   (c-ares resolver: NXDOMAIN, no data, refused)
 *
 * Checklist when adding a code: pick the next free value of its block,
 * give it a comment here and an entry (name, message) in src/core/error.c,
 * list it in the "Errors:" lines of every call that returns it.
 */
#ifndef CIO_ERRNO_H
#define CIO_ERRNO_H

#include <errno.h>

/* ---- block bounds (inclusive; FIRST is the largest value) ---- */
#define CIO_ERR_CORE_FIRST (-4001)
#define CIO_ERR_CORE_LAST (-4099)
#define CIO_ERR_TLS_FIRST (-4100)
#define CIO_ERR_TLS_LAST (-4199)
#define CIO_ERR_HTTP_FIRST (-4200)
#define CIO_ERR_HTTP_LAST (-4299)
#define CIO_ERR_REDIS_FIRST (-4300)
#define CIO_ERR_REDIS_LAST (-4399)
#define CIO_ERR_DNS_FIRST (-4400)
#define CIO_ERR_DNS_LAST (-4499)

/* ---- core ---- */
/* End of stream before the requested data (cio_stream_read_exactly...). */
#define CIO_EOF (-4095)
/* Reserved: stack overflow. Never returned: an overflow aborts with a
 * message naming the task. */
#define CIO_ESTACKOVF (-4094)
/* Thrown into a generator being closed (asyncio's GeneratorExit). */
#define CIO_EGENEXIT (-4093)
/* One or more tasks of a group failed (cio_task_group_wait). */
#define CIO_EGROUP (-4092)
/* getaddrinfo failed (host not found, no address of the wanted family,
 * temporary DNS failure...). Out-of-memory and system errors of the
 * resolver come back as -ENOMEM and -errno instead. */
#define CIO_ERESOLVE (-4091)
/* A worker or child process died (process pools, subprocess pipes). */
#define CIO_ECHILD_DIED (-4090)
/* Ctrl-C (SIGINT) cancelled every task and they have all finished: what
 * cio_run, run_until_complete and run_forever return after it. */
#define CIO_EINTERRUPTED (-4089)

#endif
