/*
 * fuzz_reply.c - fuzz target for the reply path: bytes from the server
 * -> hiredis reader with cio's reply objects -> reply trees, walked and
 * freed. The input is fed in pieces whose size comes from its first byte,
 * as a socket would deliver it.
 *
 * Built two ways: with -DCIO_FUZZ_LIBFUZZER (clang -fsanitize=fuzzer)
 * it is a libFuzzer target; otherwise main() replays every file of the
 * directories given (the committed corpus) under CTest, each once in its
 * pieces and once byte by byte, and fails on a crash, a leak (under
 * ASan) or a reply tree that does not hold together.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const cio_redis_reply *r, int depth)
{
    if (!r || depth > 16)
        abort(); /* hiredis nests at most 7 levels; NULL means a hole */
    size_t n = 1;
    switch (cio_redis_reply_type_of(r)) {
    case CIO_REDIS_REPLY_ARRAY:
        for (size_t i = 0; i < cio_redis_reply_len(r); i++)
            n += walk(cio_redis_reply_at(r, i), depth + 1);
        break;
    case CIO_REDIS_REPLY_STRING:
    case CIO_REDIS_REPLY_STATUS:
    case CIO_REDIS_REPLY_ERROR: {
        size_t len;
        const char *s = cio_redis_reply_str(r, &len);
        if (!s || s[len] != '\0')
            abort();
        break;
    }
    case CIO_REDIS_REPLY_INTEGER:
    case CIO_REDIS_REPLY_NIL:
        break;
    default:
        abort();
    }
    return n;
}

static size_t run(const uint8_t *data, size_t size, size_t piece)
{
    cio__redis_parser *p;
    if (cio__redis_parser_new(&p, (size_t)1 << 20) < 0)
        return 0;
    size_t nodes = 0;
    size_t off = 0;
    int r = 0;
    while (off < size && r >= 0) {
        size_t n = size - off < piece ? size - off : piece;
        r = cio__redis_parser_feed(p, (const char *)data + off, n);
        off += n;
        cio_redis_reply *rep;
        while (r >= 0 && (r = cio__redis_parser_next(p, &rep)) > 0) {
            nodes += walk(rep, 0);
            cio_redis_reply_free(rep);
        }
    }
    cio__redis_parser_free(p);
    return nodes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t piece = (size_t)data[0] % 64 + 1;
    run(data + 1, size - 1, piece);
    return 0;
}

#ifndef CIO_FUZZ_LIBFUZZER
int main(int argc, char **argv)
{
    size_t files = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
            FILE *f = fopen(path, "rb");
            if (!f)
                continue;
            uint8_t *buf = malloc(1 << 20);
            size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
            fclose(f);
            LLVMFuzzerTestOneInput(buf, n);
            if (n > 1 && n < 4096)
                run(buf + 1, n - 1, 1);
            free(buf);
            files++;
        }
        closedir(d);
    }
    printf("fuzz_reply: replayed %zu inputs\n", files);
    return files ? 0 : 1;
}
#endif
