/*
 * fuzz_response.c - the same driver as fuzz_request.c, parsing responses
 * (status-line, response framing: 1xx/204/304, until-close bodies).
 */
#define FUZZ_RESPONSE 1
#include "fuzz_request.c"
