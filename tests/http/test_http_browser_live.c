/* cio-test: timeout=180 */
/*
 * test_http_browser_live.c - cio::http against a real browser: headless
 * Chromium (Debian `chromium`) loads a page from the server, the page
 * submits its form (a POST, urlencoded), the answer page opens an
 * EventSource on a streamed SSE endpoint and writes each event into the
 * document; `chromium --headless --dump-dom` prints the final DOM, which
 * must show the posted value and the three events. Skipped when chromium
 * is not installed (scripts/bootstrap's test group installs it).
 */
#include "cio_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "cio/http.h"

static int h_page(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    return cio_http_response_html(
        res, 200,
        "<!doctype html><html><body>"
        "<form method=post action=/submit>"
        "<input name=who value='cio &amp; chromium'></form>"
        "<script>window.onload = () => document.forms[0].submit();</script>"
        "</body></html>");
}

static char posted[128];

static int h_submit(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    const char *who = cio_http_request_form(req, "who", 0, NULL);
    snprintf(posted, sizeof(posted), "%s", who ? who : "(none)");
    char page[1024];
    snprintf(page, sizeof(page),
             "<!doctype html><html><body><p id=got>posted: %s</p><ul id=ev>"
             "</ul><script>"
             "const es = new EventSource('/events');"
             "es.onmessage = (e) => {"
             " if (e.data === 'done') { es.close();"
             "  document.body.insertAdjacentHTML('beforeend',"
             "   '<p id=end>end</p>'); return; }"
             " const li = document.createElement('li');"
             " li.textContent = e.data; document.getElementById('ev')"
             ".appendChild(li); };"
             "</script></body></html>",
             who && strcmp(who, "cio & chromium") == 0 ? "ok" : "wrong");
    return cio_http_response_html(res, 200, page);
}

static int h_events(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    int r = cio_http_response_sse(res);
    char data[32];
    for (int i = 1; r == 0 && i <= 3; i++) {
        snprintf(data, sizeof(data), "event %d", i);
        r = cio_http_response_sse_event(res, NULL, data, NULL);
        if (r == 0)
            r = cio_sleep(50 * CIO_MS);
    }
    if (r == 0)
        r = cio_http_response_sse_event(res, NULL, "done", NULL);
    return r;
}

static cio_http_app *app;
static atomic_int port;
static int run_rc;

static void on_start(cio_http_app *a, int p, void *arg)
{
    (void)a, (void)arg;
    port = p;
}

static void *server(void *arg)
{
    (void)arg;
    run_rc = cio_http_run(app, "127.0.0.1", 0, 1);
    return NULL;
}

static int have_chromium(void)
{
    return system("command -v chromium >/dev/null 2>&1") == 0;
}

static void chromium_form_and_sse(void **state)
{
    (void)state;
    if (!have_chromium())
        skip();
    assert_int_equal(cio_http_app_new(&app, "browser"), 0);
    assert_int_equal(cio_http_route(app, "/", h_page, NULL, 0), 0);
    assert_int_equal(cio_http_route(app, "/submit", h_submit, NULL,
                                    CIO_HTTP_POST), 0);
    assert_int_equal(cio_http_route(app, "/events", h_events, NULL, 0), 0);
    cio_http_app_on_start(app, on_start, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, server, NULL), 0);
    for (int i = 0; i < 1000 && !port; i++)
        usleep(10 * 1000);
    assert_true(port > 0);
    char cmd[512];
    char dir[] = "/tmp/cio-chromium-XXXXXX";
    assert_non_null(mkdtemp(dir));
    /* --virtual-time-budget: the DOM is dumped once the page (and the one
     * the form leads to, and its EventSource) has had 20 s of virtual time
     * with no request pending. */
    snprintf(cmd, sizeof(cmd),
             "timeout 120 chromium --headless --no-sandbox --disable-gpu "
             "--user-data-dir=%s --virtual-time-budget=20000 --dump-dom "
             "http://127.0.0.1:%d/ 2>/dev/null; rm -rf %s",
             dir, (int)port, dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char dom[65536];
    size_t n = fread(dom, 1, sizeof(dom) - 1, p);
    dom[n] = '\0';
    int rc = pclose(p);
    print_message("chromium exit %d, DOM:\n%s\n", rc, dom);
    cio_http_app_stop(app);
    pthread_join(th, NULL);
    assert_int_equal(run_rc, 0);
    assert_int_equal(cio_http_app_free(app), 0);
    assert_string_equal(posted, "cio & chromium");
    assert_non_null(strstr(dom, "<p id=\"got\">posted: ok</p>"));
    assert_non_null(strstr(dom, "<li>event 1</li><li>event 2</li>"
                                "<li>event 3</li>"));
    assert_non_null(strstr(dom, "<p id=\"end\">end</p>"));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(chromium_form_and_sse),
};

CIO_TEST_MAIN(tests)
