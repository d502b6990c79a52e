/*
 * multipart.h - a pure, incremental, zero-copy multipart/form-data parser
 * (RFC 7578 over RFC 2046's framing): bytes in, events with views into the
 * caller's bytes out; no I/O, no allocation. Fuzzed (tests/fuzz/
 * fuzz_multipart.c).
 *
 * The caller keeps the bytes a call did not consume and passes them again,
 * with more appended, in the next call (as the server does with its input
 * buffer). A part's head (its header fields) must fit in max_part_head
 * bytes; part bodies are handed out in pieces as they arrive, holding back
 * only the bytes that may begin the next delimiter.
 */
#ifndef CIO_HTTP_MULTIPART_H
#define CIO_HTTP_MULTIPART_H

#include <stddef.h>

enum {
    CIO__MP_NEED = 0, /* nothing to report: pass more bytes */
    CIO__MP_PART,     /* a part begins: name, filename, content_type set */
    CIO__MP_DATA,     /* data[0..len) of the current part */
    CIO__MP_PART_END, /* the current part is complete */
    CIO__MP_DONE      /* the closing delimiter was seen */
};

typedef struct cio__mp_event {
    int type;
    const char *name; /* Content-Disposition's name (NULL: none) */
    size_t name_len;
    const char *filename; /* its filename (NULL: not a file part) */
    size_t filename_len;
    const char *content_type; /* the part's Content-Type (NULL: none) */
    size_t content_type_len;
    const char *data;
    size_t len;
} cio__mp_event;

typedef struct cio__mp {
    char delim[80]; /* "\r\n--" boundary */
    size_t dlen;
    int state;
    int at_start; /* nothing consumed yet */
    size_t parts;
    size_t max_parts;     /* [1000] more parts: error */
    size_t max_part_head; /* [8192] longer part head: error */
} cio__mp;

/* Reads the boundary parameter of a multipart/form-data Content-Type
 * value ct[0..n) and prepares p. Returns: 0. Errors: -EINVAL (not
 * multipart/form-data, no or bad boundary: 1..70 characters). */
int cio__mp_init(cio__mp *p, const char *ct, size_t n);

/* Parses in[0..n) and reports at most one event in *ev. Returns: the
 * bytes consumed (0 with CIO__MP_NEED: pass more), or -EINVAL for a
 * malformed body (missing delimiter, part head without CRLF CRLF within
 * max_part_head, a field without a colon, too many parts). Once DONE, the
 * rest (the epilogue) is consumed with DONE again. At the end of the body,
 * a result other than DONE means the body was truncated. */
long cio__mp_feed(cio__mp *p, const char *in, size_t n, cio__mp_event *ev);

#endif
