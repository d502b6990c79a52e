/*
 * fuzz_client_h2.c - the HTTP/2 client's frame handling: the input is what
 * a server sends (its SETTINGS first, then HEADERS, DATA, RST_STREAM,
 * GOAWAY, WINDOW_UPDATE, PING, ... for streams 1, 3 and 5: a GET, a POST
 * with a 40000-byte body and a HEAD in flight), fed to the client's
 * nghttp2 session and cio's callbacks (status and header checks, header
 * limits, the head handed to the caller, body pieces and their window
 * given back, stream close and GOAWAY handling) without a loop or a
 * socket. The first input byte chooses the piece size of the reads (0:
 * all at once).
 */
#include <stddef.h>
#include <stdint.h>

#include "http/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    (void)cio__hc_h2_fuzz(data + 1, size - 1, data[0]);
    return 0;
}
