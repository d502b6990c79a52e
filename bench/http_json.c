/*
 * http_json.c - the measurement behind cio::http's JSON library choice
 * (docs/design.md, section HTTP): jansson against cJSON on
 *   json_build_ns  building {"message": "Hello, World!"} and serialising
 *                  it compactly (the /json response), and
 *   json_parse_ns  parsing a 2 KiB body (an array of 20 user objects),
 * median of 7 batches each. Prints the figures of both libraries.
 *
 * Usage: http_json [-n N]  (N operations per batch, default 200,000)
 */
#include <cjson/cJSON.h>
#include <jansson.h>

#include "bench_util.h"

static char body[4096];

static void make_body(void)
{
    size_t o = 0;
    o += (size_t)snprintf(body + o, sizeof(body) - o, "[");
    for (int i = 0; i < 20; i++)
        o += (size_t)snprintf(body + o, sizeof(body) - o,
                              "%s{\"id\":%d,\"name\":\"user number %d\","
                              "\"email\":\"user%d@example.com\",\"active\":"
                              "true,\"score\":%d.25,\"tags\":[\"a\",\"b\"]}",
                              i ? "," : "", i, i, i, i * 3);
    snprintf(body + o, sizeof(body) - o, "]");
}

typedef double (*bench_fn)(long n);

static double jansson_build(long n)
{
    char out[128];
    size_t total = 0;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        json_t *o = json_pack("{s:s}", "message", "Hello, World!");
        total += json_dumpb(o, out, sizeof(out), JSON_COMPACT);
        json_decref(o);
    }
    int64_t t1 = bench_now_ns();
    return total ? (double)(t1 - t0) / (double)n : -1;
}

static double cjson_build(long n)
{
    char out[128];
    size_t total = 0;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "message", "Hello, World!");
        if (cJSON_PrintPreallocated(o, out, sizeof(out), 0))
            total += strlen(out);
        cJSON_Delete(o);
    }
    int64_t t1 = bench_now_ns();
    return total ? (double)(t1 - t0) / (double)n : -1;
}

static double jansson_parse(long n)
{
    size_t len = strlen(body), total = 0;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        json_t *v = json_loadb(body, len, 0, NULL);
        total += json_array_size(v);
        json_decref(v);
    }
    int64_t t1 = bench_now_ns();
    return total ? (double)(t1 - t0) / (double)n : -1;
}

static double cjson_parse(long n)
{
    size_t len = strlen(body), total = 0;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        cJSON *v = cJSON_ParseWithLength(body, len);
        total += (size_t)cJSON_GetArraySize(v);
        cJSON_Delete(v);
    }
    int64_t t1 = bench_now_ns();
    return total ? (double)(t1 - t0) / (double)n : -1;
}

static double median_of(bench_fn f, long n)
{
    double v[7];
    f(n / 10);
    for (int i = 0; i < 7; i++)
        v[i] = f(n);
    return bench_median(v, 7);
}

int main(int argc, char **argv)
{
    long n = 200000, unused = 0;
    bench_args(argc, argv, "http_json", "[-n N]", &n, 100000000, "-x",
               &unused, 1);
    make_body();
    printf("# body %zu bytes\n", strlen(body));
    printf("json_build_ns_jansson %.1f\n", median_of(jansson_build, n));
    printf("json_build_ns_cjson %.1f\n", median_of(cjson_build, n));
    printf("json_parse_ns_jansson %.1f\n", median_of(jansson_parse, n / 10));
    printf("json_parse_ns_cjson %.1f\n", median_of(cjson_parse, n / 10));
    return 0;
}
