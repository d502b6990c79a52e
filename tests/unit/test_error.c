/*
 * test_error.c - the one error table: every CIO_E* code that
 * include/cio/errno.h declares has its own name and message in
 * cio_strerror / cio_err_name (the header is read at run time, so a code
 * added without a table entry fails here), codes of the reserved blocks
 * are described by their block, and nothing collides with errno.
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cio_testutil.h"

/* include/cio/errno.h, found from this file's path. */
static FILE *open_errno_h(void)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s", __FILE__);
    char *s = strstr(path, "tests/unit/test_error.c");
    assert_non_null(s);
    strcpy(s, "include/cio/errno.h");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    return f;
}

static void every_code_has_an_entry(void **state)
{
    (void)state;
    FILE *f = open_errno_h();
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^#define (CIO_E[A-Z_]+) \\((-[0-9]+)\\)",
                             REG_EXTENDED),
                     0);
    char line[512];
    int n = 0, seen[1000] = {0};
    while (fgets(line, sizeof(line), f)) {
        regmatch_t m[3];
        if (regexec(&re, line, 3, m, 0))
            continue;
        line[m[1].rm_eo] = 0;
        line[m[2].rm_eo] = 0;
        const char *name = line + m[1].rm_so;
        int code = atoi(line + m[2].rm_so);
        if (!strncmp(name, "CIO_ERR_", 8))
            continue; /* a block bound, not a code */
        print_message("%s = %d: %s\n", name, code, cio_strerror(code));
        /* Inside the blocks, each value once. */
        assert_true(code <= CIO_ERR_CORE_FIRST && code >= CIO_ERR_DNS_LAST);
        assert_int_equal(seen[-code - 4000]++, 0);
        assert_string_equal(cio_err_name(code), name);
        assert_string_not_equal(cio_strerror(code), "unknown error");
        assert_string_not_equal(cio_strerror(code), "cio error");
        n++;
    }
    regfree(&re);
    fclose(f);
    assert_true(n >= 6); /* EOF, ESTACKOVF, EGENEXIT, EGROUP, ERESOLVE... */
}

static void blocks_are_described(void **state)
{
    (void)state;
    assert_string_equal(cio_strerror(CIO_ERR_TLS_FIRST - 90), "TLS error");
    assert_string_equal(cio_strerror(CIO_ERR_TLS_LAST), "TLS error");
    assert_string_equal(cio_strerror(CIO_ERR_HTTP_FIRST - 7), "HTTP error");
    assert_string_equal(cio_strerror(CIO_ERR_REDIS_LAST), "Redis error");
    assert_string_equal(cio_strerror(CIO_ERR_DNS_LAST), "DNS error");
    assert_string_equal(cio_strerror(CIO_ERR_CORE_FIRST), "cio error");
    assert_string_equal(cio_strerror(CIO_ERR_DNS_LAST - 1), "unknown error");
    /* The blocks follow each other and stay clear of errno. */
    assert_int_equal(CIO_ERR_CORE_LAST - 1, CIO_ERR_TLS_FIRST);
    assert_int_equal(CIO_ERR_TLS_LAST - 1, CIO_ERR_HTTP_FIRST);
    assert_int_equal(CIO_ERR_HTTP_LAST - 1, CIO_ERR_REDIS_FIRST);
    assert_int_equal(CIO_ERR_REDIS_LAST - 1, CIO_ERR_DNS_FIRST);
    assert_true(-CIO_ERR_CORE_FIRST > 4000);
    assert_string_equal(cio_err_name(-ECONNRESET), "ECONNRESET");
    /* HTTP/2's codes (-4270 .. -4289) by name. */
    assert_string_equal(cio_err_name(CIO_EHTTP_RST_STREAM),
                        "CIO_EHTTP_RST_STREAM");
    assert_string_equal(cio_err_name(CIO_EHTTP_GOAWAY), "CIO_EHTTP_GOAWAY");
    assert_true(CIO_EHTTP_RST_STREAM <= -4270 && CIO_EHTTP_GOAWAY >= -4289);
    assert_string_equal(cio_err_name(CIO_EHTTPC_H2_PROTO),
                        "CIO_EHTTPC_H2_PROTO");
    assert_string_equal(cio_err_name(CIO_EHTTPC_H2_RESET),
                        "CIO_EHTTPC_H2_RESET");
    assert_string_equal(cio_err_name(CIO_EHTTPC_H2_GOAWAY),
                        "CIO_EHTTPC_H2_GOAWAY");
    assert_string_equal(cio_err_name(CIO_EHTTPC_TRAILERS_TOO_LARGE),
                        "CIO_EHTTPC_TRAILERS_TOO_LARGE");
    assert_string_equal(cio_err_name(CIO_EHTTPC_STATUS), "CIO_EHTTPC_STATUS");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(every_code_has_an_entry),
    cmocka_unit_test(blocks_are_described),
};

CIO_TEST_MAIN(tests)
