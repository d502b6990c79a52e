/*
 * fuzz_client_framing.c - the HTTP client's response side as a whole: the
 * head read through the client (interim 1xx skipped, limits, smuggling
 * checks), the body's framing (Content-Length, chunked, until close), the
 * gzip/deflate decoding and the whole-body and line readers, over an
 * in-memory transport fed in one piece and in 7-byte pieces. The first
 * input byte selects a response to HEAD (odd) or to GET (even).
 */
#include <stddef.h>
#include <stdint.h>

#include "http/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    (void)cio__hc_fuzz_response((const char *)data + 1, size - 1, data[0] & 1);
    return 0;
}
