/*
 * redis_queue_lists.c - the server's cost of a job's commands on Redis
 * Streams with a consumer group (cio's protocol) against BLMOVE into
 * per-worker processing lists, the alternative the issue names. The
 * measurement behind the choice in design.md §40.
 *
 * Method: the ceiling's method (bench/redis_queue.c): one hiredis
 * connection (blocking C) replays the commands of 38,400 jobs, 96 per
 * round trip, taken by a "worker" in batches of 16, against a
 * redis-server started here for each command set; the figure is the server's CPU time
 * (/proc/<pid>/stat, user + system) per job, so the client's own speed
 * does not count. Four command sets, each on a fresh server:
 *
 *  streams_full: cio's protocol: the submit script (96 XADDs in one
 *    EVAL); per batch one XREADGROUP COUNT 16, the start script (done /
 *    cancel check, run counter) and the finishing script (done marker,
 *    result XADD, one XACK, one XDEL, INCRBY, PEXPIRE) for 16 jobs; one
 *    XREAD of the results.
 *  lists_full: the same guarantees on lists: one LPUSH of 96 job
 *    payloads; per job an LMOVE from the queue to the worker's processing
 *    list (there is no COUNT form: 16 pipelined, the first of which
 *    would be a BLMOVE); the same start script; a finishing script that
 *    does the same per job and removes the payload from the processing
 *    list with LREM (lists have no acknowledgement by id); one XREAD.
 *  streams_bare / lists_bare: delivery only: XADD, XREADGROUP COUNT 16,
 *    XACK and XDEL of 16 ids; against LPUSH of 96, 16 LMOVEs, 16 LREMs.
 *
 * What lists do not give (and a list-based queue would have to add with
 * more commands, not counted here): the delivery time and count per job
 * (the PEL), so a reaper can only tell a dead worker (its heartbeat) and
 * not a job stuck on a live one; claiming a dead worker's jobs is a
 * scan of its list, not XAUTOCLAIM.
 *
 * Prints: redis_streams_full_server_ns_per_job, redis_lists_full_...,
 * redis_streams_bare_..., redis_lists_bare_... (nanoseconds).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "queue_int.h"
#include "redis_server.h"

#define JOBS 38400
#define BATCH 96 /* jobs per round trip */
#define WB 16    /* jobs per worker batch */

static double cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                            "%llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Reads n replies; fails on an error reply. Keeps the replies in out
 * (freed by the caller) when out is not NULL. */
static int drain(redisContext *c, int n, redisReply **out)
{
    for (int i = 0; i < n; i++) {
        void *r;
        if (redisGetReply(c, &r) != REDIS_OK)
            return -1;
        if (((redisReply *)r)->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "lists bench: %s\n", ((redisReply *)r)->str);
            freeReplyObject(r);
            return -1;
        }
        if (out)
            out[i] = r;
        else
            freeReplyObject(r);
    }
    return 0;
}

/* The list variant of the finishing script: per job, unless recorded,
 * the done marker and the result entry; in every case LREM of its payload
 * from the processing list. KEYS: stat:done, processing, then per job
 * done marker and result stream. ARGV: ttl, worker, per job: job id,
 * payload. */
static const char lists_finish_lua[] =
    "local ttl, wn = ARGV[1], ARGV[2]\n"
    "local n = (#KEYS - 2) / 2\n"
    "local cnt, exp = 0, {}\n"
    "for i = 0, n - 1 do\n"
    "  local k, a = 3 + 2 * i, 3 + 2 * i\n"
    "  if redis.call('SET', KEYS[k], '1', 'NX', 'PX', ttl) then\n"
    "    cnt = cnt + 1\n"
    "    redis.call('XADD', KEYS[k + 1], '*', 'job', ARGV[a], 'err', '0',\n"
    "      'runs', '1', 'worker', wn, 'msg', '', 'data', '')\n"
    "    exp[KEYS[k + 1]] = 1\n"
    "  end\n"
    "  redis.call('LREM', KEYS[2], 1, ARGV[a + 1])\n"
    "end\n"
    "if cnt > 0 then redis.call('INCRBY', KEYS[1], cnt) end\n"
    "for k in pairs(exp) do redis.call('PEXPIRE', k, ttl) end\n"
    "return n\n";

enum { STREAMS_FULL, LISTS_FULL, STREAMS_BARE, LISTS_BARE };

static char sha_start[48], sha_finish[48], sha_lfinish[48];

static int load(redisContext *c, const char *lua, char *sha)
{
    redisReply *r = redisCommand(c, "SCRIPT LOAD %s", lua);
    int ok = r && r->type == REDIS_REPLY_STRING;
    if (ok)
        snprintf(sha, 48, "%s", r->str);
    freeReplyObject(r);
    return ok ? 0 : -1;
}

#define AMAX (11 + 12 * BATCH)
static const char *av[AMAX];
static size_t lens[AMAX];
static int k;

static void arg(const char *s)
{
    av[k] = s;
    lens[k++] = strlen(s);
}

static void push(redisContext *c)
{
    redisAppendCommandArgv(c, k, av, lens);
    k = 0;
}

/* One round trip's worth of jobs [b, b + BATCH) in one variant. */
static int round_trip(redisContext *c, int v, int b, const char *tag)
{
    char jid[BATCH][32], pay[BATCH][96], ids[BATCH][64];
    static char keys[3 * WB][64];
    char jobs[32], proc[32], res[32];
    snprintf(jobs, sizeof(jobs), "%s:jobs", tag);
    snprintf(proc, sizeof(proc), "%s:processing:w", tag);
    snprintf(res, sizeof(res), "%s:results:s", tag);
    int lists = v == LISTS_FULL || v == LISTS_BARE;
    int full = v == STREAMS_FULL || v == LISTS_FULL;
    for (int i = 0; i < BATCH; i++) {
        snprintf(jid[i], sizeof(jid[i]), "s:%d", b + i);
        /* A list job is one string carrying what the stream entry's
         * fields carry. */
        snprintf(pay[i], sizeof(pay[i]), "job=%.31s;fn=noop;args=;reply=%.31s",
                 jid[i], res);
    }
    /* Submit. */
    if (lists) {
        arg("LPUSH");
        arg(jobs);
        for (int i = 0; i < BATCH; i++)
            arg(pay[i]);
        push(c);
        if (drain(c, 1, NULL) < 0)
            return -1;
    } else if (full) {
        arg("EVAL");
        arg(cio__queue_submit_lua);
        arg("2");
        arg(jobs);
        arg(res);
        for (int i = 0; i < BATCH; i++) {
            arg(jid[i]);
            arg("noop");
            arg("");
        }
        push(c);
        if (drain(c, 1, NULL) < 0)
            return -1;
    } else {
        for (int i = 0; i < BATCH; i++)
            redisAppendCommand(c, "XADD %s * job %s fn noop args %b reply %s",
                               jobs, jid[i], "", (size_t)0, res);
        if (drain(c, BATCH, NULL) < 0)
            return -1;
    }
    /* Take. */
    if (lists) {
        for (int i = 0; i < BATCH; i++)
            redisAppendCommand(c, "LMOVE %s %s RIGHT LEFT", jobs, proc);
        redisReply *rs[BATCH];
        if (drain(c, BATCH, rs) < 0)
            return -1;
        for (int i = 0; i < BATCH; i++) {
            if (rs[i]->type != REDIS_REPLY_STRING)
                return -1;
            snprintf(pay[i], sizeof(pay[i]), "%s", rs[i]->str);
            /* The job id back from the payload (LPUSH/RPOP: FIFO). */
            const char *j = strstr(rs[i]->str, "job=");
            const char *e = j ? strchr(j, ';') : NULL;
            if (!j || !e || e - j - 4 >= 32)
                return -1;
            memcpy(jid[i], j + 4, (size_t)(e - j - 4));
            jid[i][e - j - 4] = '\0';
            freeReplyObject(rs[i]);
        }
    } else {
        for (int i = 0; i < BATCH / WB; i++)
            redisAppendCommand(c, "XREADGROUP GROUP workers w COUNT %d "
                                  "STREAMS %s >",
                               WB, jobs);
        int got = 0;
        for (int i = 0; i < BATCH / WB; i++) {
            redisReply *x;
            if (drain(c, 1, &x) < 0)
                return -1;
            if (x->type == REDIS_REPLY_ARRAY && x->elements == 1) {
                redisReply *ents = x->element[0]->element[1];
                for (size_t e = 0; e < ents->elements && got < BATCH; e++)
                    snprintf(ids[got++], sizeof(ids[0]), "%s",
                             ents->element[e]->element[0]->str);
            }
            freeReplyObject(x);
        }
        if (got != BATCH)
            return -1;
    }
    /* Start, run (nothing), finish: per worker batch. */
    int sent = 0;
    for (int g = 0; g < BATCH; g += WB) {
        if (full) {
            char nk[16];
            snprintf(nk, sizeof(nk), "%d", 3 * WB);
            arg("EVALSHA");
            arg(sha_start);
            arg(nk);
            for (int i = 0; i < WB; i++) {
                snprintf(keys[3 * i], 64, "%s:done:%.31s", tag, jid[g + i]);
                snprintf(keys[3 * i + 1], 64, "%s:cancel:%.31s", tag,
                         jid[g + i]);
                snprintf(keys[3 * i + 2], 64, "%s:runs:%.31s", tag,
                         jid[g + i]);
                arg(keys[3 * i]);
                arg(keys[3 * i + 1]);
                arg(keys[3 * i + 2]);
            }
            arg("3600000");
            push(c);
            sent++;
        }
        char nk2[16];
        if (v == STREAMS_FULL) {
            snprintf(nk2, sizeof(nk2), "%d", 5 + 2 * WB);
            arg("EVALSHA");
            arg(sha_finish);
            arg(nk2);
            arg("bl:stat:done");
            arg("bl:stat:dead");
            arg("bl:stat:cancelled");
            arg(jobs);
            arg("bl:dead");
            for (int i = 0; i < WB; i++) {
                arg(keys[3 * i]);
                arg(res);
            }
            arg("3600000");
            arg("workers");
            arg("w");
            for (int i = 0; i < WB; i++) {
                arg(jid[g + i]);
                arg("0");
                arg("1");
                arg("");
                arg("");
                arg(ids[g + i]);
                arg("0");
                arg("noop");
                arg("");
                arg("1");
            }
            push(c);
            sent++;
        } else if (v == LISTS_FULL) {
            snprintf(nk2, sizeof(nk2), "%d", 2 + 2 * WB);
            arg("EVALSHA");
            arg(sha_lfinish);
            arg(nk2);
            arg("bl:stat:done");
            arg(proc);
            for (int i = 0; i < WB; i++) {
                arg(keys[3 * i]);
                arg(res);
            }
            arg("3600000");
            arg("w");
            for (int i = 0; i < WB; i++) {
                arg(jid[g + i]);
                arg(pay[g + i]);
            }
            push(c);
            sent++;
        } else if (v == STREAMS_BARE) {
            arg("XACK");
            arg(jobs);
            arg("workers");
            for (int i = 0; i < WB; i++)
                arg(ids[g + i]);
            push(c);
            arg("XDEL");
            arg(jobs);
            for (int i = 0; i < WB; i++)
                arg(ids[g + i]);
            push(c);
            sent += 2;
        } else {
            for (int i = 0; i < WB; i++) {
                arg("LREM");
                arg(proc);
                arg("1");
                arg(pay[g + i]);
                push(c);
                sent++;
            }
        }
    }
    if (drain(c, sent, NULL) < 0)
        return -1;
    if (full) { /* the submitter reads its results */
        redisAppendCommand(c, "XREAD COUNT %d STREAMS %s 0-0", BATCH, res);
        redisAppendCommand(c, "DEL %s", res);
        if (drain(c, 2, NULL) < 0)
            return -1;
    }
    return 0;
}

static double variant(redisContext *c, pid_t srv, int v)
{
    static const char *const tags[] = {"sf", "lf", "sb", "lb"};
    char jobs[32];
    snprintf(jobs, sizeof(jobs), "%s:jobs", tags[v]);
    if (v == STREAMS_FULL || v == STREAMS_BARE) {
        redisReply *r =
            redisCommand(c, "XGROUP CREATE %s workers 0 MKSTREAM", jobs);
        freeReplyObject(r);
    }
    double c0 = cpu_s(srv);
    for (int b = 0; b < JOBS; b += BATCH)
        if (round_trip(c, v, b, tags[v]) < 0)
            return -1;
    double cpu = cpu_s(srv) - c0;
    return cpu > 0 ? cpu / JOBS * 1e6 : -1;
}

/* One variant on a fresh server (no variant pays for another's keys). */
static double fresh(int v)
{
    tu_redis srv;
    tu_redis_opts so = TU_REDIS_OPTS_INIT;
    so.unpin = 1;
    if (tu_redis_start(&srv, &so) < 0) {
        fprintf(stderr, "redis-server did not start\n");
        return -1;
    }
    redisContext *c = redisConnect("127.0.0.1", srv.port);
    double us = -1;
    if (c && !c->err && load(c, cio__queue_start_lua, sha_start) == 0 &&
        load(c, cio__queue_finish_lua, sha_finish) == 0 &&
        load(c, lists_finish_lua, sha_lfinish) == 0)
        us = variant(c, srv.pid, v);
    if (c)
        redisFree(c);
    tu_redis_stop(&srv);
    return us;
}

int main(void)
{
    static const char *const names[] = {
        "redis_streams_full_server_ns_per_job",
        "redis_lists_full_server_ns_per_job",
        "redis_streams_bare_server_ns_per_job",
        "redis_lists_bare_server_ns_per_job"};
    double us[4];
    for (int v = 0; v < 4; v++)
        if ((us[v] = fresh(v)) <= 0) {
            fprintf(stderr, "lists bench failed\n");
            return 1;
        }
    for (int v = 0; v < 4; v++)
        printf("%s %.0f\n", names[v], us[v] * 1e3);
    return 0;
}
