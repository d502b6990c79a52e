/*
 * consumer.c - a program built against an *installed* cio, by run.sh, once
 * with `pkg-config --cflags --libs cio` and once through find_package(cio)
 * (CMakeLists.txt beside it). It only uses the public header.
 */
#include <cio.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int answer(void *arg, void **result)
{
    *result = arg;
    return 0;
}

int main(void)
{
    static int value = 42;

    if (strlen(cio_strerror(-EINVAL)) == 0) {
        fprintf(stderr, "consumer: empty cio_strerror(-EINVAL)\n");
        return 1;
    }

    cio_loop *loop = NULL;
    int r = cio_loop_new(&loop, NULL);
    if (r != 0) {
        fprintf(stderr, "consumer: cio_loop_new: %s\n", cio_strerror(r));
        return 1;
    }
    r = cio_loop_close(loop);
    if (r != 0) {
        fprintf(stderr, "consumer: cio_loop_close: %s\n", cio_strerror(r));
        return 1;
    }
    cio_loop_free(loop);

    void *result = NULL;
    r = cio_run(answer, &value, &result);
    if (r != 0 || result != &value) {
        fprintf(stderr, "consumer: cio_run: %s\n", cio_strerror(r));
        return 1;
    }
    /* The installed header and the library loaded at run time agree. */
    if (cio_version() != CIO_VERSION) {
        fprintf(stderr, "consumer: header 0x%06x, library 0x%06x (%s)\n",
                (unsigned)CIO_VERSION, cio_version(), cio_version_string());
        return 1;
    }
    printf("consumer: ok (cio %s)\n", cio_version_string());
    return 0;
}
