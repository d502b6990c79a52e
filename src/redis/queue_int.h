/*
 * queue_int.h - what queue.c (worker), executor.c (submitter) and the
 * cio-queue tool share: option defaults, key names and reply helpers.
 */
#ifndef CIO_REDIS_QUEUE_INT_H
#define CIO_REDIS_QUEUE_INT_H

#include <stdio.h>
#include <string.h>

#include "redis_int.h"

#define CIO__Q_GROUP "workers"
#define CIO__Q_KEYMAX 512

/* The script that records a job's outcome and acknowledges it (queue.c;
 * bench/redis_queue.c replays it for the engine's ceiling). */
extern const char cio__queue_finish_lua[];
/* The script that queues a batch of jobs (executor.c). */
extern const char cio__queue_submit_lua[];
/* The script that starts a run (done / cancel checks, run counter). */
extern const char cio__queue_start_lua[];

/* Fills defaults into a copy of the options. */
void cio__queue_opts(cio_redis_queue_opts *o, const cio_redis_queue_opts *in);

/* "<queue>:<suffix>" into buf (CIO__Q_KEYMAX bytes). */
const char *cio__queue_key(char *buf, const cio_redis_queue_opts *o,
                           const char *suffix);

/* A default name: host-pid-random. */
void cio__queue_name(char *buf, size_t cap);

/* In a stream entry's field list [f1, v1, f2, v2...]: the value of name,
 * or NULL. */
const cio_redis_reply *cio__field(const cio_redis_reply *fields,
                                  const char *name);

/* Creates the consumer group (from the stream's start; MKSTREAM);
 * BUSYGROUP is success. Suspends. */
int cio__queue_ensure_group(cio_redis *r, const cio_redis_queue_opts *o);

/* A command from NUL-terminated strings (NULL-terminated list), reply
 * dropped or returned. Suspends. */
int cio__cmd(cio_redis *r, cio_redis_reply **rep, const char *a0, ...);

#endif
