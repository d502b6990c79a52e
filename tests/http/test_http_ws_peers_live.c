/* cio-test: timeout=240 */
/*
 * test_http_ws_peers_live.c - cio's WebSocket against real peers:
 *   - Node's `ws` package (npm) as a server, cio_ws_connect as its client;
 *   - Node's `ws` as a client of cio's server (cio_http_websocket);
 *   - headless Chromium running a page, served by cio, that echoes
 *     through cio's WebSocket server (permessage-deflate negotiated by the
 *     browser).
 * Node's `ws` is installed into the build tree (npm install --prefix
 * build/node_ws ws; from npm's cache when offline). A case skips, saying
 * why, when node/npm/chromium is missing or npm cannot install `ws`
 * (scripts/bootstrap's test group installs nodejs, npm and chromium).
 */
#include "cio_test.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cio/http.h"
#include "cio_testutil_http.h"

extern char **environ;

#define NODE_DIR CIO_BINARY_DIR "/node_ws"
#define SCRIPTS CIO_SOURCE_DIR "/tests/http/ws_node"

/* ---- cio client, Node server --------------------------------------------- */

static int node_port;

static void expect_echo(cio_ws *ws, int type, const void *d, size_t n)
{
    assert_int_equal(cio_ws_send(ws, type, d, n), 0);
    cio_ws_msg m;
    assert_int_equal(cio_ws_receive(ws, &m), 0);
    assert_int_equal(m.type, type);
    assert_int_equal(m.len, n);
    if (n)
        assert_memory_equal(m.data, d, n);
}

static int client_main(void *arg, void **result)
{
    (void)arg, (void)result;
    static char big[200001];
    for (size_t i = 0; i < sizeof(big) - 1; i++)
        big[i] = "node ws and cio "[i % 16];
    cio_ws *ws;
    /* Plain. */
    assert_int_equal(cio_ws_connect(&ws, "127.0.0.1", node_port, "/", NULL), 0);
    assert_int_equal(cio_ws_compressed(ws), 0);
    expect_echo(ws, CIO_WS_TEXT, "hello node", 10);
    expect_echo(ws, CIO_WS_BINARY, "\0\1\2\377", 4);
    expect_echo(ws, CIO_WS_BINARY, big, sizeof(big) - 1);
    expect_echo(ws, CIO_WS_TEXT, "\xc3\xa9\xe2\x82\xac", 5);
    assert_int_equal(cio_ws_send_fragment(ws, CIO_WS_TEXT, "fr", 2, 0), 0);
    assert_int_equal(cio_ws_ping(ws, "x", 1), 0);
    assert_int_equal(cio_ws_send_fragment(ws, 0, "ag", 2, 1), 0);
    cio_ws_msg m;
    assert_int_equal(cio_ws_receive(ws, &m), 0);
    assert_int_equal(m.len, 4);
    assert_memory_equal(m.data, "frag", 4);
    assert_int_equal(cio_ws_close(ws, 1000, "cio bye"), 0);
    assert_int_equal(cio_ws_close_code(ws), 1000);
    cio_ws_free(ws);
    /* permessage-deflate, context kept; then the server closes. */
    cio_ws_options o = CIO_WS_OPTIONS_INIT;
    o.compress = 1;
    assert_int_equal(cio_ws_connect(&ws, "127.0.0.1", node_port, "/", &o), 0);
    assert_int_equal(cio_ws_compressed(ws), 1);
    for (int k = 0; k < 3; k++) {
        expect_echo(ws, CIO_WS_TEXT, big, sizeof(big) - 1);
        expect_echo(ws, CIO_WS_BINARY, "", 0);
        expect_echo(ws, CIO_WS_TEXT, "short", 5);
    }
    assert_int_equal(cio_ws_send_text(ws, "close:4002"), 0);
    assert_int_equal(cio_ws_receive(ws, &m), CIO_EWS_CLOSED);
    assert_int_equal(cio_ws_close_code(ws), 4002);
    assert_string_equal(cio_ws_close_reason(ws), "node done");
    cio_ws_free(ws);
    /* No context takeover asked by cio. */
    o.no_context_takeover = 1;
    assert_int_equal(cio_ws_connect(&ws, "127.0.0.1", node_port, "/", &o), 0);
    assert_int_equal(cio_ws_compressed(ws), 1);
    for (int k = 0; k < 3; k++)
        expect_echo(ws, CIO_WS_TEXT, big, sizeof(big) - 1);
    assert_int_equal(cio_ws_send_text(ws, "exit"), 0);
    cio_ws_free(ws);
    return 0;
}

static void cio_client_node_server(void **state)
{
    (void)state;
    if (!tu_have_node_ws())
        skip();
    FILE *p = popen("DEFLATE=1 NODE_PATH=" NODE_DIR "/node_modules "
                    "node " SCRIPTS "/echo_server.js",
                    "r");
    assert_non_null(p);
    char line[32] = "";
    assert_non_null(fgets(line, sizeof(line), p));
    node_port = atoi(line);
    assert_true(node_port > 0);
    int rc = cio_run(client_main, NULL, NULL);
    int st = pclose(p);
    assert_int_equal(rc, 0);
    assert_int_equal(st, 0); /* node left on "exit" */
}

/* ---- cio server, Node client and Chromium ---------------------------------
 */

static cio_http_app *app;
static atomic_int port;
static int run_rc;
static struct {
    int done, rc, code, compressed, n;
} S;

static int h_echo(cio_ws *ws, cio_http_request *req, void *arg)
{
    (void)req, (void)arg;
    cio_ws_msg m;
    int r;
    int compressed = cio_ws_compressed(ws), n = 0;
    while ((r = cio_ws_receive(ws, &m)) == 0) {
        n++;
        if ((r = cio_ws_send(ws, m.type, m.data, m.len)) < 0)
            break;
    }
    /* Worker thread: published once, read after cio_http_run returned. */
    S.rc = r;
    S.code = cio_ws_close_code(ws);
    S.compressed = compressed;
    S.n = n;
    __atomic_add_fetch(&S.done, 1, __ATOMIC_RELEASE);
    return 0;
}

static int h_page(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    return cio_http_response_html(
        res, 200,
        "<!doctype html><html><body><script>"
        "const ws = new WebSocket('ws://' + location.host + '/echo');"
        "ws.binaryType = 'arraybuffer';"
        "const out = [];"
        "ws.onopen = () => { ws.send('one');"
        " ws.send(new Uint8Array([1, 2, 3]));"
        " ws.send('\\u00e9'.repeat(1000)); };"
        "ws.onmessage = (e) => {"
        " out.push(typeof e.data === 'string'"
        "  ? 'T' + e.data.length + ':' + e.data.slice(0, 3)"
        "  : 'B' + new Uint8Array(e.data).join(','));"
        " if (out.length === 3) ws.close(4001, 'page done'); };"
        "ws.onclose = (e) => {"
        " const r = out.join('|') + ' closed ' + e.code + ' ext='"
        "  + ws.extensions;"
        " document.body.insertAdjacentHTML('beforeend',"
        "  '<p id=res>' + r + '</p>');"
        " fetch('/done?r=' + encodeURIComponent(r)); };"
        "</script></body></html>");
}

static char page_result[256];
static int page_done;

static int h_done(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    const char *r = cio_http_request_arg(req, "r", 0, NULL);
    snprintf(page_result, sizeof(page_result), "%s", r ? r : "(none)");
    __atomic_store_n(&page_done, 1, __ATOMIC_RELEASE);
    return cio_http_response_text(res, 200, "ok\n");
}

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

static pthread_t start_server(void)
{
    memset(&S, 0, sizeof(S));
    port = 0;
    assert_int_equal(cio_http_app_new(&app, "ws-peers"), 0);
    cio_ws_options o = CIO_WS_OPTIONS_INIT;
    o.compress = 1;
    assert_int_equal(cio_http_websocket(app, "/echo", h_echo, NULL, &o), 0);
    assert_int_equal(cio_http_websocket(app, "/plain", h_echo, NULL, NULL), 0);
    assert_int_equal(cio_http_route(app, "/", h_page, NULL, 0), 0);
    assert_int_equal(cio_http_route(app, "/done", h_done, NULL, 0), 0);
    page_done = 0;
    page_result[0] = 0;
    cio_http_app_on_start(app, on_start, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, server, NULL), 0);
    for (int i = 0; i < 1000 && !port; i++)
        usleep(10 * 1000);
    assert_true(port > 0);
    return th;
}

static void stop_server(pthread_t th)
{
    /* Let the handler see the close before stopping. */
    for (int i = 0; i < 300 && !__atomic_load_n(&S.done, __ATOMIC_ACQUIRE); i++)
        usleep(10 * 1000);
    cio_http_app_stop(app);
    pthread_join(th, NULL);
    assert_int_equal(run_rc, 0);
    assert_int_equal(cio_http_app_free(app), 0);
}

static void run_node_client(const char *path, const char *mode,
                            const char *want)
{
    pthread_t th = start_server();
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "NODE_PATH=" NODE_DIR "/node_modules node " SCRIPTS
             "/echo_client.js ws://127.0.0.1:%d%s %s",
             (int)port, path, mode);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[256] = "";
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = 0;
    int st = pclose(p);
    print_message("node: %s", out);
    stop_server(th);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, want));
    assert_int_equal(S.done, 1);
    assert_int_equal(S.rc, CIO_EWS_CLOSED);
    assert_int_equal(S.code, 4000);
    assert_int_equal(S.n, 6);
}

static void node_client_cio_server(void **state)
{
    (void)state;
    if (!tu_have_node_ws())
        skip();
    run_node_client("/echo", "deflate", "OK permessage-deflate");
    assert_int_equal(S.compressed, 1);
    run_node_client("/echo", "plain", "OK none");
    assert_int_equal(S.compressed, 0);
    run_node_client("/plain", "deflate", "OK none");
    assert_int_equal(S.compressed, 0);
}

static void chromium_echo(void **state)
{
    (void)state;
    if (system("command -v chromium >/dev/null 2>&1") != 0) {
        fprintf(stderr, "skipped: chromium not installed "
                        "(scripts/bootstrap test)\n");
        skip();
    }
    pthread_t th = start_server();
    char dir[] = "/tmp/cio-chromium-ws-XXXXXX";
    assert_non_null(mkdtemp(dir));
    /* Headless Chromium, no --dump-dom: its virtual time does not wait
     * for WebSocket traffic, so a dump could come before the echo ended.
     * The browser runs in real time until the page reported its result
     * (GET /done) or 90 s passed, then is stopped (its process group). */
    char udd[96], url[64];
    snprintf(udd, sizeof(udd), "--user-data-dir=%s", dir);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", (int)port);
    char *argv[] = {
        "chromium", "--headless", "--no-sandbox", "--disable-gpu", udd,
        url,        NULL};
    posix_spawnattr_t at;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    assert_int_equal(posix_spawnp(&pid, "chromium", &fa, &at, argv, environ),
                     0);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    for (int i = 0; i < 900 && !__atomic_load_n(&page_done, __ATOMIC_ACQUIRE);
         i++)
        usleep(100 * 1000);
    kill(-pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    char rm[128];
    snprintf(rm, sizeof(rm), "rm -rf %s", dir);
    (void)!system(rm);
    print_message("page result: %s\n", page_result);
    stop_server(th);
    /* What the page saw, reported by its request to /done. */
    assert_string_equal(page_result, "T3:one|B1,2,3|T1000:\xc3\xa9\xc3\xa9"
                                     "\xc3\xa9 closed 4001 "
                                     "ext=permessage-deflate");
    assert_int_equal(S.done, 1);
    assert_int_equal(S.rc, CIO_EWS_CLOSED);
    assert_int_equal(S.code, 4001);
    assert_int_equal(S.compressed, 1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(cio_client_node_server),
    cmocka_unit_test(node_client_cio_server),
    cmocka_unit_test(chromium_echo),
};

CIO_TEST_MAIN(tests)
