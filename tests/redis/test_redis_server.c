/* cio-test: label=redis */
/*
 * test_redis_server.c - the test helper itself: a real redis-server is
 * started on a free port in a temporary directory, answers, keeps its
 * data across a restart with AOF on, asks for the password when told to,
 * and is gone (process reaped, directory removed) after stop.
 */
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cio_test.h"
#include "redis_server.h"

static void start_or_skip(tu_redis *s, const tu_redis_opts *o)
{
    int r = tu_redis_start(s, o);
    if (r == -ENOENT) {
        fprintf(stderr, "redis-server not installed: skipped\n");
        exit(77);
    }
    assert_int_equal(r, 0);
}

static void starts_answers_stops(void **state)
{
    (void)state;
    tu_redis s;
    start_or_skip(&s, NULL);
    assert_true(s.port > 0 && s.port != 6379);
    char buf[128];
    assert_int_equal(tu_redis_inline(&s, "PING", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "+PONG");
    char dir[256];
    strcpy(dir, s.dir);
    pid_t pid = s.pid;
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    tu_redis_stop(&s);
    assert_int_equal(s.pid, 0);
    assert_int_not_equal(stat(dir, &st), 0); /* directory removed */
    assert_int_equal(kill(pid, 0), -1);      /* process gone, reaped */
    assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
    tu_redis_stop(&s); /* idempotent */
}

static void aof_survives_kill9(void **state)
{
    (void)state;
    tu_redis s;
    tu_redis_opts o = TU_REDIS_OPTS_INIT;
    o.aof = 1;
    start_or_skip(&s, &o);
    char buf[128];
    assert_int_equal(tu_redis_inline(&s, "SET k durable", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "+OK");
    assert_int_equal(tu_redis_kill(&s, SIGKILL), 0);
    assert_int_not_equal(tu_redis_inline(&s, "PING", buf, sizeof(buf)), 0);
    assert_int_equal(tu_redis_restart(&s), 0);
    assert_int_equal(tu_redis_inline(&s, "GET k", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "$7"); /* first line of the bulk reply */
    tu_redis_stop(&s);
}

static void requirepass(void **state)
{
    (void)state;
    tu_redis s;
    tu_redis_opts o = TU_REDIS_OPTS_INIT;
    o.password = "s3cret";
    start_or_skip(&s, &o);
    char buf[128];
    assert_int_equal(tu_redis_inline(&s, "GET k", buf, sizeof(buf)), 0);
    assert_memory_equal(buf, "-NOAUTH", 7);
    tu_redis_stop(&s);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(starts_answers_stops),
    cmocka_unit_test(aof_survives_kill9),
    cmocka_unit_test(requirepass),
};

CIO_TEST_MAIN(tests)
