/*
 * test_http_router.c - sanic's route syntax (src/http/router.c): static
 * and typed segments, regex via PCRE2, 404 on a typed mismatch, 405 with
 * the allowed methods, HEAD from GET, OPTIONS, conflicts refused at
 * registration, backtracking; and the query/form decoders.
 */
#include "cio_test.h"

#include <errno.h>

#include "cio/http.h"
#include "http/router.h"

static int h1, h2, h3, h4, h5, h6;

static cio__router *make(void)
{
    cio__router *r;
    assert_int_equal(cio__router_new(&r), 0);
    return r;
}

static void add_ok(cio__router *r, const char *pat, unsigned mask, void *h)
{
    char err[256];
    int rc = cio__router_add(r, pat, mask, h, err, sizeof(err));
    if (rc != 0)
        fail_msg("add %s: %d %s", pat, rc, err);
}

static cio__route_match look(cio__router *r, const char *meth,
                             const char *path)
{
    cio__route_match m;
    cio__router_lookup(r, cio__http_method_bit(meth, strlen(meth)), path,
                       strlen(path), &m);
    return m;
}

static void param_is(const cio__route_match *m, size_t i, const char *name,
                     const char *value)
{
    assert_true(i < m->nparams);
    assert_string_equal(m->names[i], name);
    assert_int_equal(m->lens[i], strlen(value));
    assert_memory_equal(m->values[i], value, strlen(value));
}

static void sanic_note_routes(void **state)
{
    (void)state;
    cio__router *r = make();
    add_ok(r, "/", CIO__M_GET, &h1);
    add_ok(r, "/<user>", CIO__M_GET, &h2);
    add_ok(r, "/number/<number_arg:number>", CIO__M_GET, &h3);
    add_ok(r, "/folder/<folder_id:[A-z0-9]{0,4}>", CIO__M_GET, &h4);
    add_ok(r, "/folder2/<name>", CIO__M_GET | CIO__M_POST, &h5);
    add_ok(r, "/personal2/<name:[A-z]>", CIO__M_GET, &h6);

    cio__route_match m = look(r, "GET", "/");
    assert_int_equal(m.status, 0);
    assert_ptr_equal(m.handler, &h1);
    m = look(r, "GET", "/alice");
    assert_ptr_equal(m.handler, &h2);
    param_is(&m, 0, "user", "alice");
    m = look(r, "GET", "/number/3.14");
    assert_ptr_equal(m.handler, &h3);
    param_is(&m, 0, "number_arg", "3.14");
    m = look(r, "GET", "/number/-7");
    assert_ptr_equal(m.handler, &h3);
    m = look(r, "GET", "/number/abc");
    assert_int_equal(m.status, 404); /* typed mismatch: 404, no handler */
    m = look(r, "GET", "/folder/ab12");
    assert_ptr_equal(m.handler, &h4);
    param_is(&m, 0, "folder_id", "ab12");
    m = look(r, "GET", "/folder/ab123");
    assert_int_equal(m.status, 404); /* {0,4} */
    m = look(r, "GET", "/personal2/x");
    assert_ptr_equal(m.handler, &h6);
    m = look(r, "GET", "/personal2/xy");
    assert_int_equal(m.status, 404);
    m = look(r, "POST", "/personal2/x");
    assert_int_equal(m.status, 405);
    assert_int_equal(m.allow, CIO__M_GET | CIO__M_HEAD | CIO__M_OPTIONS);
    char allow[64];
    cio__http_allow_list(m.allow, allow, sizeof(allow));
    assert_string_equal(allow, "GET, HEAD, OPTIONS");
    m = look(r, "POST", "/folder2/n");
    assert_ptr_equal(m.handler, &h5);
    m = look(r, "HEAD", "/alice");
    assert_ptr_equal(m.handler, &h2); /* HEAD from GET */
    m = look(r, "OPTIONS", "/alice");
    assert_int_equal(m.status, 0);
    assert_null(m.handler); /* answered by the server with Allow */
    m = look(r, "GET", "/a/b/c");
    assert_int_equal(m.status, 404);
    m = look(r, "BREW", "/alice");
    assert_int_equal(m.status, 405);
    cio__router_free(r);
}

static void all_types(void **state)
{
    (void)state;
    cio__router *r = make();
    add_ok(r, "/i/<n:int>", CIO__M_GET, &h1);
    add_ok(r, "/f/<x:float>", CIO__M_GET, &h1);
    add_ok(r, "/a/<s:alpha>", CIO__M_GET, &h1);
    add_ok(r, "/s/<s:slug>", CIO__M_GET, &h1);
    add_ok(r, "/t/<s:str>", CIO__M_GET, &h1);
    add_ok(r, "/p/<p:path>", CIO__M_GET, &h1);
    add_ok(r, "/u/<u:uuid>", CIO__M_GET, &h1);
    add_ok(r, "/d/<d:ymd>", CIO__M_GET, &h1);
    add_ok(r, "/e/<f:ext>", CIO__M_GET, &h1);
    add_ok(r, "/img/<f:ext=jpg|png>", CIO__M_GET, &h1);
    static const struct {
        const char *path;
        int status;
    } cases[] = {
        {"/i/42", 0}, {"/i/-42", 0}, {"/i/4.2", 404}, {"/i/x", 404},
        {"/i/", 404}, {"/f/4.2", 0}, {"/f/.5", 0}, {"/f/5.", 0},
        {"/f/-1", 0}, {"/f/.", 404}, {"/f/1e5", 404}, {"/a/abcXYZ", 0},
        {"/a/ab1", 404}, {"/s/my-post-1", 0}, {"/s/My-post", 404},
        {"/s/a--b", 404}, {"/s/-a", 404}, {"/s/a-", 404}, {"/t/any%20thing", 0},
        {"/p/a/b/c.txt", 0}, {"/p", 404},
        {"/u/123e4567-e89b-12d3-a456-426614174000", 0},
        {"/u/123e4567-e89b-12d3-a456-42661417400", 404},
        {"/u/123e4567xe89b-12d3-a456-426614174000", 404},
        {"/d/2024-02-29", 0}, {"/d/2024-13-01", 404}, {"/d/2024-00-10", 404},
        {"/d/2024-1-01", 404}, {"/e/photo.jpg", 0}, {"/e/photo", 404},
        {"/e/.jpg", 404}, {"/e/a.", 404}, {"/img/a.png", 0},
        {"/img/a.gif", 404}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cio__route_match m = look(r, "GET", cases[i].path);
        if (m.status != cases[i].status)
            fail_msg("%s: %d, want %d", cases[i].path, m.status,
                     cases[i].status);
    }
    cio__route_match m = look(r, "GET", "/p/a/b/c.txt");
    param_is(&m, 0, "p", "a/b/c.txt");
    cio__router_free(r);
}

static void static_beats_param_and_backtracks(void **state)
{
    (void)state;
    cio__router *r = make();
    add_ok(r, "/users/me", CIO__M_GET, &h1);
    add_ok(r, "/users/<id:int>", CIO__M_GET, &h2);
    add_ok(r, "/users/<name>/posts", CIO__M_GET, &h3);
    add_ok(r, "/users/<id:int>/x", CIO__M_POST, &h4);
    add_ok(r, "/users/<name>/x", CIO__M_GET, &h5);
    assert_ptr_equal(look(r, "GET", "/users/me").handler, &h1);
    assert_ptr_equal(look(r, "GET", "/users/12").handler, &h2);
    /* int matches "12" but has no /posts below: backtrack to <name>. */
    cio__route_match m = look(r, "GET", "/users/12/posts");
    assert_ptr_equal(m.handler, &h3);
    param_is(&m, 0, "name", "12");
    /* /users/<int>/x is POST only; GET goes on to /users/<name>/x. */
    assert_ptr_equal(look(r, "GET", "/users/12/x").handler, &h5);
    assert_ptr_equal(look(r, "POST", "/users/12/x").handler, &h4);
    m = look(r, "PUT", "/users/12/x");
    assert_int_equal(m.status, 405);
    assert_int_equal(m.allow, CIO__M_GET | CIO__M_HEAD | CIO__M_POST |
                                  CIO__M_OPTIONS);
    /* strict_slashes=False */
    assert_ptr_equal(look(r, "GET", "/users/me/").handler, &h1);
    cio__router_free(r);
}

static void conflicts_and_bad_patterns(void **state)
{
    (void)state;
    cio__router *r = make();
    char err[256];
    add_ok(r, "/a/<id:int>", CIO__M_GET, &h1);
    assert_int_equal(cio__router_add(r, "/a/<id:int>", CIO__M_GET, &h2, err,
                                     sizeof(err)), -EEXIST);
    assert_non_null(strstr(err, "conflicts"));
    assert_int_equal(cio__router_add(r, "/a/<n:int>", CIO__M_POST, &h2, err,
                                     sizeof(err)), -EEXIST);
    add_ok(r, "/a/<id:int>", CIO__M_POST, &h2); /* other method: fine */
    add_ok(r, "/a/<id>", CIO__M_GET, &h3);      /* other type: fine */
    assert_int_equal(cio__router_add(r, "/a/", CIO__M_GET, &h1, err,
                                     sizeof(err)), 0);
    assert_int_equal(cio__router_add(r, "/a", CIO__M_GET, &h1, err,
                                     sizeof(err)), -EEXIST);
    static const char *bad[] = {"", "a", "/a//b", "/x<y>", "/<1a>",
                                "/<a:>", "/<a:[>", "/<p:path>/x",
                                "/<a>/<a:int>", "/<>", "/<a:ext=>"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = cio__router_add(r, bad[i], CIO__M_GET, &h1, err, sizeof(err));
        if (rc != -EINVAL)
            fail_msg("%s: %d (%s)", bad[i], rc, err);
        assert_true(err[0] != '\0');
    }
    cio__router_free(r);
}

static void thousand_routes(void **state)
{
    (void)state;
    cio__router *r = make();
    char pat[64];
    for (int i = 0; i < 500; i++) {
        snprintf(pat, sizeof(pat), "/api/v1/res%d/<id:int>", i);
        add_ok(r, pat, CIO__M_GET, &h1);
        snprintf(pat, sizeof(pat), "/static/page%d", i);
        add_ok(r, pat, CIO__M_GET, &h2);
    }
    for (int i = 0; i < 500; i += 37) {
        snprintf(pat, sizeof(pat), "/api/v1/res%d/%d", i, i * 3);
        cio__route_match m = look(r, "GET", pat);
        assert_ptr_equal(m.handler, &h1);
        snprintf(pat, sizeof(pat), "/static/page%d", i);
        assert_ptr_equal(look(r, "GET", pat).handler, &h2);
    }
    assert_int_equal(look(r, "GET", "/static/page500").status, 404);
    cio__router_free(r);
}

static void query_decoding(void **state)
{
    (void)state;
    const char *q = "a=1&b=&&c&name=J%C3%B6rg+M&a=3&bad=%zz%4";
    size_t pos = 0;
    const char *k, *v;
    size_t kl, vl;
    char out[256] = "";
    size_t o = 0;
    while (cio_http_query_next(q, strlen(q), &pos, &k, &kl, &v, &vl) == 1) {
        char dk[64], dv[64];
        long a = cio_http_unquote(dk, k, kl, 1);
        long b = cio_http_unquote(dv, v, vl, 1);
        o += (size_t)snprintf(out + o, sizeof(out) - o, "[%.*s=%.*s]", (int)a,
                              dk, (int)b, dv);
    }
    assert_string_equal(out, "[a=1][b=][c=][name=J\xc3\xb6rg M][a=3]"
                             "[bad=%zz%4]");
    char buf[] = "a%2Fb+c";
    assert_int_equal(cio_http_unquote(buf, buf, 7, 0), 5);
    assert_memory_equal(buf, "a/b+c", 5);
    assert_int_equal(cio_http_query_next(NULL, 1, &pos, &k, &kl, &v, &vl),
                     -EINVAL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(sanic_note_routes),
    cmocka_unit_test(all_types),
    cmocka_unit_test(static_beats_param_and_backtracks),
    cmocka_unit_test(conflicts_and_bad_patterns),
    cmocka_unit_test(thousand_routes),
    cmocka_unit_test(query_decoding),
};

CIO_TEST_MAIN(tests)
